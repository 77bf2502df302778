-- Gives up a lease. KEYS[1]: P..'idx' (routing). ARGV: P, key, token. Returns 1 if it did.
local P, k, token = ARGV[1], ARGV[2], ARGV[3]
if redis.call('GET', lkey(P, k)) == token then
  redis.call('DEL', lkey(P, k))
  return 1
end
return 0
