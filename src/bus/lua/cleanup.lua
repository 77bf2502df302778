-- Drops every entry older than a cut-off. KEYS[1]: P..'agents'. ARGV: P, cutoff ms.
-- Returns how many entries went (idempotency keys expire by themselves).
local P, cut = ARGV[1], ARGV[2]
local n = 0
for _, a in ipairs(redis.call('HKEYS', P .. 'agents')) do
  for r = 0, 3 do n = n + redis.call('XTRIM', inbox(P, a, r), 'MINID', cut) end
end
for _, k in ipairs({ 'bcast', 'hist', 'dead' }) do
  n = n + redis.call('XTRIM', P .. k, 'MINID', cut)
end
n = n + redis.call('ZREMRANGEBYSCORE', P .. 'acked', '-inf', '(' .. cut)
return n
