-- Shared by the chat and activity scripts. KEYS[1] is the log's stream.
-- The id of the next XADD: '*', except on a new (or cleared) log, which starts one millisecond
-- ahead so its first id is above any id a follower may still hold from before a clear in the
-- same millisecond; the sequence comes from the microsecond, so a log created again within
-- one millisecond still starts above the one before (src/streams/mod.rs `first_id` is the
-- embedded store's copy of this rule).
local function next_at()
  if redis.call('EXISTS', KEYS[1]) == 1 then return '*' end
  local t = redis.call('TIME')
  local us = tonumber(t[2])
  return fmt(tonumber(t[1]) * 1000 + math.floor(us / 1000) + 1) .. '-' .. fmt((us % 1000) * 1000 + 1)
end
-- XADD arguments of one entry: the field names in `names`, the values from ARGV at `i`; a
-- third field (chat's meta) that is '' is left out.
local function fields(args, names, i)
  for j = 1, #names do
    local v = ARGV[i + j - 1]
    if j < 3 or v ~= '' then
      args[#args + 1] = names[j]
      args[#args + 1] = v
    end
  end
  return args
end
