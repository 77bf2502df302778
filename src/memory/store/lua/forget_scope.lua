-- Erases every record, edge, posting and vector of a scope. KEYS[1]: P..'meta' (routing).
-- ARGV: P, scope. Returns how many records and edges went.
local P, scope = ARGV[1], ARGV[2]
local recs = {}
for _, r in ipairs(redis.call('ZRANGE', P .. 'sr:' .. scope, 0, -1)) do
  local d = drop_row(P, r)
  if d then
    redis.call('DEL', lkey(P, d[2], d[1]))
    recs[#recs + 1] = { 'row:' .. r, d[3], 'd' }
  end
end
for _, id in ipairs(redis.call('ZRANGE', P .. 'se:' .. scope, 0, -1)) do
  local h = P .. 'e:' .. id
  local f = redis.call('HMGET', h, 'a', 'b')
  if f[1] then
    redis.call('DEL', P .. 'out:' .. scope .. '|' .. f[1], P .. 'in:' .. scope .. '|' .. f[2], h)
  end
  redis.call('ZREM', P .. 'edges', id)
  recs[#recs + 1] = { 'edge:' .. id, 0, 'd' }
end
redis.call('DEL', P .. 'sr:' .. scope, P .. 'se:' .. scope)
record_changes(P, recs)
return #recs
