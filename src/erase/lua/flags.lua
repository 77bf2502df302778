-- Erases a user from the feature flags. KEYS[1]: P..'ids'. ARGV: P, user, then the flags'
-- bitmap keys (`P on:<flag>` and `P off:<flag>`) found by a SCAN.
-- The user's bits are cleared in every bitmap, its entry in `P ids` removed and its slot in
-- `P users` blanked (offsets of the other users stay where they are; the user, set again
-- later, gets a new offset). Returns how many flags had a setting of the user's own.
local P, user = ARGV[1], ARGV[2]
local off = redis.call('HGET', P .. 'ids', user)
if not off then return 0 end
local flags = {}
for i = 3, #ARGV do
  -- GETBIT first: SETBIT past a bitmap's end would lengthen it.
  if redis.call('GETBIT', ARGV[i], off) == 1 then
    redis.call('SETBIT', ARGV[i], off, 0)
    local rest = string.sub(ARGV[i], #P + 1)
    flags[string.match(rest, '^on:(.*)$') or string.match(rest, '^off:(.*)$') or rest] = true
  end
end
redis.call('HDEL', P .. 'ids', user)
redis.call('LSET', P .. 'users', off, '')
local n = 0
for _ in pairs(flags) do n = n + 1 end
return n
