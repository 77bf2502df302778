-- Every version of (scope, key), read whole. KEYS[1]: P..'meta' (routing). ARGV: P, scope,
-- key. Returns per version {row id, field, value, ...}.
local P = ARGV[1]
local l = redis.call('HGETALL', lkey(P, ARGV[2], ARGV[3]))
local out = {}
for k = 1, #l, 2 do
  local f = redis.call('HGETALL', P .. 'r:' .. l[k + 1])
  table.insert(f, 1, l[k + 1])
  out[#out + 1] = f
end
return out
