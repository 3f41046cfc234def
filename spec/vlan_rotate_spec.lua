-- vlan_rotate_spec.lua -- the VLAN tag stack rotated (ng_vlan_rotate(4)).
local DST, SRC = string.char(2, 4, 6, 1, 3, 7), string.char(2, 4, 6, 1, 3, 5)

-- A frame with one tag per entry of tags ({ type, vid } or a vid, 0x8100),
-- then IPv4 and a few bytes.
local function frame(tags)
  local t = { DST, SRC }
  for _, tag in ipairs(tags) do
    local ty, vid = 0x8100, tag
    if type(tag) == "table" then ty, vid = tag[1], tag[2] end
    t[#t + 1] = string.pack(">I2I2", ty, vid)
  end
  t[#t + 1] = string.pack(">I2", 0x0800) .. string.rep("\0", 20)
  return table.concat(t)
end

-- The tags of a frame: { { type, vid } ... }.
local function tags(f)
  local r, at = {}, 13
  while true do
    local ty, tci = string.unpack(">I2I2", f, at)
    if ty == 0x0800 then return r end
    r[#r + 1] = { ty, tci & 0xfff }
    at = at + 4
  end
end

-- A vlan_rotate "vr" with "."'s hooks a, b, c, d on original, ordered,
-- excessive and incomplete; what comes back is got[hook] = { frames }.
local function node()
  local g = H.engine()
  local got = { a = {}, b = {}, c = {}, d = {} }
  g:on_data(function(hook, item) table.insert(got[hook], item:bytes()) end)
  assert(g:mkpeer("vlan_rotate", "a", "original"))
  assert(g:name(".:a", "vr"))
  assert(g:connect(".", "vr:", "b", "ordered"))
  assert(g:connect(".", "vr:", "c", "excessive"))
  assert(g:connect(".", "vr:", "d", "incomplete"))
  return g, got
end

describe("the vlan_rotate node", function()
  it("rotates the tags one way and back, each tag keeping its type", function()
    local g, got = node()
    assert.is_true(g:msg("vr:", "setconf", { rot = 1, min = 0, max = 9 }))
    local stack = { { 0x8100, 1 }, { 0x88a8, 2 }, { 0x9100, 3 } }
    local f = frame(stack)
    g:send("b", f) -- ordered -> original: tag i+1 becomes tag i
    assert.same({ { 0x88a8, 2 }, { 0x9100, 3 }, { 0x8100, 1 } }, tags(got.a[1]))
    g:send("a", got.a[1]) -- and back
    assert.equal(f, got.b[1])
    assert.same({ 0, 0, 0, 2, 0, 0, 0, 0, 0, 0 }, g:msg("vr:", "getstat").histogram)
    g:close()
  end)

  it("sends too many tags to excessive, too few to incomplete, and both back untouched", function()
    local g, got = node()
    assert.is_true(g:msg("vr:", "setconf", "{ min=2 max=3 rot=1 }"))
    g:send("a", frame { 1, 2, 3, 4 })
    g:send("a", frame { 1 })
    g:send("a", frame {}) -- no tag at all: incomplete
    assert.equal(1, #got.c)
    assert.equal(2, #got.d)
    assert.equal(frame { 1, 2, 3, 4 }, got.c[1])
    g:send("c", got.c[1])
    g:send("d", got.d[1])
    assert.same({ frame { 1, 2, 3, 4 }, frame { 1 } }, got.a)
    local s = g:msg("vr:", "getclrstat")
    assert.same({ 0, 1, 2 }, { s.drops, s.excessive, s.incomplete })
    assert.equal(0, g:msg("vr:", "getstat").excessive)
    g:close()
  end)

  it("drops a frame that ends inside its tags, and one with nowhere to go", function()
    local g, got = node()
    local short = frame { 1, 2 }
    g:send("a", short:sub(1, 18)) -- the second tag cut off
    assert.same({}, got.b)
    assert.is_true(g:rmhook(".", "d"))
    g:send("a", frame {}) -- incomplete, and that hook is gone
    assert.equal(2, g:msg("vr:", "getstat").drops)
    assert.equal(2, g:stats("vr:").dropped)
    assert.is_true(g:msg("vr:", "clrstat"))
    assert.equal(0, g:msg("vr:", "getstat").drops)
    g:close()
  end)

  it("refuses a configuration FreeBSD refuses, with EINVAL, and keeps max on 0", function()
    local g = node()
    for _, bad in ipairs { "{ rot=10 }", "{ min=5 max=4 }", "{ rot=3 max=3 }", "{ max=11 }",
      "{ rot=1.5 }", "{ bogus=1 }", "{ min=-1 }" } do
      local ok, err, name = g:msg("vr:", "setconf", bad)
      assert.is_nil(ok, bad)
      assert.equal("EINVAL", name, bad .. ": " .. tostring(err))
    end
    assert.same({ rot = 0, min = 0, max = 10 }, g:msg("vr:", "getconf"))
    assert.is_true(g:msg("vr:", "setconf", { rot = -2, min = 1 }))
    assert.same({ rot = -2, min = 1, max = 10 }, g:msg("vr:", "getconf"))
    assert.equal("{ rot=-2 min=1 max=10 }", g:msg_text("vr:", "getconf"))
    g:close()
  end)

  it("takes only its four hooks, once each, and goes when the last one goes", function()
    local g = node()
    local ok, _, name = g:connect(".", "vr:", "e", "other")
    assert.is_nil(ok)
    assert.equal("EINVAL", name)
    for _, h in ipairs { "a", "b", "c" } do assert.is_true(g:rmhook(".", h)) end
    assert.truthy(g:node("vr:"))
    assert.is_true(g:rmhook(".", "d"))
    g:run { ["until"] = "nowait" }
    assert.is_nil(g:node("vr:"))
    g:close()
  end)
end)
