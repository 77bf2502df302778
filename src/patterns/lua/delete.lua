-- ARGV[4] id. Deletes a live pattern and its index entries; 1 if it was there.
local id = ARGV[4]
local h = M .. 'p:' .. id
local v = redis.call('HMGET', h, 'r', 't', 'x')
if not v[1] then return 0 end
local repo, ty = v[1], v[2]
redis.call('DEL', h)
redis.call('ZREM', M .. 'pr:' .. repo, id)
redis.call('ZREM', M .. 'pt:' .. repo .. '|' .. ty, id)
redis.call('ZREM', M .. 'px:' .. repo, id .. '|' .. ty)
if tonumber(v[3]) <= NOW then return 0 end
return 1
