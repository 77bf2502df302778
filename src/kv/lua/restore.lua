-- Writes keys exactly as exported (import into an empty namespace). KEYS[1]: P..'idx'.
-- ARGV: P, then 5 per item: key, type, data, version, expiry ms since the epoch ('' none).
-- Returns how many were written.
local P = ARGV[1]
local n = (#ARGV - 1) / 5
for i = 1, n do
  local b = 1 + (i - 1) * 5
  local k, at = ARGV[b + 1], ARGV[b + 5]
  local h = vkey(P, k)
  redis.call('HSET', h, 't', ARGV[b + 2], 'd', ARGV[b + 3], 'v', ARGV[b + 4])
  redis.call('ZADD', P .. 'idx', 0, k)
  if at ~= '' then
    -- The time to live for touch: what is left now (the original is not exported).
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    set_expiry(P, h, k, tonumber(at), math.max(1, tonumber(at) - now))
  end
end
return n
