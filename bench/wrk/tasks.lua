-- wrk script for the authenticated task reads in bench/run.sh. The seed file (written by
-- `dispatch-bench seed`) holds the user's access token on its first line and one task id per
-- line after it. TASKS_MODE `get` walks those tasks by id; `list` asks for the first page;
-- `profile` reads the user's profile (with the user cache off, the same one MySQL read);
-- `list-users` asks for the first page of a different user's tasks at each request, the
-- users' access tokens read one per line from TASKS_TOKENS, so equal lists rarely meet;
-- `create` creates a task for the user at each request.
-- Usage: TASKS_SEED=target/bench-seed.txt TASKS_MODE=get \
--          wrk -t2 -c32 -d10s -s bench/wrk/tasks.lua http://127.0.0.1:18000
-- (wrk gives its script's arguments only to the threads' states, not to `done`'s, so the
-- settings come from the environment, which both see.)

local mode = os.getenv("TASKS_MODE") or "get"
local ids, tokens, counter = {}, {}, 0

function init(args)
  local path = assert(os.getenv("TASKS_SEED"), "TASKS_SEED is not set")
  local file = assert(io.open(path))
  local token = file:read("*l")
  for line in file:lines() do
    ids[#ids + 1] = line
  end
  file:close()
  wrk.headers["Authorization"] = "Bearer " .. token
  -- (wrk.format's headers argument replaces these instead of adding to them)
  if mode == "create" then
    wrk.headers["Content-Type"] = "application/json"
  end
  if mode == "list-users" then
    local tokens_path = assert(os.getenv("TASKS_TOKENS"), "TASKS_TOKENS is not set")
    for line in io.lines(tokens_path) do
      tokens[#tokens + 1] = line
    end
  end
end

function request()
  counter = counter + 1
  if mode == "list-users" then
    return wrk.format("GET", "/api/v1/tasks/", {Authorization = "Bearer " .. tokens[(counter % #tokens) + 1]})
  elseif mode == "list" then
    return wrk.format("GET", "/api/v1/tasks/")
  elseif mode == "create" then
    return wrk.format("POST", "/api/v1/tasks/", nil, '{"title": "bench ' .. counter .. '"}')
  elseif mode == "profile" then
    return wrk.format("GET", "/api/v1/auth/profile/")
  end
  return wrk.format("GET", "/api/v1/tasks/" .. ids[(counter % #ids) + 1] .. "/")
end

-- One line in dispatch-bench's format, so run.sh reads every scenario the same way.
function done(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.status + e.timeout
  local function ms(p) return string.format("%.2fms", latency:percentile(p) / 1000) end
  local name = mode == "profile" and "profile" or ("task-" .. mode)
  io.write(string.format("%-11s %8d req  c=%-3s %9.1f req/s  p50 %8s  p95 %8s  p99 %8s  errors %d\n",
    name, summary.requests, os.getenv("TASKS_CONNECTIONS") or "?",
    summary.requests / (summary.duration / 1e6), ms(50), ms(95), ms(99), errors))
end
