-- One GCRA step on a limit's state in Redis: the theoretical arrival time
-- of the next call (TAT), in microseconds on Redis's own clock (TIME), so
-- that replicas whose clocks disagree share one timeline.
--
-- KEYS[1]  the limit's key
-- ARGV[1]  microseconds between two calls at the steady rate (>= 1)
-- ARGV[2]  tolerance: interval * (burst - 1), in microseconds
-- ARGV[3]  the longest wait the caller takes, in microseconds (0: none)
--
-- Returns {1, wait} when the call is admitted after `wait` microseconds
-- (its turn taken), {0, wait} when it is refused and `wait` would have
-- admitted it. The key expires when its TAT passes: an idle key is a new
-- key, and Redis holds nothing for it.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local longest = tonumber(ARGV[3])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  tat = math.max(tonumber(stored) or now, now)
end
local wait = math.max(tat - tolerance - now, 0)
if wait > longest then
  return {0, wait}
end
local next = tat + interval
redis.call('SET', KEYS[1], string.format('%d', next), 'PX', math.ceil((next - now) / 1000) + 1)
return {1, wait}
