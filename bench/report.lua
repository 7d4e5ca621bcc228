-- wrk script: optional Bearer token (JWT env) or a pool of tokens (JWT_POOL file, one a line),
-- and one machine-readable RESULT line (latencies in microseconds).
local token = os.getenv("JWT")
local pool_file = os.getenv("JWT_POOL")
local pool, n = {}, 0
if pool_file and #pool_file > 0 then
  for line in io.lines(pool_file) do
    if #line > 0 then n = n + 1; pool[n] = "Bearer " .. line end
  end
end
if n > 0 then
  local i = 0
  request = function()
    i = i % n + 1
    wrk.headers["Authorization"] = pool[i]
    return wrk.format()
  end
elseif token and #token > 0 then
  wrk.headers["Authorization"] = "Bearer " .. token
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50_us=%d p99_us=%d requests=%d non2xx=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
