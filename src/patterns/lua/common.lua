-- Shared helpers, prepended to every pattern-memory script. KEYS[1] is `M repos` (routing);
-- ARGV[1] the key prefix M = `zl:{<ns>:patterns}:`, ARGV[2] now (ms), ARGV[3] the expiry
-- time (ms) of anything written or used now. Times come from the client so that `at=` and
-- the embedded store agree.
local M = ARGV[1]
local NOW = tonumber(ARGV[2])
local X = tonumber(ARGV[3])
-- Makes `key` (an index or log) live at least until `x`, never shortening it. It is pushed
-- a little further (a 16th of the ttl, at most an hour) so that the next writes only need the
-- PTTL; an index outliving its newest member by that much is harmless (reads go by scores).
local SLACK = math.min(math.floor((X - NOW) / 16), 3600000)
local function extend(key, x)
  local t = redis.call('PTTL', key)
  if t == -1 or (t >= 0 and NOW + t < x) then redis.call('PEXPIREAT', key, fmt(x + SLACK)) end
end
local function touch_repo(repo)
  redis.call('ZADD', KEYS[1], fmt(NOW), repo)
  extend(KEYS[1], X)
end
-- Expired patterns of a repository go (at most n; -1: all). `px` members are `<id>|<type>`
-- (ids are 17 characters without `|`).
local function sweep_patterns(repo, n)
  local px = M .. 'px:' .. repo
  local gone = redis.call('ZRANGEBYSCORE', px, '-inf', fmt(NOW), 'LIMIT', 0, n)
  for _, m in ipairs(gone) do
    local id, ty = string.sub(m, 1, 17), string.sub(m, 19)
    redis.call('DEL', M .. 'p:' .. id)
    redis.call('ZREM', M .. 'pr:' .. repo, id)
    redis.call('ZREM', M .. 'pt:' .. repo .. '|' .. ty, id)
    redis.call('ZREM', px, m)
  end
  return #gone
end
local function sweep_issues(repo, n)
  local ix = M .. 'ix:' .. repo
  local gone = redis.call('ZRANGEBYSCORE', ix, '-inf', fmt(NOW), 'LIMIT', 0, n)
  for _, rule in ipairs(gone) do
    redis.call('DEL', M .. 'i:' .. repo .. '|' .. rule)
    redis.call('ZREM', M .. 'ic:' .. repo, rule)
    redis.call('ZREM', ix, rule)
  end
  return #gone
end
-- Drops the oldest fix outcome and takes it out of the acceptance counters.
local function pop_fix(repo)
  local e = redis.call('RPOP', M .. 'fx:' .. repo)
  if not e then return 0 end
  local d = cjson.decode(e)
  local fa = M .. 'fa:' .. repo
  if redis.call('HINCRBY', fa, 'n:' .. d.rule, -1) <= 0 then
    redis.call('HDEL', fa, 'n:' .. d.rule, 'a:' .. d.rule)
  elseif d.accepted then
    redis.call('HINCRBY', fa, 'a:' .. d.rule, -1)
  end
  return 1
end
-- Log entries (fixes, sessions) are newest first; expired ones leave from the tail.
local function sweep_fixes(repo)
  local n = 0
  while true do
    local e = redis.call('LINDEX', M .. 'fx:' .. repo, -1)
    if not e or cjson.decode(e).x > NOW then return n end
    n = n + pop_fix(repo)
  end
end
local function sweep_sessions(repo)
  local n = 0
  while true do
    local e = redis.call('LINDEX', M .. 'ss:' .. repo, -1)
    if not e or cjson.decode(e).x > NOW then return n end
    redis.call('RPOP', M .. 'ss:' .. repo)
    n = n + 1
  end
end
local function sweep_all(repo)
  return sweep_patterns(repo, -1) + sweep_issues(repo, -1) + sweep_fixes(repo) + sweep_sessions(repo)
end
-- Members ranked by score (>= min) descending, then (with `obs`, for patterns) by observations
-- descending, then by member ascending: the order the embedded store uses. Only members tied
-- with the last of the first `limit` are looked at beyond it.
local function rank(items, obs)
  table.sort(items, function(a, b)
    if a[2] ~= b[2] then return a[2] > b[2] end
    if obs and a[3] ~= b[3] then return a[3] > b[3] end
    return a[1] < b[1]
  end)
end
local function top(key, min, limit, obs)
  local r = redis.call('ZREVRANGEBYSCORE', key, '+inf', min, 'WITHSCORES', 'LIMIT', 0, limit)
  local items, seen = {}, {}
  for i = 1, #r, 2 do items[#items + 1] = {r[i], tonumber(r[i + 1])}; seen[r[i]] = true end
  if #items == limit and limit > 0 then
    local last = r[#r]
    for _, m in ipairs(redis.call('ZRANGEBYSCORE', key, last, last)) do
      if not seen[m] then items[#items + 1] = {m, tonumber(last)}; seen[m] = true end
    end
  end
  if obs then
    for _, it in ipairs(items) do
      it[3] = tonumber(redis.call('HGET', M .. 'p:' .. it[1], 'n') or '0')
    end
  end
  rank(items, obs)
  local out = {}
  for i = 1, math.min(limit, #items) do out[i] = items[i][1] end
  return out
end
local PFIELDS = {'t', 'd', 'c', 'n', 'f', 'l'}
-- A pattern as {id, type, data, confidence, observations, first, last}, or nil.
local function pattern(id)
  local v = redis.call('HMGET', M .. 'p:' .. id, 't', 'd', 'c', 'n', 'f', 'l', 'x')
  if not v[1] or tonumber(v[7]) <= NOW then return nil end
  return {id, v[1], v[2], v[3], v[4], v[5], v[6]}
end
-- Refreshes a pattern's expiry; `touch` (a write) also marks the repository as written now.
local function refresh_pattern(repo, id, ty, touch)
  local h = M .. 'p:' .. id
  redis.call('HSET', h, 'x', fmt(X))
  redis.call('PEXPIREAT', h, fmt(X))
  redis.call('ZADD', M .. 'px:' .. repo, fmt(X), id .. '|' .. ty)
  extend(M .. 'px:' .. repo, X)
  extend(M .. 'pr:' .. repo, X)
  extend(M .. 'pt:' .. repo .. '|' .. ty, X)
  if touch then
    touch_repo(repo)
  else
    -- The repository stays listed as long as something of it lives.
    redis.call('ZADD', KEYS[1], 'NX', fmt(NOW), repo)
    extend(KEYS[1], X)
  end
end
-- An issue as {rule, count, file, severity, message, first, last}, or nil.
local function issue(repo, rule)
  local v = redis.call('HMGET', M .. 'i:' .. repo .. '|' .. rule, 'n', 'file', 'sev', 'msg', 'f', 'l', 'x')
  if not v[1] or tonumber(v[7]) <= NOW then return nil end
  return {rule, v[1], v[2], v[3], v[4], v[5], v[6]}
end
local function flat(out, rec) for _, v in ipairs(rec) do out[#out + 1] = v end end
