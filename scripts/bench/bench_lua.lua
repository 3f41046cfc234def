-- bench_lua.lua -- what Lua costs: one item through a Lua handler that
-- forwards, and a getstats round trip from Lua.  Run with the host:
--   build-release/moongraph scripts/bench/bench_lua.lua [-q]
local mg = require "moongraph"
local quick = arg and arg[1] == "-q"
local N = quick and 200000 or 2000000

local function figure(name, v, unit)
  print(string.format("figure: %s %.3g %s", name, v, unit))
  io.stdout:flush()
end

-- ns per item from "." through (or not) a Lua node into a hole
local function through(with_lua)
  local g = mg.engine()
  g:define("fwd", { rcvdata = function() return "out" end })
  if with_lua then
    g:mkpeer("fwd", "x", "in")
    g:mkpeer(".:x", "hole", "out", "in")
  else
    g:mkpeer("hole", "x", "in")
  end
  local pkt = string.rep("x", 64)
  local send = g.send
  for _ = 1, 1000 do send(g, "x", pkt) end
  collectgarbage()
  local t0 = os.clock()
  for _ = 1, N do send(g, "x", pkt) end
  local dt = os.clock() - t0
  g:close()
  return dt * 1e9 / N
end

local base, lua = through(false), through(true)
print(string.format("# %.0f ns/item from Lua into a hole, %.0f through a Lua node first", base, lua))
figure("lua_rcvdata_ns", lua - base, "ns")

local g = mg.engine()
g:mkpeer("tee", "t", "left")
local M = quick and 20000 or 200000
for _ = 1, 100 do g:msg(".:t", "getstats") end
local t0 = os.clock()
for _ = 1, M do g:msg(".:t", "getstats") end
local dt = os.clock() - t0
g:close()
figure("lua_msg_us", dt * 1e6 / M, "us")
