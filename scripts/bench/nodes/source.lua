-- source does not fit the contract: what arrives on its input is queued
-- (4096 packets at most, the rest dropped as qfull), not passed on, so
-- bench_nodes measures only taking packets in (a copy each, then drops).
-- Its figure is what it sends; run this file alone for it:
--   build-release/moongraph scripts/bench/nodes/source.lua [PACKETS]
-- queues 64 sample packets, sends PACKETS (1,000,000) at top speed into a
-- hole, and prints packets a second (each a copy of a queued packet).
local setup = function(g, at, hook)
  assert(g:mkpeer(at, "source", hook, "input"))
  assert(g:mkpeer(at .. hook, "hole", "output", "in"))
end
if not (arg and (arg[0] or ""):match("nodes/source%.lua$")) then return setup end

local mg = require "moongraph"
local n = math.tointeger(tonumber(arg[1] or "")) or 1000000
local g = mg.engine()
assert(g:mkpeer("source", "in", "input"))
assert(g:mkpeer(".:in", "hole", "output", "in"))
local pkt = string.char(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 8, 0) .. string.rep("x", 50)
for _ = 1, 64 do assert(g:send("in", pkt)) end
local t0 = mg.monotime()
assert(g:msg(".:in", "start", n))
g:run()
local dt = mg.monotime() - t0
print(string.format("source: %d packets in %.3f s, %.0f packets/s", n, dt, n / dt))
g:close()
