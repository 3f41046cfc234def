-- The main job (scripts/run runs it): scripts/examples/summary.lua over
-- the bundled captures.  Its figures are what pcaps/gen.lua put there.
local q = H.shell_quote
local function summary(...)
  local args = {}
  for i, a in ipairs { ... } do args[i] = q(a) end
  return H.run(q(H.moongraph) .. " " .. q(H.root .. "/scripts/examples/summary.lua") .. " " ..
    table.concat(args, " "))
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
