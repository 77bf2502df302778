-- The counters, after sweeping expired entries. KEYS[1]: P..'idx'. ARGV: P, now (ms), then
-- the calling handle's hits and misses not written yet (added first).
-- Returns {hits, misses, entries, bytes, {tag, count, tag, count, ...}}.
local P, now = ARGV[1], tonumber(ARGV[2])
if ARGV[3] ~= '0' then redis.call('HINCRBY', P .. 'n', 'hits', ARGV[3]) end
if ARGV[4] ~= '0' then redis.call('HINCRBY', P .. 'n', 'misses', ARGV[4]) end
repeat until sweep(P, now, 1000) < 1000
local c = redis.call('HMGET', P .. 'n', 'hits', 'misses', 'entries', 'bytes')
return { c[1] or '0', c[2] or '0', c[3] or '0', c[4] or '0', redis.call('HGETALL', P .. 'tn') }
