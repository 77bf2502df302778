-- Shared by the events scripts. KEYS[1] is the log stream.
-- The id of the next XADD: '*', except on a new (or cleared) log, which starts one millisecond
-- ahead so its first id is above any id a subscriber may still hold from before a clear in
-- the same millisecond; the sequence comes from the microsecond, so a log created again within
-- one millisecond (a clear between two first publishes) still starts above the one before.
local function next_at()
  if redis.call('EXISTS', KEYS[1]) == 1 then return '*' end
  local t = redis.call('TIME')
  local us = tonumber(t[2])
  return (tonumber(t[1]) * 1000 + math.floor(us / 1000) + 1) .. '-' .. ((us % 1000) * 1000 + 1)
end
