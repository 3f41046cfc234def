-- wan.lua -- a capture sent across an emulated WAN link: 10 Mbit/s each
-- way, 40 ms of delay, 0.1 % of the frames lost, and written out as it
-- arrives at the far end (timestamps moved on by the link's delay and
-- serialisation, to the nanosecond).
--
--   pcap --upper--> pipe --lower--> pcapout OUT.pcap
--
-- The engine runs on a virtual clock driven by the capture's timestamps,
-- so the file read at top speed gives the same output on every run (the
-- loss is drawn from a seeded generator: SEED, default 1).
-- Usage: moongraph scripts/examples/wan.lua IN.pcap OUT.pcap [SEED]
local input, output, seed = arg[1], arg[2], math.tointeger(tonumber(arg[3] or "1"))
if not (input and output) then
  io.stderr:write("usage: moongraph wan.lua IN.pcap OUT.pcap [SEED]\n")
  os.exit(2)
end
local function check(ok, err)
  if not ok then io.stderr:write("wan: ", err, "\n") os.exit(1) end
end
check(seed and seed > 0, "SEED is a whole number above 0, not '" .. tostring(arg[3]) .. "'")

local g = mg.engine { clock = "virtual" }
assert(g:mkpeer("pipe", "p", "lower")) -- "." holds it while we build
assert(g:name(".:p", "wan"))
assert(g:mkpeer("wan:", "pcap", "upper", "out"))
check(g:msg("wan:upper", "open", { file = input }))
assert(g:rmhook(".", "p"))
assert(g:mkpeer("wan:", "pcapout", "lower", "in"))
check(g:msg("wan:lower", "open", { file = output, precision = "nano" }))
local link = { plr = 0.001, queuelen = 1000 }
assert(g:msg("wan:", "setcfg", { bandwidth = 10000000, delay = 40000, seed = seed,
  downstream = link, upstream = link }))
assert(g:msg("wan:upper", "start"))
g:run()
g:advance(g:now() + 1) -- the frames still on the wire arrive
g:run()

local s = g:msg("wan:", "getstats").downstream
local c = g:msg("wan:", "getcfg")
print(string.format("link: %d bit/s, %d us, %d bytes of overhead, loss %g each way",
  c.bandwidth, c.delay, c.overhead, c.downstream.plr))
print(string.format("%d frames (%d bytes) arrived, %d lost, %d dropped by the queue -> %s",
  s.FwdFrames, s.FwdOctets, s.delayDropFrames, s.queueDropFrames, output))
g:close() -- flushes the file
