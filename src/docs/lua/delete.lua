-- Deletes one document. KEYS[1]: P..'doc:'..path. ARGV: P, path, origin, now (s), wake
-- channel (PUBLISHed to after a store-side delete).
-- A store-side delete queues the file's deletion. Returns 1 if there was a document.
local P, path, origin, now, wake = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local version = redis.call('HGET', KEYS[1], 'version')
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
record_changes(P, { { path, tonumber(version) or 0, 'd' } })
redis.call('ZREM', P .. 'paths', path)
if origin == 'store' then
  redis.call('ZADD', P .. 'writeback', now, path)
  redis.call('PUBLISH', wake, '1')
end
return 1
