-- ARGV[4] id, [5] repo, [6] type, [7] data, [8] confidence. Stores or observes a pattern.
local id, repo, ty, data, conf = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
sweep_patterns(repo, 20)
local h = M .. 'p:' .. id
local cur = redis.call('HMGET', h, 'n', 'f', 'x')
local n, f = 1, NOW
if cur[1] and tonumber(cur[3]) > NOW then
  n = tonumber(cur[1]) + 1
  f = tonumber(cur[2])
end
redis.call('HSET', h, 'r', repo, 't', ty, 'd', data, 'c', conf, 'n', fmt(n), 'f', fmt(f), 'l', fmt(NOW), 'x', fmt(X))
redis.call('ZADD', M .. 'pr:' .. repo, conf, id)
redis.call('ZADD', M .. 'pt:' .. repo .. '|' .. ty, conf, id)
refresh_pattern(repo, id, ty, true)
return {fmt(n), fmt(f)}
