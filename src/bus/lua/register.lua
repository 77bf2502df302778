-- Registers an agent for kinds. KEYS[1]: P..'agents'.
-- ARGV: P, agent, kinds ('\n'-joined), max_len, max_age_ms.
-- Returns 1 for a new agent (which receives the retained broadcasts), 0 otherwise.
local P, a, kinds = ARGV[1], ARGV[2], ARGV[3]
local maxlen, age = retention(P, ARGV[4], ARGV[5])
local old = redis.call('HGET', P .. 'agents', a)
if old then
  for k in string.gmatch(old, '[^\n]+') do redis.call('SREM', P .. 'kind:' .. k, a) end
end
redis.call('HSET', P .. 'agents', a, kinds)
for k in string.gmatch(kinds, '[^\n]+') do redis.call('SADD', P .. 'kind:' .. k, a) end
if old then return 0 end
local minid = fmt(math.max(0, now_ms() - age))
for _, e in ipairs(redis.call('XRANGE', P .. 'bcast', minid, '+')) do
  local f = fields(e[2])
  if f.s ~= a then
    redis.pcall('XADD', inbox(P, a, f.r), 'MAXLEN', '~', maxlen, e[1], 'd', f.d)
  end
end
return 1
