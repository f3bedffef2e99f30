-- wrk script: POST the same JSON body on every request, each with its own Idempotency-Key.
--
--   wrk -t2 -c32 -d10s -s bench/wrk_post.lua URL -- BODY_FILE TOKEN RUN_ID EXPECTED_STATUS
--
-- wrk gives each thread its own Lua state and seeds them all alike, so math.random would hand
-- two threads the same keys (and the server would answer replays, not records). Keys are
-- built from the run's id, the thread's number (handed out in setup) and a per-thread counter.
-- Responses are counted by status, so a run whose answers are errors cannot pass as fast.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_no", #threads)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  body = f:read("*a")
  f:close()
  run_id = args[3]
  expected = tonumber(args[4])
  counter = 0
  ok = 0
  bad = 0
  last_bad = 0
  req_headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. args[2],
  }
end

function request()
  counter = counter + 1
  req_headers["Idempotency-Key"] = string.format("%s-%d-%d", run_id, thread_no, counter)
  return wrk.format("POST", nil, req_headers, body)
end

function response(status, headers, response_body)
  if status == expected then
    ok = ok + 1
  else
    bad = bad + 1
    last_bad = status
  end
end

function done(summary, latency, requests)
  local ok_total, bad_total, last = 0, 0, 0
  for _, t in ipairs(threads) do
    ok_total = ok_total + t:get("ok")
    bad_total = bad_total + t:get("bad")
    if t:get("last_bad") ~= 0 then
      last = t:get("last_bad")
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "ok": %d, "bad": %d, '
      .. '"last_bad_status": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, ok_total, bad_total, last,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout))
end
