-- Unacked messages of an agent, most urgent first. KEYS[1]: P..'agents'.
-- ARGV: P, agent, count. Returns {'ok', envelope...} | {'noagent'}.
local P, a, count = ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('HEXISTS', P .. 'agents', a) == 0 then return { 'noagent' } end
local out = { 'ok' }
for r = 0, 3 do
  local left = count - (#out - 1)
  if left <= 0 then break end
  for _, e in ipairs(redis.call('XRANGE', inbox(P, a, r), '-', '+', 'COUNT', left)) do
    out[#out + 1] = e[2][2]
  end
end
return out
