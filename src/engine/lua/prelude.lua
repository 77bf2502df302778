-- The prelude of every zerolag script (src/engine/script.rs puts it in front of each one):
-- helpers that any capability's scripts may use.
-- Milliseconds since the epoch, from the server's clock (for what must not go back, such as
-- stream ids; times a caller can pass, like `at=`, come from the client instead).
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- An integer as decimal text, never in exponent form (Lua's tostring gives 1e+15).
local function fmt(n) return string.format('%.0f', n) end
-- A time in seconds with millisecond precision, as text.
local function t3(x) return string.format('%.3f', x) end

-- a > b comparing bytes (the order of equal scores' members in a sorted set), whatever the
-- server's locale: the archive's cursors compare ids this way.
local function bytegt(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return #a > #b
end
-- The change feed (src/changes): appends `recs` ({id, version, kind} each, kind 'c' created,
-- 'u' updated, 'd' deleted) to the feed of the capability whose key prefix is P, in the
-- script that made the changes, keeping about CHANGES_MAX_LEN entries, and wakes the
-- namespace's feed readers. A new sequence starts at the server's time in microseconds, so
-- a reader can tell a sequence that started over from one that went on.
local CHANGES_MAX_LEN = 10000
local function record_changes(P, recs)
  if #recs == 0 then return end
  local nkey = P .. 'changes:n'
  local seq = tonumber(redis.call('GET', nkey) or '0')
  if seq == 0 then
    local t = redis.call('TIME')
    seq = tonumber(t[1]) * 1000000 + tonumber(t[2]) - 1
  end
  for _, r in ipairs(recs) do
    seq = seq + 1
    redis.call('XADD', P .. 'changes', 'MAXLEN', '~', CHANGES_MAX_LEN, '*',
      's', fmt(seq), 'i', r[1], 'v', fmt(r[2]), 'k', r[3])
  end
  redis.call('SET', nkey, fmt(seq))
  redis.call('PUBLISH', 'zlw:' .. string.match(P, '^zl:{(.-):') .. ':changes', '')
end
