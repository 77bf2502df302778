-- Writes whole task records and their index entries in one atomic step.
-- KEYS[1]: any key with the namespace's tasks hash tag (routes the call in a cluster).
-- ARGV: prefix, mode ('create' | 'update'), n, then per task:
--   id, expected version ('' for create), nfields, field/value pairs...,
--   nidx, index key suffixes..., confidence, updated_at
-- Returns {'ok'} or {'exists', id} / {'missing', id} / {'stale', id, version}; on any error
-- nothing was written (all checks happen before the first write).
local P = ARGV[1]
local mode = ARGV[2]
local n = tonumber(ARGV[3])
local pos = 4
local tasks = {}
for i = 1, n do
  local t = { id = ARGV[pos], expv = ARGV[pos + 1] }
  t.nf = tonumber(ARGV[pos + 2])
  t.fs = pos + 3
  pos = pos + 3 + 2 * t.nf
  t.ni = tonumber(ARGV[pos])
  t.is = pos + 1
  pos = pos + 1 + t.ni
  t.conf = ARGV[pos]
  t.upd = ARGV[pos + 1]
  pos = pos + 2
  local key = P .. 't:' .. t.id
  if mode == 'create' then
    if redis.call('EXISTS', key) == 1 then return { 'exists', t.id } end
  else
    local v = redis.call('HGET', key, 'version')
    if not v then return { 'missing', t.id } end
    if v ~= t.expv then return { 'stale', t.id, v } end
  end
  tasks[i] = t
end
for i = 1, n do
  local t = tasks[i]
  local key = P .. 't:' .. t.id
  local old = redis.call('HGET', key, '_idx')
  if old then
    for s in string.gmatch(old, '[^\n]+') do redis.call('SREM', P .. s, t.id) end
  end
  local idx = {}
  for j = 0, t.ni - 1 do
    local s = ARGV[t.is + j]
    idx[#idx + 1] = s
    redis.call('SADD', P .. s, t.id)
  end
  redis.call('HSET', key, unpack(ARGV, t.fs, t.fs + 2 * t.nf - 1))
  redis.call('HSET', key, '_idx', table.concat(idx, '\n'))
  redis.call('ZADD', P .. 'z:conf', t.conf, t.id)
  redis.call('ZADD', P .. 'z:upd', t.upd, t.id)
end
return { 'ok' }
