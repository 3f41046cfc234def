-- The main job (scripts/run runs it): scripts/examples/summary.lua over
-- the bundled captures.  Its figures are what pcaps/gen.lua put there.
local q = H.shell_quote
-- scripts/examples/NAME run with these arguments: its output, its status
local function example(name, ...)
  local args = {}
  for i, a in ipairs { ... } do args[i] = q(a) end
  return H.run(q(H.moongraph) .. " " .. q(H.root .. "/scripts/examples/" .. name) .. " " ..
    table.concat(args, " "))
end
local function summary(...) return example("summary.lua", ...) end
-- what tcpdump -r prints of file with these flags and filter
local function dump(file, flags, expr)
  return (H.run("tcpdump -r " .. q(file) .. " " .. flags .. " " .. (expr and q(expr) or "") .. " 2>/dev/null"))
end

describe("the summary example", function()
  it("tells what is in the sample capture", function()
    local out, code = summary(H.root .. "/pcaps/sample.pcap")
    assert.equal(0, code, out)
    assert.matches("300 packets read, 300 looked at, 23745 bytes", out)
    assert.matches("link types:  EN10MB %(300%)", out)
    assert.matches("protocols:   udp %(120%), tcp %(90%), arp %(30%), icmp %(30%), icmp6 %(30%)", out)
    assert.matches("vlans:       10 %(15%), 20 %(15%)", out)
    assert.matches("ports:       tcp/80 %(90%), udp/53 %(60%)", out)
  end)

  it("filters with a tcpdump expression, and reads a non-Ethernet link type", function()
    local out, code = summary(H.root .. "/pcaps/sample.pcap", "udp")
    assert.equal(0, code, out)
    assert.matches("90 matching 'udp'", out) -- tagged UDP needs 'vlan and udp'
    out, code = summary(H.root .. "/pcaps/raw.pcap", "icmp")
    assert.equal(0, code, out)
    assert.matches("10 matching 'icmp', 600 bytes", out)
    assert.matches("link types:  RAW %(10%)", out)
  end)

  it("names a missing file and a bad filter, exit 1; no arguments, exit 2", function()
    local out, code = summary("/nonexistent.pcap")
    assert.equal(1, code)
    assert.matches("summary: cannot open '/nonexistent.pcap': No such file or directory", out)
    out, code = summary(H.root .. "/pcaps/sample.pcap", "udp and")
    assert.equal(1, code)
    assert.matches("bad expression 'udp and'", out)
    out, code = summary()
    assert.equal(2, code)
    assert.matches("usage:", out)
  end)
end)

describe("the etf, split and vlan examples", function()
  local function count(file, expr)
    local out = H.run("tcpdump -r " .. q(file) .. " -nn " .. (expr and q(expr) or "") .. " 2>/dev/null")
    return select(2, out:gsub("\n", ""))
  end
  local SAMPLE = H.root .. "/pcaps/sample.pcap"

  it("ethertype-split.lua files each ethertype apart", function()
    local prefix = os.tmpname()
    local out, code = example("ethertype-split.lua", SAMPLE, prefix)
    assert.equal(0, code, out)
    assert.matches("300 frames read, 30 matched no filter", out)
    for kind, expr in pairs { ipv4 = "ip", arp = "arp", ipv6 = "ip6", other = "vlan" } do
      local file = prefix .. "-" .. kind .. ".pcap"
      assert.equal(count(SAMPLE, expr), count(file), kind)
      assert.equal(count(file), count(file, expr), kind) -- and nothing else
      assert.matches(string.format("%%s%d frames %%-> %s", count(file), file:gsub("%p", "%%%0")), out)
      os.remove(file)
    end
    out, code = example("ethertype-split.lua", "/nonexistent.pcap", prefix)
    assert.equal(1, code)
    assert.matches("ethertype%-split: cannot open '/nonexistent.pcap'", out)
    out, code = example("ethertype-split.lua")
    assert.equal(2, code)
    assert.matches("usage:", out)
  end)

  it("split-loopback.lua brings a capture back unchanged", function()
    local out_file = os.tmpname() .. ".pcap"
    local out, code = example("split-loopback.lua", SAMPLE, out_file)
    assert.equal(0, code, out)
    assert.matches("in        300 frames in,      0 out\nmixed     300 frames in,    300 out\n" ..
      "out         0 frames in,    300 out\n300 frames written to ", out)
    local function hex(f) return (H.run("tcpdump -r " .. q(f) .. " -tt -nn -xx 2>/dev/null")) end
    assert.equal(hex(SAMPLE), hex(out_file))
    os.remove(out_file)
    out, code = example("split-loopback.lua", SAMPLE)
    assert.equal(2, code)
    assert.matches("usage:", out)
  end)

  it("vlan-split.lua files each VLAN apart, untagged, and the rest", function()
    local prefix = os.tmpname()
    local out, code = example("vlan-split.lua", SAMPLE, prefix)
    assert.equal(0, code, out)
    local function file(n) return prefix .. "-" .. n .. ".pcap" end
    assert.equal(string.format("vlan10       15 frames -> %s\nvlan20       15 frames -> %s\n" ..
      "other       270 frames -> %s\n", file("vlan10"), file("vlan20"), file("other")), out)
    for _, vid in ipairs { 10, 20 } do
      local f = file("vlan" .. vid)
      assert.equal(count(SAMPLE, "vlan " .. vid), count(f))
      assert.equal(0, count(f, "vlan")) -- untagged
      -- the same packets, less their tags
      local function ip(path, expr)
        return (H.run("tcpdump -r " .. q(path) .. " -tt -nn -vv " .. (expr and q(expr) or "") .. " 2>/dev/null"))
      end
      assert.equal(ip(SAMPLE, "vlan " .. vid), ip(f))
      os.remove(f)
    end
    assert.equal(count(SAMPLE, "not vlan"), count(file("other")))
    -- VLANs named on the command line, and a bad one
    out, code = example("vlan-split.lua", SAMPLE, prefix, "20")
    assert.equal(0, code, out)
    assert.matches("vlan20       15 frames", out)
    assert.matches("other       285 frames", out)
    out, code = example("vlan-split.lua", SAMPLE, prefix, "4096")
    assert.equal(1, code)
    assert.matches("vlan%-split: a VID is from 0 to 4095, not '4096'", out)
    out, code = example("vlan-split.lua")
    assert.equal(2, code)
    assert.matches("usage:", out)
    os.remove(file("vlan20"))
    os.remove(file("other"))
  end)
end)

describe("the bridge example", function()
  it("floods only what it cannot place yet: tcpdump reads the far side", function()
    local out = os.tmpname() .. ".pcap"
    local text, code = H.run(q(H.moongraph) .. " " .. q(H.root .. "/scripts/examples/bridge.lua") .. " " ..
      q(H.root .. "/pcaps/sample.pcap") .. " " .. q(out))
    assert.equal(0, code, text)
    assert.matches("8 hosts learnt:", text)
    assert.matches("02:00:ff:ff:ff:ff on link2", text)
    assert.matches("link0: received 300 %(8 to unknown hosts%), sent 1", text)
    assert.matches("the station got 38 frames", text)
    local dump
    dump, code = H.run("tcpdump -r " .. q(out) .. " -e -nn -vv 2>/dev/null")
    assert.equal(0, code, dump)
    local n, flooded = 0, 0
    for line in dump:gmatch("[^\n]+") do
      if line:match("^%d") then
        n = n + 1
        if line:match("02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype ") then flooded = flooded + 1 end
      end
    end
    assert.same({ 9, 8 }, { n, flooded }) -- and the station's own broadcast
    assert.matches("02:00:ff:ff:ff:ff > ff:ff:ff:ff:ff:ff, ethertype ARP %(0x0806%), length 42: .*Request who%-has 10.0.0.99 tell 10.0.0.99", dump)
    os.remove(out)
  end)
end)

describe("the wan and police examples", function()
  local function lines(s) return select(2, s:gsub("\n", "")) end
  local SAMPLE = H.root .. "/pcaps/sample.pcap"

  it("wan.lua sends a capture across a 10 Mbit/s, 40 ms, 0.1 % loss link, the same every run", function()
    local a, b = os.tmpname() .. ".pcap", os.tmpname() .. ".pcap"
    local out, code = example("wan.lua", SAMPLE, a)
    assert.equal(0, code, out)
    assert.matches("link: 10000000 bit/s, 40000 us, 24 bytes of overhead, loss 0.001 each way", out)
    local arrived, lost = out:match("(%d+) frames %(%d+ bytes%) arrived, (%d+) lost, 0 dropped by the queue")
    assert.equal(300, tonumber(arrived) + tonumber(lost))
    assert.equal(tonumber(arrived), lines(dump(a, "-nn")))
    -- the first frame: 73 bytes + 24 at 10 Mbit/s (77.6 us), then 40 ms
    assert.matches("^1700000000%.040077600 IP 10%.0%.0%.1%.30000 > 10%.0%.0%.53%.53",
      dump(a, "-tt -nn --time-stamp-precision=nano"))
    local out2 = example("wan.lua", SAMPLE, b)
    assert.equal(out:gsub(a:gsub("%p", "%%%0"), b), out2)
    assert.equal(H.slurp(a), H.slurp(b))
    out, code = example("wan.lua", "/nonexistent.pcap", a)
    assert.equal(1, code)
    assert.matches("wan: cannot open '/nonexistent.pcap'", out)
    out, code = example("wan.lua")
    assert.equal(2, code)
    assert.matches("usage:", out)
    os.remove(a)
    os.remove(b)
  end)

  it("police.lua passes green, marks yellow AF12 and drops red", function()
    local f = os.tmpname() .. ".pcap"
    local out, code = example("police.lua", SAMPLE, f)
    assert.equal(0, code, out)
    local green, yellow, notip, red =
      out:match("green (%d+), yellow (%d+) %(marked, but (%d+) not IP%), red (%d+) %(dropped%)")
    green, yellow, notip, red = tonumber(green), tonumber(yellow), tonumber(notip), tonumber(red)
    assert.equal(300, green + yellow + red)
    assert.is_true(green > 0 and yellow > 0 and red > 0)
    assert.matches(string.format("%d frames passed", green + yellow), out)
    assert.equal(green + yellow, lines(dump(f, "-nn")))
    local af12 = "(ip and ip[1] & 0xfc == 48) or (ip6 and ip6[0:2] & 0x0fc0 == 0x0300)"
    -- "vlan" moves the offsets of what follows it: last
    assert.equal(yellow - notip, lines(dump(f, "-nn", af12 .. " or (vlan and (" .. af12 .. "))")))
    out, code = example("police.lua", SAMPLE, f, "lots")
    assert.equal(1, code)
    assert.matches("police: not a whole number: 'lots'", out)
    out, code = example("police.lua", SAMPLE, f, "0", "0", "0")
    assert.equal(1, code)
    assert.matches("police: setconf: downstream: cbs and ebs cannot both be 0", out)
    out, code = example("police.lua")
    assert.equal(2, code)
    assert.matches("usage:", out)
    os.remove(f)
  end)
end)

describe("the patch, tag and source examples", function()
  local SAMPLE = H.root .. "/pcaps/sample.pcap"
  local function count(s, pat) return select(2, s:gsub(pat, "")) end

  it("patch-ttl.lua sends every IPv4 packet one hop on, checksums right", function()
    local out_file = os.tmpname() .. ".pcap"
    local out, code = example("patch-ttl.lua", SAMPLE, out_file)
    assert.equal(0, code, out)
    local n = count(dump(SAMPLE, "-nn", "ip or (vlan and ip)"), "\n")
    assert.equal(string.format("300 frames read, %d IPv4 one hop on -> %s\n", n, out_file), out)
    local s = dump(out_file, "-e -nn -vv")
    assert.equal(n, count(s, "ttl 63"))
    assert.equal(0, count(s, "ttl 64"))
    assert.not_matches("bad", s)
    assert.not_matches("incorrect", s)
    os.remove(out_file)
    out, code = example("patch-ttl.lua")
    assert.equal(2, code)
    assert.matches("usage:", out)
  end)

  it("tag-classify.lua files UDP, TCP and the rest apart by tags", function()
    local prefix = os.tmpname()
    local out, code = example("tag-classify.lua", SAMPLE, prefix)
    assert.equal(0, code, out)
    for name, expr in pairs { udp = "udp or (vlan and udp)", tcp = "tcp or (vlan and tcp)",
                              other = "not (udp or tcp or (vlan and (udp or tcp)))" } do
      local file = prefix .. "-" .. name .. ".pcap"
      local want = dump(SAMPLE, "-e -nn -vv", expr)
      assert.equal(want, dump(file, "-e -nn -vv"), name)
      assert.matches(string.format("%-6s %6d frames", name, count(dump(SAMPLE, "-nn", expr), "\n")), out, 1, true)
      assert.not_matches("incorrect", want)
      os.remove(file)
    end
    out, code = example("tag-classify.lua", "/nonexistent.pcap", prefix)
    assert.equal(1, code)
    assert.matches("tag%-classify: cannot open '/nonexistent.pcap'", out)
    for _, n in ipairs { "udp", "tcp", "other" } do os.remove(prefix .. "-" .. n .. ".pcap") end
  end)

  it("source-load.lua sends COUNT packets exactly 1/PPS apart", function()
    local out_file = os.tmpname() .. ".pcap"
    local out, code = example("source-load.lua", SAMPLE, out_file, "1000", "2500")
    assert.equal(0, code, out)
    assert.matches("300 packets queued, 2500 sent at 1000 a second over 2.499000 s", out)
    local s = dump(out_file, "-tt -nn")
    local ts = {}
    for line in s:gmatch("[^\n]+") do ts[#ts + 1] = line:match("^(%d+%.%d+) ") end
    assert.equal(2500, #ts)
    for k = 2, #ts do -- microseconds apart, exactly
      local a, b = ts[k - 1]:gsub("%.", ""), ts[k]:gsub("%.", "")
      assert.equal(1000, tonumber(b) - tonumber(a))
    end
    os.remove(out_file)
    out, code = example("source-load.lua", SAMPLE, out_file, "fast")
    assert.equal(2, code)
    assert.matches("usage:", out)
  end)
end)

describe("the tap example", function()
  local U = dofile(H.root .. "/spec/eiface_util.lua")
  local why = U.unable()
  if why then
    pending("skipped: " .. why)
    return
  end

  it("replays the sample into a TAP interface and captures what the kernel sends", function()
    local ns = assert(U.netns("tap"))
    local out, log = os.tmpname() .. ".pcap", os.tmpname()
    finally(function()
      U.drop(ns)
      os.remove(out)
      os.remove(log)
    end)
    H.execute("ip netns exec " .. ns .. " " .. q(H.moongraph) .. " " ..
      q(H.root .. "/scripts/examples/tap.lua") .. " " .. out .. " 3 " ..
      q(H.root .. "/pcaps/sample.pcap") .. " >" .. log .. " 2>&1 &")
    local ifname = H.wait(100, function() return H.slurp(log):match("(ngeth%d+) up") end)
    assert.truthy(ifname, H.slurp(log))
    -- the kernel asks for a neighbour: its ARP requests leave by the tap
    local x = "ip netns exec " .. ns .. " "
    H.run(x .. "ip addr add 10.98.0.1/24 dev " .. ifname)
    H.run(x .. "ping -c 2 -i 0.2 -W 1 10.98.0.2")
    assert.truthy(H.wait(100, function() return H.slurp(log):match("frames into") end))
    local said = H.slurp(log)
    assert.matches(ifname .. ": 300 frames into the kernel %(0 refused%)", said)
    local got = dump(out, "-nn")
    assert.matches("ARP, Request who%-has 10%.98%.0%.2 tell 10%.98%.0%.1", got)
  end)
end)

describe("the tunnel example", function()
  local SAMPLE = H.root .. "/pcaps/sample.pcap"
  -- two ends on the loopback, B in the background: each one's output and status
  local function ends(bargs, aargs)
    local tmp = os.tmpname()
    H.execute(string.format("(%s %s %s >%s 2>&1; echo $? >%s.st) &", q(H.moongraph),
      q(H.root .. "/scripts/examples/tunnel.lua"), bargs, q(tmp), q(tmp)))
    H.wait(100, function()
      return (H.run("ss -Hnua 'sport = :" .. bargs:match(":(%d+) ") .. "'; ss -Hntl 'sport = :" ..
        bargs:match(":(%d+) ") .. "'")):match("%d")
    end)
    local aout, acode = example("tunnel.lua", table.unpack(aargs))
    H.wait(200, function() return H.slurp(tmp .. ".st") ~= "" end)
    local bout, bcode = H.slurp(tmp), tonumber(H.slurp(tmp .. ".st"))
    os.remove(tmp)
    os.remove(tmp .. ".st")
    return aout, acode, bout, bcode
  end

  for _, proto in ipairs { "udp", "tcp" } do
    it("tunnel.lua carries a capture from one end to the other over " .. proto, function()
      local got = os.tmpname() .. ".pcap"
      local port = tostring(math.random(20000, 40000))
      local bargs, aargs
      if proto == "udp" then
        bargs = "127.0.0.1:" .. port .. " 127.0.0.1:" .. port + 1
        aargs = { "127.0.0.1:" .. port + 1, "127.0.0.1:" .. port }
      else
        bargs, aargs = "--tcp 127.0.0.1:" .. port .. " -", { "--tcp", "-", "127.0.0.1:" .. port }
      end
      for _, a in ipairs { "-i", SAMPLE, "--pps", "5000" } do aargs[#aargs + 1] = a end
      local aout, acode, bout, bcode = ends(bargs .. " -w " .. q(got) .. " --count 300 --for 10", aargs)
      assert.equal(0, acode, aout)
      assert.matches("tunnel: 300 sent, 0 received, 0 dropped, 0 errors", aout)
      assert.equal(0, bcode, bout)
      assert.matches("tunnel: 0 sent, 300 received, 0 dropped, 0 errors", bout)
      assert.equal(dump(SAMPLE, "-nn -xx -t"), dump(got, "-nn -xx -t"))
      os.remove(got)
    end)
  end

  it("tunnel.lua says why it cannot start: usage 2, a refused connection 1", function()
    local out, code = example("tunnel.lua", "127.0.0.1:1")
    assert.equal(2, code)
    assert.matches("usage:", out)
    out, code = example("tunnel.lua", "--tcp", "-", "127.0.0.1:1", "-i", SAMPLE)
    assert.equal(1, code, out)
    assert.matches("tunnel: connecting: Connection refused", out)
    out, code = example("tunnel.lua", "host:1", "127.0.0.1:1", "-i", SAMPLE)
    assert.equal(1, code, out)
    assert.matches("tunnel: bad socket address 'inet/host:1': not a numeric IPv4 address", out)
  end)
end)
