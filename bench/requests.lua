-- wrk script of the benchmark: sends the requests of a pool file (bench/workload.py), in order.
--   wrk -t1 ... -s bench/requests.lua <url> -- <pool file> <cycle|once>
-- "once": each request is sent at most once (signed requests carry single-use nonces); a pool
-- that runs dry stops the run and is reported (its run is done again, bench/run.py). Until the
-- stop takes effect, connections send an unsigned GET /health/live/, never a request again.
-- Every response is checked: anything but 2xx counts as non-2xx, 3xx included.
local pool, position, cycle = {}, 0, true
local threads = {}

non2xx, exhausted, first_error = 0, 0, ""

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local data = file:read("*a")
  file:close()
  for request in data:gmatch("([^%z]+)%z") do
    pool[#pool + 1] = request
  end
  cycle = args[2] ~= "once"
end

function request()
  position = position + 1
  if position > #pool then
    if not cycle then
      exhausted = 1
      wrk.thread:stop()
      return wrk.format("GET", "/health/live/")
    end
    position = 1
  end
  return pool[position]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_error == "" then
      first_error = status .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local non2xx_total, exhausted_any, error_text = 0, 0, ""
  for _, thread in ipairs(threads) do
    non2xx_total = non2xx_total + thread:get("non2xx")
    exhausted_any = math.max(exhausted_any, thread:get("exhausted"))
    if error_text == "" then error_text = thread:get("first_error") end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"non2xx": %d, "socket_errors": %d, "exhausted": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    non2xx_total, errors.connect + errors.read + errors.write + errors.timeout, exhausted_any))
  io.write("BENCH_FIRST_ERROR " .. string.gsub(error_text, "[\r\n]", " ") .. "\n")
end
