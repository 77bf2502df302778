-- ARGV[4] first day a bucket may still hold. Deletes every expired record of every
-- repository and forgets repositories left empty. Returns the records deleted.
local n = 0
for _, repo in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  n = n + sweep_all(repo)
  if redis.call('EXISTS', M .. 'pr:' .. repo, M .. 'ic:' .. repo, M .. 'fx:' .. repo, M .. 'ss:' .. repo) == 0 then
    redis.call('ZREM', KEYS[1], repo)
  end
end
return n
