-- ARGV[4] repo, [5] limit, [6] first day ('' for overall counts), [7] today. Issues as flat
-- {rule, count, file, severity, message, first, last}...; windowed counts replace `count`.
local repo, limit, from, today = ARGV[4], tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])
sweep_issues(repo, -1)
local out = {}
if from == '' then
  for _, rule in ipairs(top(M .. 'ic:' .. repo, '-inf', limit, false)) do
    local i = issue(repo, rule)
    if i then flat(out, i) end
  end
  return out
end
local sum = {}
for d = tonumber(from), today do
  local r = redis.call('ZRANGE', M .. 'id:' .. repo .. '|' .. d, 0, -1, 'WITHSCORES')
  for i = 1, #r, 2 do sum[r[i]] = (sum[r[i]] or 0) + tonumber(r[i + 1]) end
end
local items = {}
for rule, n in pairs(sum) do items[#items + 1] = {rule, n} end
rank(items, false)
for _, it in ipairs(items) do
  if #out >= 7 * limit then break end
  local i = issue(repo, it[1])
  if i then
    i[2] = fmt(it[2])
    flat(out, i)
  end
end
return out
