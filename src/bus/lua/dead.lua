-- Dead letters, oldest first. KEYS[1]: P..'dead'. ARGV: P, agent ('' all), count.
-- Returns flat groups of {entry id, agent, group, consumer, deliveries, reason, envelope}.
local P, a, count = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = {}
local got = 0
local from = '-'
while got < count do
  local es = redis.call('XRANGE', P .. 'dead', from, '+', 'COUNT', 256)
  if #es == 0 then break end
  for _, e in ipairs(es) do
    local f = fields(e[2])
    if a == '' or f.a == a then
      for _, v in ipairs({ e[1], f.a, f.g, f.c, f.n, f.why, f.d }) do out[#out + 1] = v end
      got = got + 1
      if got >= count then break end
    end
  end
  if #es < 256 then break end
  from = '(' .. es[#es][1]
end
return out
