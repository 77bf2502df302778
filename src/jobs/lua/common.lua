-- Shared helpers, prepended to every job script. ARGV[1] is always the key prefix P.
local P = ARGV[1]
-- Ready score: priority first (higher first), then FIFO by sequence number.
local function score(prio, seq)
  return string.format('%.0f', -tonumber(prio) * 8589934592 + (seq % 8589934592))
end
-- A failed attempt: retried after its backoff while attempts remain, else dead.
-- Returns true when a retry was scheduled.
local function fail_job(id, err, retry, now)
  local k = P .. 'j:' .. id
  local f = redis.call('HMGET', k, 'attempts', 'max_attempts', 'bk', 'bb')
  local a, m, bk, bb = tonumber(f[1]), tonumber(f[2]), f[3], tonumber(f[4])
  redis.call('ZREM', P .. 'x', id)
  if retry and a < m then
    local d = bb
    if bk == 'e' then d = bb * 2 ^ math.min(a - 1, 60) end
    if d > 3600 then d = 3600 end
    local due = t3(now + d)
    redis.call('HSET', k, 'status', 'failed', 'q', 'd', 'run_at', due, 'error', err, 'token', '')
    redis.call('ZADD', P .. 'd', due, id)
    return true
  end
  redis.call('HSET', k, 'status', 'dead', 'q', '', 'finished_at', t3(now), 'error', err, 'token', '')
  redis.call('ZADD', P .. 'f', t3(now), id)
  return false
end
