-- One partition's share of a read of a partitioned log: the server's time (the merge's
-- watermark), the partition's newest id ('' when it holds none) and up to ARGV[2] entries
-- after ARGV[1] (none when ARGV[2] is 0), leaving out those past the age limit that no
-- publish on this partition has trimmed yet (the limit holds in every partition, however
-- quiet).
-- KEYS[1] the partition's log stream, KEYS[2] its config hash
local t = redis.call('TIME')
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local rows = {}
if tonumber(ARGV[2]) > 0 then
  local from = '(' .. ARGV[1]
  local age = tonumber(redis.call('HGET', KEYS[2], 'max_age_ms'))
  if age then
    local oldest = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - age
    local after = tonumber(string.match(ARGV[1], '^(%d+)'))
    if after < oldest then from = string.format('%.0f', oldest) .. '-0' end
  end
  rows = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', tonumber(ARGV[2]))
end
local newest = ''
if #top > 0 then newest = top[1][1] end
return {t[1], t[2], newest, rows}
