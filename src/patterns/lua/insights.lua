-- ARGV[4] repo, [5] limit, [6] first day of the trend windows, [7] today.
-- Returns {patterns (flat), issues (flat), acceptance counters (flat), trends (rule,
-- current, previous flat), {patterns, issues, fixes, sessions}}; ARGV[8] is the first day of
-- the current window.
local repo, limit, from, today = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local cur_from = tonumber(ARGV[8])
sweep_patterns(repo, -1)
sweep_issues(repo, -1)
sweep_fixes(repo)
sweep_sessions(repo)
local ps, is, days = {}, {}, {}
for _, id in ipairs(top(M .. 'pr:' .. repo, '-inf', limit, true)) do
  local p = pattern(id)
  if p then flat(ps, p) end
end
for _, rule in ipairs(top(M .. 'ic:' .. repo, '-inf', limit, false)) do
  local i = issue(repo, rule)
  if i then flat(is, i) end
end
local cur, prev, rules = {}, {}, {}
for d = from, today do
  local into = prev
  if d >= cur_from then into = cur end
  local r = redis.call('ZRANGE', M .. 'id:' .. repo .. '|' .. d, 0, -1, 'WITHSCORES')
  for i = 1, #r, 2 do
    if not rules[r[i]] then rules[r[i]] = true; days[#days + 1] = r[i] end
    into[r[i]] = (into[r[i]] or 0) + tonumber(r[i + 1])
  end
end
local trends = {}
for _, rule in ipairs(days) do
  trends[#trends + 1] = rule
  trends[#trends + 1] = fmt(cur[rule] or 0)
  trends[#trends + 1] = fmt(prev[rule] or 0)
end
local counts = {
  redis.call('ZCARD', M .. 'pr:' .. repo), redis.call('ZCARD', M .. 'ic:' .. repo),
  redis.call('LLEN', M .. 'fx:' .. repo), redis.call('LLEN', M .. 'ss:' .. repo),
}
return {ps, is, redis.call('HGETALL', M .. 'fa:' .. repo), trends, counts}
