-- Invalidates a tag: its generation goes up by one, so no entry written before matches it.
-- KEYS[1]: P..'g'. ARGV: P, tag. Returns how many entries of the old generation there were.
local P, tag = ARGV[1], ARGV[2]
local had = tonumber(redis.call('HGET', P .. 'tn', tag) or '0')
redis.call('HINCRBY', P .. 'g', 't:' .. tag, 1)
-- The tag clock: every invalidation moves it (the client's fast read, src/cache/redis.rs).
redis.call('HINCRBY', P .. 'g', '*', 1)
redis.call('HDEL', P .. 'tn', tag)
return had
