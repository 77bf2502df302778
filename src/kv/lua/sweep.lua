-- Removes every key whose expiry has passed from the index. KEYS[1]: P..'idx'. ARGV: P, now.
-- Returns how many went.
local P, now = ARGV[1], tonumber(ARGV[2])
local total = 0
repeat
  local n = sweep(P, now, 1000)
  total = total + n
until n < 1000
return total
