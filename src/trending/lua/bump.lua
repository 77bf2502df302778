-- Adds `by` to an item. KEYS[1]: P..'b:'..B (routing). ARGV: P, B, item, by, at (ms),
-- default max items, now (ms, the client's clock: bucket keys expire in real time).
-- Returns the item's score at `at` (false: the bump fell before a windowed board's window).
local P, B, item, by, at, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[7])
local c = cfg(P, B, 0, 0, ARGV[6])
local board = P .. 'b:' .. B
local score
if c.w and c.w > 0 then
  local width = math.floor(c.w / BUCKETS)
  local ab = math.floor(at / width)
  if c.r == nil or ab > c.r then roll(P, B, c, ab) end
  if ab <= c.r - BUCKETS then return false end
  local k = P .. 'w:' .. B .. ':' .. fmt(ab)
  redis.call('ZINCRBY', k, by, item)
  redis.call('PEXPIRE', k, 2 * c.w + 3600000)
  score = tonumber(redis.call('ZINCRBY', board, by, item))
  if redis.call('ZCARD', k) > c.max then redis.call('ZREMRANGEBYRANK', k, 0, -c.max - 1) end
elseif c.hl and c.hl > 0 then
  local ck = P .. 'c:' .. B
  if c.t0 == nil then
    c.t0 = at
    redis.call('HSET', ck, 't0', fmt(at))
  elseif (at - c.t0) / c.hl > 64 then
    -- Rescale: every stored score times 2^-((at - t0) / hl), the epoch moves to `at`.
    redis.call('ZUNIONSTORE', board, 1, board, 'WEIGHTS', 2 ^ (-(at - c.t0) / c.hl))
    c.t0 = at
    redis.call('HSET', ck, 't0', fmt(at))
  end
  local f = 2 ^ ((at - c.t0) / c.hl)
  score = tonumber(redis.call('ZINCRBY', board, by * f, item)) / f
else
  score = tonumber(redis.call('ZINCRBY', board, by, item))
end
if redis.call('ZCARD', board) > c.max then redis.call('ZREMRANGEBYRANK', board, 0, -c.max - 1) end
return string.format('%.17g', score)
