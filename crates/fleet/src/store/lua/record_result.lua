-- Record a task's result if none is recorded yet (first writer wins), count it, emit a
-- progress event, finish the job when every task is in, and refresh the TTLs of the job's
-- worker keys. A job the client has cancelled becomes 'cancelled' here (with its event) and
-- never 'done'. The caller has checked that the job lists the task; only the worker's keys
-- are written.
-- KEYS: job state hash, job results hash, job events stream (the worker's)
-- ARGV: task_id, result bytes, 'succeeded' | 'failed', ttl_secs, now_ms, patch name, reason,
--       total tasks of the job, job cancel key (the client's, only read: Redis's ACL asks for
--       read and write access to every key an EVALSHA names in KEYS, so it is named here)
-- Returns {outcome, done, failed, total, state} with outcome 'recorded' or 'duplicate'.
local state_key, results, events, cancel = KEYS[1], KEYS[2], KEYS[3], ARGV[9]
local task, payload, status = ARGV[1], ARGV[2], ARGV[3]
local ttl, now, total = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[8])

local function counts()
  local h = redis.call('HMGET', state_key, 'done', 'failed', 'state')
  return tonumber(h[1]) or 0, tonumber(h[2]) or 0, h[3] or 'queued'
end

if redis.call('HSETNX', results, task, payload) == 0 then
  local d, f, s = counts()
  return {'duplicate', d, f, total, s}
end

local done, failed, state = counts()
if state == 'queued' or state == 'running' then
  local cancelled_at = redis.call('GET', cancel)
  if cancelled_at then
    state = 'cancelled'
    redis.call('HSET', state_key, 'state', state, 'finished_ms', cancelled_at)
    redis.call('XADD', events, '*', 'event', 'job_cancelled', 'done', done, 'failed', failed, 'total', total)
  elseif state == 'queued' then
    state = 'running'
    redis.call('HSET', state_key, 'state', state, 'started_ms', now)
    redis.call('XADD', events, '*', 'event', 'job_running', 'done', done, 'failed', failed, 'total', total)
  end
end
local event = 'task_succeeded'
if status == 'succeeded' then
  done = redis.call('HINCRBY', state_key, 'done', 1)
else
  failed = redis.call('HINCRBY', state_key, 'failed', 1)
  event = 'task_failed'
end
redis.call('XADD', events, '*', 'event', event, 'task_id', task, 'patch', ARGV[6], 'reason', ARGV[7],
  'done', done, 'failed', failed, 'total', total)
if done + failed >= total and state == 'running' then
  state = 'done'
  redis.call('HSET', state_key, 'state', state, 'finished_ms', now)
  redis.call('XADD', events, '*', 'event', 'job_done', 'done', done, 'failed', failed, 'total', total)
end
for i = 1, 3 do
  redis.call('EXPIRE', KEYS[i], ttl)
end
return {'recorded', done, failed, total, state}
