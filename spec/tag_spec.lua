-- The tag node (ng_tag), the item's tag it sorts by (item:tag() and
-- item:settag() in Lua), and bpf's tagMatch, which sets it.
local mg = require "moongraph"
local q = H.shell_quote
local SAMPLE = H.root .. "/pcaps/sample.pcap"

local function tcpdump(file, flags, expr)
  return (H.run("tcpdump -r " .. q(file) .. " " .. flags .. (expr and (" " .. q(expr)) or "") ..
    " 2>/dev/null"))
end
local function lines(s) return select(2, s:gsub("\n", "")) end

describe("the tag node", function()
  it("sorts what bpf tagged into two captures, unchanged and with good checksums", function()
    -- pcap -> bpf (udp: tag 53) -> tag (53: udp, else rest) -> pcapouts
    local g = H.engine()
    local files = { udp = os.tmpname() .. ".pcap", rest = os.tmpname() .. ".pcap" }
    assert(g:mkpeer("tag", "t", "hold"))
    assert(g:name(".:t", "tag"))
    for hook, file in pairs(files) do
      assert(g:mkpeer("tag:", "pcapout", hook, "in"))
      assert(g:msg("tag:" .. hook, "open", { file = file }))
    end
    assert(g:mkpeer("tag:", "bpf", "in", "out"))
    assert(g:name("tag:in", "bpf"))
    assert(g:mkpeer("bpf:", "pcap", "in", "out"))
    assert(g:msg("bpf:", "setprogram", { thisHook = "in", ifMatch = "out", ifNotMatch = "out",
      expr = "udp", tagMatch = 53 }))
    assert(g:msg("tag:", "sethookin", '{ thisHook="in" ifMatch="udp" ifNotMatch="rest" tag_id=53 }'))
    assert(g:rmhook(".", "t"))
    assert(g:msg("bpf:in", "open", { file = SAMPLE }))
    assert(g:msg("bpf:in", "start"))
    g:run()
    local st = g:msg("tag:", "getstats", "in")
    local want = lines(tcpdump(SAMPLE, "-nn", "udp"))
    assert.equal(300, st.recvFrames)
    assert.equal(want, st.recvMatchFrames)
    assert.equal(want, g:msg("tag:", "getstats", "udp").xmitFrames)
    assert.equal(300 - want, g:msg("tag:", "getstats", "rest").xmitFrames)
    g:close()
    local u = tcpdump(files.udp, "-e -nn -vv")
    assert.equal(tcpdump(SAMPLE, "-e -nn -vv", "udp"), u)
    assert.equal(tcpdump(SAMPLE, "-e -nn -vv", "not udp"), tcpdump(files.rest, "-e -nn -vv"))
    assert.not_matches("bad", u)
    assert.not_matches("incorrect", u)
    for _, f in pairs(files) do os.remove(f) end
  end)

  it("matches tags, strips them and sets them on the way out; Lua reads and sets them", function()
    -- "." src -> settag (Lua: the first byte is the tag) -> tag in; tag a, b -> "."
    local g = H.engine()
    g:define("settag", { rcvdata = function(_, item)
      item:settag(item:bytes(1, 1):byte())
      return "out"
    end })
    assert(g:mkpeer("settag", "src", "in"))
    assert(g:mkpeer(".:src", "tag", "out", "in"))
    assert(g:name(".:src.out", "tag"))
    assert(g:connect(".", "tag:", "a", "a"))
    assert(g:connect(".", "tag:", "b", "b"))
    local got = {}
    g:on_data(function(hook, item) got[#got + 1] = hook .. "=" .. item:tag() end)
    local function send(...)
      got = {}
      for _, t in ipairs { ... } do assert(g:send("src", string.char(t) .. "payload")) end
      g:run()
      return table.concat(got, " ")
    end
    -- no sethookin: every packet dropped
    assert.equal("", send(7))
    assert.equal(1, g:stats("tag:").drops.policy)
    assert(g:msg("tag:", "sethookin", { thisHook = "in", ifMatch = "a", ifNotMatch = "b", tag_id = 7 }))
    assert.equal("a=7 b=8 b=0", send(7, 8, 0))
    assert(g:msg("tag:", "sethookout", { thisHook = "a", tag_id = 100 }))
    assert.equal("a=100 b=8", send(7, 8))
    assert(g:msg("tag:", "sethookout", { thisHook = "a", tag_id = 0 }))
    assert(g:msg("tag:", "sethookin", { thisHook = "in", ifMatch = "a", ifNotMatch = "b", tag_id = 7, strip = 1 }))
    assert.equal("a=0 b=9", send(7, 9))
    -- tag_id 0 matches untagged packets
    assert(g:msg("tag:", "sethookin", { thisHook = "in", ifMatch = "a", ifNotMatch = "b", tag_id = 0 }))
    assert.equal("a=0 b=1", send(0, 1))
    -- no ifNotMatch: the rest is dropped
    assert(g:msg("tag:", "sethookin", { thisHook = "in", ifMatch = "a", tag_id = 5 }))
    assert.equal("a=5", send(5, 6))
    -- the tag is 32 bits; copies (a tee's) carry it
    g:define("big", { rcvdata = function(_, item)
      assert.equal(0, item:tag())
      item:settag(4294967295)
      assert.has_error(function() item:settag(-1) end)
      assert.has_error(function() item:settag(4294967296) end)
      return "out"
    end })
    assert(g:mkpeer("big", "big", "in"))
    assert(g:mkpeer(".:big", "tee", "out", "left"))
    assert(g:connect(".", ".:big.out", "r", "right"))
    assert(g:connect(".", ".:big.out", "c", "left2right"))
    got = {}
    assert(g:send("big", "x"))
    g:run()
    table.sort(got)
    assert.same({ "c=4294967295", "r=4294967295" }, got)
    g:close()
    local items, bufs = mg.pools()
    assert.same({ 0, 0 }, { items, bufs })
  end)

  it("answers its messages in ng_tag's form, and names what is wrong", function()
    local g = H.engine()
    assert(g:mkpeer("tag", "in", "in"))
    assert(g:connect(".", ".:in", "a", "a"))
    local text = '{ thisHook="in" ifMatch="a" ifNotMatch="" strip=1 tag_cookie=0 tag_id=4000000000 tag_len=0 }'
    assert.is_true(g:msg(".:in", "sethookin", text))
    assert.equal(text, g:msg_text(".:in", "gethookin", '"in"'))
    local v = g:msg(".:in", "gethookin", "in")
    assert.same(v, mg.parse(mg.format(v)))
    assert.is_true(g:msg(".:in", "sethookin", v)) -- what gethookin says, sethookin takes
    assert.is_true(g:msg(".:in", "sethookout", '{ thisHook="a" tag_cookie=0 tag_id=9 tag_len=0 tag_data=[] }'))
    assert.equal('{ thisHook="a" tag_cookie=0 tag_id=9 tag_len=0 }', g:msg_text(".:in", "gethookout", '"a"'))
    assert.equal('{ thisHook="in" tag_cookie=0 tag_id=0 tag_len=0 }', g:msg_text(".:in", "gethookout", '"in"'))
    assert.matches("in: tag 4000000000 %-> a %(stripped%), else %-> %(drop%)", g:status(".:in"))
    assert(g:send("in", "x"))
    g:run()
    assert.equal("{ recvFrames=1 recvOctets=1 recvMatchFrames=0 recvMatchOctets=0 xmitFrames=0 xmitOctets=0 }",
      g:msg_text(".:in", "getclrstats", '"in"'))
    assert.equal(0, g:msg(".:in", "getstats", "in").recvFrames)
    assert.is_true(g:msg(".:in", "clrstats", "a"))
    local function err(cmd, args)
      local ok, e, name = g:msg(".:in", cmd, args)
      assert.is_nil(ok)
      return e, name
    end
    local e, name = err("sethookin", { thisHook = "in", tagid = 3 })
    assert.matches("sethookin: unknown field 'tagid' %(it takes { thisHook=", e)
    assert.equal("EINVAL", name)
    assert.matches("tag_id: must be a number from 0 to", err("sethookin", { thisHook = "in", tag_id = -1 }))
    assert.matches("tag_id: must be a number from 0 to", err("sethookout", { thisHook = "a", tag_id = 4294967296 }))
    assert.matches("tag_id: must be an integer, got 1.5", err("sethookout", { thisHook = "a", tag_id = 1.5 }))
    assert.matches("strip: must be a number from 0 to 1, got 2", err("sethookin", { thisHook = "in", strip = 2 }))
    assert.matches("sethookin: tag_cookie must be 0", err("sethookin", { thisHook = "in", tag_cookie = 1148380143 }))
    assert.matches("sethookout: tag_len and tag_data must be empty", err("sethookout", { thisHook = "a", tag_len = 4 }))
    assert.matches("sethookin: thisHook is missing", err("sethookin", { tag_id = 1 }))
    e, name = err("sethookin", { thisHook = "nope" })
    assert.matches("sethookin: tag has no hook 'nope'", e)
    assert.equal("ENOENT", name)
    assert.matches("sethookout: tag has no hook 'nope'", err("sethookout", { thisHook = "nope" }))
    assert.matches('gethookin takes a hook name: gethookin "in"', err("gethookin", { hook = "in" }))
    assert.matches("gethookout: tag has no hook 'nope'", err("gethookout", '"nope"'))
    assert.matches("getstats: tag has no hook 'nope'", err("getstats", '"nope"'))
    assert.matches('clrstats takes a hook name', err("clrstats"))
    -- a destination hook that goes away is forgotten, and comes back by name
    assert(g:rmhook(".", "a"))
    assert.equal("a", g:msg(".:in", "gethookin", "in").ifMatch)
    assert(g:rmhook(".", "in"))
    g:run()
    for _, n in ipairs(g:list()) do assert.not_equal("tag", n.type) end
    g:close()
  end)
end)
