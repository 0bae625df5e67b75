-- wrk script of bench/inbox/load.py, which prepends `REQUESTS = { {path=, headers=, body=}, ... }`.
-- Each thread cycles through the requests from its own offset; done() prints one JSON
-- line ("WRKJSON {...}") with the counts and the latency percentiles (microseconds).
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  prepared = {}
  for i, r in ipairs(REQUESTS) do
    prepared[i] = wrk.format("POST", r.path, r.headers, r.body)
  end
  position = (id * 7919) % #prepared
end

function request()
  position = position + 1
  if position > #prepared then position = 1 end
  return prepared[position]
end

-- Not 200, or a GraphQL answer with top-level errors: the request failed.
function response(status, headers, body)
  if status ~= 200 or (body ~= nil and string.find(body, '"errors"', 1, true)) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do
    failed = failed + (thread:get("bad") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bad":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,' ..
    '"p50":%d,"p90":%d,"p99":%d,"mean":%.1f}\n',
    summary.requests, summary.duration, failed, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
end
