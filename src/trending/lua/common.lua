-- Shared by the trending scripts. P is the key prefix `zl:{<ns>:trending}:`; a board B has
-- `P c:<B>` (hash: `hl` half-life ms, `w` window ms, `max` most items, `t0` the decay epoch
-- ms, `r` the newest bucket its board reflects), `P b:<B>` (sorted set: item -> score) and,
-- for a windowed board, `P w:<B>:<bucket>` (sorted set: the bumps of one bucket, a 60th of
-- the window). Decayed boards store score * 2^((t - t0) / hl); windowed boards hold the sum
-- of their last 60 buckets, older buckets subtracted as time moves on.
local BUCKETS = 60
local function cfg(P, B, hl, w, max)
  local c = redis.call('HMGET', P .. 'c:' .. B, 'hl', 'w', 'max', 't0', 'r')
  return {
    hl = tonumber(c[1] or hl), w = tonumber(c[2] or w), max = tonumber(c[3] or max),
    t0 = tonumber(c[4]), r = tonumber(c[5]), stored = c[3] ~= false,
  }
end
-- Moves a windowed board's window to bucket `cur`: subtracts the buckets that fall out.
local function roll(P, B, c, cur)
  local board = P .. 'b:' .. B
  if c.r == nil then
    c.r = cur
    redis.call('HSET', P .. 'c:' .. B, 'r', fmt(cur))
    return
  end
  if cur <= c.r then return end
  local from = c.r - BUCKETS + 1
  local to = math.min(c.r, cur - BUCKETS)
  if cur - c.r >= BUCKETS then
    redis.call('DEL', board)
  end
  for b = from, to do
    local k = P .. 'w:' .. B .. ':' .. fmt(b)
    if cur - c.r < BUCKETS and redis.call('EXISTS', k) == 1 then
      redis.call('ZUNIONSTORE', board, 2, board, k, 'WEIGHTS', 1, -1)
    end
    redis.call('DEL', k)
  end
  if cur - c.r < BUCKETS then redis.call('ZREMRANGEBYSCORE', board, '-inf', '1e-9') end
  c.r = cur
  redis.call('HSET', P .. 'c:' .. B, 'r', fmt(cur))
end
-- The factor that turns a stored score into the score at `now`.
local function factor(c, now)
  if c.hl and c.hl > 0 and c.t0 then return 2 ^ (-(now - c.t0) / c.hl) end
  return 1
end
