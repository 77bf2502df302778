-- Before a share spread over partitions writes anything: what this partition knows of its
-- targets. KEYS[1]: P..'agents'. ARGV: P, then 2 per message: mode ('to' | 'kind'), target
-- or kind. Returns per message 1 / 0 (the agent is registered here) or how many agents of
-- this partition registered for the kind.
local P = ARGV[1]
local out = {}
for i = 2, #ARGV, 2 do
  if ARGV[i] == 'to' then
    out[#out + 1] = redis.call('HEXISTS', P .. 'agents', ARGV[i + 1])
  else
    out[#out + 1] = redis.call('SCARD', P .. 'kind:' .. ARGV[i + 1])
  end
end
return out
