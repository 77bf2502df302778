-- ARGV[4] first day a bucket may hold, [5] today. Returns {patterns, issues, fixes,
-- sessions, repos, bytes, oldest, newest} over every repository (sweeping expired records).
local from, today = tonumber(ARGV[4]), tonumber(ARGV[5])
local c = {0, 0, 0, 0, 0}
local bytes, oldest, newest = 0, nil, nil
local function mem(k)
  local ok, v = pcall(redis.call, 'MEMORY', 'USAGE', k)
  if ok and v then bytes = bytes + v end
end
local function seen(a, b)
  a, b = tonumber(a), tonumber(b)
  if a and (not oldest or a < oldest) then oldest = a end
  if b and (not newest or b > newest) then newest = b end
end
mem(KEYS[1])
for _, repo in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  sweep_all(repo)
  local types = {}
  for _, id in ipairs(redis.call('ZRANGE', M .. 'pr:' .. repo, 0, -1)) do
    local v = redis.call('HMGET', M .. 'p:' .. id, 't', 'f', 'l')
    if v[1] then types[v[1]] = true; seen(v[2], v[3]); c[1] = c[1] + 1; mem(M .. 'p:' .. id) end
  end
  for ty, _ in pairs(types) do mem(M .. 'pt:' .. repo .. '|' .. ty) end
  for _, rule in ipairs(redis.call('ZRANGE', M .. 'ic:' .. repo, 0, -1)) do
    local k = M .. 'i:' .. repo .. '|' .. rule
    local v = redis.call('HMGET', k, 'f', 'l')
    if v[1] then seen(v[1], v[2]); c[2] = c[2] + 1; mem(k) end
  end
  for d = from, today do mem(M .. 'id:' .. repo .. '|' .. d) end
  for _, kind in ipairs({'fx', 'ss'}) do
    local k = M .. kind .. ':' .. repo
    local last, first = redis.call('LINDEX', k, -1), redis.call('LINDEX', k, 0)
    if last then seen(cjson.decode(last).at, cjson.decode(first).at) end
    if kind == 'fx' then c[3] = c[3] + redis.call('LLEN', k) else c[4] = c[4] + redis.call('LLEN', k) end
  end
  for _, k in ipairs({'pr:', 'px:', 'ic:', 'ix:', 'fx:', 'fa:', 'ss:'}) do mem(M .. k .. repo) end
  if redis.call('EXISTS', M .. 'pr:' .. repo, M .. 'ic:' .. repo, M .. 'fx:' .. repo, M .. 'ss:' .. repo) == 0 then
    redis.call('ZREM', KEYS[1], repo)
  else
    c[5] = c[5] + 1
  end
end
return {c[1], c[2], c[3], c[4], c[5], bytes, oldest and fmt(oldest) or '', newest and fmt(newest) or ''}
