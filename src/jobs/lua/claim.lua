-- Claims up to `count` ready jobs of the given kinds, best first, after moving due delayed
-- jobs to their ready queues and expired running jobs to retry or dead.
-- KEYS[1]: any key with the jobs hash tag.
-- ARGV: P, now, count, worker, visibility seconds, token nonce, nkinds, kinds...
-- Returns { next_due or '', then per job: id, kind, payload, attempt, max_attempts, priority,
--   timeout or '', token }.
local now = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local worker = ARGV[4]
local vis = tonumber(ARGV[5])
local nonce = ARGV[6]
local nk = tonumber(ARGV[7])
local due = redis.call('ZRANGEBYSCORE', P .. 'd', '-inf', ARGV[2], 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
  local k = P .. 'j:' .. id
  local f = redis.call('HMGET', k, 'kind', 'priority')
  redis.call('ZREM', P .. 'd', id)
  if f[1] then
    redis.call('ZADD', P .. 'r:' .. f[1], score(f[2], redis.call('INCR', P .. 's')), id)
    redis.call('HSET', k, 'status', 'pending', 'q', 'r')
    count_move(f[1], 'delayed', 'ready')
  end
end
local exp = redis.call('ZRANGEBYSCORE', P .. 'x', '-inf', ARGV[2], 'LIMIT', 0, 1000)
for _, id in ipairs(exp) do
  local f = redis.call('HMGET', P .. 'j:' .. id, 'q', 'timeout', 'started_at')
  if f[1] ~= 'x' then
    redis.call('ZREM', P .. 'x', id)
  else
    local reason = 'worker lost: visibility timeout expired without a heartbeat'
    local t, s = tonumber(f[2]), tonumber(f[3])
    if t and s and s + t <= now + 0.001 then reason = 'timed out after ' .. f[2] .. ' s' end
    fail_job(id, reason, true, now)
  end
end
local picked = {}
if nk == 1 then
  local r = redis.call('ZPOPMIN', P .. 'r:' .. ARGV[8], count)
  for i = 1, #r, 2 do picked[#picked + 1] = r[i] end
else
  local cand = {}
  for i = 1, nk do
    local key = P .. 'r:' .. ARGV[7 + i]
    local r = redis.call('ZRANGE', key, 0, count - 1, 'WITHSCORES')
    for j = 1, #r, 2 do cand[#cand + 1] = { tonumber(r[j + 1]), r[j], key } end
  end
  table.sort(cand, function(a, b) return a[1] < b[1] end)
  for i = 1, math.min(count, #cand) do
    redis.call('ZREM', cand[i][3], cand[i][2])
    picked[#picked + 1] = cand[i][2]
  end
end
local out = { '' }
for i, id in ipairs(picked) do
  local k = P .. 'j:' .. id
  local f = redis.call('HMGET', k, 'kind', 'payload', 'attempts', 'max_attempts', 'priority', 'timeout')
  if f[1] then
    local a = tonumber(f[3]) + 1
    local token = nonce .. '.' .. i
    local dl = now + vis
    local t = tonumber(f[6])
    if t and now + t < dl then dl = now + t end
    redis.call('HSET', k, 'status', 'running', 'q', 'x', 'attempts', a, 'token', token,
      'started_at', ARGV[2], 'worker', worker)
    redis.call('ZADD', P .. 'x', t3(dl), id)
    count_move(f[1], 'ready', 'running')
    local n = #out
    out[n + 1] = id
    out[n + 2] = f[1]
    out[n + 3] = f[2]
    out[n + 4] = tostring(a)
    out[n + 5] = f[4]
    out[n + 6] = f[5]
    out[n + 7] = f[6] or ''
    out[n + 8] = token
  end
end
if #out == 1 then
  local a = redis.call('ZRANGE', P .. 'd', 0, 0, 'WITHSCORES')
  local b = redis.call('ZRANGE', P .. 'x', 0, 0, 'WITHSCORES')
  local m = nil
  if a[2] then m = tonumber(a[2]) end
  if b[2] and (m == nil or tonumber(b[2]) < m) then m = tonumber(b[2]) end
  if m then out[1] = t3(m) end
end
return out
