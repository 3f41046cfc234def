-- macfilter_spec.lua -- frames sorted by source address (ng_macfilter(4)).
local function mac(n) return string.char(2, 0, 0, 0, n >> 8, n & 255) end
local function text(n) return string.format("02:00:00:00:%02x:%02x", n >> 8, n & 255) end
local function frame(dst, src) return dst .. src .. H.udp_packet():sub(13) end -- 42 bytes

-- A macfilter "MF" with "."'s hooks e (ether), d (default), o1, o2 (out1,
-- out2); what comes back is got[hook] = { frames }.
local function node()
  local g = H.engine()
  local got = { e = {}, d = {}, o1 = {}, o2 = {} }
  g:on_data(function(hook, item) table.insert(got[hook], item:bytes()) end)
  assert(g:mkpeer("macfilter", "e", "ether"))
  assert(g:name(".:e", "MF"))
  assert(g:connect(".", "MF:", "d", "default"))
  assert(g:connect(".", "MF:", "o1", "out1"))
  assert(g:connect(".", "MF:", "o2", "out2"))
  return g, got
end

describe("the macfilter node", function()
  it("sends frames from ether by source address, the rest to default, and counts them", function()
    local g, got = node()
    assert.is_true(g:msg("MF:", "direct", { hookname = "out1", ether = text(1) }))
    assert.is_true(g:msg("MF:", "directi", { ether = text(2), hookid = 2 }))
    g:send("e", frame(mac(9), mac(1)))
    g:send("e", frame(mac(9), mac(2)))
    g:send("e", frame(mac(9), mac(2)))
    g:send("e", frame(mac(1), mac(3))) -- unknown source; known destination does not count
    assert.same({ 1, 2, 1 }, { #got.o1, #got.o2, #got.d })
    assert.equal(frame(mac(9), mac(1)), got.o1[1])
    -- frames from above go down ether, counted by destination
    g:send("o2", frame(mac(1), mac(9)))
    g:send("d", frame(mac(4), mac(9)))
    assert.equal(2, #got.e)
    local t = g:msg("MF:", "getmacs")
    assert.equal(2, t.n)
    assert.same({ ether = text(1), hookid = 1, packets_in = 1, bytes_in = 28, packets_out = 1,
      bytes_out = 28 }, t.macs[1])
    assert.same({ ether = text(2), hookid = 2, packets_in = 2, bytes_in = 56, packets_out = 0,
      bytes_out = 0 }, t.macs[2])
    assert.equal(2, g:msg("MF:", "getclrmacs").macs[2].packets_in)
    assert.equal(0, g:msg("MF:", "getmacs").macs[2].packets_in)
    g:send("e", frame(mac(9), mac(2)))
    assert.is_true(g:msg("MF:", "clrmacs"))
    assert.equal(0, g:msg("MF:", "getmacs").macs[2].packets_in)
    g:close()
  end)

  it("keeps the table sorted whatever the order of direct", function()
    local g = node()
    for _, n in ipairs { 7, 3, 9, 1, 5, 3 } do
      assert(g:msg("MF:", "direct", { hookname = n % 2 == 1 and "out1" or "out2", ether = text(n) }))
    end
    local t = g:msg("MF:", "getmacs")
    local order = {}
    for _, m in ipairs(t.macs) do order[#order + 1] = m.ether end
    assert.same({ text(1), text(3), text(5), text(7), text(9) }, order)
    assert.is_true(g:msg("MF:", "direct", { hookname = "default", ether = text(5) }))
    assert.equal(4, g:msg("MF:", "getmacs").n)
    assert.is_true(g:msg("MF:", "reset"))
    assert.same({ n = 0, macs = {} }, g:msg("MF:", "getmacs"))
    g:close()
  end)

  it("forgets a removed hook's addresses and gives its id to the next hook", function()
    local g, got = node()
    assert(g:msg("MF:", "direct", { hookname = "out1", ether = text(1) }))
    assert(g:msg("MF:", "direct", { hookname = "out2", ether = text(2) }))
    assert.is_true(g:rmhook(".", "o1"))
    local h = g:msg("MF:", "gethooks")
    assert.same({ n = 2, hooks = { { hookname = "default", hookid = 0, maccnt = 0 },
      { hookname = "out2", hookid = 2, maccnt = 1 } } }, h)
    assert.equal(1, g:msg("MF:", "getmacs").n)
    g:send("e", frame(mac(9), mac(1))) -- forgotten: to default
    assert.equal(1, #got.d)
    assert(g:connect(".", "MF:", "o3", "out3"))
    assert.equal(1, g:msg("MF:", "gethooks").hooks[2].hookid) -- the free id
    assert.is_true(g:rmhook(".", "d")) -- default gone: an unknown source is dropped
    g:send("e", frame(mac(9), mac(7)))
    assert.equal(1, g:stats("MF:").drops.nopeer)
    g:close()
  end)

  it("refuses bad messages with the errno FreeBSD gives, naming what was wrong", function()
    local g = node()
    local cases = {
      { "direct", '{ hookname="nope" ether=02:00:00:00:00:01 }', "ENOENT", "nope" },
      { "direct", '{ hookname="out1" ether=02:00:00:00:00 }', "EINVAL", "ether" },
      { "direct", '{ hookname="out1" ether=02:00:00:00:00:01:02 }', "EINVAL", "ether" },
      { "direct", '{ hookname="out1" ether=0x2:0:0:0:0:1 }', "EINVAL", "ether" },
      { "direct", '{ ether=02:00:00:00:00:01 }', "EINVAL", "hookname" },
      { "direct", '{ hookname="out1" ether=02:00:00:00:00:01 x=1 }', "EINVAL", "x" },
      { "directi", '{ hookid=9 ether=02:00:00:00:00:01 }', "EINVAL", "9" },
      { "directi", '{ hookid=70000 ether=02:00:00:00:00:01 }', "EINVAL", "hookid" },
      { "directi", '{ hookid=1.5 ether=02:00:00:00:00:01 }', "EINVAL", "1.5" },
    }
    for _, c in ipairs(cases) do
      local ok, err, name = g:msg("MF:", c[1], c[2])
      assert.is_nil(ok, c[2])
      assert.equal(c[3], name, c[2])
      assert.matches(c[4], err, 1, true)
    end
    assert.is_true(g:msg("MF:", "directhookid", '{ hookid=1 ether=2:0:0:0:0:a }'))
    assert.equal("02:00:00:00:00:0a", g:msg("MF:", "getmacs").macs[1].ether)
    local ok, _, name = g:connect(".", "MF:", "x", "default")
    assert.is_nil(ok)
    assert.truthy(name)
    g:send("e", "short")
    g:run()
    assert.equal(1, g:stats("MF:").drops.error)
    g:close()
  end)

  it("shuts down when its last hook goes", function()
    local g = node()
    for _, h in ipairs { "e", "d", "o1", "o2" } do assert(g:rmhook(".", h)) end
    g:run { ["until"] = "nowait" }
    assert.is_nil(g:node("MF:"))
    g:close()
  end)
end)
