-- Extends running claims: deadline = now + visibility, never past started_at + timeout;
-- stores progress when given.
-- KEYS[1]: any key with the jobs hash tag.
-- ARGV: P, now, visibility, n, then per item: id, token, progress JSON ('' none).
-- Returns per item 'ok', 'stale' or 'missing'.
local now = tonumber(ARGV[2])
local vis = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local out = {}
for i = 1, n do
  local pos = 5 + (i - 1) * 3
  local id, token, prog = ARGV[pos], ARGV[pos + 1], ARGV[pos + 2]
  local k = P .. 'j:' .. id
  local f = redis.call('HMGET', k, 'q', 'token', 'timeout', 'started_at')
  if not f[1] then
    out[i] = 'missing'
  elseif f[1] ~= 'x' or f[2] ~= token then
    out[i] = 'stale'
  else
    local dl = now + vis
    local t, s = tonumber(f[3]), tonumber(f[4])
    if t and s and s + t < dl then dl = s + t end
    redis.call('ZADD', P .. 'x', t3(dl), id)
    if prog ~= '' then redis.call('HSET', k, 'progress', prog) end
    out[i] = 'ok'
  end
end
return out
