-- The soak's mix (tests/bench/soak.sh): of every 4 requests 3 are GET
-- /v1/callable-devices (get.lua) and 1 a POST; of every 8 POSTs 6 are
-- /v1/call with a call id never used before (post.lua: every one a push),
-- 1 is /v1/update-call and 1 /v1/cancel-call for the last call made.
-- get.lua and post.lua each define init() and request(): run both, keep
-- their functions, and interleave them. post.lua sets a Content-Type header
-- for its POSTs; the GETs go without it, as in the gateway stage.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = dir .. "?.lua;" .. package.path
require("common")
dofile(dir .. "get.lua")
local get_init, get_request = init, request
dofile(dir .. "post.lua")
local post_init, post_request = init, request

function init(args)
  get_init(args)
  post_init(args)
end

local n, posts, cancels = 0, 0, 0
local device, call = nil, nil
local function post(path, body)
  return wrk.format("POST", path, nil, body)
end
function request()
  n = n + 1
  if n % 4 ~= 0 then
    local content_type = wrk.headers["Content-Type"]
    wrk.headers["Content-Type"] = nil
    local req = get_request()
    wrk.headers["Content-Type"] = content_type
    return req
  end
  posts = posts + 1
  if call and posts % 8 == 4 then
    return post("/v1/update-call", string.format(
      '{"deviceId":"%s","callId":"%s","callerName":"Bench Caller (2)"}', device, call))
  end
  if call and posts % 8 == 0 then
    cancels = cancels + 1
    local reason = (cancels % 2 == 1) and "cancelled" or "answered_elsewhere"
    return post("/v1/cancel-call", string.format(
      '{"deviceId":"%s","callId":"%s","reason":"%s"}', device, call, reason))
  end
  local req = post_request()
  device, call = string.match(req, '"deviceId":"([^"]+)","callId":"([^"]+)"')
  return req
end
