-- ARGV[4] repo, [5] entry JSON, [6] rule, [7] '1' if accepted, [8] most kept. Newest first.
local repo, entry, rule, acc, max = ARGV[4], ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8])
local fx, fa = M .. 'fx:' .. repo, M .. 'fa:' .. repo
sweep_fixes(repo)
redis.call('LPUSH', fx, entry)
redis.call('HINCRBY', fa, 'n:' .. rule, 1)
if acc == '1' then redis.call('HINCRBY', fa, 'a:' .. rule, 1) end
while redis.call('LLEN', fx) > max do pop_fix(repo) end
extend(fx, X)
extend(fa, X)
touch_repo(repo)
return 1
