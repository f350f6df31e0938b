-- Forgets what Redis holds of a queue's finished tasks: each one's data (a field of the data
-- hash), its metadata hash and its result field, then the done and dead sets that name them.
-- apalis-redis's own vacuum reads every task's status and deletes task by task, four commands
-- per task; the sets already name the finished ones, so this takes them a chunk at a time,
-- four commands per chunk.
-- KEYS[1]: the done set   KEYS[2]: the dead set   KEYS[3]: the data hash
-- KEYS[4]: the metadata prefix (each task's hash is <prefix>:<id>, results <prefix>:result)
-- ARGV[1]: ids per chunk   ARGV[2]: chunks at most per call (bounds the time Redis is held)
local chunk = tonumber(ARGV[1])
local forgotten = 0
local chunks_left = tonumber(ARGV[2])
for _, set in ipairs({KEYS[1], KEYS[2]}) do
  while chunks_left > 0 do
    local ids = redis.call('spop', set, chunk)
    if #ids == 0 then
      break
    end
    chunks_left = chunks_left - 1
    local metas = {}
    for i, id in ipairs(ids) do
      metas[i] = KEYS[4] .. ':' .. id
    end
    redis.call('hdel', KEYS[3], unpack(ids))
    redis.call('hdel', KEYS[4] .. ':result', unpack(ids))
    redis.call('del', unpack(metas))
    forgotten = forgotten + #ids
  end
end
-- and whether the call stopped at its bound with tasks perhaps left
return {forgotten, chunks_left == 0 and 1 or 0}
