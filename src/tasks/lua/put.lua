-- Writes whole task records and their index entries in one atomic step.
-- KEYS[1]: any key with the namespace's tasks hash tag (routes the call in a cluster).
-- ARGV: prefix, mode ('create' | 'update'), n, then
--   per task: id, expected version ('' for create), nfields, field/value pairs (with `_idx`)
--   ngroups, then per index set: key suffix, count, ids...   (one SADD per set, not per task)
--   n (confidence, id) pairs, then n (updated_at, id) pairs
-- Returns {'ok'} or {'exists', id} / {'missing', id} / {'stale', id, version}; on any error
-- nothing was written (every check happens before the first write).
local P = ARGV[1]
local mode = ARGV[2]
local n = tonumber(ARGV[3])
local CHUNK = 1000
local pos = 4
local tasks = {}
for i = 1, n do
  local nf = tonumber(ARGV[pos + 2])
  tasks[i] = { id = ARGV[pos], expv = ARGV[pos + 1], fs = pos + 3, nf = nf }
  pos = pos + 3 + 2 * nf
end
if mode == 'create' then
  local keys = {}
  for i = 1, n do keys[i] = P .. 't:' .. tasks[i].id end
  for s = 1, n, CHUNK do
    local e = math.min(n, s + CHUNK - 1)
    if redis.call('EXISTS', unpack(keys, s, e)) > 0 then
      for j = s, e do
        if redis.call('EXISTS', keys[j]) == 1 then return { 'exists', tasks[j].id } end
      end
    end
  end
else
  for i = 1, n do
    local v = redis.call('HGET', P .. 't:' .. tasks[i].id, 'version')
    if not v then return { 'missing', tasks[i].id } end
    if v ~= tasks[i].expv then return { 'stale', tasks[i].id, v } end
  end
  for i = 1, n do
    local old = redis.call('HGET', P .. 't:' .. tasks[i].id, '_idx')
    if old then
      for s in string.gmatch(old, '[^\n]+') do redis.call('SREM', P .. s, tasks[i].id) end
    end
  end
end
local recs = {}
local kind = 'u'
if mode == 'create' then kind = 'c' end
for i = 1, n do
  local t = tasks[i]
  redis.call('HSET', P .. 't:' .. t.id, unpack(ARGV, t.fs, t.fs + 2 * t.nf - 1))
  recs[i] = { t.id, tonumber(redis.call('HGET', P .. 't:' .. t.id, 'version')), kind }
end
record_changes(P, recs)
archive_versions(P, recs)
local ng = tonumber(ARGV[pos])
pos = pos + 1
for _ = 1, ng do
  local key, cnt = P .. ARGV[pos], tonumber(ARGV[pos + 1])
  local s, e = pos + 2, pos + 1 + cnt
  for c = s, e, CHUNK do redis.call('SADD', key, unpack(ARGV, c, math.min(e, c + CHUNK - 1))) end
  pos = e + 1
end
for _, z in ipairs({ 'z:conf', 'z:upd' }) do
  local e = pos + 2 * n - 1
  for c = pos, e, 2 * CHUNK do redis.call('ZADD', P .. z, unpack(ARGV, c, math.min(e, c + 2 * CHUNK - 1))) end
  pos = e + 1
end
return { 'ok' }
