-- tap.lua -- a TAP interface bridged to captures: a capture replayed into
-- the kernel through the interface, and what the kernel sends out of it
-- written to a file, as tcpdump -w would.
--
--   pcap IN.pcap --left  tee  right-- ether eiface (ngeth0: the kernel)
--                        right2left-- pcapout OUT.pcap
--
-- The interface (the first free ngethN) is brought up with no address:
-- give it one (ip addr add ... dev ngeth0) to talk to it.  The replay
-- starts once it is up, at the capture's own timing; the script ends
-- after SECONDS (default 5) and says how many frames went each way.  The
-- interface goes away with it.  Needs root (CAP_NET_ADMIN); run it in a
-- network namespace (ip netns exec NS moongraph ...) to keep its traffic
-- there.
-- Usage: moongraph scripts/examples/tap.lua OUT.pcap [SECONDS [IN.pcap]]
local output, secs, input = arg[1], tonumber(arg[2] or 5), arg[3]
if not output or not secs or secs <= 0 then
  io.stderr:write("usage: moongraph tap.lua OUT.pcap [SECONDS [IN.pcap]]\n")
  os.exit(2)
end
local function check(ok, err)
  if not ok then io.stderr:write("tap: ", err, "\n") os.exit(1) end
end

local g = mg.engine()
check(g:mkpeer("tee", "t", "left2right")) -- "." holds the tee while we build
assert(g:name(".:t", "tee"))
check(g:mkpeer("tee:", "eiface", "right", "ether"))
local ifname = assert(g:msg("tee:right", "getifname"))
check(g:mkpeer("tee:", "pcapout", "right2left", "in"))
check(g:msg("tee:right2left", "open", { file = output }))
if input then
  check(g:mkpeer("tee:", "pcap", "left", "out"))
  check(g:msg("tee:left", "open", { file = input, speed = "original" }))
end
assert(g:rmhook(".", "t"))
check(os.execute("ip link set dev " .. ifname .. " up"), "cannot bring " .. ifname .. " up")
print(ifname .. " up")
io.stdout:flush()
if input then check(g:msg("tee:left", "start")) end
g:run(secs)
local s = g:msg(ifname .. ":", "getstats")
print(string.format("%s: %d frames into the kernel (%d refused), %d out of it to %s",
  ifname, s.ipackets, s.ierrors + s.iqdrops, s.opackets, output))
g:close() -- the interface goes, the file is flushed
