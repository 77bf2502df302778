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
