-- The etf node (ng_etf): frames sorted by ethertype, checked by tcpdump.
local mg = require "moongraph"
local q = H.shell_quote
local SAMPLE = H.root .. "/pcaps/sample.pcap"

local function tcpdump(file, flags, expr)
  return (H.run("tcpdump -r " .. q(file) .. " " .. flags .. (expr and (" " .. q(expr)) or "") ..
    " 2>/dev/null"))
end
local function lines(s) return select(2, s:gsub("\n", "")) end

-- An Ethernet frame of this ethertype (a UDP packet's bytes otherwise).
local function frame(etype)
  local p = H.udp_packet()
  return p:sub(1, 12) .. string.pack(">I2", etype) .. p:sub(15)
end

describe("the etf node", function()
  it("splits a capture by ethertype into files tcpdump agrees with", function()
    local g = H.engine()
    assert(g:mkpeer("etf", "e", "downstream"))
    assert(g:name(".:e", "etf"))
    local files = {}
    for _, hook in ipairs { "ip", "arp", "ip6", "nomatch" } do
      files[hook] = os.tmpname() .. ".pcap"
      assert(g:mkpeer("etf:", "pcapout", hook, "in"))
      assert(g:msg("etf:" .. hook, "open", { file = files[hook] }))
    end
    assert.is_true(g:msg("etf:", "setfilter", '{ matchhook="ip" ethertype=0x800 }'))
    assert.is_true(g:msg("etf:", "setfilter", { matchhook = "arp", ethertype = 0x806 }))
    assert.is_true(g:msg("etf:", "setfilter", { matchhook = "ip6", ethertype = 0x86dd }))
    assert(g:rmhook(".", "e"))
    assert(g:mkpeer("etf:", "pcap", "downstream", "out"))
    assert(g:msg("etf:downstream", "open", { file = SAMPLE }))
    assert(g:msg("etf:downstream", "start"))
    g:run()
    assert.equal("{ packets_in=300 packets_out=0 packets_nomatch=30 packets_refused=0 }",
      g:msg_text("etf:", "getstatus"))
    assert.matches("ethertype 0x0800 %-> ip", g:status("etf:"))
    g:close() -- flushes the files
    local want = { ip = { "ip", "ethertype IPv4 %(0x0800%)" }, arp = { "arp", "ethertype ARP %(0x0806%)" },
      ip6 = { "ip6", "ethertype IPv6 %(0x86dd%)" }, nomatch = { "vlan", "ethertype 802.1Q %(0x8100%)" } }
    for hook, w in pairs(want) do
      local out = tcpdump(files[hook], "-e -nn")
      local n = lines(out)
      assert.equal(lines(tcpdump(SAMPLE, "-nn", w[1])), n, hook)
      assert.is_true(n > 0, hook)
      for line in out:gmatch("[^\n]+") do assert.matches(w[2], line) end
      -- the frames are the very ones the filter picks from the input
      assert.equal(tcpdump(SAMPLE, "-nn -xx", w[1]), tcpdump(files[hook], "-nn -xx"), hook)
      os.remove(files[hook])
    end
  end)

  it("lets frames back down only by the hook their ethertype belongs to", function()
    local g = H.engine()
    assert(g:mkpeer("etf", "down", "downstream"))
    assert(g:connect(".", ".:down", "ip", "ip"))
    assert(g:connect(".", ".:down", "nm", "nomatch"))
    assert(g:msg(".:down", "setfilter", { matchhook = "ip", ethertype = 0x800 }))
    local got = {}
    g:on_data(function(hook, item)
      local b = item:bytes()
      got[#got + 1] = hook .. ":" .. (#b >= 14 and string.format("%04x", string.unpack(">I2", b, 13)) or b)
    end)
    assert(g:send("ip", frame(0x800)))    -- its own kind: down
    assert(g:send("ip", frame(0x806)))    -- not its kind: refused
    assert(g:send("nm", frame(0x806)))    -- unfiltered from nomatch: down
    assert(g:send("nm", frame(0x800)))    -- filtered, but not from its hook: refused
    assert(g:send("nm", "short"))         -- no ethertype: nomatch's, down
    assert(g:send("down", frame(0x800)))  -- to ip
    assert(g:send("down", frame(0x88b5))) -- to nomatch
    assert(g:send("down", frame(0x800), { linktype = 101 })) -- not Ethernet: nomatch
    g:run()
    assert.same({ "down:0800", "down:0806", "down:short", "ip:0800", "nm:88b5", "nm:0800" }, got)
    assert.same({ packets_in = 3, packets_out = 3, packets_nomatch = 2, packets_refused = 2 },
      g:msg(".:down", "getstatus"))
    assert.equal(2, g:stats(".:down").drops.policy)
    -- a hook's filters go with it; then its ethertype is nomatch's
    assert(g:rmhook(".", "ip"))
    assert(g:send("down", frame(0x800)))
    g:run()
    assert.equal("nm:0800", got[#got])
    g:close()
  end)

  it("names what is wrong in a bad setfilter, and keeps going", function()
    local g = H.engine()
    assert(g:mkpeer("etf", "e", "downstream"))
    assert(g:connect(".", ".:e", "ip", "ip"))
    local function err(args) return select(2, g:msg(".:e", "setfilter", args)) end
    assert.matches("setfilter: unknown field 'hook' %(it takes { matchhook=",
      err('{ hook="ip" ethertype=0x800 }'))
    assert.matches("ethertype: must be from 0 to 0xffff, got 65536",
      err('{ matchhook="ip" ethertype=0x10000 }'))
    assert.matches("ethertype: must be from 0 to 0xffff, got %-1", err { matchhook = "ip", ethertype = -1 })
    assert.matches("field 'ethertype' must be an integer", err { matchhook = "ip", ethertype = "ip" })
    assert.matches("setfilter: matchhook is missing", err { ethertype = 0x800 })
    assert.matches("setfilter: ethertype is missing", err { matchhook = "ip" })
    assert.matches("setfilter takes { matchhook=", err "42")
    local _, e, name = g:msg(".:e", "setfilter", { matchhook = "nosuch", ethertype = 1 })
    assert.matches("setfilter: etf has no hook 'nosuch'", e)
    assert.equal("ENOENT", name)
    assert.matches("matchhook cannot be downstream", err { matchhook = "downstream", ethertype = 1 })
    assert.is_true(g:msg(".:e", "setfilter", { matchhook = "ip", ethertype = 0x800 }))
    _, e, name = g:msg(".:e", "setfilter", { matchhook = "ip", ethertype = 0x800 })
    assert.matches("ethertype 0x0800 already goes to 'ip'", e)
    assert.equal("EEXIST", name)
    assert.is_true(g:msg(".:e", "setflag", "1"))
    assert.matches("setflag takes a number", select(2, g:msg(".:e", "setflag", '"x"')))
    -- the text forms read back as they were written
    local v = mg.parse('{ matchhook="ip" ethertype=0x800 }')
    assert.same({ matchhook = "ip", ethertype = 2048 }, v)
    assert.same(v, mg.parse(mg.format(v)))
    assert.same(g:msg(".:e", "getstatus"), mg.parse(g:msg_text(".:e", "getstatus")))
    -- the node goes with its last hook
    assert(g:rmhook(".", "e"))
    assert(g:rmhook(".", "ip"))
    g:run()
    for _, n in ipairs(g:list()) do assert.not_equal("etf", n.type) end
    g:close()
    local items, bufs = mg.pools()
    assert.equal(0, items)
    assert.equal(0, bufs)
  end)
end)
