-- eiface_spec.lua -- an Ethernet interface the kernel sees (ng_eiface(4)),
-- a TAP device.  Live: each test moves the interface into a network
-- namespace it makes, so that its traffic goes nowhere else.
local U = dofile(H.root .. "/spec/eiface_util.lua")
local MAC = string.char(2, 0, 0, 0, 0x99, 2)

describe("the eiface node", function()
  local why = U.unable()
  if why then
    pending("skipped: " .. why)
    return
  end

  it("answers ping through a Lua responder behind it, and survives moves between namespaces", function()
    local ns = assert(U.netns("eif"))
    local g = H.engine()
    finally(function()
      g:close()
      U.drop(ns)
    end)
    U.define_responder(g, "responder", "10.99.0.2", MAC)
    assert(g:mkpeer("responder", "r", "ctl"))
    assert(g:name(".:r", "resp"))
    assert(g:mkpeer("resp:", "eiface", "wire", "ether"))
    local ifname = g:msg("resp:wire", "getifname")
    assert.matches("^ngeth%d+$", ifname)
    assert.equal(ifname, g:show("resp:wire").node.name) -- named after its interface
    assert.truthy(g:node(ifname .. ":"))
    U.move_in(ifname, ns, "10.99.0.1/24")
    local ping = "ip netns exec " .. ns .. " ping -c 3 -i 0.2 -W 2 10.99.0.2"
    local out = U.while_running(g, ping)
    assert.matches("3 packets transmitted, 3 received", out)
    local answered = g:msg("resp:", "answered")
    assert.is_true(answered >= 4) -- an ARP reply and three echo replies
    -- back into this process's namespace, then into the test's again: the
    -- descriptor is the interface, and reads and writes go on
    U.sh("ip -n " .. ns .. " link set " .. ifname .. " netns $$")
    assert.equal(ifname, g:msg(ifname .. ":", "getifname"))
    assert.equal(0, select(2, H.run("ip link show " .. ifname)))
    U.move_in(ifname, ns, "10.99.0.1/24")
    out = U.while_running(g, ping)
    assert.matches("3 packets transmitted, 3 received", out)
    local s = g:msg(ifname .. ":", "getstats")
    assert.is_true(s.opackets >= 6 and s.ipackets >= 6)
    assert.equal(0, s.iqdrops)
    assert.is_true(g:shutdown(ifname .. ":"))
    assert.is_not.equal(0, select(2, H.run("ip -n " .. ns .. " link show " .. ifname)))
  end)

  it("puts frames from the graph on the interface, as tcpdump sees them", function()
    local ns = assert(U.netns("eif"))
    local g = H.engine()
    local log, file = os.tmpname(), os.tmpname() .. ".pcap"
    finally(function()
      g:close()
      U.drop(ns)
      os.remove(log)
      os.remove(file)
    end)
    assert(g:mkpeer("eiface", "e", "ether"))
    local ifname = g:msg(".:e", "getifname")
    U.move_in(ifname, ns, "10.99.0.1/24")
    H.execute("ip netns exec " .. ns .. " tcpdump -i " .. ifname ..
      " -nn -U -c 3 -w " .. file .. " ether src 02:00:00:00:99:99 >" .. log .. " 2>&1 &")
    assert.truthy(H.wait(100, function() return H.slurp(log):match("listening on") end))
    local frames = {}
    for i = 1, 3 do
      frames[i] = string.rep("\255", 6) .. string.char(2, 0, 0, 0, 0x99, 0x99) .. "\8\0" ..
        string.rep(string.char(i), 46)
      assert(g:send("e", frames[i]))
    end
    assert.truthy(H.wait(100, function() return H.slurp(log):match("3 packets captured") end))
    local out = H.run("tcpdump -r " .. file .. " -nn -e 2>/dev/null")
    assert.equal(3, select(2, out:gsub("02:00:00:00:99:99 > ff:ff:ff:ff:ff:ff, ethertype IPv4", "")))
    local s = g:msg(".:e", "getstats")
    assert.same({ 3, 180 }, { s.ipackets, s.ibytes })
    -- and the other way: what the kernel sends leaves by ether
    local got = {}
    g:on_data(function(_, item)
      assert.equal(#item:bytes(), item:len()) -- whole frames, their length on the wire
      got[#got + 1] = item:bytes()
    end)
    U.while_running(g, "ip netns exec " .. ns .. " ping -c 1 -W 1 10.99.0.7")
    assert.is_true(#got >= 1)
    assert.equal("\8\6", got[1]:sub(13, 14)) -- who has 10.99.0.7?
  end)

  it("works in an engine with workers, made by a node that runs on them", function()
    local ns = assert(U.netns("eif"))
    local g = H.engine { workers = 2 }
    finally(function()
      g:close()
      U.drop(ns)
    end)
    local got = 0
    g:on_data(function() got = got + 1 end)
    assert(g:mkpeer("tee", "t", "left"))
    assert(g:mkpeer(".:t", "eiface", "right", "ether")) -- the tee's mkpeer
    local ifname = g:msg(".:t.right", "getifname")
    U.move_in(ifname, ns, "10.99.0.1/24")
    U.while_running(g, "ip netns exec " .. ns .. " ping -c 1 -W 1 10.99.0.7")
    assert.is_true(got >= 1) -- its ARP requests, through the tee
    assert.is_true(g:msg(ifname .. ":", "getstats").opackets >= 1)
  end)

  it("sets its address, renames itself and its node, and refuses what it cannot do", function()
    local g = H.engine()
    finally(function() g:close() end)
    assert(g:mkpeer("eiface", "e", "ether"))
    local ifname = g:msg(".:e", "getifname")
    assert.is_true(g:msg(ifname .. ":", "set", "02:00:00:00:99:05"))
    assert.matches("link/ether 02:00:00:00:99:05", H.run("ip link show " .. ifname))
    local ok, err, name = g:msg(ifname .. ":", "set", "01:00:00:00:00:01")
    assert.is_nil(ok)
    assert.equal("EADDRNOTAVAIL", name)
    assert.matches("unicast", err)
    ok, _, name = g:msg(ifname .. ":", "set", "02:00:00:00")
    assert.is_nil(ok)
    assert.equal("EINVAL", name)
    local new = "mgt" .. math.random(10000, 99999)
    assert.is_true(g:msg(ifname .. ":", "setifname", new))
    assert.equal(new, g:msg(".:e", "getifname"))
    assert.equal(new, g:show(".:e").node.name)
    assert.equal(0, select(2, H.run("ip link show " .. new)))
    for _, bad in ipairs { "\"\"", "a/b", "a:b", string.rep("x", 16) } do
      ok, _, name = g:msg(new .. ":", "setifname", bad)
      assert.is_nil(ok, bad)
      assert.equal("EINVAL", name, bad)
    end
    -- a hook of another name: EPFNOSUPPORT, as FreeBSD; a frame while the
    -- interface is down: ENETDOWN
    ok, _, name = g:send("e", string.rep("\255", 12) .. "\8\0" .. string.rep("\0", 46))
    assert.is_nil(ok)
    assert.equal("ENETDOWN", name)
    assert.equal(1, g:msg(new .. ":", "getstats").ierrors)
    ok, _, name = g:connect(".", new .. ":", "x", "other")
    assert.is_nil(ok)
    assert.equal("EPFNOSUPPORT", name)
    -- it stays when its hook goes; shutdown takes the interface away
    assert.is_true(g:rmhook(".", "e"))
    assert.truthy(g:node(new .. ":"))
    assert.is_true(g:shutdown(new .. ":"))
    assert.is_not.equal(0, select(2, H.run("ip link show " .. new)))
  end)

  it("takes the first free name, node names included", function()
    local g = H.engine()
    finally(function() g:close() end)
    assert(g:mkpeer("eiface", "a", "ether"))
    local first = g:msg(".:a", "getifname")
    local n = tonumber(first:match("%d+"))
    assert(g:mkpeer("hole", "h", "in"))
    assert(g:name(".:h", "ngeth" .. (n + 1))) -- a node holds the next name
    assert(g:mkpeer("eiface", "b", "ether"))
    local second = g:msg(".:b", "getifname")
    assert.is_true(tonumber(second:match("%d+")) > n + 1)
    assert.is_true(g:shutdown(first .. ":"))
    assert(g:mkpeer("eiface", "c", "ether"))
    assert.equal(first, g:msg(".:c", "getifname")) -- free again, taken again
  end)
end)
