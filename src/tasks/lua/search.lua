-- One search, done where the data is. Order: score desc, then id desc (byte-wise).
-- KEYS[1]: the order sorted set (routes the call).
-- ARGV: prefix, order ('c' confidence | 'r' recent), fetch count, cursor score ('' none),
--   cursor id, min confidence ('' none), max confidence ('' none),
--   nall, all-of index suffixes..., nany, any-of index suffixes..., related-to id ('' none)
-- Returns up to `fetch` replies of HMGET doc related version (the fields a read needs).
local P = ARGV[1]
local order = ARGV[2]
local limit = tonumber(ARGV[3])
local has_cursor = ARGV[4] ~= ''
local cs = tonumber(ARGV[4])
local cid = ARGV[5]
local minc, maxc = ARGV[6], ARGV[7]
local minv, maxv = tonumber(minc), tonumber(maxc)
local nall = tonumber(ARGV[8])
local pos = 9
local all = {}
for i = 1, nall do all[i] = P .. ARGV[pos]; pos = pos + 1 end
local nany = tonumber(ARGV[pos]); pos = pos + 1
local any = {}
for i = 1, nany do any[i] = P .. ARGV[pos]; pos = pos + 1 end
local rel = ARGV[pos]
local zkey = P .. (order == 'c' and 'z:conf' or 'z:upd')
local ckey = P .. 'z:conf'

local relset = nil
if rel ~= '' then
  relset = {}
  for _, x in ipairs(redis.call('SMEMBERS', P .. 'i:r:' .. rel)) do relset[x] = true end
  local r = redis.call('HGET', P .. 't:' .. rel, 'related')
  if r then for _, x in ipairs(cjson.decode(r)) do relset[x] = true end end
end
local anyset = nil
if nany > 0 and (nall > 0 or relset) then
  anyset = {}
  for _, x in ipairs(redis.call('SUNION', unpack(any))) do anyset[x] = true end
end

local out = {}
local function take(id, score)
  if anyset and not anyset[id] then return end
  if relset and not relset[id] then return end
  if minv or maxv then
    local c = score
    if order ~= 'c' then c = tonumber(redis.call('ZSCORE', ckey, id)) end
    if c == nil then return end
    if minv and c < minv then return end
    if maxv and c > maxv then return end
  end
  if has_cursor then
    if score > cs then return end
    if score == cs and not bytelt(id, cid) then return end
  end
  out[#out + 1] = redis.call('HMGET', P .. 't:' .. id, 'doc', 'related', 'version')
end

if nall > 0 then
  local args = { 'ZINTER', nall + 1, zkey }
  for i = 1, nall do args[#args + 1] = all[i] end
  args[#args + 1] = 'WEIGHTS'
  args[#args + 1] = 1
  for i = 1, nall do args[#args + 1] = 0 end
  args[#args + 1] = 'WITHSCORES'
  local r = redis.call(unpack(args))
  local i = #r - 1
  while i >= 1 and #out < limit do
    take(r[i], tonumber(r[i + 1]))
    i = i - 2
  end
elseif nany > 0 or relset then
  local ids = {}
  if nany > 0 then
    ids = redis.call('SUNION', unpack(any))
  else
    for x, _ in pairs(relset) do ids[#ids + 1] = x end
  end
  local scored = {}
  for _, id in ipairs(ids) do
    local s = redis.call('ZSCORE', zkey, id)
    if s then scored[#scored + 1] = { id, tonumber(s) } end
  end
  table.sort(scored, function(a, b)
    if a[2] ~= b[2] then return a[2] > b[2] end
    return bytelt(b[1], a[1])
  end)
  for _, e in ipairs(scored) do
    if #out >= limit then break end
    take(e[1], e[2])
  end
else
  local maxs, mins = '+inf', '-inf'
  if has_cursor then maxs = ARGV[4] end
  if order == 'c' then
    if maxv and (not has_cursor or maxv < cs) then maxs = maxc end
    if minv then mins = minc end
  end
  local off, chunk = 0, limit * 2 + 16
  while #out < limit do
    local r = redis.call('ZREVRANGEBYSCORE', zkey, maxs, mins, 'WITHSCORES', 'LIMIT', off, chunk)
    if #r == 0 then break end
    for i = 1, #r, 2 do
      if #out >= limit then break end
      take(r[i], tonumber(r[i + 1]))
    end
    off = off + chunk
  end
end
return out
