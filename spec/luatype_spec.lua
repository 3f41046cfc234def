-- Node types written in Lua: every method, errors inside each, the item
-- handle, and what happens to an item that a handler does not finish.
local mg = require "moongraph"

local function counter_type(extra)
  local t = {
    doc = "counts what passes and forwards it",
    constructor = function(node) node.count = 0 end,
    rcvdata = function(node, item, hook)
      node.count = node.count + 1
      return hook == "in" and "out" or "in"
    end,
    rcvmsg = {
      getcount = { help = "how many", readonly = true,
        fn = function(node) return { count = node.count } end },
      setcount = function(node, args) node.count = args.count; return true end,
    },
  }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

describe("a Lua node type", function()
  local g
  before_each(function() g = H.engine() end)
  after_each(function() g:close() end)

  it("is made with mkpeer like a C type, and lists its commands", function()
    assert.is_true(g:define("counter", counter_type()))
    local r, err, code = g:define("counter", counter_type())
    assert.is_nil(r)
    assert.matches("already registered", err)
    assert.equal("EEXIST", code)
    assert.is_true(g:mkpeer("counter", "c", "in"))
    assert.is_true(g:mkpeer(".:c", "hole", "out", "in"))
    for i = 1, 5 do g:send("c", "x" .. i) end
    assert.same({ count = 5 }, g:msg(".:c", "getcount"))
    assert.is_true(g:msg(".:c", "setcount", { count = 40 }))
    assert.equal(40, g:node(".:c").count)
    local types = {}
    for _, t in ipairs(g:types()) do types[t.name] = t end
    assert.equal("counts what passes and forwards it", types.counter.doc)
    assert.equal("how many", types.counter.commands.getcount.help)
    assert.equal(1, types.counter.count)
    local st = g:stats(".:c")
    assert.equal(5, st["in"])
    assert.equal(5, st.out)
  end)

  it("rejects a malformed definition, naming the field", function()
    assert.error_matches(function() g:define("x", { rcvdta = print }) end,
      "unknown field 'rcvdta'")
    assert.error_matches(function() g:define("x", { rcvdata = 5 }) end,
      "field 'rcvdata' of type 'x' must be a function")
    assert.error_matches(function() g:define("x", { rcvmsg = { a = 1 } }) end,
      "rcvmsg maps command names")
    local r, err = g:define("a.b", {})
    assert.is_nil(r)
    assert.matches("may not contain '%.'", err)
  end)

  it("calls every method, in order", function()
    local log = {}
    local function note(what) return function(node, x) log[#log + 1] = what .. (x and (" " .. tostring(x)) or "") end end
    g:define("traced", {
      constructor = note("constructor"),
      newhook = note("newhook"),
      connect = note("connect"),
      rcvdata = function(node, item, hook) log[#log + 1] = "rcvdata " .. hook end,
      disconnect = note("disconnect"),
      shutdown = note("shutdown"),
      status = function(node) return "all is well" end,
      rcvmsg = { ping = function() return "pong" end },
    })
    g:mkpeer("traced", "t", "a")
    g:send("t", "data")
    assert.equal("pong", g:msg(".:t", "ping"))
    assert.equal("all is well", g:status(".:t"))
    g:rmhook(".", "t")
    g:shutdown("[2]:")
    assert.same({ "constructor", "newhook a", "connect a", "rcvdata a",
      "disconnect a", "shutdown" }, log)
  end)

  it("lets methods refuse: constructor, newhook, connect", function()
    local made = 0
    g:define("picky", {
      constructor = function(node)
        made = made + 1
        if made > 3 then return nil, "too many of us" end
      end,
      newhook = function(node, name) if name ~= "ok" and name ~= "late" then return nil, "only 'ok'" end end,
      connect = function(node, name) if name == "late" then return false, "not now" end end,
    })
    local r, err = g:mkpeer("picky", "p", "bad")
    assert.is_nil(r)
    assert.matches("only 'ok'", err)
    r, err = g:mkpeer("picky", "p", "late")
    assert.is_nil(r)
    assert.matches("not now", err)
    assert.is_true(g:mkpeer("picky", "p", "ok"))
    r, err = g:mkpeer("picky", "p2", "ok")
    assert.is_nil(r)
    assert.matches("too many of us", err)
    assert.equal(2, #g:list()) -- the refused nodes are gone
  end)

  it("survives an error in any method: dropped, counted, logged", function()
    g:define("faulty", {
      rcvdata = function(node, item) error("bad packet " .. item:len()) end,
      rcvmsg = { crash = function() error("crashed") end,
                 refuse = function() return nil, "no, thanks" end,
                 weird = function() return { f = print } end },
      disconnect = function() error("disconnect failed") end,
      shutdown = function() error("shutdown failed") end,
      status = function() error("status failed") end,
    })
    g:mkpeer("faulty", "f", "in")
    for i = 1, 3 do g:send("f", "abc") end
    local st = g:stats(".:f")
    assert.equal(3, st.drops.error)
    assert.equal(3, st.errors)
    assert.equal(1, #H.logs) -- once per node per second
    assert.matches("node %[2%] %(faulty%) rcvdata: .*bad packet 3", H.logs[1])
    assert.matches("stack traceback", H.logs[1])
    local r, err = g:msg(".:f", "crash")
    assert.is_nil(r)
    assert.matches("crashed$", err)
    r, err = g:msg(".:f", "refuse")
    assert.is_nil(r)
    assert.equal("no, thanks", err)
    r, err = g:msg(".:f", "weird")
    assert.is_nil(r)
    assert.matches("a function cannot be sent", err)
    r, err = g:msg(".:f", "nothere")
    assert.matches("has no command 'nothere'", err)
    assert.equal("", g:status(".:f")) -- its status handler failed (logged)
    g:shutdown(".:f")
    assert.equal(2, #g:list() + 1) -- it went despite its failing shutdown
    -- the engine goes on
    g:mkpeer("echo", "e", "x")
    local got
    g:on_data(function(h, item) got = item:bytes() end)
    g:send("e", "still here")
    assert.equal("still here", got)
  end)

  it("forwards with item:forward or by returning a hook name", function()
    g:define("router", {
      rcvdata = function(node, item, hook)
        local d = item:bytes(1, 1)
        if d == "a" then assert(item:forward("a")) return end
        if d == "b" then return "b" end
        if d == "x" then item:drop() return end
        if d == "?" then return "nowhere" end
      end,
    })
    g:mkpeer("router", "r", "in")
    g:mkpeer(".:r", "hole", "a", "in")
    g:mkpeer(".:r", "hole", "b", "in")
    for _, p in ipairs { "a1", "b1", "b2", "x", "c", "?" } do g:send("r", p) end
    local function frames(path) return g:msg(path, "getstats", { hook = "in" }).frames end
    assert.equal(1, frames(".:r.a"))
    assert.equal(2, frames(".:r.b"))
    local st = g:stats(".:r")
    assert.equal(1, st.drops.policy)  -- dropped
    assert.equal(1, st.consumed)      -- "c": neither forwarded nor dropped
    assert.equal(1, st.drops.nopeer)  -- "?": no such hook
    assert.equal(st["in"], st.out + st.consumed + st.dropped)
  end)

  it("item handles: fields, bytes, and no use after the handler", function()
    local kept, seen
    g:define("look", {
      rcvdata = function(node, item, hook)
        kept = item
        seen = {
          len = item:len(), caplen = item:caplen(), ts = item:ts(),
          time = item:time(), linktype = item:linktype(), hook = item:hook(),
          all = item:bytes(), head = item:bytes(1, 2), tail = item:bytes(-2),
          none = item:bytes(5, 3), str = tostring(item),
        }
        item:drop()
        seen.after_drop = select(2, pcall(item.len, item))
      end,
    })
    g:mkpeer("look", "l", "in")
    g:send("l", "abcdef", { ts = 12.5, linktype = 101 })
    assert.same({ len = 6, caplen = 6, ts = 12500000000, time = 12.5,
      linktype = 101, hook = "in", all = "abcdef", head = "ab", tail = "ef",
      none = "", str = "mg.item (6 bytes, linktype 101)",
      after_drop = seen.after_drop }, seen)
    assert.matches("used after its handler returned", seen.after_drop)
    assert.error_matches(function() kept:bytes() end, "used after its handler returned")
    assert.error_matches(function() kept:forward("in") end, "used after")
    assert.equal("mg.item (gone)", tostring(kept))
  end)

  it("keeps per-node state in the handle; sends new data with node:send", function()
    g:define("gen", {
      constructor = function(node) node.sent = 0 end,
      rcvmsg = { burst = function(node, args)
        for i = 1, args.n do node:send("out", "pkt" .. i); node.sent = node.sent + 1 end
        return node.sent
      end },
    })
    g:mkpeer("gen", "g", "x")
    g:mkpeer(".:g", "hole", "out", "in")
    assert.equal(3, g:msg(".:g", "burst", { n = 3 }))
    assert.equal(5, g:msg(".:g", "burst", { n = 2 }))
    g:run()
    assert.equal(5, g:msg(".:g.out", "getstats", { hook = "in" }).frames)
    local st = g:stats(".:g")
    assert.equal(5, st.made)
    local h = g:node(".:g")
    assert.equal(h, g:node(".:g")) -- one handle per Lua node
    local r, err, name = h:send("nohook", "x")
    assert.is_nil(r)
    assert.matches("has no hook 'nohook'", err)
    assert.equal("ENOENT", name)
    assert.error_matches(function() h:send("out", string.rep("x", (1 << 20) + 1)) end,
      "a packet of at most 1 MiB")
  end)

  it("runs on the loop thread even when the engine has workers", function()
    local w = H.engine { workers = 2 }
    w:define("lcount", counter_type())
    w:mkpeer("tee", "t", "left")
    w:mkpeer(".:t", "lcount", "right", "in")
    w:mkpeer(".:t.right", "hole", "out", "in")
    for i = 1, 2000 do w:send("t", "p" .. i) end
    w:run()
    assert.same({ count = 2000 }, w:msg(".:t.right", "getcount"))
    w:close()
  end)
end)

describe("limits on Lua handlers", function()
  -- "." -> runaway (a Lua node) -> "." again: what comes back got through
  local function runaway(g, rcvdata)
    g:define("runaway", { rcvdata = rcvdata })
    assert(g:mkpeer("runaway", "r", "in"))
    assert(g:connect(".", "r", "back", "out"))
    local got = {}
    g:on_data(function(hook, item) got[#got + 1] = item:bytes() end)
    return got
  end

  it("stops a handler over its instruction budget; the engine goes on", function()
    local g = H.engine { lua_steps = 100000 }
    local got = runaway(g, function(node, item)
      if item:bytes() == "loop" then while true do end end
      if item:bytes() == "catch" then -- catching the error does not help
        while true do pcall(function() while true do end end) end
      end
      return "out"
    end)
    local t0 = mg.monotime()
    g:send("r", "loop")
    g:send("r", "catch")
    g:send("r", "fine")
    g:run()
    assert.truthy(mg.monotime() - t0 < 5)
    assert.same({ "fine" }, got)
    local st = g:stats(".:r")
    assert.equal(2, st.drops.error)
    assert.matches("node %[2%] %(runaway%) rcvdata: .*instruction budget exceeded", H.logs[1])
    g:close()
    assert.same({ 0, 0 }, { mg.pools() })
  end)

  it("stops a handler at the memory ceiling; the engine goes on", function()
    local g = H.engine { lua_memory = 64 << 20 }
    local keep = {}
    local got = runaway(g, function(node, item)
      if item:bytes() == "grow" then
        local t = {}
        for i = 1, math.huge do t[i] = string.rep("x", 1000) .. i end
      end
      if item:bytes() == "hoard" then -- kept past the call, up to the ceiling
        for i = 1, math.huge do keep[#keep + 1] = string.rep("y", 1000) .. i end
      end
      return "out"
    end)
    g:send("r", "grow")
    g:send("r", "fine")
    g:send("r", "hoard")
    assert.truthy(#keep > 1000)
    -- the script itself is not bound by it, but what it holds counts
    local mine = string.rep("z", 128 << 20)
    assert.equal(128 << 20, #mine)
    keep, mine = {}, nil
    collectgarbage()
    g:send("r", "fine again")
    g:run()
    assert.same({ "fine", "fine again" }, got)
    assert.equal(2, g:stats(".:r").drops.error)
    assert.matches("node %[2%] %(runaway%) rcvdata: memory ceiling reached", H.logs[1])
    g:close()
    assert.same({ 0, 0 }, { mg.pools() })
  end)

  it("takes lua_steps = 0 and lua_memory = 0 as no limit, and refuses bad values", function()
    local g = H.engine { lua_steps = 0, lua_memory = 0 }
    local got = runaway(g, function(node, item)
      for i = 1, 3000000 do end -- well over a budget of 1000
      return "out"
    end)
    g:send("r", "slow")
    assert.same({ "slow" }, got)
    g:close()
    assert.error_matches(function() mg.engine { lua_steps = 10 } end,
      "option 'lua_steps' must be 0 %(no limit%) or between 1000 and")
    assert.error_matches(function() mg.engine { lua_memory = 1.5 } end,
      "option 'lua_memory' must be an integer")
    assert.error_matches(function() mg.engine { lua_memory = 1000 } end,
      "option 'lua_memory' must be 0 %(no limit%) or between 1048576 and")
  end)
end)
