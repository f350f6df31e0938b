-- Moves due tasks from a queue's scheduled set to its active list in bounded chunks, while
-- the set holds more than apalis-redis's fetch script can move at once.
-- KEYS[1]: the scheduled set   KEYS[2]: the active list   KEYS[3]: the signal list
-- ARGV[1]: now (seconds, the sets' scores)   ARGV[2]: the size left to apalis's own fetch
-- ARGV[3]: ids per chunk   ARGV[4]: chunks at most per call (bounds the time Redis is held)
local left_to_fetch = tonumber(ARGV[2])
local chunk = tonumber(ARGV[3])
local moved = 0
for _ = 1, tonumber(ARGV[4]) do
  if redis.call('zcard', KEYS[1]) <= left_to_fetch then
    break
  end
  local ids = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, chunk)
  if #ids == 0 then
    break
  end
  redis.call('rpush', KEYS[2], unpack(ids))
  redis.call('zrem', KEYS[1], unpack(ids))
  moved = moved + #ids
end
if moved > 0 then
  redis.call('del', KEYS[3])
  redis.call('lpush', KEYS[3], 1)
end
return moved
