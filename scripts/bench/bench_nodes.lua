-- bench_nodes.lua -- what each node type costs a packet: pcap -> TYPE ->
-- hole against pcap -> hole over the same capture, one core, no workers.
-- The anchor, measured the same way in the same run, is the cheapest hop
-- there is: a tee passing left to right (a hole's receive and consume,
-- plus one forward); node_ratio_TYPE is TYPE's cost over that hop's.
-- node_vs_hole_TYPE is a packet's whole cost, pcap -> TYPE -> hole, over
-- its cost pcap -> hole (node_hole_ns): the issue's "beside a hole".
-- Each set-up is scripts/bench/nodes/TYPE.lua; each type is measured in
-- a process of its own, in turns with the hole, the fastest of 7 each.
--   build-release/moongraph scripts/bench/bench_nodes.lua DIR [-q]
local mg = require "moongraph"
local dir, quick = arg[1], arg[2] == "-q"
assert(dir, "usage: bench_nodes.lua DIR [-q] (or --pair TYPE FILE)")
local self, host = arg[0], arg[-1]
local here = debug.getinfo(1, "S").source:match("^@(.*)/scripts/bench/") or "."

local B = dofile(here .. "/scripts/bench/benchlib.lua")
local figure, sh = B.figure, B.sh

-- one run in this process.  The source reaches the
-- node through a tee's tap (left2right -> right), the same in every run.
local function through(kind, path)
  local g = mg.engine()
  assert(g:mkpeer("tee", "t", "left"))
  assert(g:name(".:t", "T"))
  assert(g:mkpeer("T:", "pcap", "left2right", "out"))
  dofile(string.format("%s/scripts/bench/nodes/%s.lua", here, kind))(g, "T:", "right")
  local src = "T:left2right"
  assert(g:msg(src, "open", { file = path }))
  -- CPU time, not wall time: a run descheduled by a busy machine would
  -- otherwise swamp a difference of a few ns a packet
  local st, dt = B.drain(g, src, kind, os.clock)
  g:close()
  return st.packets, dt
end

-- "--pair TYPE FILE": TYPE and the hole, in turns in this one process,
-- the fastest of RUNS each: a process may run 30% slower than the next
-- (placement, a neighbour on the host), so both sides of a difference
-- are measured in the same one.
local RUNS = 7
if dir == "--pair" then
  local kind, path = arg[2], arg[3]
  local n, h, t
  for _ = 1, RUNS do
    local k, s = through("hole", path)
    if not h or s < h then h = s end
    n, s = through(kind, path)
    assert(k == n, kind .. ": read " .. n .. " packets of " .. k)
    if not t or s < t then t = s end
  end
  print(string.format("packets %d hole %.6f type %.6f", n, h, t))
  return
end

local function pair(kind, path)
  local out = sh(string.format("'%s' '%s' --pair %s '%s'", host, self, kind, path))
  local n, h, t = out:match("packets (%d+) hole ([%d.]+) type ([%d.]+)")
  return tonumber(n), tonumber(h), tonumber(t)
end

local size = quick and 200000 or 1000000
local path = B.capture(here, dir, size)
local types = {}
for f in sh(string.format("ls '%s/scripts/bench/nodes'", here)):gmatch("(%S+)%.lua") do
  types[#types + 1] = f
end
local n, hole, tee = pair("tee", path)
local hop_ns = (tee - hole) * 1e9 / n
figure("node_hole_ns", hole * 1e9 / n, "ns")
figure("node_ns_tee", hop_ns, "ns")
for _, t in ipairs(types) do
  if t ~= "hole" and t ~= "tee" then
    local k, h, s = pair(t, path)
    assert(k == n, t .. ": read " .. k .. " packets of " .. n)
    local ns = (s - h) * 1e9 / n
    figure("node_ns_" .. t, ns, "ns")
    figure("node_ratio_" .. t, ns / hop_ns, "x")
    figure("node_vs_hole_" .. t, s / h, "x")
  end
end
