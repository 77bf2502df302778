-- Declares a board's kind. KEYS[1]: P..'b:'..B (routing). ARGV: P, B, half-life ms ('0'
-- none), window ms ('0' none), max items. A board that exists with other options is
-- refused ({'conflict', hl, w, max}); returns {'ok'}.
local P, B = ARGV[1], ARGV[2]
local ck = P .. 'c:' .. B
local c = redis.call('HMGET', ck, 'hl', 'w', 'max')
if c[3] then
  if tonumber(c[1]) ~= tonumber(ARGV[3]) or tonumber(c[2]) ~= tonumber(ARGV[4])
      or tonumber(c[3]) ~= tonumber(ARGV[5]) then
    return { 'conflict', c[1], c[2], c[3] }
  end
  return { 'ok' }
end
if redis.call('EXISTS', P .. 'b:' .. B) == 1 then return { 'conflict', '0', '0', '0' } end
redis.call('HSET', ck, 'hl', ARGV[3], 'w', ARGV[4], 'max', ARGV[5])
return { 'ok' }
