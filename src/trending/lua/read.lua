-- Reads a board at `now`. KEYS[1]: P..'b:'..B (routing). ARGV: P, B, what ('top' or
-- 'rank'), n or item, now (ms). A windowed board first moves its window to `now`.
-- top: flat item, score (score as at `now`), best first; rank: {rank (1 = first), score} or
-- false when the item is not on the board.
local P, B, what, arg, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local c = cfg(P, B, 0, 0, 0)
local board = P .. 'b:' .. B
if c.w and c.w > 0 and c.stored then
  roll(P, B, c, math.floor(now / math.floor(c.w / BUCKETS)))
end
local f = factor(c, now)
if what == 'top' then
  local flat = redis.call('ZREVRANGE', board, 0, tonumber(arg) - 1, 'WITHSCORES')
  for i = 2, #flat, 2 do flat[i] = string.format('%.17g', tonumber(flat[i]) * f) end
  return flat
end
local r = redis.call('ZREVRANK', board, arg)
if not r then return false end
return { r + 1, string.format('%.17g', tonumber(redis.call('ZSCORE', board, arg)) * f) }
