-- Writes exported entries back with their ids (an import into an empty namespace).
-- KEYS[1] the index of logs (and the routing key: every log shares its hash tag)
-- ARGV[1] the key prefix of a log (`zl:{<ns>:<tag>}:c:`), ARGV[2] nf, ARGV[3 .. 2+nf] the
-- field names, then per entry: the log's id, the entry id, nf values ('' for no meta).
local P, nf = ARGV[1], tonumber(ARGV[2])
local names = {}
for j = 1, nf do names[j] = ARGV[2 + j] end
local n = 0
for i = 3 + nf, #ARGV, nf + 2 do
  local s = ARGV[i]
  redis.call(unpack(fields({ 'XADD', P .. s, ARGV[i + 1] }, names, i + 2)))
  redis.call('ZADD', KEYS[1], 0, s)
  n = n + 1
end
return n
