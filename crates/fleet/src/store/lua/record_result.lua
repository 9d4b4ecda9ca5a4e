-- Record a task's result if none is recorded yet (first writer wins), count it, emit a
-- progress event, finish the job when every task is in, and refresh every TTL.
-- KEYS: job hash, job tasks hash, job results hash, job events stream, jobs index (TTL only)
-- ARGV: task_id, result bytes, 'succeeded' | 'failed', ttl_secs, now_ms, patch name, reason
-- Returns {outcome, done, failed, total, state} with outcome one of
-- 'recorded', 'duplicate', 'unknown_job', 'unknown_task'.
local job, tasks, results, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local task, payload, status = ARGV[1], ARGV[2], ARGV[3]
local ttl, now = tonumber(ARGV[4]), ARGV[5]

local function counts()
  local h = redis.call('HMGET', job, 'done', 'failed', 'total', 'state')
  return tonumber(h[1]) or 0, tonumber(h[2]) or 0, tonumber(h[3]) or 0, h[4] or ''
end

if redis.call('EXISTS', job) == 0 then
  return {'unknown_job', 0, 0, 0, ''}
end
if redis.call('HEXISTS', tasks, task) == 0 then
  local d, f, t, s = counts()
  return {'unknown_task', d, f, t, s}
end
if redis.call('HSETNX', results, task, payload) == 0 then
  local d, f, t, s = counts()
  return {'duplicate', d, f, t, s}
end

local done, failed, total, state = counts()
if state == 'queued' then
  state = 'running'
  redis.call('HSET', job, 'state', state, 'started_ms', now)
  redis.call('XADD', events, '*', 'event', 'job_running', 'done', done, 'failed', failed, 'total', total)
end
local event = 'task_succeeded'
if status == 'succeeded' then
  done = redis.call('HINCRBY', job, 'done', 1)
else
  failed = redis.call('HINCRBY', job, 'failed', 1)
  event = 'task_failed'
end
redis.call('XADD', events, '*', 'event', event, 'task_id', task, 'patch', ARGV[6], 'reason', ARGV[7],
  'done', done, 'failed', failed, 'total', total)
if done + failed >= total and state == 'running' then
  state = 'done'
  redis.call('HSET', job, 'state', state, 'finished_ms', now)
  redis.call('XADD', events, '*', 'event', 'job_done', 'done', done, 'failed', failed, 'total', total)
end
for _, k in ipairs(KEYS) do
  redis.call('EXPIRE', k, ttl)
end
return {'recorded', done, failed, total, state}
