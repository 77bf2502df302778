-- Shared helpers, prepended to every job script. ARGV[1] is always the key prefix P.
local P = ARGV[1]
-- Ready score: priority first (higher first), then FIFO by sequence number.
local function score(prio, seq)
  return string.format('%.0f', -tonumber(prio) * 8589934592 + (seq % 8589934592))
end
-- Per kind and state counts (hash P..'n', field '<state>:<kind>', read by counts.lua): a job
-- moving from state `from` to state `to` (either nil: created or deleted). A field at zero
-- is removed.
local function count_move(kind, from, to)
  local n = P .. 'n'
  if from and redis.call('HINCRBY', n, from .. ':' .. kind, -1) <= 0 then
    redis.call('HDEL', n, from .. ':' .. kind)
  end
  if to then redis.call('HINCRBY', n, to .. ':' .. kind, 1) end
end
-- A failed attempt: retried after its backoff while attempts remain, else dead.
-- Returns true when a retry was scheduled.
local function fail_job(id, err, retry, now)
  local k = P .. 'j:' .. id
  local f = redis.call('HMGET', k, 'attempts', 'max_attempts', 'bk', 'bb', 'kind')
  local a, m, bk, bb = tonumber(f[1]), tonumber(f[2]), f[3], tonumber(f[4])
  redis.call('ZREM', P .. 'x', id)
  if retry and a < m then
    local d = bb
    if bk == 'e' then d = bb * 2 ^ math.min(a - 1, 60) end
    if d > 3600 then d = 3600 end
    local due = t3(now + d)
    redis.call('HSET', k, 'status', 'failed', 'q', 'd', 'run_at', due, 'error', err, 'token', '')
    redis.call('ZADD', P .. 'd', due, id)
    count_move(f[5], 'running', 'delayed')
    return true
  end
  redis.call('HSET', k, 'status', 'dead', 'q', '', 'finished_at', t3(now), 'error', err, 'token', '')
  redis.call('ZADD', P .. 'f', t3(now), id)
  count_move(f[5], 'running', 'dead')
  return false
end
