-- Drops every entry older than a cut-off. KEYS[1]: P..'agents'. ARGV: P, cutoff ms.
-- Returns how many entries went (idempotency keys expire by themselves). What the archive
-- holds (entries after its cursors on the history, dead letters and acks) stays.
local P, cut = ARGV[1], ARGV[2]
local n = 0
for _, a in ipairs(redis.call('HKEYS', P .. 'agents')) do
  for r = 0, 3 do n = n + redis.call('XTRIM', inbox(P, a, r), 'MINID', cut) end
end
n = n + redis.call('XTRIM', P .. 'bcast', 'MINID', cut)
for _, s in ipairs({ { 'hist', 'messages' }, { 'dead', 'dead_letters' } }) do
  n = n + archive_held_minid(P .. s[1], redis.call('GET', P .. 'archived:' .. s[2]), cut .. '-0')
end
n = n + archive_held_zcut(P .. 'acked', redis.call('GET', P .. 'archived:acks'), tonumber(cut))
return n
