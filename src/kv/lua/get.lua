-- Reads keys. KEYS[1]: P..'idx' (routing). ARGV: P, then the keys.
-- Returns per key {type, data, version, pttl} or false when missing.
local P = ARGV[1]
local out = {}
for i = 2, #ARGV do
  local h = vkey(P, ARGV[i])
  local r = redis.call('HMGET', h, 't', 'd', 'v')
  if r[1] then
    out[i - 1] = { r[1], r[2], r[3], redis.call('PTTL', h) }
  else
    out[i - 1] = false
  end
end
return out
