-- Stores one document. KEYS[1]: P..'doc:'..path.
-- ARGV: P, path, text, value (JSON), fmt, hash, origin, expected version ('' any), now (s),
-- whole ('1': the text was rendered whole from the value, '0': someone's own text or that
-- text edited in place), wake channel (PUBLISHed to after a store-side change, for the
-- write-back workers of every process).
-- Returns {'ok', version, created, updated, synced} | {'same', version, created, updated,
-- origin, synced, whole} (the same text is stored already: nothing changes, except that a
-- file-side write records it as the synced base) | {'conflict', version}.
-- The field 'base' keeps the synced text from the first store-side change after a sync until
-- the next sync (file-side write or done.lua), for the sync engine's three-way merge.
local P, path, text, value, fmt, hash, origin, expected, now, whole, wake =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10],
  ARGV[11]
local cur = redis.call('HMGET', KEYS[1], 'version', 'hash', 'created', 'updated', 'origin',
  'synced', 'whole')
local version = tonumber(cur[1]) or 0
if expected ~= '' and tonumber(expected) ~= version then return { 'conflict', version } end
local synced = cur[6] or ''
if origin == 'file' then synced = hash end
if cur[2] == hash then
  if synced ~= (cur[6] or '') then
    redis.call('HSET', KEYS[1], 'synced', synced)
    redis.call('HDEL', KEYS[1], 'base')
  end
  return { 'same', version, cur[3], cur[4], cur[5], synced, cur[7] or '0' }
end
if origin == 'file' then
  redis.call('HDEL', KEYS[1], 'base')
  whole = '0'
elseif cur[2] and synced ~= '' and synced == cur[2] then
  redis.call('HSET', KEYS[1], 'base', redis.call('HGET', KEYS[1], 'text'))
end
local created = cur[3] or now
redis.call('HSET', KEYS[1], 'text', text, 'value', value, 'fmt', fmt, 'version', version + 1,
  'hash', hash, 'origin', origin, 'created', created, 'updated', now, 'synced', synced,
  'whole', whole)
redis.call('ZADD', P .. 'paths', 0, path)
local kind = 'u'
if version == 0 then kind = 'c' end
record_changes(P, { { path, version + 1, kind } })
if origin == 'store' then
  redis.call('ZADD', P .. 'writeback', now, path)
  redis.call('PUBLISH', wake, '1')
end
return { 'ok', version + 1, created, now, synced }
