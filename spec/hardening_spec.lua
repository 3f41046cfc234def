-- Promises the engine keeps under hostile use: nothing is lost or leaked,
-- and the engine keeps running.  Each case was a bug once.
local mg = require "moongraph"

-- A script run by the moongraph program, stopped after secs: its output
-- and exit code (124 when it had to be stopped).
local function script(src, secs)
  local path = H.tmpfile(src, ".lua")
  local out, code = H.run(("timeout %d %s %s"):format(secs, H.moongraph, path))
  os.remove(path)
  return out, code
end

local function pools_empty()
  collectgarbage()
  collectgarbage()
  local items, bufs = mg.pools()
  assert.equal(0, items, "items outstanding")
  assert.equal(0, bufs, "buffers outstanding")
end

describe("a constructor that fails", function()
  local sends_then_fails = {
    constructor = function(node)
      node:send("x", "hi") -- queued on the node being made
      return false
    end,
    rcvdata = function() return "x" end,
  }

  it("leaves nothing queued behind (no workers)", function()
    local g = H.engine()
    assert.is_true(g:define("bad", sends_then_fails))
    local ok, err = g:mkpeer("bad", "b", "in")
    assert.is_nil(ok)
    assert.is_string(err)
    assert.is_true(g:mkpeer("hole", "h", "in")) -- the engine goes on
    g:close()
    pools_empty()
  end)

  it("does not keep run() waiting (one worker)", function()
    local out, code = script([[
      local g = mg.engine { workers = 1 }
      assert(g:define("bad", { constructor = function(node)
        node:send("x", "hi"); return false end }))
      assert(not g:mkpeer("bad", "b", "in"))
      g:run()
      g:close()
      print("returned", mg.pools())
    ]], 10)
    assert.equal(0, code, out)
    assert.matches("returned\t0\t0", out)
  end)
end)

describe("a handler that lets its item go", function()
  it("does not free the handle under the engine (on_data)", function()
    local g = H.engine()
    g:on_data(function() collectgarbage(); collectgarbage() end)
    assert.is_true(g:mkpeer("echo", "e", "in"))
    g:send("e", "ping")
    g:close()
    pools_empty()
  end)
end)

describe("a timer", function()
  it("outlives its firing queued on a held node, cancelled and collected", function()
    local g = H.engine { clock = "virtual" }
    local fired = 0
    local t = g:after(1, function() fired = fired + 1 end)
    g:on_data(function(_, item)
      g:advance(2) -- the firing queues behind us on "."
      t:cancel()
      t = nil
      collectgarbage()
      collectgarbage()
      item:drop()
    end)
    assert.is_true(g:mkpeer("echo", "e", "in"))
    g:send("e", "ping")
    g:run(0)
    assert.equal(0, fired) -- cancelled before it could run
    assert.is_true(g:mkpeer("hole", "h", "in")) -- still alive
    g:close()
    pools_empty()
  end)
end)

describe("fan-out", function()
  it("two hubs joined by three links settle, the excess dropped as a loop", function()
    local g = H.engine()
    assert.is_true(g:mkpeer("hub", "in", "a0"))
    assert.is_true(g:name(".:in", "A"))
    assert.is_true(g:mkpeer("A:", "hub", "a1", "b1"))
    assert.is_true(g:name("A:a1", "B"))
    assert.is_true(g:connect("A:", "B:", "a2", "b2"))
    assert.is_true(g:connect("A:", "B:", "a3", "b3"))
    local t0 = mg.monotime()
    g:send("in", ("x"):rep(60))
    g:run { ["until"] = "nowait" } -- it all happens inline: no loop needed
    local took = mg.monotime() - t0
    assert.is_true(took < 1, ("took %.2f s"):format(took))
    local a, b = g:stats("A:"), g:stats("B:")
    -- every copy the budget allowed, the original, and the copies made
    -- past the budget end as loops
    assert.is_true(a.drops.ttl + b.drops.ttl > 4096 + 1)
    assert.equal(0, a.drops.qfull + b.drops.qfull)
    g:close()
    pools_empty()
  end)

  it("leaves a fan-out within the budget alone", function()
    local g = H.engine { fanout = 3 }
    assert.is_true(g:mkpeer("hub", "in", "x"))
    assert.is_true(g:name(".:in", "A"))
    for i = 1, 4 do assert.is_true(g:mkpeer("A:", "hole", "o" .. i, "in")) end
    g:send("in", "one") -- the original and three copies
    local got = 0
    for i = 1, 4 do got = got + g:stats("A:o" .. i)["in"] end
    assert.equal(4, got)
    for i = 1, 4 do assert.equal(0, g:stats("A:o" .. i).drops.ttl) end
    assert.is_true(g:mkpeer("A:", "hole", "o5", "in")) -- now one too many
    g:send("in", "two")
    local dropped = 0 -- where the copy arrives, as a loop would be
    for i = 1, 5 do dropped = dropped + g:stats("A:o" .. i).drops.ttl end
    assert.equal(1, dropped)
    g:close()
    pools_empty()
  end)
end)
