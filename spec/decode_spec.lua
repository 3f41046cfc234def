-- item:decode(): Ethernet, 802.1Q, IPv4, IPv6, TCP, UDP, ICMP and ARP,
-- bounded at every step so that a truncated packet decodes as far as it goes.

local function bytes(...) return string.char(...) end
local function hex(s) return (s:gsub("%s", ""):gsub("..", function(h) return string.char(tonumber(h, 16)) end)) end

local ETH = hex "00 11 22 33 44 55  66 77 88 99 aa bb"

local function decode(pkt, linktype)
  local g = H.engine()
  local got
  g:define("dec", { rcvdata = function(node, item) got = item:decode() end })
  g:mkpeer("dec", "d", "in")
  g:send("d", pkt, { linktype = linktype or 1 })
  g:close()
  return got
end

describe("item:decode", function()
  it("IPv4 and TCP behind an 802.1Q tag", function()
    local pkt = ETH .. hex "81 00 20 0a 08 00" ..
      hex "45 00 00 28 00 01 00 00 40 06 00 00 c0 a8 01 02 c0 a8 01 03" ..
      hex "00 50 d4 31 00 00 00 01 00 00 00 02 50 12 ff ff 00 00 00 00"
    local d = decode(pkt)
    assert.equal("66:77:88:99:aa:bb", d.eth.src)
    assert.equal("00:11:22:33:44:55", d.eth.dst)
    assert.equal(0x0800, d.eth.type)
    assert.equal(10, d.vlan)
    assert.equal(1, d.eth.pcp)
    assert.same({ src = "192.168.1.2", dst = "192.168.1.3", proto = 6, ttl = 64,
      len = 40, tos = 0, frag = 0 }, d.ip)
    assert.same({ sport = 80, dport = 54321, seq = 1, ack = 2, flags = 0x12,
      window = 0xffff }, d.tcp)
    assert.equal("tcp", d.proto)
    assert.equal("192.168.1.2", d.src)
    assert.equal(80, d.sport)
    assert.equal(54321, d.dport)
  end)

  it("IPv6 and UDP, through a hop-by-hop header", function()
    local pkt = ETH .. hex "86 dd" ..
      hex "60 00 00 00 00 10 00 40" ..
      hex "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01" ..
      hex "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02" ..
      hex "11 00 00 00 00 00 00 00" ..  -- hop-by-hop, next: UDP
      hex "13 89 00 35 00 08 00 00"
    local d = decode(pkt)
    assert.equal("2001:db8::1", d.ip6.src)
    assert.equal("2001:db8::2", d.dst)
    assert.equal(64, d.ip6.hlim)
    assert.same({ sport = 5001, dport = 53, len = 8 }, d.udp)
    assert.equal("udp", d.proto)
  end)

  it("ICMP, ICMPv6 and ARP", function()
    local icmp = ETH .. hex "08 00 45 00 00 1c 00 00 00 00 40 01 00 00 0a 00 00 01 0a 00 00 02 08 00 f7 ff 00 00 00 00"
    local d = decode(icmp)
    assert.same({ type = 8, code = 0 }, d.icmp)
    assert.equal("icmp", d.proto)
    local icmp6 = ETH .. hex "86 dd 60 00 00 00 00 08 3a ff" .. string.rep("\0", 15) .. "\1" ..
      string.rep("\0", 15) .. "\2" .. hex "80 00 00 00 00 00 00 00"
    d = decode(icmp6)
    assert.same({ type = 128, code = 0 }, d.icmp6)
    local arp = ETH .. hex "08 06 00 01 08 00 06 04 00 01 66 77 88 99 aa bb 0a 00 00 01 00 00 00 00 00 00 0a 00 00 02"
    d = decode(arp)
    assert.same({ op = 1, spa = "10.0.0.1", tpa = "10.0.0.2" }, d.arp)
    assert.equal("arp", d.proto)
  end)

  it("raw IP and Linux cooked captures", function()
    local ip = hex "45 00 00 1c 00 00 00 00 40 11 00 00 0a 00 00 01 0a 00 00 02 00 07 00 09 00 08 00 00"
    local d = decode(ip, 101)
    assert.equal("10.0.0.1", d.src)
    assert.equal(7, d.sport)
    assert.is_nil(d.eth)
    d = decode(hex "00 00 00 01 00 06 00 11 22 33 44 55 00 00 08 00" .. ip, 113)
    assert.equal(9, d.dport)
  end)

  it("stops where a truncated packet ends", function()
    local full = ETH .. hex "08 00 45 00 00 28 00 01 00 00 40 06 00 00 c0 a8 01 02 c0 a8 01 03 00 50 d4 31"
    local d = decode(full) -- TCP header cut short: no ports
    assert.equal("192.168.1.2", d.src)
    assert.is_nil(d.tcp)
    assert.equal("tcp", d.proto)
    d = decode(full:sub(1, 20)) -- IP header cut short
    assert.is_nil(d.ip)
    assert.equal(0x0800, d.eth.type)
    d = decode(full:sub(1, 5))
    assert.same({}, d)
    -- a later fragment carries no ports
    local frag = ETH .. hex "08 00 45 00 00 28 00 01 00 10 40 11 00 00 0a 00 00 01 0a 00 00 02 00 07 00 09 00 08 00 00"
    d = decode(frag)
    assert.equal("udp", d.proto) -- a name, as for the first fragment
    assert.is_nil(d.udp)
    assert.equal(16, d.ip.frag)
  end)

  it("names the protocol with a string, always: a name, or the number in decimal", function()
    local function ip(proto)
      return ETH .. hex "08 00 45 00 00 18 00 01 00 00 40" .. string.char(proto) ..
        hex "00 00 0a 00 00 01 0a 00 00 02 00 00 00 00"
    end
    local names = { [1] = "icmp", [2] = "igmp", [6] = "tcp", [17] = "udp", [47] = "gre",
      [50] = "esp", [51] = "ah", [58] = "icmp6", [132] = "sctp", [103] = "103", [0] = "0" }
    for n, name in pairs(names) do
      local d = decode(ip(n))
      assert.equal(name, d.proto)
      assert.equal(n, d.ip.proto) -- the number stays in ip.proto
    end
  end)
end)
