-- Per kind and state job counts: the hash P..'n' ('<state>:<kind>' -> count, kept by every job
-- script through count_move). Without its '~' marker (a namespace written before the hash
-- existed, or just imported) it is rebuilt first from the jobs, once.
-- KEYS[1]: P..'n'. ARGV: P. Returns the hash as a flat list (field, value, ...).
local n = P .. 'n'
if redis.call('HEXISTS', n, '~') == 0 then
  redis.call('DEL', n)
  local names = { r = 'ready', d = 'delayed', x = 'running' }
  local cursor = '0'
  repeat
    local page = redis.call('SCAN', cursor, 'MATCH', P .. 'j:*', 'COUNT', 1000)
    cursor = page[1]
    for _, k in ipairs(page[2]) do
      local f = redis.call('HMGET', k, 'kind', 'q', 'status')
      if f[1] then
        local state = names[f[2]] or f[3]
        redis.call('HINCRBY', n, state .. ':' .. f[1], 1)
      end
    end
  until cursor == '0'
  redis.call('HSET', n, '~', '1')
end
return redis.call('HGETALL', n)
