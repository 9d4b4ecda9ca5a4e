-- Create a job record, its task list, its progress stream and its index entry, atomically.
-- KEYS: job hash, job tasks hash, job events stream, jobs index zset
-- ARGV: ttl_secs, now_ms, job_id, n_fields, field1, value1, ..., then task_id1, entry1, ...
local job, tasks, events, index = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ttl, now, job_id = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
if redis.call('EXISTS', job) == 1 then
  return 0
end
local n_fields = tonumber(ARGV[4])
local i = 5
for _ = 1, n_fields do
  redis.call('HSET', job, ARGV[i], ARGV[i + 1])
  i = i + 2
end
local total = 0
while i < #ARGV do
  total = total + redis.call('HSETNX', tasks, ARGV[i], ARGV[i + 1])
  i = i + 2
end
redis.call('HSET', job, 'state', 'queued', 'total', total, 'done', 0, 'failed', 0, 'created_ms', now)
redis.call('XADD', events, '*', 'event', 'job_queued', 'done', 0, 'failed', 0, 'total', total)
if total == 0 then
  -- Nothing to wait for.
  redis.call('HSET', job, 'state', 'done', 'finished_ms', now)
  redis.call('XADD', events, '*', 'event', 'job_done', 'done', 0, 'failed', 0, 'total', 0)
end
redis.call('ZADD', index, now, job_id)
for _, k in ipairs(KEYS) do
  redis.call('EXPIRE', k, ttl)
end
return 1
