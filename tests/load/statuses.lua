-- statuses.lua: wrk script for scripts/loadtest-faults.sh. POST /v1/keys/$LOAD_KEY/jwt with the
-- bearer token $LOAD_TOKEN; counts answers per status and buckets every non-2xx by the second it
-- arrived (os.time()), so the driver can tell failures inside a fault window from failures
-- outside one. One wrk per key (a response cannot be matched to its request's path when a
-- thread drives several connections).
-- done() prints lines the driver parses:
--   STATUS <code> <count>
--   NON2XX <epoch-second> <key> <code> <count>
--   ERRORS connect=N read=N write=N timeout=N
local key = os.getenv("LOAD_KEY") or "x"
local token = os.getenv("LOAD_TOKEN") or ""
local body = '{"claims":{"aud":"svc","sub":"load"}}'

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local req
status_counts = {}
non2xx = {}

function init(args)
  req = wrk.format("POST", "/v1/keys/" .. key .. "/jwt",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end

function request()
  return req
end

function response(status, headers, body)
  local s = tostring(status)
  status_counts[s] = (status_counts[s] or 0) + 1
  if status < 200 or status > 299 then
    local id = tostring(os.time()) .. " " .. key .. " " .. s
    non2xx[id] = (non2xx[id] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total, buckets = {}, {}
  for _, t in ipairs(threads) do
    for s, c in pairs(t:get("status_counts")) do total[s] = (total[s] or 0) + c end
    for id, c in pairs(t:get("non2xx")) do buckets[id] = (buckets[id] or 0) + c end
  end
  for s, c in pairs(total) do io.write(string.format("STATUS %s %d\n", s, c)) end
  for id, c in pairs(buckets) do io.write(string.format("NON2XX %s %d\n", id, c)) end
  local e = summary.errors
  io.write(string.format("ERRORS connect=%d read=%d write=%d timeout=%d\n",
    e.connect, e.read, e.write, e.timeout))
end
