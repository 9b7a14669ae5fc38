-- POST /v1/call to a callable device drawn uniformly from BENCH_DEVICES (a
-- file, one device id per line), with a call id never used before (run,
-- thread, counter): a repeated (callId, deviceId) would be answered 202
-- without a push.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") ..
  "?.lua;" .. package.path
require("common")
local devices = {}
local counter = 0
local run = os.getenv("BENCH_RUN") or "run"
wrk.headers["Content-Type"] = "application/json"
function init(args)
  math.randomseed(os.time() * 7919 + tid)
  for line in io.lines(os.getenv("BENCH_DEVICES")) do
    devices[#devices + 1] = line
  end
end
function request()
  counter = counter + 1
  local body = string.format(
    '{"deviceId":"%s","callId":"bench-%s-%d-%d","callerName":"Bench Caller"}',
    devices[math.random(1, #devices)], run, tid, counter)
  return wrk.format("POST", "/v1/call", nil, body)
end
