-- Appends one event to the namespace's log, trims it, and wakes the subscribers.
-- KEYS[1] log stream, KEYS[2] config hash
-- ARGV[1] channel, ARGV[2] JSON data, ARGV[3] wake channel, ARGV[4] default max_len
local cfg = redis.call('HMGET', KEYS[2], 'max_len', 'max_age_ms')
local max_len = tonumber(cfg[1]) or tonumber(ARGV[4])
-- A new (or cleared) log starts one millisecond ahead, so its first id is above any id a
-- subscriber may still hold from before a clear in the same millisecond.
local at = '*'
if redis.call('EXISTS', KEYS[1]) == 0 then
  -- The sequence comes from the microsecond, so a log created again within the same
  -- millisecond (a clear between two first publishes) still starts above the one before.
  local t = redis.call('TIME')
  local us = tonumber(t[2])
  at = (tonumber(t[1]) * 1000 + math.floor(us / 1000) + 1) .. '-' .. ((us % 1000) * 1000 + 1)
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '=', max_len, at, 'c', ARGV[1], 'd', ARGV[2])
local age = tonumber(cfg[2])
if age then
  local ms = tonumber(string.match(id, '^(%d+)-'))
  redis.call('XTRIM', KEYS[1], 'MINID', tostring(ms - age))
end
redis.call('PUBLISH', ARGV[3], '')
return id
