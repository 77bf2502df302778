-- ARGV[4] repo, [5] entry JSON, [6] most kept. Newest first.
local repo, entry, max = ARGV[4], ARGV[5], tonumber(ARGV[6])
local ss = M .. 'ss:' .. repo
sweep_sessions(repo)
redis.call('LPUSH', ss, entry)
redis.call('LTRIM', ss, 0, max - 1)
extend(ss, X)
touch_repo(repo)
return 1
