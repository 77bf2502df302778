-- Moves dead jobs (and, named by id, cancelled ones) back to their ready queues: attempts
-- from zero, a new place at the end of their priority (src/jobs/requeue.rs).
-- KEYS[1]: any key with the jobs hash tag. ARGV: P, now, wake channel, mode, then
--   mode 'i': n, ids...;
--   mode 'k': kind ('' any), position in `J f` to scan from, most to move, most to scan.
-- Returns {moved, next position in `J f` (-1 at the end; always -1 in mode 'i')}.
local now = ARGV[2]
local mode = ARGV[4]
local function back(id, kind, prio, status)
  local k = P .. 'j:' .. id
  count_move(kind, status, 'ready')
  redis.call('ZREM', P .. 'f', id)
  redis.call('HSET', k, 'status', 'pending', 'q', 'r', 'attempts', '0', 'token', '',
    'run_at', now)
  redis.call('HDEL', k, 'started_at', 'finished_at', 'result')
  redis.call('ZADD', P .. 'r:' .. kind, score(prio, redis.call('INCR', P .. 's')), id)
end
local moved = 0
local next_pos = -1
if mode == 'i' then
  local n = tonumber(ARGV[5])
  for i = 1, n do
    local id = ARGV[5 + i]
    local f = redis.call('HMGET', P .. 'j:' .. id, 'status', 'kind', 'priority', 'q')
    if (f[1] == 'dead' or f[1] == 'cancelled') and f[4] == '' then
      back(id, f[2], f[3], f[1])
      moved = moved + 1
    end
  end
else
  local kind = ARGV[5]
  local pos = tonumber(ARGV[6])
  local want = tonumber(ARGV[7])
  local budget = tonumber(ARGV[8])
  while moved < want and budget > 0 do
    local n = math.min(256, budget)
    local ids = redis.call('ZRANGE', P .. 'f', pos, pos + n - 1)
    if #ids == 0 then break end
    local removed = 0
    local scanned = 0
    for _, id in ipairs(ids) do
      scanned = scanned + 1
      local f = redis.call('HMGET', P .. 'j:' .. id, 'status', 'kind', 'priority')
      if f[1] == 'dead' and (kind == '' or f[2] == kind) then
        back(id, f[2], f[3], 'dead')
        moved = moved + 1
        removed = removed + 1
        if moved == want then break end
      end
    end
    budget = budget - scanned
    pos = pos + scanned - removed
    if moved == want or budget <= 0 then
      next_pos = pos
      break
    end
    if #ids < n then break end
  end
  if next_pos >= 0 and redis.call('ZCARD', P .. 'f') <= next_pos then next_pos = -1 end
end
if moved > 0 then redis.call('PUBLISH', ARGV[3], '') end
return {moved, next_pos}
