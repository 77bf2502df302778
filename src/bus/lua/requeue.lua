-- Puts dead letters back into their agents' inboxes as new messages (new id and time).
-- KEYS[1]: P..'dead'. ARGV: P, wake channel prefix, agent ('' all), max_len, step, part (see
-- share.lua), message ids... (none: all).
-- Returns how many went back.
local P, W, a = ARGV[1], ARGV[2], ARGV[3]
local maxlen = retention(P, ARGV[4], 0)
local want = nil
local step, part = tonumber(ARGV[5]), tonumber(ARGV[6])
if #ARGV > 6 then
  want = {}
  for i = 7, #ARGV do want[ARGV[i]] = true end
end
local moved = 0
for _, e in ipairs(redis.call('XRANGE', P .. 'dead', '-', '+')) do
  local f = fields(e[2])
  if (a == '' or f.a == a) and (want == nil or want[string.match(f.d, '^{"id":"([^"]*)"') or f.id]) then
    local rest = string.match(f.d, '^{"id":"[^"]*","time":[0-9.]+(.*)$')
    if rest then
      local id, ms = next_id(P, step, part)
      redis.call('XADD', inbox(P, f.a, f.r), 'MAXLEN', '~', maxlen, id, 'd', envelope(id, ms, rest))
      redis.call('PUBLISH', W .. f.a, '')
      moved = moved + 1
    end
    redis.call('XDEL', P .. 'dead', e[1])
  end
end
return moved
