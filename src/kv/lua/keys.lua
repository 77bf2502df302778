-- A page of keys starting with a prefix. KEYS[1]: P..'idx'. ARGV: P, now (ms), prefix, the
-- lower bound ('[prefix' or '(after', chosen by the caller in byte order), limit, and for a
-- page in descending order 'desc' and its upper bound ('(before', or '' for every key with the
-- prefix). Expired keys are swept on the way and not returned. Returns the keys in byte order
-- (descending for 'desc').
local P, now, prefix, lo, limit = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5])
sweep(P, now, 1000)
-- Every key with the prefix sorts below prefix..'\255' (keys are UTF-8: no 0xFF byte).
local top = '[' .. prefix .. '\255'
if ARGV[6] == 'desc' then
  local hi = ARGV[7]
  if hi == '' then hi = top end
  return redis.call('ZREVRANGEBYLEX', KEYS[1], hi, lo, 'LIMIT', 0, limit)
end
return redis.call('ZRANGEBYLEX', KEYS[1], lo, top, 'LIMIT', 0, limit)
