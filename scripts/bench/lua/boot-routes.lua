-- Spreads GETs over every machine of the fleet. Argument: a file with one request per line,
-- "path<TAB>x-forwarded-for" (empty after the tab when the request needs no header).
-- Requests are formatted once in init(); each thread walks its own shuffled order of the whole list, so every
-- machine is asked for and no two threads march in lockstep.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")

local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
end

local requests = {}
local cursor = 1

function init(args)
  local file = assert(io.open(args[1], "r"), "cannot open request list " .. tostring(args[1]))
  for line in file:lines() do
    local path, forwarded = line:match("^([^\t]+)\t?(.*)$")
    if path then
      local headers = nil
      if forwarded ~= "" then headers = { ["X-Forwarded-For"] = forwarded } end
      requests[#requests + 1] = wrk.format("GET", path, headers)
    end
  end
  file:close()
  assert(#requests > 0, "empty request list " .. args[1])
  math.randomseed(os.time() * 1000 + (thread_id or 0))
  for i = #requests, 2, -1 do
    local j = math.random(i)
    requests[i], requests[j] = requests[j], requests[i]
  end
end

function request()
  local formatted = requests[cursor]
  cursor = cursor + 1
  if cursor > #requests then cursor = 1 end
  return formatted
end

done = report.done
