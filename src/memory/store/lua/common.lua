-- Shared by the memory scripts. P is the key prefix `zl:{<ns>:mem}:` (docs/keys.md lists the
-- keys). A record key is encoded in key names like kv keys: bytes below '!', DEL and '%'
-- become %XX. Scopes ("name=value,..." or "" for the global scope) and entity ids are
-- validated ids and appear as they are.
local function enc(key)
  return (string.gsub(key, '[%z\1-\32\127%%]', function(c)
    return string.format('%%%02X', string.byte(c))
  end))
end
-- The hash of the versions of (scope, key): version -> row id.
local function lkey(P, scope, key) return P .. 'k:' .. scope .. '|' .. enc(key) end
-- Deletes row `row` with its postings, entity index entries, vector entry and keyword totals.
-- Returns {key, scope, version} of the row, or nil when there is no such row.
local function drop_row(P, row)
  local h = P .. 'r:' .. row
  local f = redis.call('HMGET', h, 'k', 's', 'v', 'terms', 'en', 'sp', 'len', 't')
  if not f[1] then return nil end
  for term in string.gmatch(f[4] or '', '%S+') do redis.call('HDEL', P .. 't:' .. term, row) end
  for e in string.gmatch(f[5] or '', '%S+') do
    redis.call('SREM', P .. 'ent:' .. f[2] .. '|' .. e, row)
  end
  if (f[6] or '') ~= '' then redis.call('ZREM', P .. 'vs:' .. f[6], row) end
  if (f[8] or '') ~= '' then
    redis.call('HINCRBY', P .. 'meta', 'docs', -1)
    redis.call('HINCRBY', P .. 'meta', 'len', 0 - tonumber(f[7] or '0')) -- never '-0', which Redis refuses
  end
  redis.call('ZREM', P .. 'rows', row)
  redis.call('ZREM', P .. 'sr:' .. f[2], row)
  redis.call('DEL', h)
  return { f[1], f[2], tonumber(f[3]) }
end
-- The transaction time of a write: the caller's clock, never before the namespace's last.
local function tx_time(P, now)
  local t = math.max(now, tonumber(redis.call('HGET', P .. 'meta', 't') or '0'))
  redis.call('HSET', P .. 'meta', 't', fmt(t))
  return t
end
-- The fields of one row, for writes and imports: ARGV[b .. b+16] are scope, key, version,
-- type, data, kind, category, significance, entities, metadata, source, valid_from, valid_to,
-- space, vector, len, terms; then the row's tfs (space-joined, in the order of terms).
-- A row's index entries (postings, vector and entity sets, the row lists, the keyword
-- totals), gathered over a batch and written by flush_index with one command per key: a batch
-- of rows sharing common terms writes each term's postings once, not once per row.
local function new_index()
  return { terms = {}, docs = 0, len = 0, vs = {}, ent = {}, sr = {}, rows = {} }
end
local function list_of(t, k)
  local l = t[k]
  if not l then l = {}; t[k] = l end
  return l
end
-- One command per at most 4000 arguments (well below Lua's unpack limit).
local function chunked(cmd, key, l)
  for i = 1, #l, 4000 do
    redis.call(cmd, key, unpack(l, i, math.min(i + 3999, #l)))
  end
end
local function flush_index(P, ix)
  for term, l in pairs(ix.terms) do chunked('HSET', P .. 't:' .. term, l) end
  if ix.docs > 0 then
    redis.call('HINCRBY', P .. 'meta', 'docs', ix.docs)
    redis.call('HINCRBY', P .. 'meta', 'len', ix.len)
  end
  for space, l in pairs(ix.vs) do chunked('ZADD', P .. 'vs:' .. space, l) end
  for se, l in pairs(ix.ent) do chunked('SADD', P .. 'ent:' .. se, l) end
  if #ix.rows > 0 then chunked('ZADD', P .. 'rows', ix.rows) end
  for scope, l in pairs(ix.sr) do chunked('ZADD', P .. 'sr:' .. scope, l) end
end
-- Writes a row's hash and version entry now and its index entries into `ix` (nil: written at
-- once); a caller passing `ix` calls flush_index(P, ix) after its last row.
local function put_row(P, row, b, t, sa, ix)
  local scope, key, version, typ = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local h = P .. 'r:' .. row
  redis.call('HSET', h, 'k', key, 's', scope, 'v', version, 't', typ, 'd', ARGV[b + 4],
    'kd', ARGV[b + 5], 'c', ARGV[b + 6], 'g', ARGV[b + 7], 'en', ARGV[b + 8], 'm', ARGV[b + 9],
    'src', ARGV[b + 10], 'vf', ARGV[b + 11], 'vt', ARGV[b + 12], 'ra', t, 'sp', ARGV[b + 13],
    'vec', ARGV[b + 14], 'len', ARGV[b + 15], 'terms', ARGV[b + 16])
  if sa ~= '' then redis.call('HSET', h, 'sa', sa) end
  redis.call('HSET', lkey(P, scope, key), version, row)
  local own = ix or new_index()
  local tfs = string.gmatch(ARGV[b + 17], '%S+')
  for term in string.gmatch(ARGV[b + 16], '%S+') do
    local l = list_of(own.terms, term)
    l[#l + 1] = row
    l[#l + 1] = tfs()
  end
  if typ ~= '' then
    own.docs = own.docs + 1
    own.len = own.len + tonumber(ARGV[b + 15])
  end
  if ARGV[b + 13] ~= '' then
    local l = list_of(own.vs, ARGV[b + 13])
    l[#l + 1] = row
    l[#l + 1] = row
  end
  for e in string.gmatch(ARGV[b + 8], '%S+') do
    local l = list_of(own.ent, scope .. '|' .. e)
    l[#l + 1] = row
  end
  own.rows[#own.rows + 1] = row
  own.rows[#own.rows + 1] = row
  local l = list_of(own.sr, scope)
  l[#l + 1] = row
  l[#l + 1] = row
  if not ix then flush_index(P, own) end
end
-- Row fields a reader of the times needs, in this order.
local TIMES = { 'v', 'vf', 'vt', 'ra', 'sa', 't' }
