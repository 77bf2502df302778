-- Appends events to one partition of a partitioned log in order (each trimmed as
-- publish.lua trims, per partition), then wakes the subscribers once. Returns the ids.
-- KEYS[1] the partition's log stream, KEYS[2] its config hash
-- ARGV[1] wake channel, ARGV[2] default max_len, ARGV[3] partition, ARGV[4] partition count,
-- then per event: channel, JSON data
local cfg = redis.call('HMGET', KEYS[2], 'max_len', 'max_age_ms')
local max_len = tonumber(cfg[1]) or tonumber(ARGV[2])
local age = tonumber(cfg[2])
local count = (#ARGV - 4) / 2
local ids = part_ids(tonumber(ARGV[3]), tonumber(ARGV[4]), count)
for i = 1, count do
  part_add(ids[i], max_len, age, ARGV[3 + 2 * i], ARGV[4 + 2 * i])
end
if count > 0 then redis.call('PUBLISH', ARGV[1], '') end
return ids
