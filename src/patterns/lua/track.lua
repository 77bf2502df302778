-- ARGV[4] repo, [5] rule, [6] file, [7] severity, [8] message, [9] at (ms), [10] day of at.
-- Counts one occurrence overall and in its day bucket. Returns {count, first, last}.
local repo, rule, file, sev, msg = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local at, day = tonumber(ARGV[9]), ARGV[10]
sweep_issues(repo, 20)
local h = M .. 'i:' .. repo .. '|' .. rule
local cur = redis.call('HMGET', h, 'n', 'f', 'l', 'x')
local n, f, l = 1, at, at
if cur[1] and tonumber(cur[4]) > NOW then
  n = tonumber(cur[1]) + 1
  f = math.min(tonumber(cur[2]), at)
  l = math.max(tonumber(cur[3]), at)
end
redis.call('HSET', h, 'n', fmt(n), 'file', file, 'sev', sev, 'msg', msg, 'f', fmt(f), 'l', fmt(l), 'x', fmt(X))
redis.call('PEXPIREAT', h, fmt(X))
redis.call('ZADD', M .. 'ic:' .. repo, fmt(n), rule)
redis.call('ZADD', M .. 'ix:' .. repo, fmt(X), rule)
local dk = M .. 'id:' .. repo .. '|' .. day
redis.call('ZINCRBY', dk, 1, rule)
extend(dk, X)
extend(M .. 'ic:' .. repo, X)
extend(M .. 'ix:' .. repo, X)
touch_repo(repo)
return {fmt(n), fmt(f), fmt(l)}
