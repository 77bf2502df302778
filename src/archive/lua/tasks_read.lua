-- Task versions after an archive cursor (src/archive/sources/tasks.rs).
-- KEYS[1]: zl:{<ns>:tasks}:z:upd. ARGV: P (the tasks prefix), mode, a, b, most; mode 'N' (no
-- cursor: turns the archive log on, then reads the snapshot from the start), 'S' (the
-- snapshot of current tasks, after updated_at a and id b), 'L' (the log after entry a).
-- Returns {next cursor, behind, n, then per row: id, version, kind, doc, related, at_ms}
-- (kind 'c', 'u', 'd' from the log, 's' from the snapshot; doc and related '' if none).
local P, mode, most = ARGV[1], ARGV[2], tonumber(ARGV[5])
local log = P .. 'arch'
local out = {}
local n = 0
if mode == 'N' then
  redis.call('SET', P .. 'arch:on', '1')
  mode = 'S'
end
if mode == 'S' then
  local a = tonumber(ARGV[3])
  local aid = ARGV[4]
  local min = '-inf'
  if a then min = ARGV[3] end
  local off = 0
  local last_s, last_id = nil, nil
  while n < most do
    local page = redis.call('ZRANGEBYSCORE', KEYS[1], min, '+inf', 'WITHSCORES', 'LIMIT', off, 256)
    if #page == 0 then break end
    for i = 1, #page, 2 do
      local id, s = page[i], page[i + 1]
      local sn = tonumber(s)
      if (not a) or sn > a or (sn == a and bytegt(id, aid)) then
        local h = redis.call('HMGET', P .. 't:' .. id, 'doc', 'related', 'version')
        last_s, last_id = s, id
        if h[1] then
          n = n + 1
          for _, v in ipairs({ id, h[3], 's', h[1], h[2] or '', fmt(math.floor(sn * 1000)) }) do
            out[#out + 1] = v
          end
        end
        if n >= most then break end
      end
    end
    off = off + 256
  end
  local res
  if n >= most and last_s then
    local left = redis.call('ZCOUNT', KEYS[1], '(' .. last_s, '+inf')
    res = { 'S|' .. last_s .. '|' .. last_id, left + redis.call('XLEN', log), n }
  else
    res = { 'L|0-0', redis.call('XLEN', log), n }
  end
  for _, v in ipairs(out) do res[#res + 1] = v end
  return res
end
local ents = redis.call('XRANGE', log, '(' .. ARGV[3], '+', 'COUNT', most)
local next_id = ARGV[3]
for _, e in ipairs(ents) do
  local f = {}
  for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
  n = n + 1
  next_id = e[1]
  local ms = string.match(e[1], '^(%d+)-')
  for _, v in ipairs({ f.i, f.v, f.k, f.d or '', f.r or '', ms }) do out[#out + 1] = v end
end
local behind = 0
if n >= most then behind = math.max(0, redis.call('XLEN', log) - n) end
local res = { 'L|' .. next_id, behind, n }
for _, v in ipairs(out) do res[#res + 1] = v end
return res
