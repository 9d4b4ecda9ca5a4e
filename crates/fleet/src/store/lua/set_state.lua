-- Move a job to a new state if it is in one of the allowed states, with a progress event.
-- KEYS: job hash, job tasks hash, job results hash, job events stream, jobs index (TTL only)
-- ARGV: new state, event name, now_ms, ttl_secs, time field to set ('' for none),
--       allowed state 1, allowed state 2, ...
-- Returns {previous state or '' when the job is unknown, 1 if changed else 0}.
local job, events = KEYS[1], KEYS[4]
local new, event, now, ttl, time_field = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local state = redis.call('HGET', job, 'state')
if not state then
  return {'', 0}
end
for i = 6, #ARGV do
  if state == ARGV[i] then
    redis.call('HSET', job, 'state', new)
    if time_field ~= '' then
      redis.call('HSET', job, time_field, now)
    end
    local h = redis.call('HMGET', job, 'done', 'failed', 'total')
    redis.call('XADD', events, '*', 'event', event, 'done', h[1] or 0, 'failed', h[2] or 0, 'total', h[3] or 0)
    for _, k in ipairs(KEYS) do
      redis.call('EXPIRE', k, ttl)
    end
    return {state, 1}
  end
end
return {state, 0}
