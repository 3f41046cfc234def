-- patch-ttl.lua -- every IPv4 packet of a capture one hop further: its TTL
-- less one and its header checksum fixed, as a router would send it.
--
--   pcap --in--> bpf (IPv4, tagged or not) --ip--> patch --out--> pcapout OUT.pcap
--
-- patch counts offsets from the network header (relative_offset=1), past
-- the Ethernet header and any VLAN tags, so byte 8 is the TTL.
-- Usage: moongraph scripts/examples/patch-ttl.lua IN.pcap OUT.pcap
local input, output = arg[1], arg[2]
if not (input and output) then
  io.stderr:write("usage: moongraph patch-ttl.lua IN.pcap OUT.pcap\n")
  os.exit(2)
end
local function check(ok, err)
  if not ok then io.stderr:write("patch-ttl: ", err, "\n") os.exit(1) end
end

local g = mg.engine()
assert(g:mkpeer("patch", "p", "in")) -- "." holds it while we build
assert(g:name(".:p", "patch"))
assert(g:mkpeer("patch:", "pcapout", "out", "in"))
check(g:msg("patch:out", "open", { file = output }))
assert(g:msg("patch:", "setconfig", { relative_offset = 1, csum_flags = 1, ops = {
  { offset = 8, length = 1, mode = "sub", value = 1 } } }))
assert(g:rmhook(".", "p"))
assert(g:mkpeer("patch:", "bpf", "in", "ip"))
assert(g:name("patch:in", "bpf"))
assert(g:mkpeer("bpf:", "pcap", "in", "out"))
assert(g:msg("bpf:", "setprogram", { thisHook = "in", ifMatch = "ip", expr = "ip or (vlan and ip)" }))
check(g:msg("bpf:in", "open", { file = input }))
assert(g:msg("bpf:in", "start"))
g:run()
local read = g:msg("bpf:", "getstats", { hook = "in" }).recvFrames
local st = g:msg("patch:", "getstats")
print(string.format("%d frames read, %d IPv4 one hop on -> %s", read, st.Patched, output))
g:close() -- flushes the file
