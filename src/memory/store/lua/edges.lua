-- Edges read whole. KEYS[1]: P..'meta' (routing). ARGV: P, then either adjacency keys
-- (`P out:<scope>|<entity>`, `P in:...`) or ('page', after, limit) to page through `P edges`.
-- Returns the first adjacency key's write count ('#'; '0' for a page), then per edge
-- {id, field, value, ...}, each edge once.
local P = ARGV[1]
local ids, seen = {}, {}
local count = '0'
if ARGV[2] == 'page' then
  ids = redis.call('ZRANGEBYSCORE', P .. 'edges', '(' .. ARGV[3], '+inf', 'LIMIT', 0, tonumber(ARGV[4]))
else
  count = redis.call('HGET', ARGV[2], '#') or '0'
  for k = 2, #ARGV do
    for _, id in ipairs(redis.call('HKEYS', ARGV[k])) do
      if id ~= '#' and not seen[id] then
        seen[id] = true
        ids[#ids + 1] = id
      end
    end
  end
end
local out = { count }
for _, id in ipairs(ids) do
  local f = redis.call('HGETALL', P .. 'e:' .. id)
  if #f > 0 then
    table.insert(f, 1, id)
    out[#out + 1] = f
  end
end
return out
