-- netflow_spec.lua -- the netflow node (ng_netflow) and `moongraph flows`:
-- flows checked against a reference computed here from the packets, and,
-- end to end, against what nfcapd receives and nfdump reads back.
local mg = require "moongraph"
local gen = dofile(H.root .. "/pcaps/gen.lua")

local T0 = 1700000000 -- the captures' and tests' epoch, seconds
local function ip4(a, b, c, d) return string.char(a, b, c, d) end
local function ip6(last) return string.pack(">I8I8", 0x20010db800000000, last) end

-- {====================================================== helpers
-- A v5 datagram's records, read here byte by byte.
local function v5_records(s)
  local version, count, uptime, secs, nsecs = string.unpack(">I2I2I4I4I4", s)
  assert.equal(5, version)
  assert.equal(24 + 48 * count, #s)
  local boot = secs * 1000 + nsecs // 1000000 - uptime
  local out = {}
  for k = 0, count - 1 do
    local src, dst, _, input, _, pkts, bytes, first, last, sport, dport, _, flags, proto, tos =
      string.unpack(">c4c4c4I2I2I4I4I4I4I2I2BBBB", s, 25 + 48 * k)
    out[#out + 1] = { src = string.format("%d.%d.%d.%d", src:byte(1, 4)),
      dst = string.format("%d.%d.%d.%d", dst:byte(1, 4)), input = input, packets = pkts,
      bytes = bytes, first = boot + first, last = boot + last, sport = sport, dport = dport,
      flags = flags, proto = proto, tos = tos }
  end
  return out
end

-- An engine on the virtual clock with . -> netflow iface0 and the v5
-- export back to .; records collects what is exported.
local function rig()
  local g = H.engine { clock = "virtual" }
  local r = { g = g, records = {}, out = {}, datagrams = 0 }
  assert(g:mkpeer(".", "netflow", "in", "iface0"))
  assert(g:name(".:in", "nf"))
  assert(g:connect(".", "nf:", "v5", "export"))
  assert(g:connect(".", "nf:", "o", "out0"))
  g:on_data(function(hook, item)
    if hook == "v5" then
      r.datagrams = r.datagrams + 1
      for _, x in ipairs(v5_records(item:bytes())) do r.records[#r.records + 1] = x end
    else
      r.out[#r.out + 1] = item:bytes()
    end
  end)
  -- a packet at time t (seconds past T0): the clock moves there first
  function r.at(t, frame)
    g:advance(T0 + t)
    assert(g:send("in", frame, { ts = T0 + t }))
  end
  function r.flush()
    assert(g:msg("nf:", "flush"))
    g:run()
  end
  return r
end

local function udp(sport, dport, n)
  return gen.eth(2, 1, 0x0800, gen.ipv4(ip4(10, 0, 0, 1), ip4(10, 0, 0, 2), 17,
    gen.udp(sport or 1000, dport or 2000, string.rep("x", n or 10))))
end

local function tcp(sport, flags)
  return gen.eth(2, 1, 0x0800, gen.ipv4(ip4(10, 0, 0, 1), ip4(10, 0, 0, 2), 6,
    gen.tcp(sport or 5555, 80, 1, 1, flags or 0x10, "data")))
end
-- }======================================================

describe("netflow node", function()
  it("passes packets from ifaceN out of outN unchanged, and back", function()
    local r = rig()
    local f = udp()
    r.at(0, f)
    assert.same({ f }, r.out)
    -- what comes back on out0 leaves by iface0 (ours: the "in" hook), unaccounted
    local back = {}
    r.g:on_data(function(hook, item) back[#back + 1] = hook .. ":" .. #item:bytes() end)
    assert(r.g:send("o", f))
    assert.same({ "in:" .. #f }, back)
    local info = r.g:msg("nf:", "info")
    assert.equal(1, info["IPv4 packets"])
    assert.equal(#f - 14, info["IPv4 bytes"])
    r.g:close()
  end)

  it("refuses hooks and arguments it does not know, naming them", function()
    local g = H.engine { clock = "virtual" }
    assert(g:mkpeer(".", "netflow", "a", "iface0"))
    local ok, err = g:mkpeer(".:a", "hole", "bogus", "x")
    assert.is_nil(ok)
    assert.matches("not 'bogus'", err)
    ok, err = g:mkpeer(".:a", "hole", "iface01", "x")
    assert.is_nil(ok)
    assert.matches("iface01", err)
    ok, err = g:mkpeer(".:a", "hole", "iface65536", "x")
    assert.is_nil(ok)
    ok, err = g:msg(".:a", "settimeouts", { inactive = 0 })
    assert.is_nil(ok)
    assert.matches("inactive: must be a number from 1 to 1e9", err)
    ok, err = g:msg(".:a", "settimeouts", { inactive = 1.5 })
    assert.is_nil(ok)
    assert.matches("whole number", err)
    ok, err = g:msg(".:a", "settimeouts", { idle = 3 })
    assert.is_nil(ok)
    assert.matches("unknown field 'idle'", err)
    ok, err = g:msg(".:a", "setdlt", { iface = 3, dlt = 1 })
    assert.is_nil(ok)
    assert.matches("iface3 is not connected", err)
    ok, err = g:msg(".:a", "setdlt", { iface = 0, dlt = 147 })
    assert.is_nil(ok)
    assert.matches("link type 147", err)
    ok, err = g:msg(".:a", "setcachesize", { size = 0 })
    assert.is_nil(ok)
    ok, err = g:msg(".:a", "setmtu", { mtu = 100 })
    assert.is_nil(ok)
    assert.matches("mtu", err)
    ok, err = g:msg(".:a", "ifinfo", "x")
    assert.is_nil(ok)
    -- ng_netflow's ASCII forms
    assert(g:msg(".:a", "settimeouts", mg.parse("{ inactive=20 active=60 }")))
    assert(g:msg(".:a", "setdlt", mg.parse("{ iface=0 dlt=12 }")))
    assert(g:msg(".:a", "setifindex", mg.parse("{ iface=0 index=7 }")))
    assert(g:msg(".:a", "setconfig", mg.parse("{ iface=0 conf=3 }")))
    assert(g:msg(".:a", "settemplate", mg.parse("{ time=60 packets=10 }")))
    assert(g:msg(".:a", "setmtu", mg.parse("{ mtu=9000 }")))
    local info = g:msg(".:a", "info")
    assert.equal(20, info["Inactive timeout"])
    assert.equal(60, info["Active timeout"])
    assert.same({ packets = 0, ["data link type"] = 12, index = 7, conf = 3 }, g:msg(".:a", "ifinfo", 0))
    assert.same({ ["v9 template packets"] = 10, ["v9 template time"] = 60, ["v9 MTU"] = 9000 },
      g:msg(".:a", "v9info"))
    g:close()
  end)

  it("exports a flow idle past the inactive timeout, and starts a new one", function()
    local r = rig()
    assert(r.g:msg("nf:", "settimeouts", { inactive = 5, active = 100 }))
    r.at(0, udp()); r.at(1, udp()); r.at(2.5, udp())
    assert.equal(1, #r.g:msg("nf:", "show"))
    r.g:advance(T0 + 8.6) -- idle 6.1 s: the sweep exports it
    r.g:run()
    assert.equal(0, #r.g:msg("nf:", "show"))
    assert.equal(1, #r.records)
    assert.same({ 3, T0 * 1000, T0 * 1000 + 2500 }, { r.records[1].packets, r.records[1].first, r.records[1].last })
    r.at(9, udp())
    r.flush()
    assert.equal(2, #r.records)
    assert.same({ 1, T0 * 1000 + 9000 }, { r.records[2].packets, r.records[2].first })
    assert.equal(1, r.g:msg("nf:", "info")["Inactive expiries"])
    r.g:close()
  end)

  it("ends a flow idle past the timeout on its next packet, sweep or not", function()
    local r = rig()
    assert(r.g:msg("nf:", "settimeouts", { inactive = 5, active = 100 }))
    r.at(0, udp())
    -- the clock jumps past the timeout and the packet comes at once: it
    -- belongs to a new flow whether or not the sweep ran first
    r.at(5.001, udp())
    r.flush()
    assert.equal(2, #r.records)
    assert.same({ 1, 1 }, { r.records[1].packets, r.records[2].packets })
    r.g:close()
  end)

  it("splits a flow longer than the active timeout", function()
    local r = rig()
    assert(r.g:msg("nf:", "settimeouts", { inactive = 5, active = 10 }))
    for t = 0, 24 do r.at(t, udp()) end
    r.flush()
    local pk = {}
    for k, x in ipairs(r.records) do pk[k] = x.packets end
    assert.same({ 11, 11, 3 }, pk) -- 0..10, 11..21, 22..24
    assert.equal(T0 * 1000 + 11000, r.records[2].first)
    assert.equal(2, r.g:msg("nf:", "info")["Active expiries"])
    r.g:close()
  end)

  it("ends a TCP flow with its FIN or RST, counting that packet", function()
    local r = rig()
    r.at(0, tcp(5555, 0x02)); r.at(0.1, tcp(5555, 0x10)); r.at(0.2, tcp(5555, 0x11))
    assert.equal(0, #r.g:msg("nf:", "show"))
    r.at(0.3, tcp(5555, 0x10)) -- a new flow
    r.at(0.4, tcp(6666, 0x04)) -- RST
    r.flush()
    assert.equal(3, #r.records)
    assert.same({ 3, 0x13 }, { r.records[1].packets, r.records[1].flags })
    assert.same({ 6666, 0x04 }, { r.records[2].sport, r.records[2].flags })
    assert.same({ 5555, 1 }, { r.records[3].sport, r.records[3].packets })
    assert.equal(2, r.g:msg("nf:", "info")["TCP FIN/RST expiries"])
    r.g:close()
  end)

  it("keys flows by addresses, ports, protocol, ToS and input hook", function()
    local r = rig()
    assert(r.g:connect(".", "nf:", "in1", "iface1"))
    assert(r.g:msg("nf:", "setifindex", { iface = 1, index = 42 }))
    r.at(0, udp(1, 2)); r.at(0, udp(1, 3)); r.at(0, udp(4, 2))
    local tos = udp(1, 2)
    tos = tos:sub(1, 15) .. "\x10" .. tos:sub(17) -- ToS 0x10
    r.at(0, tos)
    assert(r.g:send("in1", udp(1, 2)))
    assert(r.g:send("in1", udp(1, 2)))
    local show = r.g:msg("nf:", "show")
    assert.equal(5, #show)
    r.flush()
    local byin = {}
    for _, x in ipairs(r.records) do byin[x.input] = (byin[x.input] or 0) + x.packets end
    assert.same({ [0] = 4, [42] = 2 }, byin)
    r.g:close()
  end)

  it("reads ifaceN by the link type setdlt gives it, and accounts outN with conf 2 (egress)", function()
    local r = rig()
    assert(r.g:msg("nf:", "setdlt", { iface = 0, dlt = 12 }))
    local raw = gen.ipv4(ip4(10, 0, 0, 1), ip4(10, 0, 0, 2), 17, gen.udp(1, 2, "x"))
    r.at(0, raw) -- sent as Ethernet (link type 1), read as raw IP
    assert.equal(1, r.g:msg("nf:", "info")["IPv4 packets"])
    assert(r.g:msg("nf:", "setconfig", { iface = 0, conf = 3 }))
    assert(r.g:send("o", raw, { ts = T0 }))
    assert.equal(2, r.g:msg("nf:", "info")["IPv4 packets"])
    -- conf 0: neither way
    assert(r.g:msg("nf:", "setconfig", { iface = 0, conf = 0 }))
    r.at(1, raw)
    assert.equal(2, r.g:msg("nf:", "info")["IPv4 packets"])
    assert.equal(2, r.g:msg("nf:", "ifinfo", 0).packets)
    r.g:close()
  end)

  it("holds no more flows than its cache; new ones are counted, old ones still exported", function()
    local r = rig()
    assert(r.g:msg("nf:", "setcachesize", { size = 10 }))
    for p = 1, 15 do r.at(0, udp(p)) end
    r.at(0.5, udp(1)) -- an old flow still counts
    local info = r.g:msg("nf:", "info")
    assert.same({ 10, 5, 5 }, { info["IPv4 records used"], info["Failed allocations"],
      info["IPv4 skipped packets"] })
    r.flush()
    assert.equal(10, #r.records)
    assert.equal(2, r.records[1].packets)
    -- once exported there is room again
    r.at(1, udp(99))
    assert.equal(1, r.g:msg("nf:", "info")["IPv4 records used"])
    r.g:close()
  end)

  it("counts frames cut short as malformed and frames with no IP apart, and passes both on", function()
    local r = rig()
    local good = udp()
    local cuts = {
      good:sub(1, 10),                               -- Ethernet header cut
      good:sub(1, 14 + 12),                           -- IPv4 header cut
      good:sub(1, 14) .. "\x4f" .. good:sub(16, 40), -- IHL 60 bytes, 26 there
      tcp():sub(1, 14 + 20 + 10),                     -- TCP header cut before its flags
      gen.eth(2, 1, 0x86dd, gen.ipv6(ip6(1), ip6(2), 17, gen.udp(1, 2, "x")):sub(1, 39)),
      gen.eth(2, 1, 0x8100, ""),                      -- a VLAN tag with nothing after
    }
    for k, c in ipairs(cuts) do r.at(k, c) end
    r.at(10, gen.eth(0xffffffff, 1, 0x0806, gen.arp(1, 1, ip4(10, 0, 0, 1), ip4(10, 0, 0, 2))))
    local info = r.g:msg("nf:", "info")
    assert.same({ #cuts, 1, 0, 0 }, { info["Malformed packets"], info["Non-IP packets"],
      info["IPv4 packets"], info["IPv6 packets"] })
    assert.equal(#cuts + 1, #r.out)
    r.g:close()
  end)

  it("reads every capture of the corpus without a crash, each packet counted once", function()
    local dir = H.root .. "/../shared/corpus/tcpdump"
    local ls = io.popen("ls " .. dir .. "/*.pcap " .. dir .. "/*.pcapng 2>/dev/null")
    local files = {}
    for f in ls:lines() do files[#files + 1] = f end
    ls:close()
    if #files == 0 then
      pending("no corpus at ../shared/corpus/tcpdump")
      return
    end
    local total, malformed = 0, 0
    for _, f in ipairs(files) do
      local g = H.engine { clock = "virtual" }
      assert(g:mkpeer(".", "netflow", "x", "export9"))
      assert(g:name(".:x", "nf"))
      assert(g:connect(".", "nf:", "x10", "ipfix"))
      assert(g:mkpeer("nf:", "pcap", "iface0", "out"))
      local seen = 0
      g:on_data(function() seen = seen + 1 end)
      if g:msg("nf:iface0", "open", { file = f, speed = "top" }) then
        g:msg("nf:iface0", "start")
        g:run()
        local s = g:msg("nf:iface0", "getstats")
        g:msg("nf:", "flush")
        g:run()
        local i = g:msg("nf:", "info")
        local acc = i["IPv4 packets"] + i["IPv6 packets"] + i["Non-IP packets"] + i["Malformed packets"]
          + i["IPv4 skipped packets"] + i["IPv6 skipped packets"]
        assert.equal(s.packets, acc, f)
        total, malformed = total + s.packets, malformed + i["Malformed packets"]
      end
      g:close()
    end
    assert.is_true(total > 5000, "only " .. total .. " packets in " .. #files .. " files")
    assert.is_true(malformed > 0)
  end)

  it("costs no more memory than its cache holds", function()
    local r = rig()
    assert(r.g:msg("nf:", "setcachesize", { size = 1000 }))
    for p = 1, 5000 do r.at(p * 0.001, udp(p)) end
    assert.equal(1000, r.g:msg("nf:", "info")["IPv4 records used"])
    assert.equal(4000, r.g:msg("nf:", "info")["Failed allocations"])
    r.g:close()
    local items, bufs = mg.pools()
    assert.same({ 0, 0 }, { items, bufs })
  end)
end)

describe("netflow on the engine clock", function()
  -- two flows with a pause longer than the inactive timeout between their
  -- packets: 6 packets, 2.4 s
  local function capture()
    local path = os.tmpname() .. ".pcap"
    local w = gen.writer(path, 1, true)
    local t = { 0, 0.3, 0.6, 2.2, 2.4 }
    for _, s in ipairs(t) do
      w:packet(math.floor((T0 + s) * 1e9), udp(1, 2, 10))
      w:packet(math.floor((T0 + s) * 1e9) + 1000, udp(3, 4, 20))
    end
    w:close()
    return path
  end

  local function run(clock, speed, file)
    local g = H.engine { clock = clock }
    local recs = {}
    assert(g:mkpeer(".", "netflow", "v5", "export"))
    assert(g:name(".:v5", "nf"))
    assert(g:msg("nf:", "settimeouts", { inactive = 1, active = 100 }))
    assert(g:mkpeer("nf:", "pcap", "iface0", "out"))
    g:on_data(function(_, item)
      for _, x in ipairs(v5_records(item:bytes())) do recs[#recs + 1] = x end
    end)
    assert(g:msg("nf:iface0", "open", { file = file, speed = speed }))
    assert(g:msg("nf:iface0", "start"))
    g:run()
    assert(g:msg("nf:", "flush"))
    g:run()
    local info = g:msg("nf:", "info")
    g:close()
    table.sort(recs, function(a, b)
      if a.first ~= b.first then return a.first < b.first end
      return a.sport < b.sport
    end)
    return recs, info
  end

  it("exports at top speed on the virtual clock what a real-time replay does, with the capture's times", function()
    local file = capture()
    local v, vi = run("virtual", "top", file)
    local w, wi = run("wall", "original", file)
    os.remove(file)
    -- each flow split by the pause: 4 flows of 3 and 2 packets
    assert.equal(4, #v)
    assert.equal(4, #w)
    assert.same({ 2, 2 }, { vi["Inactive expiries"], wi["Inactive expiries"] })
    for k = 1, 4 do
      assert.same({ v[k].sport, v[k].packets, v[k].bytes }, { w[k].sport, w[k].packets, w[k].bytes })
      -- the same durations; real time is a few ms late at most
      assert.is_true(math.abs((v[k].last - v[k].first) - (w[k].last - w[k].first)) <= 50,
        "flow " .. k .. " lasted " .. (v[k].last - v[k].first) .. " and " .. (w[k].last - w[k].first) .. " ms")
    end
    -- the virtual clock's times are the capture's, to the millisecond
    assert.same({ T0 * 1000, T0 * 1000 + 600, T0 * 1000 + 2200, T0 * 1000 + 2400 },
      { v[1].first, v[1].last, v[3].first, v[3].last })
  end)
end)

describe("moongraph flows", function()
  it("prints the flows of a capture, one a line, and how many packets were accounted", function()
    local out, code = H.run(H.moongraph .. " flows " .. H.root .. "/pcaps/raw.pcap")
    assert.equal(0, code, out)
    assert.matches("2023%-11%-14 22:13:20%.000  2023%-11%-14 22:13:20%.000  UDP   10%.0%.0%.1:30000 %-> 10%.0%.0%.53:53  1 packets  59 bytes", out)
    assert.matches("100 packets read, 100 accounted in flows %(0 not IP, 0 malformed, 0 with the cache full%), 75 flows", out)
    out, code = H.run(H.moongraph .. " flows -v 5 -f 'udp' " .. H.root .. "/pcaps/sample.pcap")
    assert.equal(0, code, out)
    assert.not_matches("TCP", out)
    assert.matches("NetFlow v5 carries no IPv6: 30 IPv6 packets were left out", out)
  end)

  it("refuses bad options with its usage, and says what it could not read", function()
    for _, bad in ipairs { "-v 7 x.pcap", "-n 127.0.0.1 x.pcap", "-n host:70000 x.pcap",
      "--inactive 0 x.pcap", "--cache 1.5 x.pcap", "--bogus x.pcap", "" } do
      local out, code = H.run(H.moongraph .. " flows " .. bad)
      assert.equal(2, code, bad .. ": " .. out)
      assert.matches("usage: moongraph flows", out)
    end
    local out, code = H.run(H.moongraph .. " flows /nonexistent.pcap")
    assert.equal(1, code, out)
    assert.matches("nonexistent", out)
    out, code = H.run(H.moongraph .. " flows --help")
    assert.equal(0, code)
    assert.matches("%-%-collector HOST:PORT", out)
  end)
end)

-- {====================================================== against a collector
-- The flows of a capture worked out here, packet by packet, from the
-- packets as the engine decodes them (item:decode, not the node's parser):
-- one line per flow, as the nfdump format below prints it.
local function stamp(ms)
  return os.date("!%Y-%m-%d %H:%M:%S", ms // 1000) .. string.format(".%03d", ms % 1000)
end

local function reference(file, opts)
  local inact, act = (opts.inactive or 15) * 1e9, (opts.active or 1800) * 1e9
  local g = H.engine { clock = "virtual" }
  assert(g:mkpeer(".", "pcap", "p", "out"))
  local flows, done = {}, {}
  local clock = 0
  local function close(k)
    local f = flows[k]
    flows[k] = nil
    done[#done + 1] = table.concat({ stamp(f.first // 1000000), stamp(f.last // 1000000), f.src,
      f.dst, f.sport, f.dport, f.proto, f.packets, f.bytes }, "|")
  end
  g:on_data(function(_, item)
    local d = item:decode()
    clock = math.max(clock, item:ts()) -- the virtual clock never goes back
    local ip, proto, bytes, tos = d.ip, nil, nil, nil
    if ip then proto, bytes, tos = ip.proto, ip.len, ip.tos
    elseif d.ip6 then
      if opts.version == 5 then return end -- v5 carries no IPv6
      ip = d.ip6
      proto, bytes, tos = ip.next, ip.plen + 40, 0
    else return end
    local sport, dport = d.sport or 0, d.dport or 0
    local icmp = d.icmp or d.icmp6
    if icmp then sport, dport = 0, icmp.type * 256 + icmp.code end
    local k = table.concat({ ip.src, ip.dst, sport, dport, proto, tos }, "|")
    local f = flows[k]
    if f and (clock - f.last > inact or clock - f.first > act) then close(k); f = nil end
    if not f then
      f = { first = clock, src = ip.src, dst = ip.dst, sport = sport, dport = dport,
        proto = proto, packets = 0, bytes = 0 }
      flows[k] = f
    end
    f.packets, f.bytes, f.last = f.packets + 1, f.bytes + bytes, clock
    if d.tcp and d.tcp.flags & 5 ~= 0 then close(k) end
  end)
  assert(g:msg(".:p", "open", { file = file, speed = "top" }))
  assert(g:msg(".:p", "start"))
  g:run()
  g:close()
  for k in pairs(flows) do close(k) end
  table.sort(done)
  return done
end

local have_nfcapd = H.run("command -v nfcapd && command -v nfdump") ~= "" and
  select(2, H.run("command -v nfcapd && command -v nfdump")) == 0
local FMT = "fmt:%ts|%te|%sa|%da|%sp|%dp|%pr|%pkt|%byt"

-- `moongraph flows` into a fresh nfcapd on a loopback port; nfdump's
-- lines, in the reference's form, and flows' own output.
local function collect(file, opts)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir .. "/data")) -- nfdump -R reads every file there
  local port, pid, out
  for _ = 1, 5 do -- a free port: nfcapd says when it cannot bind
    port = 20000 + math.random(0, 30000)
    H.execute(string.format("nfcapd -w %s/data -p %d -b 127.0.0.1 -B 4000000 -P %s/pid >%s/log 2>&1 &",
      dir, port, dir, dir))
    pid = H.wait(100, function() return H.slurp(dir .. "/pid"):match("%d+") end)
    if pid then
      os.execute("sleep 0.2")
      if H.run("kill -0 " .. pid .. " 2>/dev/null && echo up"):match("up") then break end
    end
    pid = nil
  end
  assert(pid, "nfcapd did not start: " .. H.slurp(dir .. "/log"))
  local args = string.format("-v %d -n 127.0.0.1:%d", opts.version, port)
  if opts.inactive then args = args .. " --inactive " .. opts.inactive end
  if opts.active then args = args .. " --active " .. opts.active end
  local code
  out, code = H.run(H.moongraph .. " flows " .. args .. " " .. file)
  os.execute("sleep 0.3")
  H.execute("kill " .. pid)
  H.wait(100, function() return not H.run("kill -0 " .. pid .. " 2>/dev/null && echo up"):match("up") end)
  local dump = H.run("TZ=UTC nfdump -R " .. dir .. "/data -q -N -6 -o '" .. FMT .. "'")
  H.execute("rm -rf " .. dir)
  local lines = {}
  for line in dump:gmatch("[^\n]+") do
    local f = {}
    for field in (line .. "|"):gmatch("%s*(.-)%s*|") do f[#f + 1] = field end
    if #f == 9 then
      local a, b = f[6]:match("^(%d+)%.(%d+)$") -- ICMP: type.code
      if a then f[6] = tostring(a * 256 + b) end
      lines[#lines + 1] = table.concat(f, "|")
    end
  end
  table.sort(lines)
  return lines, out, code
end

-- Every flow equal, or the first that is not, said plainly.
local function same_flows(want, got, what)
  local function totals(t)
    local p, b = 0, 0
    for _, l in ipairs(t) do
      local pk, by = l:match("|(%d+)|(%d+)$")
      p, b = p + pk, b + by
    end
    return p, b
  end
  local wp, wb = totals(want)
  local gp, gb = totals(got)
  -- the flows on one side only, a few of each, to say what differs
  local ws, gs, only = {}, {}, {}
  for _, l in ipairs(want) do ws[l] = (ws[l] or 0) + 1 end
  for _, l in ipairs(got) do gs[l] = (gs[l] or 0) + 1 end
  for l, c in pairs(ws) do if (gs[l] or 0) < c and #only < 6 then only[#only + 1] = "missing " .. l end end
  for l, c in pairs(gs) do if (ws[l] or 0) < c and #only < 12 then only[#only + 1] = "extra   " .. l end end
  table.sort(only)
  assert.same({ flows = #want, packets = wp, bytes = wb }, { flows = #got, packets = gp, bytes = gb },
    what .. "\n" .. table.concat(only, "\n"))
  for k = 1, #want do
    if want[k] ~= got[k] then
      assert.equal(want[k], got[k], what .. ": flow " .. k .. " of " .. #want)
    end
  end
end

describe("moongraph flows against nfcapd and nfdump", function()
  if not have_nfcapd then
    it("needs nfcapd and nfdump (Debian's nfdump)", function()
      pending("nfcapd or nfdump not installed: skipped")
    end)
    return
  end
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)

  local big
  for _, v in ipairs { 5, 9, 10 } do
    it(string.format("100,000 mixed packets as v%d, with timeouts: every flow as the packets say", v), function()
      if not big then
        big = os.tmpname() .. ".pcap"
        gen.flowmix(big, 100000) -- 4,000 flows, pauses of 20 s
      end
      local opts = { version = v, inactive = 15, active = 60 }
      local want = reference(big, opts)
      local got, out, code = collect(big, opts)
      assert.equal(0, code, out)
      assert.is_true(#want > 5000, #want .. " flows")
      same_flows(want, got, "100k v" .. v)
    end)
  end
  teardown(function() if big then os.remove(big) end end)

  for _, name in ipairs { "sample.pcap", "sample-ns.pcap", "raw.pcap", "gaps.pcap" } do
    for _, v in ipairs { 5, 9, 10 } do
      it(string.format("%s as v%d: every flow as the packets say", name, v), function()
        local file = H.root .. "/pcaps/" .. name
        local want = reference(file, { version = v })
        local got, out, code = collect(file, { version = v })
        assert.equal(0, code, out)
        assert.is_true(#want > 0)
        same_flows(want, got, name .. " v" .. v)
      end)
    end
  end
end)
-- }======================================================
