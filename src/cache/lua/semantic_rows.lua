-- The scope and embedding of semantic entries. KEYS[1]: P..'sem' (routing). ARGV: P, now
-- (ms), then the keys. Returns per key {scope, embedding}, or 0 where there is no live one.
local P, now = ARGV[1], tonumber(ARGV[2])
local out = {}
for i = 3, #ARGV do
  local r = redis.call('HMGET', ekey(P, ARGV[i]), 'c', 'v', 'e')
  if r[1] and r[2] and (not r[3] or tonumber(r[3]) > now) then
    out[i - 2] = { r[1], r[2] }
  else
    out[i - 2] = 0
  end
end
return out
