-- bridge_spec.lua -- the learning Ethernet bridge (ng_bridge(4)).
local q = H.shell_quote

local function mac(n) -- 02:00:00:00:hi:lo, a locally administered unicast address
  return string.char(2, 0, 0, 0, n >> 8, n & 255)
end
local BCAST = string.rep("\255", 6)
local MCAST = string.char(1, 0, 0x5e, 0, 0, 1)

-- An Ethernet + IPv4 + UDP frame from src to dst, 42 bytes.
local function frame(dst, src)
  return dst .. src .. H.udp_packet():sub(13)
end

-- A bridge "br" with links link0..link(n-1), each joined to "."'s hook
-- hN; what reaches "." is kept as got[hook] = { frames }.
local function bridge(n, opts)
  local g = H.engine(opts)
  local got = {}
  g:on_data(function(hook, item)
    got[hook] = got[hook] or {}
    table.insert(got[hook], item:bytes())
  end)
  assert(g:mkpeer("bridge", "h0", "link0"))
  assert(g:name(".:h0", "br"))
  for i = 1, n - 1 do assert(g:connect(".", "br:", "h" .. i, "link" .. i)) end
  return g, got
end

local function count(got, hook) return got[hook] and #got[hook] or 0 end

describe("the bridge node", function()
  it("floods unknown unicast, learns sources and forwards to the right link", function()
    local g, got = bridge(4)
    g:send("h0", frame(mac(2), mac(1))) -- 2 unknown: flooded; 1 learnt on link0
    assert.same({ 0, 1, 1, 1 }, { count(got, "h0"), count(got, "h1"), count(got, "h2"), count(got, "h3") })
    g:send("h2", frame(mac(1), mac(2))) -- 1 known on link0; 2 learnt on link2
    assert.same({ 1, 1, 1, 1 }, { count(got, "h0"), count(got, "h1"), count(got, "h2"), count(got, "h3") })
    assert.equal(frame(mac(1), mac(2)), got.h0[1])
    g:send("h0", frame(mac(2), mac(1))) -- now only to link2
    assert.same({ 1, 1, 2, 1 }, { count(got, "h0"), count(got, "h1"), count(got, "h2"), count(got, "h3") })
    g:send("h0", frame(mac(1), mac(3))) -- to its own side: dropped
    assert.same({ 1, 1, 2, 1 }, { count(got, "h0"), count(got, "h1"), count(got, "h2"), count(got, "h3") })
    local t = g:msg("br:", "gettable")
    assert.equal(3, t.numHosts)
    local where = {}
    for _, h in ipairs(t.hosts) do where[h.addr] = h.linkNum .. " " .. h.hook end
    assert.same({ ["02:00:00:00:00:01"] = "0 link0", ["02:00:00:00:00:02"] = "2 link2",
      ["02:00:00:00:00:03"] = "0 link0" }, where)
    local s = g:msg("br:", "getstats", 0)
    assert.equal(3, s.recvPackets)
    assert.equal(126, s.recvOctets)
    assert.equal(1, s.recvUnknown)
    assert.equal(1, s.xmitPackets)
    assert.equal(2, g:msg("br:", "getstats", 2).xmitPackets)
    g:close()
  end)

  it("floods broadcast and multicast to every other link, sharing the bytes", function()
    local g, got = bridge(3)
    g:send("h1", frame(BCAST, mac(1)))
    g:send("h1", frame(MCAST, mac(1)))
    assert.same({ 2, 0, 2 }, { count(got, "h0"), count(got, "h1"), count(got, "h2") })
    local s1, s0 = g:msg("br:", "getstats", 1), g:msg("br:", "getstats", 0)
    assert.same({ 1, 1, 0 }, { s1.recvBroadcast, s1.recvMulticast, s1.recvUnknown })
    assert.same({ 1, 1, 2 }, { s0.xmitBroadcasts, s0.xmitMulticasts, s0.xmitPackets })
    -- runts and multicast sources are counted, dropped and refused: EINVAL
    assert.equal("EINVAL", select(3, g:send("h1", "short")))
    assert.equal("EINVAL", select(3, g:send("h1", frame(mac(1), MCAST))))
    s1 = g:msg("br:", "getclrstats", 1)
    assert.same({ 1, 1, 2 }, { s1.recvRunts, s1.recvInvalid, s1.recvPackets })
    assert.equal(0, g:msg("br:", "getstats", 1).recvPackets)
    assert.is_true(g:msg("br:", "clrstats", 0))
    assert.equal(0, g:msg("br:", "getstats", 0).xmitPackets)
    g:close()
  end)

  it("ages hosts on a virtual clock and forgets the stale", function()
    local g = bridge(2, { clock = "virtual" })
    assert(g:msg("br:", "setconfig", "{ maxStaleness=30 }"))
    g:send("h0", frame(BCAST, mac(1)))
    g:advance(10)
    g:run()
    g:send("h1", frame(BCAST, mac(2)))
    local t = g:msg("br:", "gettable")
    table.sort(t.hosts, function(a, b) return a.addr < b.addr end)
    assert.same({ 10, 10 }, { t.hosts[1].age, t.hosts[1].staleness })
    assert.same({ 0, 0 }, { t.hosts[2].age, t.hosts[2].staleness })
    g:advance(25)
    g:run()
    g:send("h0", frame(BCAST, mac(1))) -- heard again at 25 s: fresh, though not young
    g:advance(45) -- (the clock's time, not a step)
    g:run()
    t = g:msg("br:", "gettable")
    assert.equal(1, t.numHosts) -- mac 2 was 35 s stale at 45 s
    assert.same({ "02:00:00:00:00:01", 45, 20 }, { t.hosts[1].addr, t.hosts[1].age, t.hosts[1].staleness })
    g:advance(100)
    g:run()
    assert.same({ numHosts = 0, hosts = {} }, g:msg("br:", "gettable"))
    g:close()
  end)

  it("mutes a link where a host turns up too soon, for loopTimeout seconds", function()
    local g, got = bridge(3, { clock = "virtual" })
    assert(g:msg("br:", "setconfig", { loopTimeout = 5, minStableAge = 2, debugLevel = 2 }))
    g:send("h0", frame(BCAST, mac(1)))
    g:send("h1", frame(BCAST, mac(7)))
    -- mac 1 again, through a loop: the sender learns it, ELOOP, as from ng_bridge
    local ok, err, name = g:send("h1", frame(BCAST, mac(1)))
    assert.same({ nil, "ELOOP" }, { ok, name })
    assert.matches("a loop: .* the link muted", err)
    assert.matches("loopback detected on link1", H.logs[#H.logs])
    local s = g:msg("br:", "getstats", 1)
    assert.same({ 1, 1 }, { s.loopDetects, s.loopDrops })
    local t = g:msg("br:", "gettable") -- link1's hosts are forgotten
    assert.same({ 1, 0 }, { t.numHosts, t.hosts[1].linkNum })
    assert.matches("link1 muted for 5 s", g:status("br:"))
    local before = count(got, "h2")
    assert.equal("ELOOP", select(3, g:send("h1", frame(BCAST, mac(8))))) -- muted
    assert.equal(before, count(got, "h2"))
    assert.equal(2, g:msg("br:", "getstats", 1).loopDrops)
    g:advance(4)
    g:run()
    g:send("h1", frame(BCAST, mac(8)))
    assert.equal(3, g:msg("br:", "getstats", 1).loopDrops)
    g:advance(5)
    g:run()
    assert.matches("restoring looped back link1", H.logs[#H.logs])
    g:send("h1", frame(BCAST, mac(8)))
    assert.equal(before + 1, count(got, "h2"))
    -- a host older than minStableAge just moves
    g:advance(9)
    g:run()
    g:send("h2", frame(BCAST, mac(1)))
    t = g:msg("br:", "gettable")
    for _, h in ipairs(t.hosts) do
      if h.addr == "02:00:00:00:00:01" then assert.same({ 2, 0 }, { h.linkNum, h.age }) end
    end
    -- reset forgets hosts, unmutes and zeroes the counters
    g:send("h2", frame(BCAST, mac(20)))
    g:send("h0", frame(BCAST, mac(20))) -- at once: a loop, link0 muted
    assert.equal(1, g:msg("br:", "getstats", 0).loopDetects)
    assert.matches("link0 muted for 5 s", g:status("br:"))
    assert(g:msg("br:", "reset"))
    assert.same({ 0, 0 }, { g:msg("br:", "gettable").numHosts, g:msg("br:", "getstats", 0).loopDetects })
    assert.equal("0 hosts, 3 links\n", g:status("br:"))
    g:close()
  end)

  it("refuses to be joined to itself: ELOOP, as ng_bridge's newhook", function()
    local g = bridge(1)
    local ok, err, name = g:connect("br:", ".", "link1", "link2")
    assert.same({ nil, "ELOOP" }, { ok, name })
    assert.matches("joined to the bridge itself is a loop", err)
    assert.equal(1, g:show("br:").node.hooks) -- neither half stayed
    g:close()
  end)

  it("forgets a link's hosts when its hook goes, and goes with its last hook", function()
    local g = bridge(3)
    g:send("h0", frame(BCAST, mac(1)))
    g:send("h1", frame(BCAST, mac(2)))
    g:send("h1", frame(BCAST, mac(3)))
    assert.equal(3, g:msg("br:", "gettable").numHosts)
    assert(g:rmhook(".", "h1"))
    local t = g:msg("br:", "gettable")
    assert.same({ 1, "02:00:00:00:00:01" }, { t.numHosts, t.hosts[1].addr })
    local _, err = g:msg("br:", "getstats", 1)
    assert.equal("getstats: bridge has no hook 'link1'", err)
    assert(g:rmhook(".", "h0"))
    assert(g:rmhook(".", "h2"))
    g:run()
    _, err = g:msg("br:", "gettable")
    assert.equal("no node named 'br'", err)
    -- a persistent one stays
    g = bridge(1)
    assert(g:msg("br:", "setpersistent"))
    assert(g:rmhook(".", "h0"))
    g:run()
    assert.same({ numHosts = 0, hosts = {} }, g:msg("br:", "gettable"))
    g:close()
  end)

  it("keeps uplinks from learning; unknown unicast to uplinks only when first is one", function()
    local g = H.engine()
    local got = {}
    g:on_data(function(hook) got[hook] = (got[hook] or 0) + 1 end)
    assert(g:mkpeer("bridge", "u1", "uplink1"))
    assert(g:name(".:u1", "br"))
    assert(g:connect(".", "br:", "l0", "link0"))
    assert(g:connect(".", "br:", "l1", "link1"))
    assert(g:connect(".", "br:", "u2", "uplink2"))
    g:send("l0", frame(mac(9), mac(1))) -- unknown: uplinks only
    assert.same({ u1 = 1, u2 = 1 }, got)
    g:send("l0", frame(BCAST, mac(1))) -- broadcast: everyone else
    assert.same({ u1 = 2, u2 = 2, l1 = 1 }, got)
    g:send("u1", frame(mac(1), mac(5))) -- known: to link0; mac 5 not learnt
    assert.same({ u1 = 2, u2 = 2, l1 = 1, l0 = 1 }, got)
    assert.equal(1, g:msg("br:", "gettable").numHosts)
    assert.equal(1, g:msg("br:", "getstats", -1).recvPackets)
    assert.matches("unknown unicast to uplinks only", g:status("br:"))
    -- movehost puts a host where we say, uplinks included
    assert(g:msg("br:", "movehost", '{ addr="02:00:00:00:00:05" hook="uplink2" }'))
    local _, err = g:msg("br:", "movehost", '{ addr="02:00:00:00:00:05" hook="link1" }')
    assert.equal("movehost: 02:00:00:00:00:05 moved again within minStableAge: a loop, link1 muted", err)
    assert.equal(1, g:msg("br:", "getstats", 1).loopDetects)
    assert(g:msg("br:", "reset"))
    assert(g:msg("br:", "movehost", '{ addr="02:00:00:00:00:05" hook="uplink2" }'))
    assert(g:msg("br:", "movehost", '{ addr="02:00:00:00:00:01" hook="link0" }'))
    g:send("l1", frame(mac(5), mac(2)))
    assert.same({ u1 = 2, u2 = 3, l1 = 1, l0 = 1 }, got)
    local t = g:msg("br:", "gettable")
    for _, h in ipairs(t.hosts) do
      if h.addr == "02:00:00:00:00:05" then assert.same({ -2, "uplink2" }, { h.linkNum, h.hook }) end
    end
    g:close()
  end)

  it("keeps 5000 hosts in a hash table and lists them all", function()
    local g, got = bridge(2)
    for i = 1, 5000 do g:send("h0", frame(BCAST, mac(i))) end
    local t = g:msg("br:", "gettable")
    assert.equal(5000, t.numHosts)
    assert.equal(5000, #t.hosts)
    local seen = {}
    for _, h in ipairs(t.hosts) do seen[h.addr] = h.linkNum end
    assert.equal(0, seen["02:00:00:00:13:88"]) -- 5000
    assert.matches("^{ numHosts=5000 hosts=%[ { addr=\"02:00:00:00:", g:msg_text("br:", "gettable"))
    g:send("h1", frame(mac(4321), mac(6000)))
    assert.same({ 5000, 1 }, { count(got, "h1"), count(got, "h0") }) -- floods, then one forward
    assert(g:msg("br:", "reset"))
    assert.equal(0, g:msg("br:", "gettable").numHosts)
    g:close()
  end)

  it("bridges 1500 links: floods reach all, known unicast one", function()
    local g, got = bridge(1500)
    g:send("h1499", frame(BCAST, mac(1)))
    local n = 0
    for _, v in pairs(got) do n = n + #v end
    assert.equal(1499, n)
    assert.equal(0, count(got, "h1499"))
    g:send("h700", frame(mac(1), mac(2)))
    assert.equal(1, count(got, "h1499"))
    assert.equal(1, g:msg("br:", "getstats", 1499).xmitPackets)
    assert.equal(1, g:msg("br:", "getstats", 700).recvPackets)
    g:close()
  end)

  it("writes what tcpdump reads: the right frames on the right link", function()
    local out = os.tmpname() .. ".pcap"
    local g = bridge(2)
    assert(g:mkpeer("br:", "pcapout", "link2", "in"))
    assert(g:msg("br:link2", "open", { file = out }))
    g:send("h0", frame(mac(2), mac(1))) -- unknown: to link1 and link2
    g:send("h1", frame(mac(1), mac(2))) -- known: link0 only
    g:send("h1", frame(BCAST, mac(2))) -- to link0 and link2
    g:send("h0", frame(mac(2), mac(1))) -- known: link1 only
    g:close()
    local text, code = H.run("tcpdump -r " .. q(out) .. " -e -nn -vv 2>/dev/null")
    assert.equal(0, code, text)
    local lines = {}
    for l in text:gmatch("[^\n]+") do
      if l:match("^%d") then lines[#lines + 1] = l end
    end
    assert.equal(2, #lines, text)
    assert.matches("02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4", lines[1])
    assert.matches("02:00:00:00:00:02 > ff:ff:ff:ff:ff:ff, ethertype IPv4", lines[2])
    os.remove(out)
  end)

  it("round-trips its messages and names what is wrong", function()
    local g = bridge(2)
    assert.equal("{ debugLevel=1 loopTimeout=60 maxStaleness=900 minStableAge=1 }",
      g:msg_text("br:", "getconfig"))
    assert(g:msg("br:", "setconfig", "{ debugLevel=3 loopTimeout=7 maxStaleness=8 minStableAge=9 ipfw=[ 0 0 ] }"))
    assert.equal("{ debugLevel=3 loopTimeout=7 maxStaleness=8 minStableAge=9 }", g:msg_text("br:", "getconfig"))
    assert.matches("^{ recvOctets=0 recvPackets=0 recvMulticast=0 recvBroadcast=0 recvUnknown=0 recvRunts=0 "
      .. "recvInvalid=0 xmitOctets=0 xmitPackets=0 xmitMulticasts=0 xmitBroadcasts=0 loopDrops=0 "
      .. "loopDetects=0 memoryFailures=0 }$", g:msg_text("br:", "getstats", "1"))
    assert.equal("{ numHosts=0 hosts=[] }", g:msg_text("br:", "gettable"))
    local function err(cmd, args) return select(2, g:msg("br:", cmd, args)) end
    assert.equal("setconfig: unknown field 'bogus'", err("setconfig", "{ bogus=1 }"))
    assert.equal("setconfig: debugLevel must be from 0 to 255", err("setconfig", "{ debugLevel=256 }"))
    assert.equal("setconfig: loopTimeout must be from 0 to 4294967295", err("setconfig", "{ loopTimeout=-1 }"))
    assert.equal("setconfig: maxStaleness must be from 0 to 4294967295", err("setconfig", '{ maxStaleness="x" }'))
    assert.matches("ipfw must be all zero", err("setconfig", "{ ipfw=[ 1 ] }"))
    assert.matches("^setconfig takes {", err("setconfig", 5))
    assert.equal("{ debugLevel=3 loopTimeout=7 maxStaleness=8 minStableAge=9 }", g:msg_text("br:", "getconfig"))
    assert.equal("getstats takes a link number: N for linkN, -N for uplinkN", err("getstats"))
    assert.equal("clrstats: bridge has no hook 'uplink4'", err("clrstats", -4))
    assert.equal("getclrstats: bridge has no hook 'link9'", err("getclrstats", 9))
    assert.matches("movehost: addr must be a unicast", err("movehost", '{ addr="01:00:5e:00:00:01" hook="link0" }'))
    assert.matches("movehost: addr must be a unicast", err("movehost", '{ addr="nonsense" hook="link0" }'))
    assert.equal("movehost: bridge has no hook 'link5'", err("movehost", '{ addr="02:00:00:00:00:01" hook="link5" }'))
    assert.equal("movehost: unknown field 'port'", err("movehost", '{ port=1 }'))
    -- no hook: the one the message came by
    assert(g:msg(".:h1", "movehost", '{ addr="02:00:00:00:00:03" }'))
    assert.same({ 1, "link1" }, { g:msg("br:", "gettable").hosts[1].linkNum, g:msg("br:", "gettable").hosts[1].hook })
    assert.equal("movehost: no hook given, and the message came by none",
      err("movehost", '{ addr="02:00:00:00:00:03" hook="" }'))
    for _, bad in ipairs { "link", "link01", "uplink0", "linkx", "uplink-1", "eth0", "link2147483648" } do
      local ok, e = g:connect(".", "br:", "x", bad)
      assert.is_nil(ok)
      assert.matches("bridge has no hook '" .. bad:gsub("%-", "%%-") .. "' %(link0..link2147483647, uplink1..", e)
    end
    -- link numbers as large as ng_bridge's, and getstats reaches them
    assert(g:connect(".", "br:", "big", "link2147483647"))
    assert(g:connect(".", "br:", "bigup", "uplink2147483647"))
    assert.equal(0, g:msg("br:", "getstats", 2147483647).recvPackets)
    assert.equal(0, g:msg("br:", "getstats", -2147483647).recvPackets)
    g:close()
  end)
end)
