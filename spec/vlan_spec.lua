-- The vlan node (ng_vlan): tags taken off and put on, checked by tcpdump.
local mg = require "moongraph"
local gen = dofile(H.root .. "/pcaps/gen.lua")
local q = H.shell_quote
local SAMPLE = H.root .. "/pcaps/sample.pcap"

local function tcpdump(file, flags, expr)
  return (H.run("tcpdump -r " .. q(file) .. " " .. flags .. (expr and (" " .. q(expr)) or "") ..
    " 2>/dev/null"))
end
local function lines(s) return select(2, s:gsub("\n", "")) end
local function tmp() return os.tmpname() .. ".pcap" end

-- A vlan node named "vlan" with a pcapout on each of hooks (a file each),
-- and a pcap source on `from` reading `input`; runs it to the end.
local function through(input, from, hooks, setup)
  local g = H.engine()
  assert(g:mkpeer("vlan", "v", "hold")) -- any name will do while we build
  assert(g:name(".:v", "vlan"))
  local files = {}
  for _, hook in ipairs(hooks) do
    files[hook] = tmp()
    assert(g:mkpeer("vlan:", "pcapout", hook, "in"))
    assert(g:msg("vlan:" .. hook, "open", { file = files[hook] }))
  end
  assert(g:mkpeer("vlan:", "pcap", from, "out"))
  assert(g:msg("vlan:" .. from, "open", { file = input }))
  if setup then setup(g) end
  assert(g:rmhook(".", "v"))
  assert(g:msg("vlan:" .. from, "start"))
  g:run()
  return g, files
end

local function filters(g)
  assert.is_true(g:msg("vlan:", "addfilter", '{ vlan=10 hook="v10" }'))
  assert.is_true(g:msg("vlan:", "addfilter", { vid = 20, hook = "v20" }))
end

describe("the vlan node", function()
  it("takes the tags off VLAN 10 and 20 frames and sends the rest to nomatch", function()
    local g, files = through(SAMPLE, "downstream", { "v10", "v20", "nomatch" }, filters)
    g:close()
    for _, vid in ipairs { 10, 20 } do
      local file = files["v" .. vid]
      local out = tcpdump(file, "-e -nn -vv")
      assert.equal(lines(tcpdump(SAMPLE, "-nn", "vlan " .. vid)), lines(tcpdump(file, "-nn")))
      assert.is_true(lines(out) > 0)
      assert.not_matches("802%.1Q", out)
      assert.not_matches("bad", out) -- tcpdump -vv checks the checksums
      assert.not_matches("incorrect", out)
      -- the same packets at the same times, less the tag
      assert.equal(tcpdump(SAMPLE, "-tt -nn -vv", "vlan " .. vid), tcpdump(file, "-tt -nn -vv"))
    end
    local rest = "not vlan" -- the sample has VLANs 10 and 20 only
    assert.equal(tcpdump(SAMPLE, "-tt -nn -xx", rest), tcpdump(files.nomatch, "-tt -nn -xx"))
    for _, f in pairs(files) do os.remove(f) end
  end)

  it("tags frames from a filter's hook with its VID", function()
    local g0, untagged = through(SAMPLE, "downstream", { "v10" }, function(g)
      assert(g:msg("vlan:", "addfilter", { vid = 10, hook = "v10" }))
    end)
    g0:close() -- flushes the file
    local g, files = through(untagged.v10, "v10", { "downstream" }, function(g)
      assert(g:msg("vlan:", "addfilter", { vid = 10, hook = "v10" }))
    end)
    g:close()
    local out = tcpdump(files.downstream, "-e -nn")
    assert.equal(15, lines(out))
    for line in out:gmatch("[^\n]+") do
      assert.matches("ethertype 802%.1Q %(0x8100%), length 110: vlan 10, p 0, ethertype IPv4", line)
    end
    -- demuxed and tagged again, the frames are the input's
    assert.equal(tcpdump(SAMPLE, "-tt -nn -xx", "vlan 10"), tcpdump(files.downstream, "-tt -nn -xx"))
    os.remove(untagged.v10)
    os.remove(files.downstream)
  end)

  it("gives back the very input after a round trip through two nodes", function()
    -- pcap -> A (demux) == v10, v20, nomatch ==> B (tag) -> pcapout
    local out = tmp()
    local g = H.engine()
    assert(g:mkpeer("vlan", "a", "nomatch"))
    assert(g:name(".:a", "A"))
    assert(g:mkpeer("A:", "vlan", "v10", "v10"))
    assert(g:name("A:v10", "B"))
    assert(g:connect("A:", "B:", "v20", "v20"))
    assert(g:rmhook(".", "a"))
    assert(g:connect("A:", "B:", "nomatch", "nomatch"))
    for _, n in ipairs { "A:", "B:" } do
      assert(g:msg(n, "addfilter", { vid = 10, hook = "v10" }))
      assert(g:msg(n, "addfilter", { vid = 20, hook = "v20" }))
    end
    assert(g:mkpeer("B:", "pcapout", "downstream", "in"))
    assert(g:msg("B:downstream", "open", { file = out }))
    assert(g:mkpeer("A:", "pcap", "downstream", "out"))
    assert(g:msg("A:downstream", "open", { file = SAMPLE }))
    assert(g:msg("A:downstream", "start"))
    g:run()
    local hooks = g:stats("A:").hooks
    assert.same({ 15, 15, 270 }, { hooks.v10.out, hooks.v20.out, hooks.nomatch.out })
    g:close()
    assert.equal(tcpdump(SAMPLE, "-tt -nn -xx"), tcpdump(out, "-tt -nn -xx"))
    os.remove(out)
  end)

  it("puts a filter's PCP and CFI in the tag, and reads tags by them", function()
    local input = tmp()
    local w = gen.writer(input, 1)
    w:packet(1700000000 * 1000000000, H.udp_packet())
    w:close()
    local g, files = through(input, "v10", { "downstream" }, function(g)
      assert(g:msg("vlan:", "addfilter", '{ hook="v10" vid=10 pcp=5 cfi=1 }'))
    end)
    g:close()
    assert.matches("802%.1Q %(0x8100%), length 46: vlan 10, p 5, DEI, ethertype IPv4",
      tcpdump(files.downstream, "-e -nn -vv"))
    -- and back: the PCP and CFI do not change where a frame goes
    g, files = through(files.downstream, "downstream", { "v10", "nomatch" }, function(g)
      assert(g:msg("vlan:", "addfilter", { hook = "v10", vid = 10 }))
    end)
    g:close()
    assert.equal(tcpdump(input, "-nn -xx"), tcpdump(files.v10, "-nn -xx"))
    assert.equal("", tcpdump(files.nomatch, "-nn"))
  end)

  it("works on 802.1ad service tags with setencapproto 0x88a8", function()
    local input = tmp()
    local w = gen.writer(input, 1)
    local inner = gen.vlan(2, 1, 10, 0x0800, string.rep("y", 30)) -- a customer tag
    local outer = inner:sub(1, 12) .. string.pack(">I2I2", 0x88a8, 100) .. inner:sub(13)
    w:packet(1700000000 * 1000000000, outer)
    w:packet(1700000000 * 1000000000 + 1000, inner) -- no service tag: nomatch
    w:close()
    local g, files = through(input, "downstream", { "s100", "nomatch" }, function(g)
      assert.is_true(g:msg("vlan:", "setencapproto", "0x88a8"))
      assert.equal(0x88a8, g:msg("vlan:", "getencapproto"))
      assert(g:msg("vlan:", "addfilter", { hook = "s100", vid = 100 }))
    end)
    g:close()
    local s = tcpdump(files.s100, "-e -nn")
    assert.equal(1, lines(s))
    assert.matches("ethertype 802%.1Q %(0x8100%), length 48: vlan 10, p 0, ethertype IPv4", s)
    assert.equal(tcpdump(input, "-nn -xx", "vlan 10"), tcpdump(files.nomatch, "-nn -xx"))
    -- and the service tag goes back on
    g, files = through(files.s100, "s100", { "downstream" }, function(g)
      assert(g:msg("vlan:", "setencapproto", 0x88a8))
      assert(g:msg("vlan:", "addfilter", { hook = "s100", vid = 100 }))
    end)
    g:close()
    assert.matches("802%.1Q%-QinQ %(0x88a8%), length 52: vlan 100, p 0, ethertype 802%.1Q %(0x8100%), vlan 10",
      tcpdump(files.downstream, "-e -nn"))
    assert.equal(tcpdump(input, "-nn -xx", "ether[12:2] = 0x88a8"), tcpdump(files.downstream, "-nn -xx"))
  end)

  it("moves tags out of band and back with setdecap and setencap", function()
    -- "." -> downstream; nomatch <-> echo; v30 <-> "."
    local g = H.engine()
    assert(g:mkpeer("vlan", "down", "downstream"))
    assert(g:mkpeer(".:down", "echo", "nomatch", "e"))
    assert(g:connect(".", ".:down", "v30", "v30"))
    local got = {}
    g:on_data(function(hook, item) got[#got + 1] = { hook, item:bytes() } end)
    local plain = H.udp_packet()
    local tagged40 = gen.vlan(2, 1, 40, 0x0800, plain:sub(15))
    local function round(frame)
      got = {}
      assert(g:send("down", frame))
      g:run()
      return got
    end
    -- default: nomatch's frame comes back as it went
    assert.same({ { "down", tagged40 } }, round(tagged40))
    -- decap: it goes up untagged, the tag kept beside it; without encap
    -- bit 2 it comes back down untagged
    assert.is_true(g:msg(".:down", "setdecap", "1"))
    assert.equal(1, g:msg(".:down", "getdecap"))
    local r = round(tagged40)
    assert.equal(#tagged40 - 4, #r[1][2])
    assert.equal(tagged40:sub(1, 12) .. tagged40:sub(17), r[1][2])
    -- encap bit 2: the kept tag goes back in
    assert.is_true(g:msg(".:down", "setencap", "3"))
    assert.equal(3, g:msg(".:down", "getencap"))
    assert.same({ { "down", tagged40 } }, round(tagged40))
    -- encap without bit 1: a filter's frames go down untagged, tag beside
    assert(g:msg(".:down", "addfilter", { hook = "v30", vid = 30 }))
    assert.is_true(g:msg(".:down", "setencap", 0))
    assert(g:send("v30", plain))
    g:run()
    assert.same({ "down", plain }, got[#got])
    g:close()
    local items, bufs = mg.pools()
    assert.same({ 0, 0 }, { items, bufs })
  end)

  it("sorts by an out-of-band tag as if it were in the frame", function()
    -- "." v30 -> A (encap 0: tag beside) -> downstream == downstream B -> w30
    local g = H.engine()
    assert(g:mkpeer("vlan", "v30", "v30"))
    assert(g:name(".:v30", "A"))
    assert(g:mkpeer("A:", "vlan", "downstream", "downstream"))
    assert(g:name("A:downstream", "B"))
    assert(g:connect(".", "B:", "w30", "w30"))
    assert(g:connect(".", "B:", "bnomatch", "nomatch"))
    assert(g:msg("A:", "addfilter", { hook = "v30", vid = 30 }))
    assert(g:msg("A:", "setencap", 0))
    assert(g:msg("B:", "addfilter", { hook = "w30", vid = 30 }))
    local got = {}
    g:on_data(function(hook, item) got[#got + 1] = { hook, item:bytes() } end)
    local plain = H.udp_packet()
    assert(g:send("v30", plain))
    g:run()
    assert.same({ { "w30", plain } }, got)
    -- with the tag in the frame, the same
    assert(g:msg("A:", "setencap", 1))
    assert(g:send("v30", plain))
    g:run()
    assert.same({ "w30", plain }, got[2])
    g:close()
  end)

  it("answers its messages in ng_vlan's form, and names what is wrong", function()
    local g = H.engine()
    assert(g:mkpeer("vlan", "down", "downstream"))
    for _, h in ipairs { "v10", "v20", "nomatch" } do assert(g:connect(".", ".:down", h, h)) end
    assert(g:msg(".:down", "addfilter", '{ vlan=10 hook="v10" }'))
    assert(g:msg(".:down", "addfilter", '{ hook="v20" vid=20 pcp=3 cfi=1 }'))
    assert.equal('{ n=2 filter=[ { hook="v10" vlan=10 vid=10 pcp=0 cfi=0 } ' ..
      '{ hook="v20" vlan=20 vid=20 pcp=3 cfi=1 } ] }', g:msg_text(".:down", "gettable"))
    local t = g:msg(".:down", "gettable")
    assert.same(t, mg.parse(mg.format(t)))
    assert.matches("vid 20 pcp 3 cfi 1 <%-> v20", g:status(".:down"))
    local function err(cmd, args)
      local ok, e, name = g:msg(".:down", cmd, args)
      assert.is_nil(ok)
      return e, name
    end
    assert.matches("addfilter: unknown field 'vlanid' %(it takes { hook=", err("addfilter", '{ vlanid=3 hook="v10" }'))
    assert.matches("vid: must be from 0 to 4095, got 4096", err("addfilter", { vid = 4096, hook = "x" }))
    assert.matches("vlan: must be from 0 to 4095, got %-1", err("addfilter", { vlan = -1, hook = "x" }))
    assert.matches("pcp: must be from 0 to 7, got 8", err("addfilter", { vid = 1, pcp = 8, hook = "x" }))
    assert.matches("cfi: must be from 0 to 1, got 2", err("addfilter", { vid = 1, cfi = 2, hook = "x" }))
    assert.matches("vid: must be an integer", err("addfilter", { vid = "ten", hook = "x" }))
    assert.matches("addfilter: hook is missing", err("addfilter", { vid = 1 }))
    assert.matches("vlan=10 and vid=11 differ", err("addfilter", { vlan = 10, vid = 11, hook = "v10" }))
    local e, name = err("addfilter", { vid = 30, hook = "v30" })
    assert.matches("addfilter: vlan has no hook 'v30'", e)
    assert.equal("ENOENT", name)
    assert.matches("hook cannot be nomatch", err("addfilter", { vid = 30, hook = "nomatch" }))
    e, name = err("addfilter", { vid = 30, hook = "v10" })
    assert.matches("hook 'v10' already has vid 10", e)
    assert.equal("EEXIST", name)
    assert(g:connect(".", ".:down", "other", "other"))
    assert.matches("vid 10 already goes to 'v10'", err("addfilter", { vid = 10, hook = "other" }))
    assert.matches('delfilter takes a hook name: delfilter "v10"', err("delfilter", { hook = "v10" }))
    assert.matches("delfilter: vlan has no hook 'nope'", err("delfilter", '"nope"'))
    assert.matches("delfilter: hook 'other' has no filter", err("delfilter", '"other"'))
    assert.matches("delvidflt: must be from 0 to 4095, got 5000", err("delvidflt", "5000"))
    assert.matches("delvidflt: no filter for vid 30", err("delvidflt", "30"))
    assert.matches("delvidflt takes a number from 0 to 4095", err("delvidflt"))
    assert.matches("setdecap: must be from 0 to 1, got 2", err("setdecap", "2"))
    assert.matches("setencap: must be from 0 to 3, got 4", err("setencap", "4"))
    assert.matches("setencapproto: must be from 1536 to 65535, got 5", err("setencapproto", "5"))
    assert.matches("setencap: must be an integer", err("setencap", '"on"'))
    -- deleting by hook and by VID; then the VID is free again
    assert.is_true(g:msg(".:down", "delfilter", '"v10"'))
    assert.is_true(g:msg(".:down", "delvidflt", 20))
    assert.equal("{ n=0 filter=[] }", g:msg_text(".:down", "gettable"))
    assert.is_true(g:msg(".:down", "addfilter", { vid = 10, hook = "other" }))
    -- a hook's filter goes with it
    assert(g:rmhook(".", "other"))
    assert.equal(0, g:msg(".:down", "gettable").n)
    assert.equal(0x8100, g:msg(".:down", "getencapproto"))
    assert.equal(1, g:msg(".:down", "getencap"))
    assert.equal(0, g:msg(".:down", "getdecap"))
    -- frames from a hook with no filter are dropped; the node goes with
    -- its last hook
    assert(g:send("v10", H.udp_packet()))
    g:run()
    assert.equal(1, g:stats(".:down").drops.policy)
    -- a frame with no room for a tag is refused, and the sender told
    assert(g:msg(".:down", "addfilter", { vid = 10, hook = "v10" }))
    local ok, e2 = g:send("v10", H.udp_packet(), { linktype = 101 })
    assert.is_nil(ok)
    assert.matches("vlan: a frame from 'v10' is not Ethernet %(link type 101, 42 bytes%)", e2)
    ok, e2 = g:send("v10", "short")
    assert.is_nil(ok)
    assert.matches("link type 1, 5 bytes%): no place for a tag", e2)
    assert.equal(2, g:stats(".:down").drops.error)
    for _, h in ipairs { "down", "v10", "v20", "nomatch" } do assert(g:rmhook(".", h)) end
    g:run()
    for _, n in ipairs(g:list()) do assert.not_equal("vlan", n.type) end
    g:close()
  end)
end)
