-- ARGV[4] repo, [5] limit, [6] first day of the trend windows, [7] today.
-- Returns {patterns (flat), issues (flat), acceptance counters (flat), days (rule, day,
-- count flat), {patterns, issues, fixes, sessions}}.
local repo, limit, from, today = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
sweep_patterns(repo, -1)
sweep_issues(repo, -1)
sweep_fixes(repo)
sweep_sessions(repo)
local ps, is, days = {}, {}, {}
for _, id in ipairs(top(M .. 'pr:' .. repo, '-inf', limit)) do
  local p = pattern(id)
  if p then flat(ps, p) end
end
for _, rule in ipairs(top(M .. 'ic:' .. repo, '-inf', limit)) do
  local i = issue(repo, rule)
  if i then flat(is, i) end
end
for d = from, today do
  local r = redis.call('ZRANGE', M .. 'id:' .. repo .. '|' .. d, 0, -1, 'WITHSCORES')
  for i = 1, #r, 2 do
    days[#days + 1] = r[i]; days[#days + 1] = tostring(d); days[#days + 1] = r[i + 1]
  end
end
local counts = {
  redis.call('ZCARD', M .. 'pr:' .. repo), redis.call('ZCARD', M .. 'ic:' .. repo),
  redis.call('LLEN', M .. 'fx:' .. repo), redis.call('LLEN', M .. 'ss:' .. repo),
}
return {ps, is, redis.call('HGETALL', M .. 'fa:' .. repo), days, counts}
