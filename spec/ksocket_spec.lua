-- ksocket: sockets as nodes.  Real sockets on the loopback here; two
-- moongraph processes in two network namespaces joined by a veth pair
-- below (root only).
local q = H.shell_quote
local SAMPLE = H.root .. "/pcaps/sample.pcap"

-- a ksocket node on "." by hook NAME of type FAMILY; its path
local function ks(g, name, kind)
  assert(g:mkpeer("ksocket", name, kind))
  return ".:" .. name
end

-- run g until fn() says true (at most 2 s)
local function until_(g, fn)
  for _ = 1, 200 do
    if fn() then return true end
    g:run(0.01)
  end
  return fn()
end

local function got_on(g)
  local got = {}
  g:on_data(function(hook, item)
    got[#got + 1] = { hook = hook, data = item:bytes(), linktype = item:linktype() }
  end)
  return got
end

describe("ksocket over UDP on the loopback", function()
  it("binds, tells its name in netgraph's form, and takes what a connected peer sends", function()
    local g = H.engine()
    local a, b = ks(g, "a", "inet/dgram/udp"), ks(g, "b", "inet/dgram/udp")
    assert.is_true(g:msg(b, "bind", "inet/127.0.0.1:0"))
    local name = g:msg(b, "getname")
    local port = tonumber(name:match("^inet/127%.0%.0%.1:(%d+)$"))
    assert.is_truthy(port, name)
    assert.is_true(g:msg(a, "connect", name))
    local got = got_on(g)
    g:send("a", "Hello, peer!")
    g:send("a", string.rep("x", 1400))
    g:send("a", "")
    assert.is_true(until_(g, function() return #got == 3 end))
    assert.same({ hook = "b", data = "Hello, peer!", linktype = 1 }, got[1])
    assert.equal(string.rep("x", 1400), got[2].data)
    assert.equal("", got[3].data) -- a datagram of no bytes is a packet of none
    local sa, sb = g:msg(a, "getstats"), g:msg(b, "getstats")
    assert.same({ 3, 1412, 0, 0, "connected" }, { sa.sent, sa.sent_bytes, sa.dropped, sa.errors, sa.state })
    assert.same({ 3, 1412, 0 }, { sb.rcvd, sb.rcvd_bytes, sb.errors })
    -- the peer's name, from the connected end
    assert.equal(name, g:msg(a, "getpeername"))
    assert.matches("^inet/127%.0%.0%.1:%d+$", g:msg(a, "getname"))
    local _, err, ename = g:msg(b, "getpeername")
    assert.equal("ENOTCONN", ename, err)
    assert.is_true(g:msg(a, "clrstats"))
    assert.equal(0, g:msg(a, "getstats").sent)
    g:close()
  end)

  it("takes the numeric hook form and an address as a map", function()
    local g = H.engine()
    local a, b = ks(g, "a", "2/2/17"), ks(g, "b", "inet/dgram/0")
    assert.is_true(g:msg(b, "bind", { addr = "127.0.0.1", port = 0 }))
    local port = tonumber(g:msg(b, "getname"):match(":(%d+)$"))
    assert.is_true(g:msg(a, "connect", { family = "inet", addr = "127.0.0.1", port = port }))
    local got = got_on(g)
    g:send("a", "numeric")
    assert.is_true(until_(g, function() return #got == 1 end))
    assert.equal("numeric", got[1].data)
    g:close()
  end)

  it("a port of 0 is left out of a name, as netgraph prints it", function()
    local g = H.engine()
    local a = ks(g, "a", "inet/dgram/udp")
    assert.equal("inet/0.0.0.0", g:msg(a, "getname"))
    g:close()
  end)
end)

describe("ksocket's errors", function()
  it("refuses a malformed or unresolvable address by what is wrong", function()
    local g = H.engine()
    local a = ks(g, "a", "inet/dgram/udp")
    local cases = {
      { "inet/example.com:80", "not a numeric IPv4 address A.B.C.D %(names are not resolved%)" },
      { "inet/127.0.0.1:65536", "a port is 0 to 65535" },
      { "inet/256.0.0.1", "not a numeric IPv4 address" },
      { "inet/127.0.0.1:80x", "text after the address" },
      { "127.0.0.1:80", "not family/address" },
      { "ipx/1.2.3.4", "the family is inet, inet6 or local" },
      { '"inet6/[::1"', "no ']' after the IPv6 address" },
      { "inet6/fe80::zz", "not a numeric IPv6 address" },
      { 'local/"/tmp/x', "no closing '\"' after the path" },
      { "local/" .. string.rep("p", 200), "a path of at most 107 bytes" },
    }
    for _, c in ipairs(cases) do
      local arg = c[1]:sub(1, 1) == '"' and c[1] or string.format("%q", c[1])
      local ok, err, name = g:msg(a, "bind", arg)
      assert.is_nil(ok, c[1])
      assert.equal("EINVAL", name, c[1] .. ": " .. tostring(err))
      assert.matches(c[2], err)
    end
    local ok, err = g:msg(a, "bind", { addr = "127.0.0.1", port = 70000 })
    assert.is_nil(ok)
    assert.matches("port: must be a number from 0 to 65535", err)
    ok, err = g:msg(a, "bind", { host = "x" })
    assert.is_nil(ok)
    assert.matches("unknown field 'host'", err)
    -- the node goes on
    assert.is_true(g:msg(a, "bind", "inet/127.0.0.1:0"))
    g:close()
  end)

  it("names a bad hook, and takes one hook only", function()
    local g = H.engine()
    for name, why in pairs {
      ["inet/dgram"] = "is not family/type/proto",
      ["atalk/dgram/udp"] = "no family 'atalk'",
      ["inet/bogus/udp"] = "no socket type 'bogus'",
      ["inet/dgram/sctpx"] = "no protocol 'sctpx'",
      ["local/dgram/udp"] = "no protocol 'udp' for this family",
    } do
      local ok, err = g:mkpeer("ksocket", "x", name)
      assert.is_nil(ok, name)
      assert.matches(why, err, 1, true)
    end
    local a = ks(g, "a", "inet/dgram/udp")
    local ok, err, ename = g:connect(a, ".", "inet/stream/tcp", "a2")
    assert.is_nil(ok)
    assert.equal("EISCONN", ename, err)
    g:close()
  end)

  it("says EADDRINUSE for a port taken, counted, and goes on", function()
    local g = H.engine()
    local a, b = ks(g, "a", "inet/dgram/udp"), ks(g, "b", "inet/dgram/udp")
    assert.is_true(g:msg(a, "bind", "inet/127.0.0.1:0"))
    local name = g:msg(a, "getname")
    local ok, err, ename = g:msg(b, "bind", name)
    assert.is_nil(ok)
    assert.equal("EADDRINUSE", ename)
    assert.equal("bind " .. name .. ": Address already in use", err)
    local st = g:msg(b, "getstats")
    assert.equal(1, st.errors)
    assert.equal(err, st.error)
    assert.is_true(g:msg(b, "bind", "inet/127.0.0.1:0"))
    g:close()
  end)

  it("counts datagrams refused by a port nobody listens on, and goes on", function()
    local g = H.engine()
    local a, b = ks(g, "a", "inet/dgram/udp"), ks(g, "b", "inet/dgram/udp")
    assert.is_true(g:msg(b, "bind", "inet/127.0.0.1:0"))
    local name = g:msg(b, "getname")
    assert.is_true(g:shutdown(b)) -- the port is closed now
    assert.is_true(g:msg(a, "connect", name))
    for _ = 1, 5 do
      g:send("a", "anyone?")
      g:run(0.02)
    end
    local st = g:msg(a, "getstats")
    assert.is_true(st.refused >= 1, "refused " .. st.refused)
    assert.equal(st.refused, st.errors)
    assert.matches("Connection refused", st.error)
    assert.matches("ksocket %[%x+%]: .*Connection refused", table.concat(H.logs, "\n"))
    g:close()
  end)

  it("drops what it is sent before it has a peer, as ENOTCONN, counted", function()
    local g = H.engine()
    local a = ks(g, "a", "inet/dgram/udp")
    g:send("a", "nowhere")
    g:run(0.01)
    local st = g:msg(a, "getstats")
    assert.equal(1, st.errors)
    assert.matches("Destination address required", st.error)
    assert.equal(1, g:stats(a).drops.error)
    g:close()
  end)

  it("shuts down when its hook goes, closing the socket", function()
    local g = H.engine()
    local a = ks(g, "a", "inet/dgram/udp")
    assert.is_true(g:msg(a, "bind", "inet/127.0.0.1:0"))
    local name = g:msg(a, "getname")
    local id = g:show(a).node.id
    assert.is_true(g:rmhook(".", "a"))
    g:run(0.01)
    assert.is_nil(g:show(string.format("[%x]:", id)))
    -- the port is free again
    local b = ks(g, "b", "inet/dgram/udp")
    assert.is_true(g:msg(b, "bind", name))
    g:close()
  end)
end)
