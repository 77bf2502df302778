-- Reads a session. KEYS[1]: its hash. ARGV: now. Returns its fields (HGETALL) when live,
-- else an empty array.
local h = KEYS[1]
if not live(h, tonumber(ARGV[1])) then return {} end
return redis.call('HGETALL', h)
