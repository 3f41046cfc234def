-- socket_spec.lua -- FreeBSD's tests/sys/netgraph/socket.c in our words:
-- what a socket node (ng_socket(4): the node a program talks to netgraph
-- through; here the script's ".", or an attached client's) says about
-- itself.  FreeBSD's one case, getsockname, makes a socket node with a
-- name of 31 characters, the longest NG_NODESIZ (32) leaves room for, and
-- asks the socket for its address, which names that node; its disabled
-- half says an unnamed socket node has no name to give.  socket.c uses
-- libnetgraph's NgMkSockNode only, nothing of tests/sys/netgraph/util.c.
local mg = require "moongraph"
local NAME = "0123456789012345678901234567891" -- 31 characters

describe("socket (FreeBSD tests/sys/netgraph/socket.c)", function()
  it("getsockname: a named socket node answers to its 31-character name", function()
    assert.equals(31, #NAME)
    local g = assert(mg.engine { name = NAME })
    local me = assert(g:show("."))
    assert.equals(NAME, me.node.name)
    assert.equals("socket", me.node.type)
    -- the name is an address, as the sockaddr_ng is
    assert.equals(me.node.id, assert(g:show(NAME .. ":")).node.id)
    g:close()
  end)

  it("getsockname: a name of 32 characters does not fit NG_NODESIZ", function()
    local g, err = mg.engine { name = NAME .. "2" }
    assert.is_nil(g)
    assert.matches("31", err)
  end)

  it("an unnamed socket node has no name to give", function()
    local g = assert(mg.engine())
    local me = assert(g:show("."))
    assert.equals("", me.node.name)
    assert.equals("socket", me.node.type)
    assert.equals(1, me.node.id)
    g:close()
  end)

  it("getsockname from another process: an attached client's own socket node", function()
    local dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -m 0700 " .. dir)
    local sock = dir .. "/s"
    H.execute(string.format("%s -s %s -e 'g = mg.engine() g:run { [\"until\"] = \"stopped\" }' " ..
      ">/dev/null 2>&1 & echo $! >%s/pid", H.moongraph, sock, dir))
    finally(function()
      os.execute("kill $(cat " .. dir .. "/pid) 2>/dev/null; rm -rf " .. dir)
    end)
    assert(H.wait(100, function() return os.execute("test -S " .. sock) end))
    -- a client names its node, as NgMkSockNode(name) does, and sees it
    local f = H.tmpfile("name . " .. NAME .. "\nshow .\n")
    local out, code = H.run(H.moongraph .. " -c " .. sock .. " < " .. f)
    assert.equals(0, code, out)
    assert.matches("Name: " .. NAME .. " Type: socket", out)
    -- the node goes with its client, and its name with it
    out = H.run(H.moongraph .. " -c " .. sock .. " list")
    assert.not_matches(NAME, out)
    assert.matches("There are 2 total nodes", out)
  end)
end)
