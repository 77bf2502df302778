-- Shared by the analytics scripts. P is the key prefix `zl:{<ns>:analytics}:`: `P t` (hash,
-- event -> all-time total), `P d:<date>` (hash, event -> count that day), `P h:<date>:<event>`
-- (hash, hour 00-23 -> count), `P p:<date>:<event>` (hash, `<prop>=<value>` -> count),
-- `P u:<date>:<event>` (HyperLogLog of the day's users), `P cfg` (hash: `days`, the
-- retention). <date> is YYYYMMDD (UTC). Every bucket key expires (PEXPIREAT) at the end of its
-- day plus the retention; reads also skip a day whose expiry has passed at the caller's `now`.
local DAY_MS = 86400000
-- The retention in days (`P cfg` field `days`, else the default passed by the caller).
local function retention(P, default)
  return tonumber(redis.call('HGET', P .. 'cfg', 'days') or default)
end
-- When the buckets of day number `day` expire (ms since the epoch).
local function expiry(day, ret)
  return (tonumber(day) + 1 + ret) * DAY_MS
end
