-- Messages between two agents (either direction; broadcasts by either), newest first.
-- KEYS[1]: P..'hist'. ARGV: P, a, b, limit. Returns envelopes.
local P, a, b, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local function has(list, x)
  if list == '*' then return true end
  for y in string.gmatch(list, '[^,]+') do
    if y == x then return true end
  end
  return false
end
local out = {}
local last = '+'
while #out < limit do
  local es = redis.call('XREVRANGE', P .. 'hist', last, '-', 'COUNT', 256)
  if #es == 0 then break end
  for _, e in ipairs(es) do
    local f = fields(e[2])
    if (f.s == a and has(f.t, b)) or (f.s == b and has(f.t, a)) then
      out[#out + 1] = f.d
      if #out >= limit then break end
    end
  end
  if #es < 256 then break end
  last = '(' .. es[#es][1]
end
return out
