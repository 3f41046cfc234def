-- Hops: an item made while handling one inherits its remaining hops, so a
-- node that sends new items round a loop meets the hop limit (design §2
-- rule 7) instead of spinning for ever.
local mg = require "moongraph"

describe("the hop limit", function()
  local function looping(opts, sendfn)
    local g = H.engine(opts)
    local seen = 0
    g:define("looper", {
      rcvdata = function(node, item)
        seen = seen + 1
        sendfn(g, node, item)
      end,
    })
    assert.is_true(g:mkpeer("looper", "x", "ctl"))
    assert.is_true(g:name(".:x", "a"))
    assert.is_true(g:connect("a:", "a:", "out", "in")) -- out leads back to in
    local guard = g:after(3, function() g:stop() end) -- were it to spin
    local t0 = mg.monotime()
    g:send("x", "p")
    g:run()
    g:run { ["until"] = "nowait" }
    guard:cancel()
    return g, seen, mg.monotime() - t0
  end

  it("ends a loop of node:send at the hop limit", function()
    local g, seen, secs = looping({ ttl = 50 }, function(_, node, item)
      node:send("out", item:bytes(), item)
    end)
    assert.truthy(secs < 2, "the loop ran until the guard stopped it")
    assert.truthy(seen >= 49 and seen <= 51, "seen " .. seen)
    assert.equal(1, g:stats("a:").drops.ttl)
    g:close()
  end)

  it("and with the default limit, and a send without meta", function()
    local g, seen = looping(nil, function(_, node, item) node:send("out", item:bytes()) end)
    assert.truthy(seen >= 254 and seen <= 256, "seen " .. seen)
    assert.equal(1, g:stats("a:").drops.ttl)
    g:close()
  end)
end)
