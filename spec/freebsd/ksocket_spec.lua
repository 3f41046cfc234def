-- FreeBSD's tests/sys/netgraph/ksocket.c, case by case, in our words: the
-- same messages, the same address forms, the same expectations.  There a
-- test program is an ng_socket node ("."), whose hook "ks" has a ksocket
-- peer named by its hook "inet/dgram/udp"; a plain UDP socket is the far
-- end.  Here "." is the script's own node, and the plain socket is a
-- second ksocket on "." (user space has no socket(2) of Lua's own; it is
-- the same kernel socket either way).  The data socket of ng_socket is
-- g:send / g:on_data on hook "ks".
local OURHOOK = "ks"

-- the test's hellocheck: send "Hello, peer!" one way, receive it whole
-- at the other end (with its NUL: sizeof(sbuf) in the C)
local HELLO = "Hello, peer!\0"
local function hellocheck(g, from, want_at)
  local got
  g:on_data(function(hook, item) if hook == want_at then got = item:bytes() end end)
  g:send(from, HELLO)
  for _ = 1, 200 do
    if got then break end
    g:run(0.01)
  end
  assert.equal(HELLO, got)
end

describe("FreeBSD tests/sys/netgraph/ksocket.c", function()
  -- udp_connect: a UDP socket bound to 127.0.0.1 (port 0: any); a
  -- ksocket made by mkpeer, connected to that socket's name; what is sent
  -- into the ksocket's hook arrives at the socket.
  it("udp_connect", function()
    local g = H.engine()
    assert(g:mkpeer("ksocket", "us", "inet/dgram/udp")) -- the plain socket
    assert.is_true(g:msg(".:us", "bind", "inet/127.0.0.1"))
    local sin = g:msg(".:us", "getname")
    assert.matches("^inet/127%.0%.0%.1:%d+$", sin)
    assert.is_true(g:mkpeer(".", "ksocket", OURHOOK, "inet/dgram/udp"))
    assert.is_true(g:msg(".:" .. OURHOOK, "connect", sin))
    hellocheck(g, OURHOOK, "us")
    g:close()
  end)

  -- udp_bind: a ksocket bound to 127.0.0.1; getname's reply is a
  -- sockaddr_in (here its text, inet/127.0.0.1:PORT, as ngctl prints it);
  -- a UDP socket connected to that address sends to the ksocket, and
  -- what it sends leaves by the ksocket's hook.
  it("udp_bind", function()
    local g = H.engine()
    assert.is_true(g:mkpeer(".", "ksocket", OURHOOK, "inet/dgram/udp"))
    assert.is_true(g:msg(".:" .. OURHOOK, "bind", "inet/127.0.0.1"))
    local rep = g:msg(".:" .. OURHOOK, "getname")
    -- the reply is the whole of a sockaddr_in: family, address and port
    local port = tonumber(rep:match("^inet/127%.0%.0%.1:(%d+)$"))
    assert.is_truthy(port, rep)
    assert.is_true(port > 0 and port < 65536)
    assert(g:mkpeer("ksocket", "us", "inet/dgram/udp"))
    assert.is_true(g:msg(".:us", "connect", rep))
    hellocheck(g, "us", OURHOOK)
    g:close()
  end)
end)
