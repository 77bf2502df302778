-- Ends a session. KEYS[1]: its hash. ARGV: P, now, id. Returns 1 if it was live.
local P, now, id = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local h = KEYS[1]
local r = redis.call('HMGET', h, 'u', 'e')
if not r[1] then return 0 end
redis.call('DEL', h)
redis.call('ZREM', ukey(P, r[1]), id)
if tonumber(r[2]) > now then return 1 end
return 0
