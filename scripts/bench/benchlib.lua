-- benchlib.lua -- what the Lua benchmarks share: the figure line every
-- run prints, and a shell command that must succeed.
local B = {}

function B.figure(name, v, unit)
  print(string.format("figure: %s %.3g %s", name, v, unit))
  io.stdout:flush()
end

function B.sh(cmd)
  local f = assert(io.popen(cmd))
  local out = f:read("a")
  assert(f:close(), cmd .. " failed: " .. out)
  return out
end

-- Start the source at path src, run g until idle, and give its getstats
-- and the seconds that took by clock (os.clock: CPU time; mg.monotime:
-- wall time).  what names the run if the source did not finish.
function B.drain(g, src, what, clock)
  local t0 = clock()
  assert(g:msg(src, "start"))
  g:run { ["until"] = "idle" }
  local dt = clock() - t0
  local st = g:msg(src, "getstats")
  assert(st.done, what .. ": the source did not finish")
  return st, dt
end

-- The mixed capture of n packets in dir, made once by pcaps/gen.lua.
-- pad: bytes more in each HTTP segment (937: 361-byte frames on average)
function B.capture(here, dir, n, pad)
  local path = string.format("%s/mixed-%d%s.pcap", dir, n, pad and "-pad" .. pad or "")
  local f = io.open(path)
  if f then f:close() return path end
  io.stderr:write(string.format("# making %s (once)\n", path))
  B.sh(string.format("mkdir -p '%s' && lua5.4 '%s/pcaps/gen.lua' mixed %d '%s.tmp' %d && mv '%s.tmp' '%s'",
    dir, here, n, path, pad or 0, path, path))
  return path
end

-- "packets N seconds S" from a fresh process: host running script --one
-- kind path (a fresh heap and cache for every run)
function B.fresh(host, script, kind, path)
  local out = B.sh(string.format("'%s' '%s' --one %s '%s'", host, script, kind, path))
  local n, secs = out:match("packets (%d+) seconds ([%d.]+)")
  return tonumber(n), tonumber(secs)
end

-- the fastest of runs calls of f, which returns packets, seconds
function B.best(runs, f)
  local n, b
  for _ = 1, runs do
    local k, s = f()
    if not b or s < b then n, b = k, s end
  end
  return n, b
end

return B
