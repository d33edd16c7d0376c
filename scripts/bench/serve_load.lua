-- wrk script for scripts/bench/serve.py: each request one test sentence, in
-- turn, as {"src": TEXT}; prints one JSON line with the rate and latencies.
local sentences, i = {}, 0
local path = os.getenv("SENTENCES")
for line in io.lines(path) do
  sentences[#sentences + 1] = '{"src": "' .. line:gsub('\\', '\\\\'):gsub('"', '\\"') .. '"}'
end
wrk.method = "POST"
wrk.path = os.getenv("ROUTE") or "/v1/translate"
wrk.headers["Content-Type"] = "application/json"

function request()
  i = i % #sentences + 1
  return wrk.format(nil, nil, nil, sentences[i])
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write +
                 summary.errors.timeout
  io.write(string.format('{"requests": %d, "seconds": %.3f, "errors": %d, "p50_ms": %.3f, "p99_ms": %.3f, "mean_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, errors, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    latency.mean / 1e3))
end
