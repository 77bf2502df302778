-- Shared by the sessions scripts. P is the key prefix `zl:{<ns>:sessions}:`: one hash
-- `P s:<id>` per session (`u` user, `c` created, `e` expires, `l` time to live, all ms;
-- `z` data size; `d:<key>` the JSON text of each top-level data key) and one sorted set
-- `P u:<user>` of the user's session ids scored by expiry. Times are the caller's (`now`);
-- a key's time to live (server clock) only backs the expiry check up.
local function skey(P, id) return P .. 's:' .. id end
local function ukey(P, user) return P .. 'u:' .. user end
-- Gives key `k` at least `ms` more to live.
local function keep(k, ms)
  local t = redis.call('PTTL', k)
  if t < ms then redis.call('PEXPIRE', k, math.max(1, ms)) end
end
-- The session's fields when it is live at `now`, else nil.
local function live(h, now)
  local e = redis.call('HGET', h, 'e')
  if e and tonumber(e) > now then return true end
  return nil
end
-- Runs `cmd` on key `k` with the values of `list` after `head` (a table of arguments), a
-- thousand at a time: unpack takes a few thousand values at most.
local function chunked(cmd, k, head, list)
  for i = 1, #list, 1000 do
    local args = {}
    for _, a in ipairs(head) do args[#args + 1] = a end
    for j = i, math.min(#list, i + 999) do args[#args + 1] = list[j] end
    redis.call(cmd, k, unpack(args))
  end
end
