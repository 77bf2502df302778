-- Stores a batch of file-side writes (origin 'file'), each exactly as put.lua stores one.
-- KEYS[i]: P..'doc:'..path of item i (all under the namespace's docs tag: one slot).
-- The last of KEYS is the slot guard that every call declares (never written).
-- ARGV[1] P, ARGV[2] now (s), then 6 per item: path, text, value (JSON), fmt, hash, expected
-- version ('' any).
-- Returns one {outcome, version} per item: 'ok' (stored as the next version), 'same' (the
-- text is stored already: only the synced base is recorded) or 'conflict' (the stored version
-- is not the expected one: nothing written).
local P, now = ARGV[1], ARGV[2]
local out = {}
local recs = {}
for i = 1, #KEYS - 1 do -- the last key is the slot guard (never written)
  local b = 2 + (i - 1) * 6
  local path, text, value, fmt, hash, expected =
    ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5], ARGV[b + 6]
  local cur = redis.call('HMGET', KEYS[i], 'version', 'hash', 'created', 'synced')
  local version = tonumber(cur[1]) or 0
  if expected ~= '' and tonumber(expected) ~= version then
    out[i] = { 'conflict', version }
  elseif cur[2] == hash then
    -- A file-side write of the stored text: it is the synced base now.
    if hash ~= (cur[4] or '') then
      redis.call('HSET', KEYS[i], 'synced', hash)
      redis.call('HDEL', KEYS[i], 'base')
    end
    out[i] = { 'same', version }
  else
    if cur[1] then redis.call('HDEL', KEYS[i], 'base') end
    redis.call('HSET', KEYS[i], 'text', text, 'value', value, 'fmt', fmt, 'version',
      version + 1, 'hash', hash, 'origin', 'file', 'created', cur[3] or now, 'updated', now,
      'synced', hash, 'whole', '0')
    redis.call('ZADD', P .. 'paths', 0, path)
    local kind = 'u'
    if version == 0 then kind = 'c' end
    recs[#recs + 1] = { path, version + 1, kind }
    out[i] = { 'ok', version + 1 }
  end
end
record_changes(P, recs)
return out
