-- A worker starts a task of the job: move it from queued to running, or to cancelled when the
-- client has cancelled it, with a progress event. Only the worker's keys are written.
-- KEYS: job state hash, job events stream (the worker's)
-- ARGV: now_ms, ttl_secs, total, job cancel key (the client's, only read: Redis's ACL asks for
--       read and write access to every key an EVALSHA names in KEYS, so it is named here)
-- Returns the job's state after it: 'running', 'done' or 'cancelled'.
local state_key, events = KEYS[1], KEYS[2]
local now, ttl, total, cancel = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local h = redis.call('HMGET', state_key, 'state', 'done', 'failed')
local state = h[1] or 'queued'
if state ~= 'queued' and state ~= 'running' then
  return state
end
local done, failed = h[2] or 0, h[3] or 0
local cancelled_at = redis.call('GET', cancel)
if cancelled_at then
  state = 'cancelled'
  redis.call('HSET', state_key, 'state', state, 'finished_ms', cancelled_at)
  redis.call('XADD', events, '*', 'event', 'job_cancelled', 'done', done, 'failed', failed, 'total', total)
elseif state == 'queued' then
  state = 'running'
  redis.call('HSET', state_key, 'state', state, 'started_ms', now)
  redis.call('XADD', events, '*', 'event', 'job_running', 'done', done, 'failed', failed, 'total', total)
else
  return state
end
redis.call('EXPIRE', state_key, ttl)
redis.call('EXPIRE', events, ttl)
return state
