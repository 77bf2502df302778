-- Lists the workers registry (src/jobs/workers.rs) without writing: workers silent for
-- `forget` seconds (dropped by the next registration or beat) and records that expired are
-- left out.
-- KEYS[1]: P .. 'w'. ARGV: P, now, forget seconds, most to return.
-- Returns per worker 9 values: id, host, pid, kinds (JSON), interval, started, last_beat,
--   done, failed.
local P = ARGV[1]
local now = tonumber(ARGV[2])
local forget = tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', P .. 'w', t3(now - forget), '+inf', 'LIMIT', 0,
  tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', P .. 'w:' .. id, 'host', 'pid', 'kinds', 'interval', 'started',
    'last_beat', 'done', 'failed')
  if f[1] then
    out[#out + 1] = id
    for i = 1, 8 do out[#out + 1] = f[i] end
  end
end
return out
