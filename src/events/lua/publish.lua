-- Appends one event to the namespace's log, trims it, and wakes the subscribers.
-- KEYS[1] log stream, KEYS[2] config hash, KEYS[3] the archive's cursor on the log, KEYS[4]
-- its overrun counter (with a cursor the log is trimmed by the hold, src/archive/lua/hold.lua)
-- ARGV[1] channel, ARGV[2] JSON data, ARGV[3] wake channel, ARGV[4] default max_len
local cfg = redis.call('HMGET', KEYS[2], 'max_len', 'max_age_ms')
local max_len = tonumber(cfg[1]) or tonumber(ARGV[4])
local age = tonumber(cfg[2])
local held = redis.call('GET', KEYS[3])
local at = next_at()
local id
if held then
  id = redis.call('XADD', KEYS[1], at, 'c', ARGV[1], 'd', ARGV[2])
  archive_held_xtrim(KEYS[1], held, KEYS[4], max_len, age, tonumber(string.match(id, '^(%d+)-')))
else
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '=', max_len, at, 'c', ARGV[1], 'd', ARGV[2])
  if age then
    local ms = tonumber(string.match(id, '^(%d+)-'))
    redis.call('XTRIM', KEYS[1], 'MINID', tostring(ms - age))
  end
end
redis.call('PUBLISH', ARGV[3], '')
return id
