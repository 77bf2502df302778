-- The analytics reads. KEYS[1]: P..'t' (routing). ARGV: P, now (ms), default retention
-- (days), what, event ('' for `events`), extra, then pairs of (day number, date), oldest
-- first. Days whose buckets have expired at `now` are skipped (false in per-day answers).
-- what = 'day': per day the event's count; 'hour': per day the flat HGETALL of its hours;
-- 'prop': the flat sums of the fields starting with extra ('<prop>='); 'events': the flat
-- sums per event over the days; 'total': the flat HGETALL of the all-time totals;
-- 'uniques': PFCOUNT of the days' HyperLogLogs.
local P, now = ARGV[1], tonumber(ARGV[2])
local ret = retention(P, ARGV[3])
local what, event, extra = ARGV[4], ARGV[5], ARGV[6]
if what == 'total' then return redis.call('HGETALL', P .. 't') end
local days = {}
for i = 7, #ARGV, 2 do
  if expiry(ARGV[i], ret) > now then days[#days + 1] = ARGV[i + 1] else days[#days + 1] = false end
end
local out = {}
if what == 'day' then
  for j, d in ipairs(days) do
    out[j] = d and (redis.call('HGET', P .. 'd:' .. d, event) or 0) or 0
  end
  return out
elseif what == 'hour' then
  for j, d in ipairs(days) do
    out[j] = d and redis.call('HGETALL', P .. 'h:' .. d .. ':' .. event) or {}
  end
  return out
elseif what == 'uniques' then
  local keys = {}
  for _, d in ipairs(days) do
    if d then keys[#keys + 1] = P .. 'u:' .. d .. ':' .. event end
  end
  if #keys == 0 then return 0 end
  return redis.call('PFCOUNT', unpack(keys))
end
local sums, order = {}, {}
for _, d in ipairs(days) do
  if d then
    local flat
    if what == 'prop' then
      flat = redis.call('HGETALL', P .. 'p:' .. d .. ':' .. event)
    else
      flat = redis.call('HGETALL', P .. 'd:' .. d)
    end
    for j = 1, #flat, 2 do
      local f = flat[j]
      if what ~= 'prop' or string.sub(f, 1, #extra) == extra then
        if what == 'prop' then f = string.sub(f, #extra + 1) end
        if not sums[f] then sums[f] = 0; order[#order + 1] = f end
        sums[f] = sums[f] + tonumber(flat[j + 1])
      end
    end
  end
end
for _, f in ipairs(order) do
  out[#out + 1] = f
  out[#out + 1] = fmt(sums[f])
end
return out
