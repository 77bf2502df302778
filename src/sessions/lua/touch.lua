-- Extends a live session. KEYS[1]: its hash. ARGV: P, now, id, ttl ms ('': its own).
-- Returns 1, or 0 when it is not live.
local P, now, id = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local h = KEYS[1]
if not live(h, now) then return 0 end
local ttl = ARGV[4]
if ttl == '' then ttl = redis.call('HGET', h, 'l') end
local e = now + tonumber(ttl)
redis.call('HSET', h, 'e', fmt(e), 'l', ttl)
redis.call('PEXPIRE', h, math.max(1, e - now))
local u = ukey(P, redis.call('HGET', h, 'u'))
redis.call('ZADD', u, fmt(e), id)
keep(u, e - now)
return 1
