-- Pattern records written after an archive cursor, by last-seen time then id
-- (src/archive/sources/patterns.rs). KEYS[1]: `M repos` (repository → last write).
-- ARGV: M (the patterns prefix), after ms, after id, most.
-- Returns {behind, n, then per record: id, repo, type, data, confidence, observations,
-- first, last}.
local M, a, aid, most = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local cand = {}
for _, repo in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], '+inf')) do
  for _, id in ipairs(redis.call('ZRANGE', M .. 'pr:' .. repo, 0, -1)) do
    local l = tonumber(redis.call('HGET', M .. 'p:' .. id, 'l'))
    if l and (l > a or (l == a and bytegt(id, aid))) then cand[#cand + 1] = { l, id } end
  end
end
table.sort(cand, function(x, y)
  if x[1] ~= y[1] then return x[1] < y[1] end
  return bytegt(y[2], x[2])
end)
local n = math.min(#cand, most)
local res = { #cand - n, n }
for i = 1, n do
  local id = cand[i][2]
  local v = redis.call('HMGET', M .. 'p:' .. id, 'r', 't', 'd', 'c', 'n', 'f', 'l')
  res[#res + 1] = id
  for j = 1, 7 do res[#res + 1] = v[j] or '' end
end
return res
