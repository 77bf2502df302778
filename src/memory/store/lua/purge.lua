-- Deletes every version of (scope, key). KEYS[1]: P..'meta' (routing). ARGV: P, scope, key.
-- Returns how many versions went.
local P = ARGV[1]
local lk = lkey(P, ARGV[2], ARGV[3])
local l = redis.call('HGETALL', lk)
local recs = {}
for k = 1, #l, 2 do
  local d = drop_row(P, l[k + 1])
  if d then recs[#recs + 1] = { 'row:' .. l[k + 1], d[3], 'd' } end
end
redis.call('DEL', lk)
record_changes(P, recs)
return #recs
