-- Creates a session. KEYS[1]: its hash. ARGV: P, now, id, user, created, expires, ttl, size,
-- then key, JSON text pairs. Returns 1, or 0 when the id is taken.
local P, now, id, user = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local h = skey(P, id)
if redis.call('EXISTS', h) == 1 then return 0 end
redis.call('HSET', h, 'u', user, 'c', ARGV[5], 'e', ARGV[6], 'l', ARGV[7], 'z', ARGV[8])
local f = {}
for i = 9, #ARGV, 2 do
  f[#f + 1] = 'd:' .. ARGV[i]
  f[#f + 1] = ARGV[i + 1]
end
chunked('HSET', h, {}, f)
local left = tonumber(ARGV[6]) - now
redis.call('PEXPIRE', h, math.max(1, left))
local u = ukey(P, user)
redis.call('ZADD', u, ARGV[6], id)
keep(u, left)
return 1
