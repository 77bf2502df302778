-- ARGV[4] repo. The acceptance counters (after dropping expired fixes): flat field, value.
local repo = ARGV[4]
sweep_fixes(repo)
return redis.call('HGETALL', M .. 'fa:' .. repo)
