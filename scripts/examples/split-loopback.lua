-- split-loopback.lua -- a split node joins a one-way source and a one-way
-- sink to a two-way peer, as ng_split joins a device's halves to a node
-- that talks both ways.  The peer here is an echo node (a loopback: what
-- it gets, it sends back), so the copy must come out as the input was:
--
--   pcap --in--> split --mixed--> echo
--                      <--mixed--
--   pcapout <--out----
--
-- Usage: moongraph scripts/examples/split-loopback.lua IN.pcap OUT.pcap
local input, output = arg[1], arg[2]
if not (input and output) then
  io.stderr:write("usage: moongraph split-loopback.lua IN.pcap OUT.pcap\n")
  os.exit(2)
end
local function check(ok, err)
  if not ok then io.stderr:write("split-loopback: ", err, "\n") os.exit(1) end
end

local g = mg.engine()
assert(g:mkpeer("echo", "e", "x")) -- held by "." while we build
assert(g:mkpeer(".:e", "split", "mixed", "mixed"))
assert(g:name(".:e.mixed", "split"))
assert(g:mkpeer("split:", "pcapout", "out", "in"))
check(g:msg("split:out", "open", { file = output }))
assert(g:mkpeer("split:", "pcap", "in", "out"))
check(g:msg("split:in", "open", { file = input }))
assert(g:rmhook(".", "e"))
assert(g:msg("split:in", "start"))
g:run()

local hooks = g:stats("split:").hooks
for _, name in ipairs { "in", "mixed", "out" } do
  local h = hooks[name]
  print(string.format("%-6s %6d frames in, %6d out", name, h["in"], h.out))
end
print(string.format("%d frames written to %s", g:msg("split:out", "getstats").packets, output))
g:close() -- flushes the file
