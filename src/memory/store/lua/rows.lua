-- Rows by id, read whole. KEYS[1]: P..'meta' (routing). ARGV: P, mode ('all' or 'info': the
-- fields a row listing needs), then row ids, or ('page', after, limit) to page through
-- `P rows` (or `P vs:<space>` with mode 'vec': row ids and vectors; mode 'terms': per row
-- {row, len, type, term, tf, ...} from its postings).
local P, mode = ARGV[1], ARGV[2]
local ids = {}
if ARGV[3] == 'page' then
  local z = P .. 'rows'
  if mode == 'vec' then z = P .. 'vs:' .. ARGV[6] end
  ids = redis.call('ZRANGEBYSCORE', z, '(' .. ARGV[4], '+inf', 'LIMIT', 0, tonumber(ARGV[5]))
else
  for k = 3, #ARGV do ids[#ids + 1] = ARGV[k] end
end
local INFO = { 'k', 's', 'v', 'kd', 'c', 'g', 'vf', 'vt', 'ra', 'sa', 't', 'sp', 'len' }
local out = {}
for _, r in ipairs(ids) do
  local h = P .. 'r:' .. r
  if mode == 'all' then
    local f = redis.call('HGETALL', h)
    table.insert(f, 1, r)
    out[#out + 1] = f
  elseif mode == 'vec' then
    out[#out + 1] = { r, redis.call('HGET', h, 'vec') or '' }
  elseif mode == 'terms' then
    local f = redis.call('HMGET', h, 'len', 't', 'terms')
    local row = { r, f[1] or '0', f[2] or '' }
    for term in string.gmatch(f[3] or '', '%S+') do
      row[#row + 1] = term
      row[#row + 1] = redis.call('HGET', P .. 't:' .. term, r) or '0'
    end
    out[#out + 1] = row
  else
    local f = redis.call('HMGET', h, unpack(INFO))
    local row = { r }
    for j, x in ipairs(f) do
      row[#row + 1] = INFO[j]
      row[#row + 1] = x or ''
    end
    out[#out + 1] = row
  end
end
return out
