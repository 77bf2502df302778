-- Ends every session of a user. KEYS[1]: the user's index. ARGV: P, now.
-- Returns how many were live.
local P, now = ARGV[1], tonumber(ARGV[2])
local u = KEYS[1]
local n = 0
for _, id in ipairs(redis.call('ZRANGE', u, 0, -1)) do
  local h = skey(P, id)
  if live(h, now) then n = n + 1 end
  redis.call('DEL', h)
end
redis.call('DEL', u)
return n
