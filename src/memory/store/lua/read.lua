-- Small reads. KEYS[1]: P..'meta' (routing). ARGV: P, what, ...:
-- 'spaces' -> HGETALL of the spaces; 'totals' -> {docs, len, row, edge};
-- 'postings', terms... -> per term HGETALL of its postings;
-- 'entities', scope, entities... -> the union of their row ids.
local P, what = ARGV[1], ARGV[2]
if what == 'spaces' then return redis.call('HGETALL', P .. 'spaces') end
if what == 'totals' then return redis.call('HMGET', P .. 'meta', 'docs', 'len', 'row', 'edge') end
if what == 'postings' then
  local out = {}
  for k = 3, #ARGV do out[#out + 1] = redis.call('HGETALL', P .. 't:' .. ARGV[k]) end
  return out
end
if what == 'entities' then
  local keys = {}
  for k = 4, #ARGV do keys[#keys + 1] = P .. 'ent:' .. ARGV[3] .. '|' .. ARGV[k] end
  if #keys == 0 then return {} end
  return redis.call('SUNION', unpack(keys))
end
return redis.error_reply('unknown read ' .. what)
