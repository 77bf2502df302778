-- Appends several events to the namespace's log in order, each exactly as publish.lua appends
-- one (increasing ids, exact MAXLEN, the age limit), then wakes the subscribers once.
-- KEYS[1] log stream, KEYS[2] config hash, KEYS[3] the archive's cursor on the log, KEYS[4]
-- its overrun counter (with a cursor the log is trimmed once, by the hold)
-- ARGV[1] wake channel, ARGV[2] default max_len, then per event: channel, JSON data
-- Returns the ids.
local cfg = redis.call('HMGET', KEYS[2], 'max_len', 'max_age_ms')
local max_len = tonumber(cfg[1]) or tonumber(ARGV[2])
local age = tonumber(cfg[2])
local held = redis.call('GET', KEYS[3])
local ids = {}
-- Only the first event can find the log new (see common.lua).
local at = next_at()
for i = 3, #ARGV, 2 do
  local id
  if held then
    id = redis.call('XADD', KEYS[1], at, 'c', ARGV[i], 'd', ARGV[i + 1])
  else
    id = redis.call('XADD', KEYS[1], 'MAXLEN', '=', max_len, at, 'c', ARGV[i], 'd', ARGV[i + 1])
    if age then
      local ms = tonumber(string.match(id, '^(%d+)-'))
      redis.call('XTRIM', KEYS[1], 'MINID', tostring(ms - age))
    end
  end
  ids[#ids + 1] = id
  at = '*'
end
if held and #ids > 0 then
  archive_held_xtrim(KEYS[1], held, KEYS[4], max_len, age,
    tonumber(string.match(ids[#ids], '^(%d+)-')))
end
if #ids > 0 then redis.call('PUBLISH', ARGV[1], '') end
return ids
