-- Releases the archive lease if the holder has it (src/archive/lease.rs).
-- KEYS[1]: zl:{<ns>:archive}:lease. ARGV: holder. Returns 1 when released, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
