-- g:dot and the REPL's dot: Graphviz text, packet counts on the edges, and
-- pictures through Graphviz's dot program when it is there.
local mg = require "moongraph"

local function has_dot() return os.execute("command -v dot >/dev/null 2>&1") end

describe("g:dot", function()
  local g
  before_each(function()
    g = H.engine()
    assert.is_true(g:mkpeer("tee", "t", "left"))
    assert.is_true(g:mkpeer(".:t", "hole", "right", "in"))
    for _ = 1, 5 do g:send("t", "abc") end
  end)
  after_each(function() g:close() end)

  it("draws each edge once, with packet counts when asked", function()
    local d = g:dot()
    assert.matches('"1" %-%- "2" %[ headlabel = "left", taillabel = "t" %]', d)
    assert.not_matches("label = \"%d", d)
    d = g:dot { stats = true }
    assert.matches('"1" %-%- "2" %[ headlabel = "left", taillabel = "t", label = "5 >\\n< 0" %]', d)
    assert.matches('"2" %-%- "3" %[ headlabel = "in", taillabel = "right", label = "5 >\\n< 0" %]', d)
  end)

  it("escapes what a name may hold that Graphviz would read as syntax", function()
    -- netgraph lets a name hold anything but . and :
    assert(g:mkpeer("hub", 'a"b', "x|y"))
    assert(g:name('.:a"b', "my {hub} <1>"))
    local d = g:dot()
    assert.truthy(d:find('label = "{my \\{hub\\} \\<1\\>:|{hub|', 1, true), d)
    assert.truthy(d:find('headlabel = "x|y", taillabel = "a\\"b"', 1, true), d)
  end)

  it("writes the text to a .dot file, and a picture for .svg", function()
    local f = os.tmpname() .. ".dot"
    assert.is_true(g:dot { file = f })
    assert.equal(g:dot(), H.slurp(f))
    os.remove(f)
    if not has_dot() then pending("Graphviz's dot is not installed") return end
    -- through the program: under ASan this process preloads the runtime,
    -- which Graphviz must not inherit
    local svg = os.tmpname() .. ".svg"
    local src = H.tmpfile(([[
      local g = mg.engine()
      assert(g:mkpeer("tee", "t", "left"))
      assert(g:mkpeer(".:t", "hole", "right", "in"))
      print(g:dot { file = %q, stats = true })
    ]]):format(svg), ".lua")
    local out, code = H.run(H.shell_quote(H.moongraph) .. " " .. src)
    os.remove(src)
    assert.equal(0, code, out)
    assert.matches("^true", out)
    local s = H.slurp(svg)
    assert.matches("<svg", s)
    assert.matches(">hole<", s)
    os.remove(svg)
  end)

  it("names what went wrong: a bad argument, an unwritable file, no Graphviz", function()
    assert.error_matches(function() g:dot(5) end, "bad argument #1 to 'dot'")
    local ok, err, code = g:dot { file = "/nonexistent/dir/g.dot" }
    assert.is_nil(ok)
    assert.matches("/nonexistent/dir/g.dot", err)
    assert.equal("EIO", code)
    local src = H.tmpfile([[
      local g = mg.engine()
      print(g:dot { file = "/tmp/never.svg" })
    ]], ".lua")
    local out = H.run("PATH=/nonexistent " .. H.shell_quote(H.moongraph) .. " " .. src)
    os.remove(src)
    assert.matches("needs Graphviz's dot program, which is not installed", out)
    assert.matches("ENOENT", out)
  end)
end)

describe("the REPL's dot", function()
  it("draws a picture with -s", function()
    if not has_dot() then pending("Graphviz's dot is not installed") return end
    local png = os.tmpname() .. ".png"
    local out, code = H.run(("printf 'mkpeer . hole h in\\ndot -s %s\\n' | %s"):format(png,
      H.shell_quote(H.moongraph)))
    assert.equal(0, code, out)
    assert.equal("\137PNG", H.slurp(png):sub(1, 4))
    os.remove(png)
  end)
end)
