-- summary.lua -- what is in a capture: link types, protocols, VLANs, the
-- busiest talkers and ports.  A graph of three nodes:
--
--   pcap (the file) --> bpf (an optional tcpdump filter) --> census (Lua)
--
-- Usage: moongraph scripts/examples/summary.lua FILE [FILTER]
local file, filter = arg[1], arg[2]
if not file then
  io.stderr:write("usage: moongraph summary.lua FILE [FILTER]\n")
  os.exit(2)
end

local g = mg.engine { clock = "virtual" } -- the capture's own time

local packets, bytes, first, last = 0, 0, nil, nil
local protos, vlans, links, talkers, ports = {}, {}, {}, {}, {}
local LINKTYPES = { [0] = "NULL", [1] = "EN10MB", [12] = "RAW", [101] = "RAW",
  [105] = "IEEE802_11", [108] = "LOOP", [113] = "LINUX_SLL", [127] = "IEEE802_11_RADIO",
  [228] = "IPV4", [229] = "IPV6", [276] = "LINUX_SLL2" }
local function bump(t, k, n) t[k] = (t[k] or 0) + (n or 1) end

-- A node type written in Lua: it looks at each packet and consumes it.
g:define("census", {
  doc = "counts what passes by",
  rcvdata = function(self, item)
    packets, bytes = packets + 1, bytes + item:len()
    first = first or item:time()
    last = item:time()
    local lt = item:linktype()
    bump(links, LINKTYPES[lt] or ("linktype " .. lt))
    local d = item:decode()
    bump(protos, d.proto or (d.eth and string.format("ethertype 0x%04x", d.eth.type)) or "other")
    if d.vlan then bump(vlans, d.vlan) end
    if d.src then bump(talkers, d.src, item:len()) end
    if d.dport then bump(ports, d.proto .. "/" .. math.min(d.sport, d.dport)) end
  end,
})

-- build: census, then a bpf in front of it, then the source in front of that
assert(g:mkpeer("census", "c", "ctl")) -- the script holds it by a hook for now
assert(g:name(".:c", "census"))
local front = "census:"
if filter then
  assert(g:mkpeer(front, "bpf", "in", "match"))
  assert(g:name("census:in", "filter"))
  front = "filter:"
end
assert(g:mkpeer(front, "pcap", "in", "out"))
assert(g:rmhook(".", "c"))
local function check(ok, err)
  if not ok then io.stderr:write("summary: ", err, "\n") os.exit(1) end
end
if filter then -- packets from the source meet the program on bpf's "in"
  check(g:msg("filter:", "setprogram",
    { thisHook = "in", ifMatch = "match", ifNotMatch = "", expr = filter }))
end
local src = front .. "in"
check(g:msg(src, "open", { file = file }))
assert(g:msg(src, "start"))
g:run { ["until"] = "idle" }
local read = g:msg(src, "getstats")

local function top(t, n)
  local v = {}
  for k, c in pairs(t) do v[#v + 1] = { k, c } end
  table.sort(v, function(a, b) return a[2] > b[2] or (a[2] == b[2] and tostring(a[1]) < tostring(b[1])) end)
  local out = {}
  for i = 1, math.min(n, #v) do out[i] = string.format("%s (%d)", v[i][1], v[i][2]) end
  return table.concat(out, ", ")
end

print(string.format("%s: %d packets read, %d %s, %d bytes, %.3f s",
  file, read.packets, packets, filter and ("matching '" .. filter .. "'") or "looked at",
  bytes, packets > 0 and last - first or 0))
print("link types:  " .. top(links, 5))
print("protocols:   " .. top(protos, 8))
print("vlans:       " .. (next(vlans) and top(vlans, 8) or "none"))
print("talkers:     " .. top(talkers, 5) .. "  (bytes sent)")
print("ports:       " .. top(ports, 8))
g:close()
