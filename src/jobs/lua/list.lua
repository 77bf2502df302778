-- Lists job ids of one queue in its order from position ARGV[3], at most ARGV[4] of them,
-- keeping those of kind ARGV[5] and status ARGV[6] (empty: any), reading at most ARGV[7]
-- entries. KEYS[1]: any key with the jobs hash tag. ARGV: P, queue set suffix ('r:<kind>',
-- 'd', 'x' ascending; 'f' newest first), start, limit, kind, status, max scanned.
-- Returns {next position or -1 at the end, id...}.
local set = P .. ARGV[2]
local pos = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local kind, status = ARGV[5], ARGV[6]
local budget = tonumber(ARGV[7])
local rev = ARGV[2] == 'f'
local out = {0}
local batch = 256
while #out - 1 < limit and budget > 0 do
  local n = math.min(batch, budget)
  local ids
  if rev then
    ids = redis.call('ZRANGE', set, pos, pos + n - 1, 'REV')
  else
    ids = redis.call('ZRANGE', set, pos, pos + n - 1)
  end
  if #ids == 0 then
    out[1] = '-1'
    return out
  end
  for _, id in ipairs(ids) do
    pos = pos + 1
    budget = budget - 1
    local ok = true
    if kind ~= '' or status ~= '' then
      local f = redis.call('HMGET', P .. 'j:' .. id, 'kind', 'status')
      ok = (kind == '' or f[1] == kind) and (status == '' or f[2] == status)
    end
    if ok then
      out[#out + 1] = id
      if #out - 1 == limit then break end
    end
  end
  if #ids < n and #out - 1 < limit then
    out[1] = '-1'
    return out
  end
end
out[1] = tostring(pos)
if redis.call('ZCARD', set) <= pos then out[1] = '-1' end
return out
