-- The workers registry (src/jobs/workers.rs): registers, beats or unregisters one worker,
-- after dropping the workers silent for `forget` seconds.
-- KEYS[1]: P .. 'w'. ARGV: P, now, forget seconds, mode, id, then for mode 'r' (register):
--   host, pid, kinds (JSON), interval; 'b' (beat): done, failed; 'u' (unregister): nothing.
-- Returns 1, or 0 when a beat or unregister finds no such worker.
local P = ARGV[1]
local now = tonumber(ARGV[2])
local forget = tonumber(ARGV[3])
local mode, id = ARGV[4], ARGV[5]
local set = P .. 'w'
local k = P .. 'w:' .. id
local old = redis.call('ZRANGEBYSCORE', set, '-inf', '(' .. t3(now - forget), 'LIMIT', 0, 100)
for _, o in ipairs(old) do
  redis.call('DEL', P .. 'w:' .. o)
  redis.call('ZREM', set, o)
end
if mode == 'u' then
  redis.call('ZREM', set, id)
  return redis.call('DEL', k)
end
if mode == 'r' then
  redis.call('DEL', k)
  redis.call('HSET', k, 'host', ARGV[6], 'pid', ARGV[7], 'kinds', ARGV[8], 'interval', ARGV[9],
    'started', ARGV[2], 'last_beat', ARGV[2], 'done', '0', 'failed', '0')
else
  if redis.call('EXISTS', k) == 0 then
    redis.call('ZREM', set, id)
    return 0
  end
  redis.call('HSET', k, 'last_beat', ARGV[2], 'done', ARGV[6], 'failed', ARGV[7])
end
redis.call('ZADD', set, ARGV[2], id)
redis.call('EXPIRE', k, math.ceil(forget))
return 1
