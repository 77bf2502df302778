-- ARGV[4] repo, [5] first day a bucket may hold, [6] today, then records:
--   'P' id type data confidence observations first last
--   'I' rule count file severity message first last ndays (day count)*
--   'F' entry rule accepted      'S' entry          (fixes and sessions oldest first)
-- Replaces everything the repository held. Returns the records written.
local repo, from, today = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
for _, m in ipairs(redis.call('ZRANGE', M .. 'px:' .. repo, 0, -1)) do
  redis.call('DEL', M .. 'p:' .. string.sub(m, 1, 17), M .. 'pt:' .. repo .. '|' .. string.sub(m, 19))
end
for _, rule in ipairs(redis.call('ZRANGE', M .. 'ix:' .. repo, 0, -1)) do
  redis.call('DEL', M .. 'i:' .. repo .. '|' .. rule)
end
for d = from, today do redis.call('DEL', M .. 'id:' .. repo .. '|' .. d) end
for _, k in ipairs({'pr:', 'px:', 'ic:', 'ix:', 'fx:', 'fa:', 'ss:'}) do redis.call('DEL', M .. k .. repo) end
local i, n, x = 7, 0, fmt(X)
while i <= #ARGV do
  local kind = ARGV[i]
  if kind == 'P' then
    local id, ty, conf = ARGV[i + 1], ARGV[i + 2], ARGV[i + 4]
    redis.call('HSET', M .. 'p:' .. id, 'r', repo, 't', ty, 'd', ARGV[i + 3], 'c', conf,
      'n', ARGV[i + 5], 'f', ARGV[i + 6], 'l', ARGV[i + 7])
    redis.call('ZADD', M .. 'pr:' .. repo, conf, id)
    redis.call('ZADD', M .. 'pt:' .. repo .. '|' .. ty, conf, id)
    refresh_pattern(repo, id, ty, false)
    i = i + 8
  elseif kind == 'I' then
    local rule = ARGV[i + 1]
    local h = M .. 'i:' .. repo .. '|' .. rule
    redis.call('HSET', h, 'n', ARGV[i + 2], 'file', ARGV[i + 3], 'sev', ARGV[i + 4],
      'msg', ARGV[i + 5], 'f', ARGV[i + 6], 'l', ARGV[i + 7], 'x', x)
    redis.call('PEXPIREAT', h, x)
    redis.call('ZADD', M .. 'ic:' .. repo, ARGV[i + 2], rule)
    redis.call('ZADD', M .. 'ix:' .. repo, x, rule)
    extend(M .. 'ic:' .. repo, X)
    extend(M .. 'ix:' .. repo, X)
    local nd = tonumber(ARGV[i + 8])
    for j = 1, nd do
      local dk = M .. 'id:' .. repo .. '|' .. ARGV[i + 7 + 2 * j]
      redis.call('ZADD', dk, ARGV[i + 8 + 2 * j], rule)
      extend(dk, X)
    end
    i = i + 9 + 2 * nd
  elseif kind == 'F' then
    local fx, fa, rule = M .. 'fx:' .. repo, M .. 'fa:' .. repo, ARGV[i + 2]
    redis.call('LPUSH', fx, ARGV[i + 1])
    redis.call('HINCRBY', fa, 'n:' .. rule, 1)
    if ARGV[i + 3] == '1' then redis.call('HINCRBY', fa, 'a:' .. rule, 1) end
    extend(fx, X)
    extend(fa, X)
    i = i + 4
  elseif kind == 'S' then
    redis.call('LPUSH', M .. 'ss:' .. repo, ARGV[i + 1])
    extend(M .. 'ss:' .. repo, X)
    i = i + 2
  else
    return redis.error_reply('bad import record ' .. tostring(kind))
  end
  n = n + 1
end
if n > 0 then touch_repo(repo) end
return n
