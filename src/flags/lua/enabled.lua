-- Whether a flag is on for users. KEYS[1]: P..'ids'. ARGV: P, flag, then user, bucket pairs.
-- Returns 1 or 0 per user.
local P, flag = ARGV[1], ARGV[2]
local n = (#ARGV - 2) / 2
local out = {}
local g = redis.call('HGET', P .. 'cfg', 'g:' .. flag)
if g then
  for i = 1, n do out[i] = tonumber(g) end
  return out
end
local r = tonumber(redis.call('HGET', P .. 'cfg', 'r:' .. flag) or '0')
local on_k, off_k = bits(P, flag)
local i = 1
while i <= n do
  -- HMGET in chunks: unpack takes a few thousand values at most.
  local users = {}
  for j = i, math.min(n, i + 999) do users[#users + 1] = ARGV[1 + 2 * j] end
  local offs = redis.call('HMGET', P .. 'ids', unpack(users))
  for j, off in ipairs(offs) do
    local k = i + j - 1
    local v
    if off then
      if redis.call('GETBIT', on_k, off) == 1 then v = 1
      elseif redis.call('GETBIT', off_k, off) == 1 then v = 0 end
    end
    if v == nil then v = (tonumber(ARGV[2 + 2 * k]) < r) and 1 or 0 end
    out[k] = v
  end
  for j = #offs + 1, #users do
    local k = i + j - 1
    out[k] = (tonumber(ARGV[2 + 2 * k]) < r) and 1 or 0
  end
  i = i + #users
end
return out
