-- ARGV[4] id, [5] confidence ('' keeps it), [6] data ('' keeps it), [7] '1' to count an
-- observation. Refreshes the expiry. Returns the pattern, or nil when absent or expired.
local id, conf, data, obs = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local h = M .. 'p:' .. id
local v = redis.call('HMGET', h, 'r', 't', 'x')
if not v[1] or tonumber(v[3]) <= NOW then return false end
local repo, ty = v[1], v[2]
if conf ~= '' then
  redis.call('HSET', h, 'c', conf)
  redis.call('ZADD', M .. 'pr:' .. repo, conf, id)
  redis.call('ZADD', M .. 'pt:' .. repo .. '|' .. ty, conf, id)
end
if data ~= '' then redis.call('HSET', h, 'd', data) end
if obs == '1' then
  redis.call('HINCRBY', h, 'n', 1)
  redis.call('HSET', h, 'l', fmt(NOW))
end
refresh_pattern(repo, id, ty, conf ~= '' or data ~= '' or obs == '1')
local p = pattern(id)
p[#p + 1] = repo
return p
