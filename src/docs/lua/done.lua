-- Marks a path written back. KEYS[1]: P..'doc:'..path. ARGV: P, path, hash ('' = deleted).
-- Only if the store still holds that text (or, for '', still has no document): records the
-- synced base (and drops the kept base text) and leaves the write-back queue. Returns 1, or 0
-- when the store changed.
local P, path, hash = ARGV[1], ARGV[2], ARGV[3]
local cur = redis.call('HGET', KEYS[1], 'hash')
if (cur or '') ~= hash then return 0 end
if hash ~= '' then
  redis.call('HSET', KEYS[1], 'synced', hash)
  redis.call('HDEL', KEYS[1], 'base')
end
redis.call('ZREM', P .. 'writeback', path)
return 1
