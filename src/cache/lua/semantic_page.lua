-- A page of semantic entries. KEYS[1]: P..'sem'. ARGV: P, now (ms), after ('' from the
-- first), limit. Returns the last key looked at ('' when the page was not full), then
-- key, scope, embedding for each live one (expired ones are left out).
local P, now, after, limit = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local lo = '-'
if after ~= '' then lo = '(' .. after end
local keys = redis.call('ZRANGEBYLEX', KEYS[1], lo, '+', 'LIMIT', 0, limit)
local out = { '' }
if #keys == limit then out[1] = keys[#keys] end
for _, k in ipairs(keys) do
  local r = redis.call('HMGET', ekey(P, k), 'c', 'v', 'e')
  if r[1] and r[2] and (not r[3] or tonumber(r[3]) > now) then
    out[#out + 1] = k
    out[#out + 1] = r[1]
    out[#out + 1] = r[2]
  end
end
return out
