-- What a write is planned from. KEYS[1]: P..'meta' (routing). ARGV: P, G, G x (scope, key),
-- then space names. Returns, per (scope, key), the times of its versions in version order
-- (TIMES of each, after its row id), then per space its definition ('' when undeclared).
local P, g = ARGV[1], tonumber(ARGV[2])
local out = {}
for j = 0, g - 1 do
  local l = redis.call('HGETALL', lkey(P, ARGV[3 + 2 * j], ARGV[4 + 2 * j]))
  local line = {}
  for k = 1, #l, 2 do
    local f = redis.call('HMGET', P .. 'r:' .. l[k + 1], unpack(TIMES))
    line[#line + 1] = l[k + 1]
    for _, x in ipairs(f) do line[#line + 1] = x or '' end
  end
  out[#out + 1] = line
end
local spaces = {}
for k = 3 + 2 * g, #ARGV do spaces[#spaces + 1] = redis.call('HGET', P .. 'spaces', ARGV[k]) or '' end
out[#out + 1] = spaces
return out
