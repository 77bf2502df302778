-- Deletes entries. KEYS[1]: P..'idx' (routing). ARGV: P, now (ms), then the keys.
-- Returns how many were live.
local P, now = ARGV[1], tonumber(ARGV[2])
local n = 0
for i = 3, #ARGV do n = n + remove(P, ARGV[i], now) end
return n
