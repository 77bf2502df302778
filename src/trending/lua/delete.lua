-- Deletes a board: its items, buckets and options. KEYS[1]: P..'b:'..B. ARGV: P, B.
-- Returns 1 if it existed.
local P, B = ARGV[1], ARGV[2]
local c = redis.call('HMGET', P .. 'c:' .. B, 'w', 'r')
if c[1] and c[2] and tonumber(c[1]) > 0 then
  local r = tonumber(c[2])
  for b = r - BUCKETS + 1, r do redis.call('DEL', P .. 'w:' .. B .. ':' .. fmt(b)) end
end
return redis.call('DEL', P .. 'b:' .. B, P .. 'c:' .. B) > 0 and 1 or 0
