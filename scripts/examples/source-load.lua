-- source-load.lua -- load from a capture: its packets queued in a source
-- and sent round and round, COUNT of them at PPS a second, into a file.
-- The engine runs on the virtual clock, so the rate is exact and the run
-- takes no time: the output's timestamps are 1/PPS apart.
--
--   pcap --out--> input source output --> pcapout OUT.pcap
--
-- Usage: moongraph scripts/examples/source-load.lua IN.pcap OUT.pcap PPS COUNT
local input, output = arg[1], arg[2]
local pps, count = math.tointeger(tonumber(arg[3] or "")), math.tointeger(tonumber(arg[4] or ""))
if not (input and output and pps and count) then
  io.stderr:write("usage: moongraph source-load.lua IN.pcap OUT.pcap PPS COUNT\n")
  os.exit(2)
end
local function check(ok, err)
  if not ok then io.stderr:write("source-load: ", err, "\n") os.exit(1) end
end

local g = mg.engine { clock = "virtual" }
assert(g:mkpeer("source", "s", "input")) -- "." holds it while we build
assert(g:name(".:s", "src"))
assert(g:mkpeer("src:", "pcapout", "output", "in"))
check(g:msg("src:output", "open", { file = output }))
assert(g:rmhook(".", "s"))
assert(g:mkpeer("src:", "pcap", "input", "out"))
check(g:msg("src:input", "open", { file = input }))
assert(g:msg("src:input", "start"))
g:run() -- the capture into the queue
check(g:msg("src:", "setpps", pps))
check(g:msg("src:", "start", count))
g:run()
while g:status("src:"):match("^sending") do -- the clock, a second at a time
  g:advance(g:now() + 1)
  g:run()
end
local st = g:msg("src:", "getstats")
print(string.format("%d packets queued, %d sent at %d a second over %d.%06d s -> %s",
  st.queueFrames, st.outFrames, pps, st.elapsedTime.tv_sec, st.elapsedTime.tv_usec, output))
g:close() -- flushes the file
