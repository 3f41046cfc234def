-- The Lua API over the engine: netgraph's verbs, running, timers, data.
local mg = require "moongraph"

describe("mg.engine", function()
  it("makes engines and refuses bad options, naming them", function()
    local g = H.engine()
    assert.matches("mg.engine %(0 workers, wall clock%)", tostring(g))
    g:close()
    assert.matches("closed", tostring(g))
    assert.error_matches(function() g:list() end, "engine is closed")
    assert.error_matches(function() mg.engine { workers = -1 } end,
      "option 'workers' must be between 0 and 256")
    assert.error_matches(function() mg.engine { clock = "lunar" } end,
      "option 'clock' is \"wall\" or \"virtual\"")
    assert.error_matches(function() mg.engine { ttl = "x" } end,
      "option 'ttl' must be an integer")
    assert.error_matches(function() mg.engine("x") end, "table expected")
    local w = H.engine { workers = 2, clock = "virtual", ttl = 10 }
    assert.matches("2 workers, virtual clock", tostring(w))
    w:close()
    w:close() -- twice is harmless
  end)

  it("closes when collected and with <close>", function()
    do local g <close> = H.engine(); g:mkpeer("tee", "t", "left") end
    mg.engine()
    collectgarbage()
    local items, bufs = mg.pools()
    assert.equal(0, items)
    assert.equal(0, bufs)
  end)
end)

describe("netgraph verbs", function()
  local g
  before_each(function() g = H.engine() end)
  after_each(function() g:close() end)

  it("mkpeer, name, connect, show, list, rmhook, shutdown", function()
    assert.is_true(g:mkpeer("tee", "t", "left"))
    assert.is_true(g:name(".:t", "tee1"))
    assert.is_true(g:mkpeer("tee1:", "hole", "right", "in"))
    assert.is_true(g:connect("tee1:", "[1]:", "left2right", "tap"))
    local s = g:show("tee1:")
    assert.equal("tee1", s.node.name)
    assert.equal("tee", s.node.type)
    assert.equal(3, #s.hooks)
    assert.same({ "left", "right", "left2right" },
      { s.hooks[1].ourhook, s.hooks[2].ourhook, s.hooks[3].ourhook })
    assert.equal("hole", s.hooks[2].peer.type)
    local nodes = g:list()
    assert.equal(3, #nodes)
    assert.same({ "socket", "tee", "hole" }, { nodes[1].type, nodes[2].type, nodes[3].type })
    assert.equal(1, #g:list(true)) -- named only
    assert.is_true(g:rmhook(".", "tap"))
    assert.is_true(g:rmhook("tap2") == nil) -- 2-argument form, no such hook
    assert.is_true(g:shutdown("tee1:"))
    assert.is_nil(g:show("tee1:"))
  end)

  it("returns nil, a message naming the thing, and the error's name", function()
    local r, err, code = g:mkpeer("nosuch", "a", "b")
    assert.is_nil(r)
    assert.equal("unknown node type 'nosuch'", err)
    assert.equal("ENOENT", code)
    r, err, code = g:msg("nowhere:", "nodeinfo")
    assert.same({ nil, "no node named 'nowhere'", "ENOENT" }, { r, err, code })
    r, err, code = g:msg("[zz]:", "nodeinfo") -- not an id: a name, as netgraph reads it
    assert.same({ nil, "no node named '[zz]'", "ENOENT" }, { r, err, code })
    r, err, code = g:msg("a.b:", "nodeinfo")
    assert.equal("EINVAL", code)
    assert.matches("malformed address 'a%.b:'", err)
    g:mkpeer("tee", "t", "left")
    r, err, code = g:mkpeer("tee", "t", "left")
    assert.equal("EEXIST", code)
    assert.matches("already has a hook 't'", err)
    r, err = g:msg(".:t", "frobnicate")
    assert.matches("has no command 'frobnicate'", err)
    r, err = g:name(".:t", "a.b")
    assert.matches("may not contain '%.'", err)
    r, err = g:connect(".", ".", "t2", "t2")
    assert.matches("cannot connect a hook to itself", err)
    g:shutdown(".:t") -- answers once our half of the edge is gone too
    r, err = g:msg(".:t", "nodeinfo")
    assert.matches("has no hook 't'", err)
  end)

  it("takes node ids of 1 to 8 hex digits only", function()
    g:mkpeer("tee", "t", "left")
    assert.equal(2, g:node("[2]:").id)
    assert.equal(2, g:node("[00000002]:").id)
    assert.equal(2, g:node("[Fe]:") and 2 or g:node("[2]:").id)
    for _, bad in ipairs { "[000000002]:", "[100000002]:" } do
      local r, err, code = g:node(bad)
      assert.is_nil(r, bad)
      assert.equal("EINVAL", code, bad)
      assert.matches("malformed address .*non%-zero hex number of 1 to 8 digits", err, 1, false, bad)
    end
    -- what is not an id is a name (ng_name2noderef), and nobody has it
    for _, other in ipairs { "[-fffffffffffffffe]:", "[+2]:", "[ 2]:", "[2 ]:", "[0x2]:",
        "[]:", "[0]:", "[00000000]:", "[2]x:" } do
      local r, err, code = g:node(other)
      assert.is_nil(r, other)
      assert.equal("ENOENT", code, other)
      assert.matches("^no node named ", err, 1, false, other)
    end
    local r, err, code = g:node("[fffffffe]:")
    assert.same({ nil, "no node with id [fffffffe]", "ENOENT" }, { r, err, code })
  end)

  it("reads paths as ng_path_parse does: one dot at either end dropped", function()
    g:mkpeer("tee", "t", "left")
    g:mkpeer(".:t", "tee", "right", "left")
    assert.is_true(g:name(".:t", "first"))
    local function id(path) local r = g:msg(path, "nodeinfo"); return r and r.id end
    assert.equal(2, id(".t"))
    assert.equal(2, id("t."))
    assert.equal(2, id(".t."))
    assert.equal(2, id("first:."))
    assert.equal(3, id("first:.right."))
    assert.equal(3, id(".:t.right."))
    assert.equal(1, id("."))
    assert.equal(1, id(".:."))
    for _, bad in ipairs { "t..right", "..t", "first:..", "fi.rst:", "a:b:c" } do
      local r, err, code = g:msg(bad, "nodeinfo")
      assert.is_nil(r, bad)
      assert.equal("EINVAL", code, bad)
      assert.matches("^malformed address", err, 1, false, bad)
    end
    assert.equal("ENOENT", select(3, g:msg("first:nohook", "nodeinfo")))
  end)

  it("names the script's node as netgraph names any node", function()
    local r, err, code = mg.engine { name = string.rep("y", 32) }
    assert.same({ nil, "node name '" .. string.rep("y", 32) .. "' is longer than 31 characters",
      "ENAMETOOLONG" }, { r, err, code })
    r, err, code = mg.engine { name = "a:b" }
    assert.same({ nil, "node name 'a:b' may not contain ':'", "EINVAL" }, { r, err, code })
    r, err, code = mg.engine { name = "[1]" }
    assert.equal("EINVAL", code)
    local e2 = assert(mg.engine { name = string.rep("y", 31) .. "" })
    assert.equal(string.rep("y", 31), e2:node(".").name)
    e2:close()
    e2 = assert(mg.engine { name = "my node" }) -- a space is a name's like any byte
    assert.equal("my node", e2:node("my node:").name)
    e2:close()
  end)

  it("refuses names with a NUL byte instead of cutting them", function()
    g:mkpeer("tee", "t", "left")
    local function nul(n, fn)
      return "bad argument #" .. n .. " to '" .. fn .. "' %(a name, path or hook may not contain a NUL byte%)"
    end
    assert.error_matches(function() g:name(".:t", "ab\0cd") end, nul(2, "name"))
    assert.error_matches(function() g:name(".:t\0x", "ab") end, nul(1, "name"))
    assert.error_matches(function() g:mkpeer("te\0e", "a", "left") end, nul(1, "mkpeer"))
    assert.error_matches(function() g:mkpeer("tee", "a\0", "left") end, nul(2, "mkpeer"))
    assert.error_matches(function() g:msg(".:t", "nodeinfo\0x") end, nul(2, "msg"))
    assert.error_matches(function() g:send("t\0x", "data") end, nul(1, "send"))
    assert.error_matches(function() g:node(".:t\0x") end, nul(1, "node"))
    assert.error_matches(function() g:define("n\0x", {}) end, nul(1, "define"))
    assert.error_matches(function() mg.engine { name = "a\0b" } end,
      "option 'name' may not contain a NUL byte")
    assert.error_matches(function() g:node(".:t"):send("right\0x", "x") end, nul(1, "send"))
    -- in a message's fields, too
    local r, err = g:msg(".:t", "name", { name = "ab\0cd" })
    assert.is_nil(r)
    assert.equal("field 'name' may not contain a NUL byte", err)
    assert.error_matches(function() g:msg(".:t", "name", { ["na\0me"] = "x" }) end,
      "a table key may not contain a NUL byte")
    assert.equal("", g:node(".:t").name) -- nothing was named "ab"
    assert.is_nil(g:node("ab:"))
  end)

  it("shows a user's string in an error cut short, with control bytes escaped", function()
    g:mkpeer("tee", "t", "left")
    local long = string.rep("n", 10000)
    local _, err = g:name(".:t", long)
    assert.equal("node name '" .. string.rep("n", 64) .. "'... is longer than 31 characters", err)
    _, err = g:node("bad\1name\n:")
    assert.equal("no node named 'bad\\x01name\\n'", err) -- a name may hold any byte but . and :
    _, err = g:msg(".:t", "frob\27[31m")
    assert.matches("has no command 'frob\\x1b%[31m'", err)
    _, err = g:mkpeer(string.rep("t", 5000), "a", "b")
    assert.matches("^node type 't+'%.%.%. is longer than 31 characters$", err)
    assert.truthy(#err < 120)
    _, err = g:msg(".:t." .. string.rep("h", 300), "nodeinfo")
    assert.truthy(#err < 200, err)
    _, err = g:msg(string.rep("x", 500) .. ":", "nodeinfo")
    assert.truthy(#err < 250, err)
    -- a hook name returned by rcvdata: "out\0x" is not "out"
    g:define("cut", { rcvdata = function() return "out\0x" end })
    g:mkpeer("cut", "c", "in")
    g:connect(".", "c", "back", "out")
    local got = 0
    g:on_data(function() got = got + 1 end)
    g:send("c", "x")
    assert.equal(0, got)
    assert.equal(1, g:stats(".:c").drops.nopeer)
  end)

  it("raises for misuse, naming the function and argument", function()
    -- (argument numbers count as the caller sees them: g:name(a, b))
    assert.error_matches(function() g:mkpeer(1) end, "bad argument #2 to 'mkpeer'")
    assert.error_matches(function() g:name(".") end, "bad argument #2 to 'name'")
    assert.error_matches(function() g:msg(".", "nodeinfo", { f = print }) end,
      "msg: bad argument #3: a function cannot be sent")
    assert.error_matches(function() g:msg(".", "nodeinfo", { [true] = 1 }) end,
      "table keys must be strings")
    assert.error_matches(function() g:msg(".", "nodeinfo", "{ x=") end,
      "bad argument #3 to 'msg' %(bad value")
    assert.error_matches(function() g:run("soon") end, "bad argument #1 to 'run'")
    assert.error_matches(function() g:run(-1) end, "seconds: must be a number from 0 to 1e9, got %-1")
    assert.error_matches(function() g:after(-1, print) end, "bad argument #1 to 'after'")
    assert.error_matches(function() g:every(0, print) end, "period: must be a number from 0.001 to 1e9, got 0")
    assert.error_matches(function() g:send("x", {}) end, "bad argument #2 to 'send'")
    local big = string.rep("x", (1 << 20) + 1)
    assert.error_matches(function() g:send("x", big) end, "bad argument #2 to 'send' %(a packet of at most 1 MiB%)")
    assert.error_matches(function() g:send("x", "ok", { ts = "late" }) end, "bad argument")
    assert.is_true(select(2, g:send("nohook", 42)) ~= nil) -- a number is a string here
    assert.error_matches(function() g.list(nil) end, "mg.engine expected")
  end)

  it("list, right after rmhook, shows the peer's hooks as they are now", function()
    assert.is_true(g:mkpeer("tee", "t", "left"))
    assert.is_true(g:name(".:t", "t"))
    assert.is_true(g:mkpeer("t:", "hole", "right", "in"))
    assert.is_true(g:name("t:right", "h"))
    assert.is_true(g:mkpeer("h:", "tee", "out", "left")) -- the hole stays with a hook
    local function hooks(name)
      for _, n in ipairs(g:list()) do if n.name == name then return n.hooks end end
    end
    assert.equal(2, hooks("h"))
    assert.is_true(g:rmhook("t:", "right"))
    assert.equal(1, hooks("h"))
    assert.equal(1, #g:show("h:").hooks)
  end)

  it("msg takes tables or text and returns tables; msg_text keeps order", function()
    g:mkpeer("one2many", "o", "one")
    assert.is_true(g:msg(".:o", "setconfig", { xmitAlg = 2, enabledLinks = { 1, 0, 1 } }))
    local c = g:msg(".:o", "getconfig")
    assert.equal(2, c.xmitAlg)
    assert.same({ 1, 0, 1 }, { c.enabledLinks[1], c.enabledLinks[2], c.enabledLinks[3] })
    assert.is_true(g:msg(".:o", "setconfig", "{ xmitAlg=3 }"))
    assert.equal(3, g:msg(".:o", "getconfig").xmitAlg)
    -- as ng_one2many's fixed array: the links a short list leaves out are disabled
    assert.matches("^{ xmitAlg=3 failAlg=1 enabledLinks=%[ 1 0 1 0 0 ", g:msg_text(".:o", "getconfig"))
    assert.is_true(g:msg(".:o", "setconfig", "{ enabledLinks=[ 0 1 ] }"))
    assert.same({ 0, 1, 0, 0 }, { table.unpack(g:msg(".:o", "getconfig").enabledLinks, 1, 4) })
    assert.is_true(g:msg(".:o", "setconfig", { enabledLinks = {} }))
    assert.equal(0, g:msg(".:o", "getconfig").enabledLinks[2])
    local info = g:msg(".", "nodeinfo")
    assert.same({ name = "", type = "socket", id = 1, hooks = 1 }, info)
  end)

  it("types, status, stats and dot", function()
    local names = {}
    for _, t in ipairs(g:types()) do names[t.name] = t end
    for _, n in ipairs { "socket", "hole", "echo", "tee", "hub", "one2many" } do
      assert.truthy(names[n], n)
    end
    assert.truthy(names.tee.commands.getstats)
    assert.matches("octets", names.tee.commands.getstats.help)
    g:mkpeer("tee", "t", "left")
    g:mkpeer(".:t", "hole", "right", "in")
    assert.matches("left%s+up", g:status(".:t"))
    g:send("t", "abc")
    local st = g:stats(".:t")
    assert.equal(1, st["in"])
    assert.equal(1, st.out)
    assert.equal(1, st.hooks.left["in"])
    assert.equal(0, st.drops.ttl)
    local d = g:dot()
    assert.matches("^graph netgraph {", d)
    assert.matches('"1" %-%- "2" %[ headlabel = "left", taillabel = "t" %]', d)
    assert.matches('"2" %-%- "3"', d)
  end)

  it("sends data out of '.', and hands data that reaches '.' to on_data", function()
    g:mkpeer("echo", "e", "x")
    local got = {}
    g:on_data(function(hook, item)
      got[#got + 1] = { hook = hook, bytes = item:bytes(), len = item:len() }
    end)
    assert.is_true(g:send("e", "hello", { ts = 1.5 }))
    assert.same({ { hook = "e", bytes = "hello", len = 5 } }, got)
    local r, err = g:send("nohook", "x")
    assert.is_nil(r)
    assert.matches("has no hook 'nohook'", err)
    -- an error in on_data drops the item, counts it, logs it, and goes on
    g:on_data(function() error("oops") end)
    g:send("e", "again")
    assert.equal(1, g:stats(".").drops.error)
    assert.matches("on_data handler: .*oops", H.logs[1])
    assert.matches("stack traceback", H.logs[1])
  end)

  it("runs until idle, for a while, until stopped, and not twice", function()
    local t0 = os.clock()
    assert.is_true(g:run())
    assert.is_true(g:run(0.01))
    assert.is_true(g:run { ["for"] = 0.01 })
    g:after(0.02, function() g:stop() end)
    assert.is_true(g:run { ["until"] = "stopped" })
    assert.is_true(g:run { ["until"] = "nowait" })
    local inner
    g:after(0, function() inner = { g:run() }; g:stop() end)
    g:run { ["until"] = "stopped" }
    assert.is_nil(inner[1])
    assert.matches("already running", inner[2])
    assert.truthy(os.clock() - t0 < 5)
  end)

  it("timers: after, every, cancel", function()
    local seq = {}
    g:after(0.03, function() seq[#seq + 1] = "late" end)
    g:after(0.01, function() seq[#seq + 1] = "early" end)
    local n = 0
    local tick
    tick = g:every(0.005, function()
      n = n + 1
      if n == 3 then tick:cancel() end
    end)
    local never = g:after(0.01, function() seq[#seq + 1] = "never" end)
    assert.is_true(never:cancel())
    assert.is_false(never:cancel())
    g:after(0.05, function() g:stop() end)
    g:run { ["until"] = "stopped" }
    assert.same({ "early", "late" }, seq)
    assert.equal(3, n)
    -- an error in a timer is logged; the engine goes on
    g:after(0, function() error("tick failed") end)
    g:run(0.01)
    assert.matches("timer: .*tick failed", H.logs[#H.logs])
  end)

  it("timers do not hold run(): it returns with nothing queued", function()
    local ticks = 0
    local tick = g:every(0.005, function() ticks = ticks + 1 end)
    local late = 0
    g:after(0.3, function() late = late + 1 end)
    -- a guard, in case run() waited: stop after a second
    local guard = g:after(1, function() g:stop() end)
    local t0 = mg.monotime()
    assert.is_true(g:run())
    assert.truthy(mg.monotime() - t0 < 0.2, "run() waited for the timers")
    assert.equal(0, late)
    -- they are still armed, and fire while the engine runs
    g:run(0.05)
    assert.truthy(ticks > 0)
    tick:cancel()
    guard:cancel()
  end)

  it("a virtual clock moves only when told", function()
    local v = H.engine { clock = "virtual" }
    local fired = 0
    v:after(2, function() fired = fired + 1 end)
    v:run()
    assert.equal(0, fired)
    v:advance(1.5)
    v:run()
    assert.equal(0, fired)
    v:advance(2.5)
    v:run() -- the callback runs when the loop next turns
    assert.equal(1, fired)
    assert.equal(2.5, v:now())
    assert.error_matches(function() g:advance(1) end, "wall clock")
    v:close()
  end)

  it("send_msg answers later through a callback", function()
    g:mkpeer("echo", "e", "x")
    local got
    assert.is_true(g:send_msg(".:e", "ping", { n = 7 }, function(r, err) got = { r, err } end))
    g:run()
    assert.same({ { n = 7 } }, { got[1] })
    local r, err = g:send_msg("nowhere:", "ping", nil, function() end)
    assert.is_nil(r)
    assert.matches("no node named", err)
    g:send_msg(".", "frob", nil, function(rr, e) got = { rr, e } end)
  end)

  it("node handles", function()
    g:mkpeer("tee", "t", "left")
    g:name(".:t", "tt")
    local n = g:node("tt:")
    assert.equal("tee", n.type)
    assert.equal("tt", n.name)
    assert.equal(2, n.id)
    assert.equal("[2]:", n.path)
    assert.is_true(n.valid) -- fields, not methods: "if n.valid" can be false
    assert.error_matches(function() n.id = 7 end, "node.id is the node's own and read%-only")
    assert.same({ "left" }, n:hooks())
    assert.equal(0, n:stats().dropped)
    assert.truthy(n:msg("getstats").left)
    assert.matches("mg.node %[2%] tee tt", tostring(n))
    assert.is_true(n:shutdown())
    assert.is_false(n.valid)
    assert.error_matches(function() return n.id end, "the node is gone")
    local r, err = g:node("nope:")
    assert.is_nil(r)
    assert.matches("no node named 'nope'", err)
  end)

  it("parse and format the text form", function()
    local v = mg.parse('{ name="fred" list=[ 1 2 ] ok=true x=1.5 }')
    assert.same({ name = "fred", list = { 1, 2 }, ok = true, x = 1.5 }, v)
    assert.equal("[ 1 2 3 ]", mg.format({ 1, 2, 3 }))
    assert.equal('"a\\nb"', mg.format("a\nb"))
    local r, err = mg.parse("{ x= }")
    assert.is_nil(r)
    assert.matches("expected a value", err)
  end)
end)

describe("with worker threads", function()
  it("runs C nodes on workers and Lua on the loop thread", function()
    local g = H.engine { workers = 2 }
    g:mkpeer("tee", "t", "left")
    g:mkpeer(".:t", "echo", "right", "x")
    local n = 0
    g:on_data(function() n = n + 1 end)
    for i = 1, 1000 do g:send("t", "packet " .. i) end
    g:run()
    assert.equal(1000, n)
    g:close()
  end)
end)
