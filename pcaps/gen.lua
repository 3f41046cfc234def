-- gen.lua -- makes the sample captures in this folder, byte for byte the
-- same every time.  Plain Lua 5.4: no moongraph, no libpcap.
--
--   lua5.4 pcaps/gen.lua            the samples, next to this file
--   lua5.4 pcaps/gen.lua mixed N F [PAD]  N packets of mixed traffic into F
--                                         (PAD: bytes more in each HTTP segment)
--   lua5.4 pcaps/gen.lua flowmix N F [FLOWS [PAUSE]]  N packets of FLOWS flows
local gen = {}

-- {====================================================== pcap files
local W = {}
W.__index = W

function gen.writer(path, linktype, nsec, snaplen)
  local f = assert(io.open(path, "wb"))
  f:setvbuf("full", 1 << 20)
  f:write(string.pack("<I4I2I2i4I4I4I4", nsec and 0xa1b23c4d or 0xa1b2c3d4, 2, 4,
    0, 0, snaplen or 262144, linktype))
  return setmetatable({ f = f, nsec = nsec, n = 0 }, W)
end

-- ts in nanoseconds
function W:packet(ts, data, wirelen)
  local sec, frac = ts // 1000000000, ts % 1000000000
  if not self.nsec then frac = frac // 1000 end
  self.f:write(string.pack("<I4I4I4I4", sec, frac, #data, wirelen or #data), data)
  self.n = self.n + 1
end

function W:close() self.f:close() end
-- }======================================================

-- {====================================================== packets
local function csum(s)
  local sum = 0
  for i = 1, #s - 1, 2 do sum = sum + (s:byte(i) << 8 | s:byte(i + 1)) end
  if #s % 2 == 1 then sum = sum + (s:byte(#s) << 8) end
  while sum > 0xffff do sum = (sum & 0xffff) + (sum >> 16) end
  return ~sum & 0xffff
end
gen.csum = csum -- the Internet checksum (RFC 1071) of s

local function mac(n) return string.pack(">I2I4", 0x0200, n) end
local function ip4(a, b, c, d) return string.char(a, b, c, d) end
local function ip6(last) return string.pack(">I8I8", 0x20010db800000000, last) end

function gen.eth(dst, src, etype, payload)
  return mac(dst) .. mac(src) .. string.pack(">I2", etype) .. payload
end

function gen.vlan(dst, src, id, etype, payload)
  return mac(dst) .. mac(src) .. string.pack(">I2I2I2", 0x8100, id, etype) .. payload
end

-- The transport checksum, over the pseudo-header, put in its place.
local where = { [6] = 17, [17] = 7, [58] = 3 }
local function l4sum(pseudo, proto, payload)
  local at = where[proto]
  if not at or #payload < at + 1 then return payload end
  payload = payload:sub(1, at - 1) .. "\0\0" .. payload:sub(at + 2)
  local c = csum(pseudo .. payload)
  if proto == 17 and c == 0 then c = 0xffff end
  return payload:sub(1, at - 1) .. string.pack(">I2", c) .. payload:sub(at + 2)
end

function gen.ipv4(src, dst, proto, payload, id)
  payload = l4sum(src .. dst .. string.pack(">BBI2", 0, proto, #payload), proto, payload)
  local h = string.pack(">BBI2I2I2BBI2", 0x45, 0, 20 + #payload, id or 0, 0x4000, 64,
    proto, 0) .. src .. dst
  local c = csum(h)
  return h:sub(1, 10) .. string.pack(">I2", c) .. h:sub(13) .. payload
end

function gen.ipv6(src, dst, nxt, payload)
  payload = l4sum(src .. dst .. string.pack(">I4I3B", #payload, 0, nxt), nxt, payload)
  return string.pack(">I4I2BB", 0x60000000, #payload, nxt, 64) .. src .. dst .. payload
end

function gen.udp(sport, dport, payload)
  return string.pack(">I2I2I2I2", sport, dport, 8 + #payload, 0) .. payload
end

function gen.tcp(sport, dport, seq, ack, flags, payload)
  return string.pack(">I2I2I4I4BBI2I2I2", sport, dport, seq, ack, 0x50, flags,
    65535, 0, 0) .. (payload or "")
end

function gen.icmp_echo(typ, id, seq, payload)
  local h = string.pack(">BBI2I2I2", typ, 0, 0, id, seq) .. payload
  return h:sub(1, 2) .. string.pack(">I2", csum(h)) .. h:sub(5)
end

function gen.arp(op, smac, sip, tip)
  return string.pack(">I2I2BBI2", 1, 0x0800, 6, 4, op) .. mac(smac) .. sip ..
    string.rep("\0", 6) .. tip
end

local function dns_query(id, name)
  local q = string.pack(">I2I2I2I2I2I2", id, 0x0100, 1, 0, 0, 0)
  for label in name:gmatch("[^.]+") do q = q .. string.char(#label) .. label end
  return q .. "\0" .. string.pack(">I2I2", 1, 1)
end
-- }======================================================

-- Packet number i of a mix: DNS, HTTP, ping, ARP, IPv6, 802.1Q; a
-- (description, frame) pair for Ethernet, or the IP packet for raw.
function gen.mixed_packet(i, raw, pad)
  local k = i % 10
  local h1, h2 = ip4(10, 0, 0, 1 + i % 7), ip4(10, 0, 1, 1 + i % 5)
  local ipp
  if k == 0 or k == 1 then -- DNS
    ipp = gen.ipv4(h1, ip4(10, 0, 0, 53), 17,
      gen.udp(30000 + i % 1000, 53, dns_query(i & 0xffff, "host" .. i % 50 .. ".example")), i & 0xffff)
  elseif k == 2 or k == 3 or k == 4 then -- HTTP
    ipp = gen.ipv4(h1, h2, 6, gen.tcp(40000 + i % 100, 80, (i * 1000) & 0xffffffff, (i * 7) & 0xffffffff, 0x18,
      "GET /" .. i .. " HTTP/1.1\r\nHost: example\r\n\r\n" .. string.rep("x", pad or 0)), i & 0xffff)
  elseif k == 5 then -- ping
    ipp = gen.ipv4(h1, h2, 1, gen.icmp_echo(8, 77, i & 0xffff, string.rep("p", 32)), i & 0xffff)
  elseif k == 6 then -- IPv6 UDP
    ipp = gen.ipv6(ip6(1 + i % 3), ip6(100), 17, gen.udp(5000, 5001, string.rep("6", 20)))
  elseif k == 7 then -- ICMPv6 echo
    ipp = gen.ipv6(ip6(2), ip6(100), 58, gen.icmp_echo(128, 5, i & 0xffff, "hello"))
  elseif k == 8 then
    if raw then
      ipp = gen.ipv4(h2, h1, 17, gen.udp(123, 123, string.rep("n", 48)), i & 0xffff)
    else -- ARP
      return gen.eth(0xffffffff, 1 + i % 7, 0x0806, gen.arp(1, 1 + i % 7, h1, h2))
    end
  else -- UDP in VLAN 10 or 20
    ipp = gen.ipv4(h1, h2, 17, gen.udp(7000 + i % 2, 9000, string.rep("v", 64)), i & 0xffff)
    if not raw then return gen.vlan(2, 1, (i % 20 < 10) and 10 or 20, 0x0800, ipp) end
  end
  if raw then return ipp end
  return gen.eth(2, 1, ipp:byte(1) >> 4 == 6 and 0x86dd or 0x0800, ipp)
end

-- n packets of mixed traffic, 100 us to 2 ms apart
function gen.mixed(path, n, opts)
  opts = opts or {}
  local w = gen.writer(path, opts.raw and 101 or 1, opts.nsec)
  local ts = opts.start or 1700000000 * 1000000000
  for i = 0, n - 1 do
    w:packet(ts, gen.mixed_packet(i, opts.raw, opts.pad))
    ts = ts + 100000 + (i * 7919 % 1900) * 1000 + (opts.nsec and i % 1000 or 0)
  end
  w:close()
  return w.n
end

-- n packets of `flows` flows (default 4,000), half of them from the first
-- 100 (long, heavy flows): TCP ending with FIN or RST now and then, UDP,
-- ICMP, IPv6, ToS, ARP; 0.1 to 3 ms apart, with a pause of `pause` seconds
-- (default 20; 0: none) every 10,000 packets.  For the netflow node.
function gen.flowmix(path, n, opts)
  opts = opts or {}
  local nflows, pause = opts.flows or 4000, opts.pause or 20
  local w = gen.writer(path, 1, true)
  local seed = 12345
  local function rnd(m)
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed // 7 % m
  end
  local ts = (opts.start or 1700000000) * 1000000000
  for i = 1, n do
    ts = ts + 100000 + rnd(2900) * 1000 + rnd(1000)
    if i % 10000 == 0 then ts = ts + pause * 1000000000 end
    local f = rnd(2) == 0 and rnd(100) or rnd(nflows)
    local kind = f % 10
    local a, b = ip4(10, 1 + f // 65536, f // 256 % 256, f % 256), ip4(10, 200, 0, 1 + f % 3)
    local pay = string.rep("p", rnd(200))
    local frame
    if rnd(100) == 0 then
      frame = gen.eth(0xffffffff, 1, 0x0806, gen.arp(1, 1, a, b))
    elseif kind <= 4 or kind == 9 then
      local r = rnd(200)
      local flags = r == 0 and 0x11 or r == 1 and 0x04 or 0x18
      local t = gen.tcp(1024 + f % 60000, 80, i, i, flags, pay)
      if kind == 9 then frame = gen.eth(2, 1, 0x86dd, gen.ipv6(ip6(f), ip6(1), 6, t))
      else
        local ip = gen.ipv4(a, b, 6, t, i & 0xffff)
        if f % 3 == 0 then ip = ip:sub(1, 1) .. "\x28" .. ip:sub(3) end -- ToS
        frame = gen.eth(2, 1, 0x0800, ip)
      end
    elseif kind <= 6 then
      frame = gen.eth(2, 1, 0x0800, gen.ipv4(a, b, 17, gen.udp(2000 + f % 60000, 53, pay), i & 0xffff))
    elseif kind == 7 then
      frame = gen.eth(2, 1, 0x0800, gen.ipv4(a, b, 1, gen.icmp_echo(8, f & 0xffff, i & 0xffff, pay), i & 0xffff))
    else
      frame = gen.eth(2, 1, 0x86dd, gen.ipv6(ip6(f), ip6(1), 17, gen.udp(3000 + f % 60000, 5001, pay)))
    end
    w:packet(ts, frame)
  end
  w:close()
  return n
end

-- Packets with known gaps (in ms), for timing tests.
function gen.gaps(path, gaps_ms)
  local w = gen.writer(path, 1, true)
  local ts = 1700000000 * 1000000000
  for i, gap in ipairs(gaps_ms) do
    ts = ts + gap * 1000000
    w:packet(ts, gen.eth(2, 1, 0x0800, gen.ipv4(ip4(10, 9, 9, 1), ip4(10, 9, 9, 2), 17,
      gen.udp(9999, 9999, string.pack(">I4", i) .. string.rep("g", 40)), i)))
  end
  w:close()
end

function gen.samples(dir)
  gen.mixed(dir .. "/sample.pcap", 300)
  gen.mixed(dir .. "/sample-ns.pcap", 100, { nsec = true })
  gen.mixed(dir .. "/raw.pcap", 100, { raw = true })
  local gaps = {}
  for i = 1, 60 do gaps[i] = ({ 5, 20, 50, 2, 10 })[i % 5 + 1] end
  gen.gaps(dir .. "/gaps.pcap", gaps)
end

if not pcall(debug.getlocal, 4, 1) then -- run as a script
  if arg[1] == "mixed" or arg[1] == "flowmix" then
    local n = math.tointeger(tonumber(arg[2]))
    if arg[1] == "mixed" then
      n = gen.mixed(arg[3], n, { pad = math.tointeger(tonumber(arg[4] or "0")) })
    else
      n = gen.flowmix(arg[3], n,
        arg[4] and { flows = math.tointeger(tonumber(arg[4])), pause = tonumber(arg[5]) })
    end
    io.write(n, " packets written to ", arg[3], "\n")
  else
    local dir = arg[0]:match("^(.*)/[^/]*$") or "."
    gen.samples(dir)
    io.write("samples written to ", dir, "\n")
  end
end

return gen
