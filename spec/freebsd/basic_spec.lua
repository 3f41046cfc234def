-- basic_spec.lua -- FreeBSD's tests/sys/netgraph/basic.c, case by case, in
-- our words: the generic messages (mkpeer, connect, name, rmhook,
-- shutdown), names, and data between two hooks of the test's own node.
local U = dofile(H.root .. "/spec/freebsd/graph_util.lua")
local MSG = "test\0" -- the C cases send sizeof("test"): the NUL goes too

describe("FreeBSD basic.c", function()
  -- send_recv: "." joined to itself, a to b; what goes out of a comes in on b
  it("send_recv", function()
    local t = U.init()
    assert(t.g:connect(".", ".", "a", "b"))
    U.register(t, "b", 0)
    local got
    t.on_data = function(hook, item) got = { hook, item:bytes() } end
    assert.is_true(U.send(t, "a", MSG))
    assert.equal(1, t.r[0])
    assert.same({ "b", MSG }, got)
    t.g:close()
  end)

  -- node: a hub named "test hub" (a space is a name's like any byte);
  -- naming it the same again is no change (PR 241954, fixed in FreeBSD:
  -- the case expects success); data fans out; rmhook takes a link away
  it("node", function()
    local t = U.init()
    assert(t.g:mkpeer(".", "hub", "a", "a"))
    assert.is_true(t.g:name("a", "test hub"))
    assert.is_true(t.g:name("a", "test hub"))
    assert(t.g:connect(".", "test hub:", "b", "b"))
    assert(t.g:connect(".", "test hub:", "c", "c"))
    U.register(t, "a", 0)
    U.register(t, "b", 1)
    U.register(t, "c", 2)
    U.clear(t)
    assert.is_true(U.send(t, "a", MSG))
    assert.same({ 0, 1, 1, 0 }, U.counts(t))
    assert.is_true(t.g:rmhook(".", "b"))
    U.clear(t)
    assert.is_true(U.send(t, "a", MSG))
    assert.same({ 0, 0, 1, 0 }, U.counts(t))
    assert.is_true(t.g:shutdown("test hub:"))
    assert.same({ nil, "no node named 'test hub'", "ENOENT" }, { t.g:show("test hub:") })
    t.g:close()
  end)

  -- message: an ASCII message by name, setpersistent, keeps the hub when
  -- its last hook goes; it is then shut down by name
  it("message", function()
    local t = U.init()
    assert(t.g:mkpeer(".", "hub", "a", "a"))
    assert(t.g:name("a", "test hub"))
    assert.is_true(t.g:msg_text("test hub:", "setpersistent"))
    assert.is_true(t.g:rmhook(".", "a"))
    assert.same({}, U.hooks(t, "test hub:")) -- still there, hookless
    assert.is_true(t.g:shutdown("test hub:"))
    -- what setpersistent changed: without it the hub goes with its last hook
    assert(t.g:mkpeer(".", "hub", "a", "a"))
    assert(t.g:name("a", "test hub"))
    assert.is_true(t.g:rmhook(".", "a"))
    t.g:run()
    assert.equal("ENOENT", select(3, t.g:show("test hub:")))
    t.g:close()
  end)

  -- same_name: a hook name in use is EEXIST, at either end of a connect
  -- (and a hook joined to itself); a node name in use is EADDRINUSE
  it("same_name", function()
    local t = U.init()
    assert(t.g:mkpeer(".", "hub", "a", "a"))
    assert(t.g:name("a", "test"))
    local ok, err, name = t.g:connect(".", ".", "a", "b")
    assert.same({ nil, "EEXIST" }, { ok, name })
    assert.matches("already has a hook 'a'", err)
    ok, err, name = t.g:connect(".", ".", "b", "b")
    assert.same({ nil, "EEXIST" }, { ok, name })
    ok, err, name = t.g:connect(".", "test:", "b", "a") -- the far end has an 'a'
    assert.same({ nil, "EEXIST" }, { ok, name })
    assert.same({ "a" }, U.hooks(t, ".")) -- the failed connects left nothing
    ok, err, name = t.g:name(".", "test")
    assert.same({ nil, "EADDRINUSE" }, { ok, name })
    assert.matches("node name 'test' is already in use", err)
    assert.is_true(t.g:shutdown("test:"))
    t.g:close()
  end)

  -- queuelimit: 1000 packets sent with nobody reading.  FreeBSD's socket
  -- node queues them and its queue fills (the case expects to fail short
  -- of 1000); here "." gets each one as it is sent, so all 1000 arrive.
  -- The nearest user-space limit is the engine's queue_limit: packets that
  -- must wait (past max_depth) are refused with ENOBUFS once it is full,
  -- and every one accepted before arrives.
  it("queuelimit", function()
    local t = U.init()
    assert(t.g:connect(".", ".", "a", "b"))
    U.register(t, "b", 0)
    local sent = 0
    for _ = 1, 1000 do
      if not t.g:send("a", MSG) then break end
      sent = sent + 1
    end
    U.handle(t)
    assert.equal(1000, sent)
    assert.equal(sent, t.r[0])
    t.g:close()

    -- a chain of 40 tees is past max_depth (8): packets wait in queues
    t = U.init { queue_limit = 100, max_depth = 8 }
    assert(t.g:mkpeer(".", "tee", "a", "left"))
    local path = ".:a"
    for i = 2, 40 do
      assert(t.g:mkpeer(path, "tee", "right", "left"))
      path = path .. ".right"
    end
    assert(t.g:connect(path, t.g:node(".").path, "right", "b"))
    U.register(t, "b", 0)
    sent = 0
    local err, name
    for _ = 1, 1000 do
      local ok
      ok, err, name = t.g:send("a", MSG)
      if not ok then break end
      sent = sent + 1
    end
    assert.equal("ENOBUFS", name)
    assert.matches("queue limit of 100 data items reached", err)
    assert.truthy(sent > 50 and sent < 1000, sent)
    U.handle(t)
    assert.equal(sent, t.r[0]) -- none of those accepted was lost
    t.g:close()
  end)
end)
