-- Random single-range GETs of one file. Arguments: path, file size in bytes, range length in bytes.
-- Offsets are 4 KiB aligned, like a client resuming or fetching a file in chunks.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")

local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
end

local path, size, length

function init(args)
  path = args[1]
  size = tonumber(args[2])
  length = tonumber(args[3])
  assert(path and size and length and size >= length, "usage: ranged.lua PATH SIZE LENGTH")
  math.randomseed(os.time() * 1000 + (thread_id or 0))
end

function request()
  local blocks = math.floor((size - length) / 4096)
  local start = math.random(0, blocks) * 4096
  return wrk.format("GET", path, { ["Range"] = string.format("bytes=%d-%d", start, start + length - 1) })
end

done = report.done
