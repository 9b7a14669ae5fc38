-- Shared by the wrk scripts of tests/bench (gateway_bench.sh, soak.sh):
-- pacing, late-send counts and the latency curve. Settings come from the
-- environment (read when wrk loads the script, in its main Lua state and in
-- each thread's): BENCH_RATE, when set, paces the requests (see delay()
-- below) over BENCH_THREADS wrk threads; BENCH_RUN makes call ids unique
-- across runs. done() prints one line "BENCH_JSON {...}".
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec* ts);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads = {}
local next_tid = 0
function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

-- Per-thread state (each wrk thread has its own Lua state).
late_1ms, late_10ms, late_max_ms, sends = 0, 0, 0, 0
local rate = tonumber(os.getenv("BENCH_RATE") or "")
if rate then
  -- Open-loop pacing: this thread's requests are due every `period` ms on a
  -- fixed schedule (the rate split evenly over the threads). wrk calls
  -- delay() before every request of every connection, including the first,
  -- and waits that many whole milliseconds; each call claims the next slot.
  -- A slot already past (all connections were busy) goes out at once and
  -- counts as late: wrk measures latency from the actual send, so late
  -- sends are the time a request waited that the latency leaves out.
  local period = 1000 * tonumber(os.getenv("BENCH_THREADS")) / rate
  local slot = nil
  function delay()
    local now = now_ms()
    slot = (slot or now) + period
    sends = sends + 1
    local wait = slot - now
    if wait < 0 then
      if -wait > 1 then late_1ms = late_1ms + 1 end
      if -wait > 10 then late_10ms = late_10ms + 1 end
      if -wait > late_max_ms then late_max_ms = -wait end
      return 0
    end
    return math.floor(wait)
  end
end

-- [[percentile, µs], ...] on the grid of tests/bench/latency_curve.py (wrk's
-- own percentile rule), as far as at least one request lies above.
local function curve(latency, n)
  local points = {}
  for k = 0, 50 do
    local p = (k == 3) and 50 or 100 * (1 - 10 ^ (-k / 10))
    if k > 0 and n * (1 - p / 100) < 1 - 1e-6 then break end
    points[#points + 1] = string.format("[%.4f, %d]", p, latency:percentile(p))
  end
  return "[" .. table.concat(points, ", ") .. "]"
end

function done(summary, latency, requests)
  local l1, l10, lmax, n = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    l1 = l1 + (t:get("late_1ms") or 0)
    l10 = l10 + (t:get("late_10ms") or 0)
    lmax = math.max(lmax, t:get("late_max_ms") or 0)
    n = n + (t:get("sends") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us": %d, "requests": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "p99.9": %d, "max": %d, "mean": %.1f}, ' ..
    '"paced_sends": %d, "late_1ms": %d, "late_10ms": %d, "late_max_ms": %.1f, ' ..
    '"latency_curve_us": %s}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean, n, l1, l10, lmax,
    curve(latency, summary.requests)))
end
