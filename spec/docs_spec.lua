-- The references stay true: docs/nodes.md is what scripts/gendoc.lua makes
-- from the descriptors now, and docs/lua.md names every function a script
-- can reach.
local mg = require "moongraph"
local q = H.shell_quote

local function read(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end

describe("the references", function()
  it("docs/nodes.md is up to date with the type descriptors", function()
    local out, code = H.run(q(H.moongraph) .. " " .. q(H.root .. "/scripts/gendoc.lua"))
    assert.equal(0, code, out)
    assert.equal(read(H.root .. "/docs/nodes.md"), out,
      "run: build/moongraph scripts/gendoc.lua > docs/nodes.md")
  end)

  it("docs/lua.md documents every module, engine, node and item function", function()
    local doc = read(H.root .. "/docs/lua.md")
    local missing = {}
    local function need(pattern, name)
      if not doc:find(pattern, 1, true) then missing[#missing + 1] = name end
    end
    for k in pairs(mg) do need("mg." .. k, "mg." .. k) end
    local g = mg.engine()
    for k in pairs(getmetatable(g).__index) do need("g:" .. k .. "(", "g:" .. k) end
    assert(g:mkpeer("echo", "e", "x"))
    local n = g:node(".:e")
    for k in pairs(getmetatable(n).methods) do
      if not doc:find("node:" .. k .. "(", 1, true) and not doc:find("node." .. k, 1, true) then
        missing[#missing + 1] = "node:" .. k
      end
    end
    local methods
    g:on_data(function(_, item) methods = getmetatable(item).__index end)
    g:send("e", "hello")
    g:run { ["until"] = "nowait" }
    assert.is_table(methods)
    for k in pairs(methods) do need("item:" .. k .. "(", "item:" .. k) end
    g:close()
    table.sort(missing)
    assert.same({}, missing)
  end)
end)
