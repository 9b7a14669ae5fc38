-- GET /v1/callable-devices for a number drawn uniformly from the seeded
-- ones: +BENCH_FIRST_NUMBER and the BENCH_PATIENTS - 1 after it.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") ..
  "?.lua;" .. package.path
require("common")
local first = tonumber(os.getenv("BENCH_FIRST_NUMBER"))
local count = tonumber(os.getenv("BENCH_PATIENTS"))
function init(args)
  math.randomseed(os.time() * 7919 + tid)
end
function request()
  return wrk.format("GET", string.format(
    "/v1/callable-devices?mobileNumber=%%2B%d", first + math.random(0, count - 1)))
end
