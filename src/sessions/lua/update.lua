-- Merges into (or replaces) a live session's data. KEYS[1]: its hash. ARGV: now, replace
-- ('1'/'0'), max size, then key, JSON text ('' removes the key) pairs.
-- Returns {1}, {0} when it is not live, or {'toobig', size} with nothing written.
local h = KEYS[1]
if not live(h, tonumber(ARGV[1])) then return { 0 } end
local replace = ARGV[2] == '1'
local z = replace and 0 or tonumber(redis.call('HGET', h, 'z') or '0')
for i = 4, #ARGV, 2 do
  local k, v = ARGV[i], ARGV[i + 1]
  if not replace then
    local old = redis.call('HSTRLEN', h, 'd:' .. k)
    if old > 0 then z = z - #k - old end
  end
  if v ~= '' then z = z + #k + #v end
end
if z > tonumber(ARGV[3]) then return { 'toobig', z } end
if replace then
  local del = {}
  for _, f in ipairs(redis.call('HKEYS', h)) do
    if string.sub(f, 1, 2) == 'd:' then del[#del + 1] = f end
  end
  chunked('HDEL', h, {}, del)
end
for i = 4, #ARGV, 2 do
  local k, v = ARGV[i], ARGV[i + 1]
  if v == '' then redis.call('HDEL', h, 'd:' .. k) else redis.call('HSET', h, 'd:' .. k, v) end
end
redis.call('HSET', h, 'z', z)
return { 1 }
