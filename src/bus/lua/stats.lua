-- Counters. KEYS[1]: P..'agents'. ARGV: P.
-- Returns {total, acked, dead, agent, pending, agent, pending, ...}.
local P = ARGV[1]
local st = redis.call('HMGET', P .. 'stats', 'total', 'acked')
local out = { tonumber(st[1] or '0'), tonumber(st[2] or '0'), redis.call('XLEN', P .. 'dead') }
for _, a in ipairs(redis.call('HKEYS', P .. 'agents')) do
  local n = 0
  for r = 0, 3 do n = n + redis.call('XLEN', inbox(P, a, r)) end
  out[#out + 1] = a
  out[#out + 1] = n
end
return out
