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

  it("stops reading while the engine's queues are over half full, and loses nothing", function()
    -- max_depth 1: every packet the socket reads waits in "."'s queue, of
    -- 8 at most; read on regardless, 168 of these 200 would be dropped
    local g = H.engine { max_depth = 1, queue_limit = 8 }
    local a, b = ks(g, "a", "inet/dgram/udp"), ks(g, "b", "inet/dgram/udp")
    assert.is_true(g:msg(b, "setopt", { name = "SO_RCVBUF", value = 1048576 }))
    assert.is_true(g:msg(b, "bind", "inet/127.0.0.1:0"))
    assert.is_true(g:msg(a, "connect", g:msg(b, "getname")))
    local got = 0
    g:on_data(function() got = got + 1 end)
    for i = 1, 200 do g:send("a", "p" .. i) end
    assert.is_true(until_(g, function() return got == 200 end))
    assert.equal(200, g:stats(".").queued)
    assert.equal(0, g:stats(".").dropped)
    assert.equal(200, g:msg(b, "getstats").rcvd)
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

  it("drops what it is sent before it has a peer (EDESTADDRREQ; netgraph says ENOTCONN), counted", function()
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

describe("ksocket's options", function()
  it("sets and gets SO_REUSEADDR, SO_RCVBUF and SO_SNDBUF, by name or number", function()
    local g = H.engine()
    local a = ks(g, "a", "inet/dgram/udp")
    assert.same({ level = 1, name = 2, value = 0 }, g:msg(a, "getopt", { name = "SO_REUSEADDR" }))
    assert.is_true(g:msg(a, "setopt", { level = "SOL_SOCKET", name = "SO_REUSEADDR", value = 1 }))
    assert.same({ level = 1, name = 2, value = 1 }, g:msg(a, "getopt", { level = 1, name = 2 }))
    -- Linux keeps twice what it is asked for, for its own bookkeeping
    assert.is_true(g:msg(a, "setopt", { name = "SO_RCVBUF", value = 65536 }))
    assert.equal(131072, g:msg(a, "getopt", { name = "SO_RCVBUF" }).value)
    assert.is_true(g:msg(a, "setopt", { name = "SO_SNDBUF", value = 32768 }))
    assert.equal(65536, g:msg(a, "getopt", { name = "SO_SNDBUF" }).value)
    -- netgraph's own form: the value's bytes as they lie
    assert.is_true(g:msg(a, "setopt", '{ level=1 name=2 value=x"00000000" }'))
    assert.equal(0, g:msg(a, "getopt", { name = "SO_REUSEADDR" }).value)
    local ok, err = g:msg(a, "setopt", { name = "SO_BOGUS", value = 1 })
    assert.is_nil(ok)
    assert.matches("setopt: name is a number or one of SO_REUSEADDR", err)
    ok, err = g:msg(a, "setopt", { name = "SO_RCVBUF" })
    assert.is_nil(ok)
    assert.matches("value is a whole number", err)
    ok, err = g:msg(a, "getopt", { level = 1, name = 9999 })
    assert.is_nil(ok)
    assert.matches("getopt level 1 name 9999: Protocol not available", err)
    g:close()
  end)
end)

describe("ksocket over TCP on the loopback", function()
  -- a listener on "." as "l", bound to the loopback; its address
  local function listener(g, kind)
    local l = ks(g, "l", kind or "inet/stream/tcp")
    assert.is_true(g:msg(l, "bind", kind and kind:match("^local") and
      string.format("%q", "local/" .. os.tmpname() .. ".sock") or "inet/127.0.0.1:0"))
    assert.is_true(g:msg(l, "listen", 8))
    return l, g:msg(l, "getname")
  end

  it("accepts: the connection is a new node, announced to the asker, joined by any hook", function()
    local g = H.engine()
    local l, name = listener(g)
    local told = {}
    g:on_msg(function(from, cmd, v, err) told[#told + 1] = { from = from, cmd = cmd, v = v, err = err } end)
    assert.is_true(g:msg(l, "accept")) -- nothing waits: the answer comes later
    local c = ks(g, "c", "inet/stream/tcp")
    assert.is_true(g:msg(c, "connect", name))
    assert.is_true(until_(g, function() return #told == 2 end))
    table.sort(told, function(x, y) return x.cmd < y.cmd end)
    assert.equal("accept", told[1].cmd)
    assert.is_nil(told[1].err)
    local kid = string.format("[%x]:", told[1].v.nodeid)
    assert.equal(g:msg(c, "getname"), told[1].v.addr)
    assert.equal("connect", told[2].cmd) -- the connect's outcome
    assert.is_nil(told[2].err)
    assert.equal("connected", g:msg(c, "getstats").state)
    assert.equal("ksocket", g:show(kid).node.type)
    assert.equal(told[1].v.addr, g:msg(kid, "getpeername"))
    assert.equal(name, g:msg(kid, "getname"))
    assert.is_true(g:connect(".", kid, "k", "anything"))
    local got = got_on(g)
    g:send("c", "one")
    g:send("c", string.rep("y", 100000)) -- larger than a read: a frame in pieces
    g:send("k", "back")
    assert.is_true(until_(g, function() return #got == 3 end))
    table.sort(got, function(x, y) return #x.data < #y.data end)
    assert.same({ "k", "one" }, { got[1].hook, got[1].data })
    assert.same({ "c", "back" }, { got[2].hook, got[2].data })
    assert.equal(string.rep("y", 100000), got[3].data)
    -- a second connection waiting already: accept answers at once
    local d = ks(g, "d", "inet/stream/tcp")
    assert.is_true(g:msg(d, "connect", name))
    g:run(0.05)
    local v = g:msg(l, "accept")
    assert.equal("table", type(v))
    assert.equal(g:msg(d, "getname"), v.addr)
    -- an unjoined one goes with its listener; a joined one stays
    assert.is_true(g:shutdown(l))
    g:run(0.05)
    assert.is_nil(g:show(string.format("[%x]:", v.nodeid)))
    assert.equal("connected", g:msg(kid, "getstats").state)
    g:close()
  end)

  it("tells the asker a refused connect, counts it, and drops what waited", function()
    local g = H.engine()
    local l, name = listener(g)
    assert.is_true(g:shutdown(l)) -- nobody listens there now
    local told
    g:on_msg(function(_, cmd, _, err) if cmd == "connect" then told = err end end)
    local c = ks(g, "c", "inet/stream/tcp")
    assert.is_true(g:msg(c, "connect", name))
    g:send("c", "lost")
    assert.is_true(until_(g, function() return told end))
    assert.matches("connecting: Connection refused", told)
    local st = g:msg(c, "getstats")
    assert.same({ "failed", 1, 1, 1 }, { st.state, st.errors, st.refused, st.dropped })
    local ok, err = g:msg(c, "getname")
    assert.is_nil(ok)
    assert.matches("no socket %(it was closed%)", err)
    g:close()
  end)

  it("keeps at most 4 MiB waiting when the peer does not read, then drops whole frames", function()
    local g = H.engine()
    local l = ks(g, "l", "inet/stream/tcp")
    assert.is_true(g:msg(l, "setopt", { name = "SO_RCVBUF", value = 4096 }))
    assert.is_true(g:msg(l, "bind", "inet/127.0.0.1:0"))
    assert.is_true(g:msg(l, "listen", 1))
    local name = g:msg(l, "getname")
    local c = ks(g, "c", "inet/stream/tcp")
    assert.is_true(g:msg(c, "setopt", { name = "SO_SNDBUF", value = 4096 }))
    assert.is_true(g:msg(c, "connect", name))
    assert.is_true(until_(g, function() return g:msg(c, "getstats").state == "connected" end))
    local pkt = string.rep("z", 1000)
    for _ = 1, 8000 do g:send("c", pkt) end -- 8 MB; the kernel holds far less
    local st = g:msg(c, "getstats")
    assert.equal(8000, st.sent + st.dropped)
    assert.is_true(st.dropped > 2000, "dropped " .. st.dropped)
    assert.is_true(st.queued_bytes <= 4 * 1048576 and st.queued_bytes > 3 * 1048576, st.queued_bytes)
    assert.equal(st.dropped, g:stats(c).drops.qfull)
    -- now the peer reads: every frame taken arrives, whole
    local v = g:msg(l, "accept")
    local got = 0
    g:on_data(function(_, item) if item:bytes() == pkt then got = got + 1 end end)
    assert.is_true(g:connect(".", string.format("[%x]:", v.nodeid), "k", "x"))
    for _ = 1, 500 do
      if got == st.sent then break end
      g:run(0.01)
    end
    assert.equal(st.sent, got)
    assert.equal(0, g:msg(c, "getstats").queued_bytes)
    g:close()
  end)

  it("ends a stream that is not frames (a length over 262144), counted", function()
    local g = H.engine()
    local l, name = listener(g)
    local port = name:match(":(%d+)$")
    local v
    g:on_msg(function(_, cmd, x) if cmd == "accept" then v = x end end)
    assert.is_true(g:msg(l, "accept"))
    H.execute("bash -c " .. q("printf '\\377\\377\\377\\377junk' >/dev/tcp/127.0.0.1/" .. port) .. " &")
    assert.is_true(until_(g, function() return v end))
    local kid = string.format("[%x]:", v.nodeid)
    assert.is_true(g:connect(".", kid, "k", "x"))
    assert.is_true(until_(g, function() return g:msg(kid, "getstats").state ~= "connected" end))
    local st = g:msg(kid, "getstats")
    assert.equal("failed", st.state)
    assert.equal(1, st.errors)
    assert.matches("a frame of 4294967295 bytes, over the limit of 262144: not a ksocket stream",
      st.error)
    g:close()
  end)

  it("binds a port in use: EADDRINUSE; listen on a datagram socket: refused", function()
    local g = H.engine()
    local _, name = listener(g)
    local b = ks(g, "b", "inet/stream/tcp")
    local ok, err, ename = g:msg(b, "bind", name)
    assert.is_nil(ok)
    assert.equal("EADDRINUSE", ename, err)
    local u = ks(g, "u", "inet/dgram/udp")
    ok, err = g:msg(u, "listen", 5)
    assert.is_nil(ok)
    assert.matches("a datagram socket does not listen", err)
    ok, err = g:msg(u, "accept")
    assert.is_nil(ok)
    assert.matches("not listening", err)
    ok, err = g:msg(b, "listen", -1)
    assert.is_nil(ok)
    assert.matches("listen: must be a number from 0 to 65535", err)
    g:close()
  end)
end)

describe("ksocket over IPv6 and local sockets", function()
  it("names an IPv6 socket inet6/[ADDR]:PORT and carries datagrams", function()
    local g = H.engine()
    local a, b = ks(g, "a", "inet6/dgram/udp"), ks(g, "b", "inet6/dgram/udp")
    assert.is_true(g:msg(b, "bind", '"inet6/[::1]:0"'))
    local name = g:msg(b, "getname")
    assert.matches("^inet6/%[::1%]:%d+$", name)
    assert.is_true(g:msg(a, "connect", string.format("%q", name)))
    local got = got_on(g)
    g:send("a", "six")
    assert.is_true(until_(g, function() return #got == 1 end))
    assert.equal("six", got[1].data)
    assert.equal("inet6/::", g:msg(ks(g, "c", "inet6/dgram/udp"), "getname"))
    g:close()
  end)

  it("binds local datagram sockets to paths, named local/\"PATH\"", function()
    local g = H.engine()
    local pa, pb = os.tmpname() .. ".a", os.tmpname() .. ".b"
    local a, b = ks(g, "a", "local/dgram/0"), ks(g, "b", "unix/2/0")
    assert.is_true(g:msg(a, "bind", string.format("%q", 'local/"' .. pa .. '"')))
    assert.is_true(g:msg(b, "bind", "local/" .. pb))
    assert.equal('local/"' .. pb .. '"', g:msg(b, "getname"))
    assert.is_true(g:msg(a, "connect", { path = pb }))
    local got = got_on(g)
    g:send("a", "over a path")
    assert.is_true(until_(g, function() return #got == 1 end))
    assert.equal("over a path", got[1].data)
    os.remove(pa)
    os.remove(pb)
    g:close()
  end)

  it("drops and counts the datagrams a full socket cannot take; the rest arrive", function()
    local g = H.engine()
    local path = os.tmpname() .. ".sock"
    local a, b = ks(g, "a", "local/dgram/0"), ks(g, "b", "local/dgram/0")
    assert.is_true(g:msg(b, "bind", "local/" .. path))
    assert.is_true(g:msg(a, "connect", "local/" .. path))
    local got = 0
    g:on_data(function() got = got + 1 end)
    -- the loop does not turn meanwhile, so b reads none of them yet: the
    -- kernel's queue for b fills, and a's sends find it full
    for _ = 1, 5000 do g:send("a", string.rep("d", 500)) end
    local st = g:msg(a, "getstats")
    assert.equal(5000, st.sent + st.dropped)
    assert.is_true(st.dropped > 0 and st.sent > 0, st.sent .. " sent, " .. st.dropped .. " dropped")
    assert.equal(0, st.errors)
    assert.equal(st.dropped, g:stats(a).drops.qfull)
    assert.is_true(until_(g, function() return got == st.sent end))
    g:run(0.05)
    assert.equal(st.sent, got)
    os.remove(path)
    g:close()
  end)

  it("carries frames over a local stream, accepted", function()
    local g = H.engine()
    local path = os.tmpname() .. ".sock"
    local l = ks(g, "l", "local/stream/0")
    assert.is_true(g:msg(l, "bind", { path = path }))
    assert.is_true(g:msg(l, "listen", 1))
    local told
    g:on_msg(function(_, cmd, v) if cmd == "accept" then told = v end end)
    assert.is_true(g:msg(l, "accept"))
    local c = ks(g, "c", "local/stream/0")
    assert.is_true(g:msg(c, "connect", "local/" .. path))
    assert.is_true(until_(g, function() return told end))
    assert.equal('local/""', told.addr) -- the client has no path
    assert.is_true(g:connect(".", string.format("[%x]:", told.nodeid), "k", "x"))
    local got = got_on(g)
    for i = 1, 50 do g:send("c", "frame " .. i) end
    assert.is_true(until_(g, function() return #got == 50 end))
    for i = 1, 50 do assert.equal("frame " .. i, got[i].data) end
    os.remove(path)
    g:close()
  end)
end)

-- Two moongraph processes, one in each of two network namespaces joined
-- by a veth pair (10.77.0.1 and 10.77.0.2): A replays the sample capture
-- into a ksocket, B writes what its ksocket receives; both are
-- scripts/examples/tunnel.lua.  Needs root.
describe("ksocket between two processes in two network namespaces", function()
  local function root() return (H.run("id -u")):match("^0%s") ~= nil end
  if not root() or select(2, H.run("command -v ip && command -v tcpdump")) ~= 0 then
    pending("needs root, ip and tcpdump: skipped (these tests make network namespaces)")
    return
  end
  local tag = tostring(math.random(100000, 999999))
  local nsa, nsb = "mgtest-" .. tag .. "-a", "mgtest-" .. tag .. "-b"
  local made, code = H.run("ip netns add " .. nsa .. " && ip netns add " .. nsb)
  if code ~= 0 then
    H.run("ip netns del " .. nsa .. " 2>/dev/null")
    pending("cannot make a network namespace here: " .. made)
    return
  end
  local tmp = os.tmpname()
  local TUNNEL = H.root .. "/scripts/examples/tunnel.lua"

  setup(function()
    for _, c in ipairs {
      "ip link add va netns " .. nsa .. " type veth peer name vb netns " .. nsb,
      "ip -n " .. nsa .. " addr add 10.77.0.1/24 dev va",
      "ip -n " .. nsb .. " addr add 10.77.0.2/24 dev vb",
      "ip -n " .. nsa .. " addr add fd77::1/64 dev va nodad",
      "ip -n " .. nsb .. " addr add fd77::2/64 dev vb nodad",
      "ip -n " .. nsa .. " link set va up", "ip -n " .. nsb .. " link set vb up",
      "ip -n " .. nsa .. " link set lo up", "ip -n " .. nsb .. " link set lo up",
    } do
      local out, rc = H.run(c)
      assert(rc == 0, c .. ": " .. out)
    end
    -- each end knows the other's MAC from the start: a datagram sent while
    -- ARP or neighbour discovery is still asking may be dropped (and is
    -- counted as dropped, as the kernel says ENOBUFS or EAGAIN)
    local function mac(ns, dev)
      return (H.run("ip -n " .. ns .. " -br link show " .. dev)):match("(%x%x:%x%x:%x%x:%x%x:%x%x:%x%x)")
    end
    local ma, mb = mac(nsa, "va"), mac(nsb, "vb")
    for _, c in ipairs {
      "ip -n " .. nsa .. " neigh replace 10.77.0.2 lladdr " .. mb .. " dev va",
      "ip -n " .. nsa .. " neigh replace fd77::2 lladdr " .. mb .. " dev va",
      "ip -n " .. nsb .. " neigh replace 10.77.0.1 lladdr " .. ma .. " dev vb",
      "ip -n " .. nsb .. " neigh replace fd77::1 lladdr " .. ma .. " dev vb",
    } do
      local out, rc = H.run(c)
      assert(rc == 0, c .. ": " .. out)
    end
  end)

  teardown(function()
    for _, ns in ipairs { nsa, nsb } do
      H.run("ip netns pids " .. ns .. " | xargs -r kill 2>/dev/null")
      H.run("ip netns del " .. ns)
    end
    os.remove(tmp)
  end)

  -- tunnel.lua in namespace ns with these arguments, in the background:
  -- a function that waits for it and gives its output and status
  local runs = 0
  local function start(ns, args)
    runs = runs + 1
    local log, st = tmp .. "-" .. runs .. ".log", tmp .. "-" .. runs .. ".status"
    os.remove(st)
    H.execute(string.format("(ip netns exec %s %s %s %s >%s 2>&1; echo $? >%s) &", ns,
      q(H.moongraph), q(TUNNEL), args, q(log), q(st)))
    return function()
      H.wait(400, function() return H.slurp(st) ~= "" end)
      local out = H.slurp(log)
      os.remove(log)
      local rc = tonumber(H.slurp(st))
      os.remove(st)
      return out, rc
    end
  end
  -- until something in ns listens on port (udp or tcp)
  local function listening(ns, proto, port)
    return H.wait(200, function()
      local out = H.run(string.format("ip netns exec %s ss -Hn%s 'sport = :%d'", ns,
        proto == "udp" and "ua" or "tl", port))
      return out:match("%d") ~= nil
    end)
  end
  local function dump(file) return (H.run("tcpdump -nn -xx -t -r " .. q(file) .. " 2>/dev/null")) end

  for _, c in ipairs {
    { "UDP", "udp", "10.77.0.2:5000 10.77.0.1:5000", "10.77.0.1:5000 10.77.0.2:5000" },
    { "TCP", "tcp", "--tcp 10.77.0.2:5001 -", "--tcp - 10.77.0.2:5001" },
    { "UDP over IPv6", "udp", "[fd77::2]:5002 [fd77::1]:5002", "[fd77::1]:5002 [fd77::2]:5002" },
    { "TCP over IPv6", "tcp", "--tcp [fd77::2]:5003 -", "--tcp - [fd77::2]:5003" },
  } do
    local what, proto, bargs, aargs = c[1], c[2], c[3], c[4]
    it("carries the sample capture from A to B over " .. what .. ", every packet whole", function()
      local got = tmp .. "-" .. proto .. ".pcap"
      local port = tonumber(bargs:match(":(%d+) "))
      local b = start(nsb, bargs .. " -w " .. q(got) .. " --count 300 --for 20")
      if not listening(nsb, proto, port) then error("B never bound its port: " .. b()) end
      local a = start(nsa, aargs .. " -i " .. q(SAMPLE) .. " --pps 3000")
      local aout, arc = a()
      assert.equal(0, arc, aout)
      assert.matches("tunnel: 300 sent, 0 received, 0 dropped, 0 errors", aout)
      local bout, brc = b()
      assert.equal(0, brc, bout)
      assert.matches("tunnel: 0 sent, 300 received, 0 dropped, 0 errors", bout)
      -- the same packets, byte for byte (timestamps: B's, when each arrived)
      local want = dump(SAMPLE)
      assert.equal(300, select(2, want:gsub("\n%S", "")) + 1)
      assert.equal(want, dump(got))
      os.remove(got)
    end)
  end

  it("says connection refused when nobody listens, and exits 1", function()
    local a = start(nsa, "--tcp - 10.77.0.2:5999 -i " .. q(SAMPLE))
    local out, rc = a()
    assert.equal(1, rc, out)
    assert.matches("tunnel: connecting: Connection refused", out)
    assert.matches("ksocket %[%x+%]: connecting: Connection refused", out)
  end)

  it("counts the peer gone mid-stream, and B goes on to write what it had", function()
    local got = tmp .. "-gone.pcap"
    local b = start(nsb, "--tcp 10.77.0.2:5004 - -w " .. q(got) .. " --for 3")
    assert.is_truthy(listening(nsb, "tcp", 5004))
    -- a peer that sends one whole frame and half of the next, then goes
    local out, rc = H.run(string.format("ip netns exec %s bash -c %s", nsa,
      q([[printf '\000\000\000\005hello\000\000\000\012abc' >/dev/tcp/10.77.0.2/5004]])))
    assert.equal(0, rc, out)
    local bout, brc = b()
    assert.equal(0, brc, bout)
    assert.matches("tunnel: 0 sent, 1 received, 0 dropped, 1 errors", bout)
    assert.matches("the peer closed the stream 7 bytes into a frame", bout)
    assert.equal(1, select(2, dump(got):gsub("\n%S", "")) + 1)
    os.remove(got)
  end)
end)
