-- A user's live sessions. KEYS[1]: the user's index. ARGV: P, now. Drops the ids whose hash
-- the server has dropped (its time to live) from the index; an id that expired at `now` but
-- whose hash is still there stays, so that destroy_user ends it whatever the caller's clock.
-- Returns one HGETALL array per live session, each after its id.
local P, now = ARGV[1], tonumber(ARGV[2])
local u = KEYS[1]
local out = {}
for _, id in ipairs(redis.call('ZRANGE', u, 0, -1)) do
  local h = skey(P, id)
  if live(h, now) then
    out[#out + 1] = id
    out[#out + 1] = redis.call('HGETALL', h)
  elseif redis.call('EXISTS', h) == 0 then
    redis.call('ZREM', u, id)
  end
end
return out
