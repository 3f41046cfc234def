-- Rewriting packets from Lua: item:set, item:patch, and the metadata of
-- the packets a Lua node sends (node:send's third argument).
local q = H.shell_quote
local RAW = H.root .. "/pcaps/raw.pcap"

-- pcap(file) -> Lua node of type t -> pcapout(out); runs to the end
local function through(def, file, out)
  local g = H.engine()
  local t = "rewrite"
  g:define(t, def)
  assert(g:mkpeer(t, "x", "ctl"))
  assert(g:name(".:x", "lua"))
  assert(g:mkpeer("lua:", "pcap", "in", "out"))
  assert(g:name("lua:in", "src"))
  assert(g:mkpeer("lua:", "pcapout", "out", "in"))
  assert(g:name("lua:out", "sink"))
  assert(g:rmhook(".", "x"))
  assert(g:msg("src:", "open", { file = file }))
  assert(g:msg("sink:", "open", { file = out }))
  assert(g:msg("src:", "start"))
  g:run()
  return g
end

local function dump(file)
  local out, code = H.run("tcpdump -nn -S -tt -r " .. q(file) .. " 2>&1")
  assert.equal(0, code)
  return out
end

describe("a Lua node rewriting packets", function()
  it("keeps timestamps and link type: raw IP stays raw IP (set, patch, send with meta)", function()
    local def = {
      rcvdata = function(node, item)
        local p = item:bytes()
        if p:byte(1) >> 4 ~= 4 then return "out" end
        -- the source 10.0.y.x becomes 192.0.2.x, in place
        item:patch(12, "\192\0\2")
        -- the destination 10.0.y.z becomes 198.51.y.z, the whole packet anew
        p = item:bytes()
        item:set(p:sub(1, 16) .. "\198\51" .. p:sub(19))
        -- and a copy, made from the bytes with the item's metadata
        node:send("out", item:bytes(), item)
        return "out"
      end,
    }
    local out = os.tmpname() .. ".pcap"
    local g = through(def, RAW, out)
    g:close()
    local a, b = dump(RAW), dump(out)
    assert.matches("link%-type RAW", b)
    assert.not_matches("10%.0%.0%.%d+%.%d+ >", b)
    local want, lines = {}, 0
    for line in a:gmatch("[^\n]+") do
      local ts, rest = line:match("^(%d+%.%d+) (.*)$")
      if ts then
        local v4 = rest:gsub("10%.0%.%d+%.(%d+)(%.?%d*) > 10%.0%.(%d+)%.(%d+)",
          "192.0.2.%1%2 > 198.51.%3.%4")
        want[#want + 1] = ts .. " " .. v4
        if v4 ~= rest then want[#want + 1] = ts .. " " .. v4 end -- and its copy
      end
    end
    for line in b:gmatch("[^\n]+") do
      if line:match("^%d+%.%d+ ") then
        lines = lines + 1
        assert.equal(want[lines], line)
      end
    end
    assert.equal(#want, lines)
    assert.truthy(lines > 100)
  end)

  it("checks bounds and names what was wrong", function()
    local g = H.engine()
    local got = {}
    g:on_data(function(_, item)
      got.ts, got.lt = item:ts(), item:linktype()
      got.bytes, got.len = item:bytes(), item:len()
      got.e1 = select(2, pcall(item.patch, item, 3, "xy"))
      got.e2 = select(2, pcall(item.patch, item, -1, "x"))
      got.e3 = select(2, pcall(function() return item:patch("x", "x") end))
      assert(item:patch(4, ""))  -- nothing, at the very end
      assert(item:patch(0, "AB")):patch(3, "D")
      got.patched = item:bytes()
      item:set("longer than before")
      got.set, got.setlen = item:bytes(), item:len()
      got.ts2, got.lt2 = item:ts(), item:linktype()
    end)
    assert.is_true(g:mkpeer("echo", "e", "in"))
    g:send("e", "abcd", { ts = 2.5, linktype = 101 })
    g:run()
    assert.equal(2500000000, got.ts)
    assert.equal(101, got.lt)
    assert.equal("abcd", got.bytes)
    assert.matches("patch: 2 bytes at offset 3 are past the end of the packet %(4 bytes captured%)", got.e1)
    assert.matches("patch: 1 bytes at offset %-1 are past the end", got.e2)
    assert.matches("bad argument #1 to 'patch' %(number expected, got string%)", got.e3)
    assert.equal("ABcD", got.patched)
    assert.equal("longer than before", got.set)
    assert.equal(#"longer than before", got.setlen)
    assert.equal(2500000000, got.ts2)
    assert.equal(101, got.lt2)
    assert.error_matches(function() g:send("e", "x", { ts = 1, linktyp = 101 }) end,
      "bad argument #3 to 'send' %(unknown field 'linktyp' %(ts and linktype are known%)%)")
    assert.error_matches(function() g:send("e", "x", 5) end, "bad argument #3 to 'send'")
    assert.error_matches(function() g:send("e", "x", { linktype = 1.5 }) end, "linktype")
    g:close()
  end)
end)
