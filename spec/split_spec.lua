-- The split node (ng_split): in -> mixed, mixed -> out, nothing else.
local mg = require "moongraph"
local q = H.shell_quote
local SAMPLE = H.root .. "/pcaps/sample.pcap"

local function hex(file)
  return (H.run("tcpdump -r " .. q(file) .. " -tt -nn -xx 2>/dev/null"))
end

describe("the split node", function()
  it("carries a capture in -> mixed and back mixed -> out, unchanged", function()
    -- pcap -> in, mixed <-> echo (which sends each frame back), out -> pcapout
    local g = H.engine()
    assert(g:mkpeer("echo", "e", "x"))
    assert(g:mkpeer(".:e", "split", "mixed", "mixed"))
    assert(g:name(".:e.mixed", "split"))
    local file = os.tmpname() .. ".pcap"
    assert(g:mkpeer("split:", "pcapout", "out", "in"))
    assert(g:msg("split:out", "open", { file = file }))
    assert(g:mkpeer("split:", "pcap", "in", "out"))
    assert(g:msg("split:in", "open", { file = SAMPLE }))
    assert(g:rmhook(".", "e"))
    assert(g:msg("split:in", "start"))
    g:run()
    local h = g:stats("split:").hooks
    assert.same({ ["in"] = 300, out = 0 }, { ["in"] = h["in"]["in"], out = h["in"].out })
    assert.same({ ["in"] = 300, out = 300 }, { ["in"] = h.mixed["in"], out = h.mixed.out })
    assert.same({ ["in"] = 0, out = 300 }, { ["in"] = h.out["in"], out = h.out.out })
    g:close()
    assert.equal(hex(SAMPLE), hex(file))
    os.remove(file)
  end)

  it("sends nothing back out of in, and drops what comes in on out", function()
    local g = H.engine()
    assert(g:mkpeer("split", "in", "in"))
    assert(g:connect(".", ".:in", "mixed", "mixed"))
    assert(g:connect(".", ".:in", "out", "out"))
    local got = {}
    g:on_data(function(hook, item) got[#got + 1] = hook .. ":" .. item:bytes() end)
    assert(g:send("in", "a"))    -- to mixed
    assert(g:send("mixed", "b")) -- to out
    local ok, err = g:send("out", "c") -- the wrong way: dropped, and said so
    assert.is_nil(ok)
    assert.matches("split: data arrived on 'out', which only sends", err)
    g:run()
    assert.same({ "mixed:a", "out:b" }, got)
    local s = g:stats(".:in")
    assert.equal(1, s.drops.error)
    assert.equal(1, s.errors)
    -- with a half missing, its traffic is dropped
    assert(g:rmhook(".", "out"))
    assert(g:send("mixed", "d"))
    g:run()
    assert.equal(2, #got)
    assert.equal(1, g:stats(".:in").drops.policy)
    g:close()
  end)

  it("refuses other hook names and a second hook of a name", function()
    local g = H.engine()
    assert(g:mkpeer("split", "s", "in"))
    local _, err = g:mkpeer(".:s", "hole", "sideways", "x")
    assert.matches("split has no hook 'sideways' %(in, out, mixed%)", err)
    _, err = g:connect(".", ".:s", "y", "in")
    assert.matches("already has a hook 'in'", err)
    _, err = g:msg(".:s", "getstats")
    assert.matches("getstats", err)
    assert(g:rmhook(".", "s")) -- the last hook: it goes
    g:run()
    for _, n in ipairs(g:list()) do assert.not_equal("split", n.type) end
    g:close()
    local items, bufs = mg.pools()
    assert.same({ 0, 0 }, { items, bufs })
  end)
end)
