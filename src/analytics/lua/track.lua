-- Applies a batch of events, already added up by the caller. KEYS[1]: P..'t' (routing).
-- ARGV: P, now (ms), default retention (days), then five sections, each a count and its
-- entries: totals (event, n); days (day number, date, event, n); hours (day, date, event,
-- hour, n); props (day, date, event, field, n); users (day, date, event, k, k users).
-- A day whose buckets would already have expired at `now` is skipped (its totals count).
-- Returns the number of bucket keys written.
local P, now = ARGV[1], tonumber(ARGV[2])
local ret = retention(P, ARGV[3])
local i = 4
local expiring = {}
local function touch(key, day)
  if not expiring[key] then
    expiring[key] = expiry(day, ret)
  end
end
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('HINCRBY', P .. 't', ARGV[i], ARGV[i + 1])
  i = i + 2
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  if expiry(ARGV[i], ret) > now then
    local k = P .. 'd:' .. ARGV[i + 1]
    redis.call('HINCRBY', k, ARGV[i + 2], ARGV[i + 3])
    touch(k, ARGV[i])
  end
  i = i + 4
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  if expiry(ARGV[i], ret) > now then
    local k = P .. 'h:' .. ARGV[i + 1] .. ':' .. ARGV[i + 2]
    redis.call('HINCRBY', k, ARGV[i + 3], ARGV[i + 4])
    touch(k, ARGV[i])
  end
  i = i + 5
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  if expiry(ARGV[i], ret) > now then
    local k = P .. 'p:' .. ARGV[i + 1] .. ':' .. ARGV[i + 2]
    redis.call('HINCRBY', k, ARGV[i + 3], ARGV[i + 4])
    touch(k, ARGV[i])
  end
  i = i + 5
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local k_users = tonumber(ARGV[i + 3])
  if expiry(ARGV[i], ret) > now then
    local k = P .. 'u:' .. ARGV[i + 1] .. ':' .. ARGV[i + 2]
    -- PFADD in slices: unpack has a limit on the values it returns.
    local first = i + 4
    local last = i + 3 + k_users
    local s = first
    while s <= last do
      local e = math.min(s + 999, last)
      redis.call('PFADD', k, unpack(ARGV, s, e))
      s = e + 1
    end
    touch(k, ARGV[i])
  end
  i = i + 4 + k_users
end
local written = 0
for k, at in pairs(expiring) do
  redis.call('PEXPIREAT', k, at)
  written = written + 1
end
return written
