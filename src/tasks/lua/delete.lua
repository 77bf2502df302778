-- Deletes a task, its index entries, and its id from the related lists of tasks naming it.
-- KEYS[1]: the task's key (routes the call). ARGV: prefix, id. Returns 1 if it existed.
local P = ARGV[1]
local id = ARGV[2]
local key = P .. 't:' .. id
if redis.call('EXISTS', key) == 0 then return 0 end
local gone = { { id, tonumber(redis.call('HGET', key, 'version')), 'd' } }
record_changes(P, gone)
archive_versions(P, gone)
local old = redis.call('HGET', key, '_idx')
if old then
  for s in string.gmatch(old, '[^\n]+') do redis.call('SREM', P .. s, id) end
end
redis.call('DEL', key)
redis.call('ZREM', P .. 'z:conf', id)
redis.call('ZREM', P .. 'z:upd', id)
local relkey = P .. 'i:r:' .. id
for _, src in ipairs(redis.call('SMEMBERS', relkey)) do
  local skey = P .. 't:' .. src
  local rel = redis.call('HGET', skey, 'related')
  if rel then
    local out = {}
    for _, r in ipairs(cjson.decode(rel)) do
      if r ~= id then out[#out + 1] = r end
    end
    local enc = '[]'
    if #out > 0 then enc = cjson.encode(out) end
    local kept = {}
    for s in string.gmatch(redis.call('HGET', skey, '_idx') or '', '[^\n]+') do
      if s ~= 'i:r:' .. id then kept[#kept + 1] = s end
    end
    redis.call('HSET', skey, 'related', enc, '_idx', table.concat(kept, '\n'))
  end
end
redis.call('DEL', relkey)
return 1
