-- wrk script used by benchmarks/load.py for every endpoint: requests come from a pool file,
-- one per line:  METHOD <tab> PATH <tab> HEADERS <tab> BODY
-- HEADERS is "Name: value" pairs joined by "|" (e.g. a session cookie, HX-Request, Content-Type);
-- BODY is already form-encoded (empty for a GET).
--
--   wrk -t2 -c8 -d10s -s benchmarks/wrk/pool.lua http://127.0.0.1:PORT -- POOL THREADS MODE
--
-- MODE "cycle": every thread goes round the whole pool (pages, rotating ids and logged-in cookies),
-- each from its own starting line. MODE "once": each line is sent at most once (request submission:
-- one student, one basket, one CSRF token, one idempotency key per line); each thread takes every
-- THREADS-th line and stops when its share is used up.
-- The -H headers of the command line (wrk.headers) are added to every request.
-- done() prints one JSON line (prefixed "RESULT ") with the figures and the status codes seen,
-- which load.py checks: a page answered 200, a submission 303 (or 422 when sold out).

local threads = {}
local count = 0

function setup(thread)
  count = count + 1
  thread:set("index", count)
  table.insert(threads, thread)
end

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  once = args[3] == "once"
  pool, nxt, statuses, exhausted = {}, 1, {}, 0
  local n = 0
  for line in io.lines(path) do
    if not once or n % nthreads == index - 1 then
      local method, target, hdrs, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {}
      for name, value in pairs(wrk.headers) do headers[name] = value end
      for name, value in hdrs:gmatch("([^|:]+):%s*([^|]*)") do headers[name] = value end
      pool[#pool + 1] = wrk.format(method, target, headers, body ~= "" and body or nil)
    end
    n = n + 1
  end
  if not once then nxt = math.floor((index - 1) * #pool / nthreads) + 1 end
end

function request()
  if nxt > #pool then
    if once then
      exhausted = 1
      wrk.thread:stop()
    end
    nxt = 1
  end
  nxt = nxt + 1
  return pool[nxt - 1]
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local merged, stopped = {}, 0
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do merged[code] = (merged[code] or 0) + n end
    stopped = stopped + thread:get("exhausted")
  end
  local parts = {}
  for code, n in pairs(merged) do parts[#parts + 1] = string.format('"%s": %d', code, n) end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
    '"statuses": {%s}, "exhausted_threads": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.timeout,
    table.concat(parts, ", "), stopped))
end
