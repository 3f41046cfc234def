-- The Lua API's loose ends: options refused by name, the text form's
-- numbers and key order, and errors that name the function.
local mg = require "moongraph"

describe("the Lua API", function()
  it("mg.engine refuses an option it does not know", function()
    assert.error_matches(function() mg.engine { bogus = 1 } end,
      "bad argument #1 to '[%w.]*engine' %(unknown option 'bogus'")
    assert.error_matches(function() mg.engine { workers = 0, [1] = 2 } end, "unknown option number")
    local g = mg.engine { workers = 0, clock = "virtual", ttl = 8 }
    g:close()
  end)

  it("mg.format writes numbers shortest-round-trip and keys in order", function()
    assert.equal("0.000185127", mg.format(0.000185127))
    assert.equal("0.1", mg.format(0.1))
    assert.equal("0.3333333333333333", mg.format(1 / 3))
    assert.equal("1.0", mg.format(1.0))
    for _, x in ipairs { 0.1, 1 / 3, 2 ^ -1074, 1.7976931348623157e308, -2.5e-7, 123456.789 } do
      assert.equal(x, mg.parse(mg.format(x)))
    end
    local t = { zeta = 1, alpha = { c = 3, b = 2, a = 1 }, mid = "m" }
    assert.equal('{ alpha={ a=1 b=2 c=3 } mid="m" zeta=1 }', mg.format(t))
    for _ = 1, 5 do assert.equal(mg.format(t), mg.format { mid = "m", zeta = 1, alpha = { a = 1, c = 3, b = 2 } }) end
  end)

  it("names the method in an argument error, called by value too", function()
    local g = H.engine()
    local ok, err = pcall(g.mkpeer, g, 42)
    assert.is_false(ok)
    assert.matches("mkpeer", err)
    assert.not_matches("'%?'", err)
    ok, err = pcall(g.send, g)
    assert.matches("send", err)
    ok, err = pcall(function() return g:mkpeer(42) end)
    assert.matches("bad argument #2 to 'mkpeer'", err)
    g:close()
  end)
end)
