-- Deletes one document. KEYS[1]: P..'doc:'..path. ARGV: P, path, origin, now (s).
-- A store-side delete queues the file's deletion. Returns 1 if there was a document.
local P, path, origin, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('ZREM', P .. 'paths', path)
if origin == 'store' then redis.call('ZADD', P .. 'writeback', now, path) end
return 1
