-- bridge.lua -- a learning bridge of three links, fed by a capture.
--
--   capture (pcap) --link0  bridge  link1-- OUT.pcap (the far side)
--                                   link2-- a station (this script)
--
-- The station, 02:00:ff:ff:ff:ff, speaks once at the start, so the bridge
-- learns it lives on link2; the capture's senders are learnt on link0 as
-- their frames pass.  Frames to the station go to link2 alone; frames to
-- a host on link0 stay there; only frames to hosts the bridge has not
-- placed yet are flooded, and those are what the far side gets.
--
-- Usage: moongraph scripts/examples/bridge.lua IN.pcap OUT.pcap
local input, output = arg[1], arg[2]
if not (input and output) then
  io.stderr:write("usage: moongraph bridge.lua IN.pcap OUT.pcap\n")
  os.exit(2)
end

-- The wall clock: on a virtual one the capture's first timestamp would be
-- years after the station spoke, and the bridge would forget it as stale.
local g = mg.engine()

assert(g:mkpeer("bridge", "station", "link2"))
assert(g:name(".:station", "br"))
assert(g:mkpeer("br:", "pcapout", "link1", "in"))
assert(g:mkpeer("br:", "pcap", "link0", "out"))
local function check(ok, err)
  if not ok then io.stderr:write("bridge: ", err, "\n") os.exit(1) end
end
check(g:msg("br:link1", "open", { file = output }))
check(g:msg("br:link0", "open", { file = input }))

local STATION = "\2\0\255\255\255\255"
local got = 0
g:on_data(function() got = got + 1 end)
-- a gratuitous ARP from the station (10.0.0.99): now the bridge knows
-- where it is
local IP = "\10\0\0\99"
g:send("station", string.rep("\255", 6) .. STATION .. "\8\6" ..
  "\0\1\8\0\6\4\0\1" .. STATION .. IP .. string.rep("\0", 6) .. IP)

assert(g:msg("br:link0", "start"))
g:run { ["until"] = "idle" }

local t = g:msg("br:", "gettable")
print(string.format("%d hosts learnt:", t.numHosts))
table.sort(t.hosts, function(a, b) return a.addr < b.addr end)
for _, h in ipairs(t.hosts) do print(string.format("  %s on %s", h.addr, h.hook)) end
for i = 0, 2 do
  local s = g:msg("br:", "getstats", i)
  print(string.format("link%d: received %d (%d to unknown hosts), sent %d",
    i, s.recvPackets, s.recvUnknown, s.xmitPackets))
end
print(string.format("the station got %d frames; %s holds what was flooded", got, output))
g:close()
