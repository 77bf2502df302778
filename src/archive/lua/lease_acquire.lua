-- Takes or renews the archive lease of a namespace (src/archive/lease.rs).
-- KEYS[1]: zl:{<ns>:archive}:lease. ARGV: holder, ttl in ms.
-- Returns 1 when the holder has it now (taken while free or expired, or renewed), else 0.
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
