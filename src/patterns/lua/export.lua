-- ARGV[4] repo, [5] first day a bucket may hold, [6] today. Returns {patterns (flat),
-- issues (flat), days (rule, day, count flat), fixes (entries, newest first), sessions}.
local repo, from, today = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
sweep_all(repo)
local ps, is, days = {}, {}, {}
for _, id in ipairs(redis.call('ZRANGE', M .. 'pr:' .. repo, 0, -1)) do
  local p = pattern(id)
  if p then flat(ps, p) end
end
for _, rule in ipairs(redis.call('ZRANGE', M .. 'ic:' .. repo, 0, -1)) do
  local i = issue(repo, rule)
  if i then flat(is, i) end
end
for d = from, today do
  local r = redis.call('ZRANGE', M .. 'id:' .. repo .. '|' .. d, 0, -1, 'WITHSCORES')
  for i = 1, #r, 2 do
    days[#days + 1] = r[i]; days[#days + 1] = tostring(d); days[#days + 1] = r[i + 1]
  end
end
return {ps, is, days, redis.call('LRANGE', M .. 'fx:' .. repo, 0, -1),
  redis.call('LRANGE', M .. 'ss:' .. repo, 0, -1)}
