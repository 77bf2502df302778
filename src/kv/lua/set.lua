-- Writes keys, all or none. KEYS[1]: P..'idx' (routing). ARGV: P, now (ms), then 5 per item:
-- key, type, data, ttl ms ('' none), expected version ('' any; '0': must not exist).
-- Returns the new versions, or {'conflict', key, version} with nothing written.
local P, now = ARGV[1], tonumber(ARGV[2])
local n = (#ARGV - 2) / 5
local cur = {}
for i = 1, n do
  local b = 2 + (i - 1) * 5
  local v = tonumber(redis.call('HGET', vkey(P, ARGV[b + 1]), 'v') or '0')
  local want = ARGV[b + 5]
  if want ~= '' and tonumber(want) ~= v then return { 'conflict', ARGV[b + 1], v } end
  cur[i] = v
end
local out = {}
for i = 1, n do
  local b = 2 + (i - 1) * 5
  local k, ttl = ARGV[b + 1], ARGV[b + 4]
  local h = vkey(P, k)
  redis.call('HSET', h, 't', ARGV[b + 2], 'd', ARGV[b + 3], 'v', cur[i] + 1)
  if ttl ~= '' then set_expiry(P, h, k, now + tonumber(ttl), ttl) else set_expiry(P, h, k) end
  redis.call('ZADD', P .. 'idx', 0, k)
  out[i] = cur[i] + 1
end
sweep(P, now, 32)
return out
