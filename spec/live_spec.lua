-- Live interfaces, on a veth pair inside a network namespace this spec
-- makes and removes itself: no packet leaves it.  Needs root.
local q = H.shell_quote
local SAMPLE = H.root .. "/pcaps/sample.pcap"

local function root()
  local out = H.run("id -u")
  return out:match("^0%s") ~= nil
end

local function have(cmd) return select(2, H.run("command -v " .. cmd)) == 0 end

describe("live capture and injection", function()
  if not root() or not have("ip") or not have("tcpdump") then
    pending("needs root, ip and tcpdump: skipped (live tests make a network namespace)")
    return
  end

  local ns = "mgtest" .. math.random(100000, 999999)
  local x = "ip netns exec " .. ns .. " "
  local made, why = H.run("ip netns add " .. ns)
  if why ~= 0 then -- a container without CAP_SYS_ADMIN, say
    pending("cannot make a network namespace here: " .. made)
    return
  end
  local tmp = os.tmpname()

  setup(function()
    local cmds = {
      "ip -n " .. ns .. " link add va type veth peer name vb",
      -- no IPv6: nothing of the kernel's own (router solicitations) on the wire
      x .. "sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
      x .. "sysctl -qw net.ipv6.conf.default.disable_ipv6=1",
      x .. "sysctl -qw net.ipv6.conf.va.disable_ipv6=1",
      x .. "sysctl -qw net.ipv6.conf.vb.disable_ipv6=1",
      "ip -n " .. ns .. " link set va up",
      "ip -n " .. ns .. " link set vb up",
    }
    for _, c in ipairs(cmds) do
      local out, code = H.run(c)
      assert(code == 0, c .. ": " .. out)
    end
  end)

  teardown(function()
    H.run("ip netns pids " .. ns .. " | xargs -r kill 2>/dev/null")
    H.run("ip netns del " .. ns)
  end)

  it("replays into one end; tcpdump and a moongraph capture on the other see every packet", function()
    local seen_td, seen_mg = tmp .. "-td.pcap", tmp .. "-mg.pcap"
    -- a moongraph capture on vb, writing what it sees, for 300 packets
    local script = H.tmpfile(string.format([[
      local g = mg.engine()
      assert(g:mkpeer("pcapout", "x", "ctl"))
      assert(g:name(".:x", "w"))
      assert(g:mkpeer("w:", "pcap", "in", "out"))
      assert(g:rmhook(".", "x"))
      assert(g:msg("w:", "open", { file = %q }))
      assert(g:msg("w:in", "open", { iface = "vb", count = 300 }))
      assert(g:msg("w:in", "start"))
      io.open(%q, "w"):close() -- ready
      local t = g:every(0.05, function()
        if g:msg("w:in", "getstats").done then g:stop() end
      end)
      g:after(15, function() g:stop() end)
      g:run { ["until"] = "stopped" }
      local s = g:msg("w:in", "getstats")
      print("captured", s.packets, "drops", s.drops)
      g:close()
    ]], seen_mg, tmp .. "-ready"), ".lua")
    -- tcpdump in immediate mode uses one ring frame per snaplen: keep both small
    -- enough that a burst of 300 fits
    H.execute(x .. "tcpdump -i vb --immediate-mode -s 2048 -B 16384 -U -w " .. seen_td .. " >/dev/null 2>" .. tmp .. "-td.log &")
    local mgout = tmp .. "-mg.out"
    H.execute(x .. q(H.moongraph) .. " " .. script .. " >" .. mgout .. " 2>&1 &")
    -- wait until both listen
    H.wait(100, function()
      return H.slurp(tmp .. "-td.log"):match("listening on vb") and io.open(tmp .. "-ready")
    end)
    local out, code = H.run(x .. q(H.moongraph) .. " replay " .. q(SAMPLE) .. " -i va --topspeed")
    assert.equal(0, code, out)
    assert.matches("300 packets, 23745 bytes in .* 0 dropped\n$", out)
    -- the moongraph capture stops by itself at 300
    H.wait(200, function() return H.slurp(mgout):match("captured") end)
    H.wait(100, function() -- and tcpdump has written them all
      return tonumber((H.run("tcpdump -r " .. q(seen_td) .. " 2>/dev/null | wc -l"))) == 300
    end)
    H.run(x .. "pkill -INT -x tcpdump")
    os.execute("sleep 0.3")
    local mg = H.slurp(mgout)
    assert.matches("captured\t300\tdrops\t0", mg)
    local function body(f) -- packets without their timestamps
      return (H.run("tcpdump -r " .. q(f) .. " -t -nn -xx 2>/dev/null"))
    end
    local want = body(SAMPLE)
    assert.equal(want, body(seen_td))
    assert.equal(want, body(seen_mg))
  end)

  it("shares an interface between two sources of one fanout group: each packet once, each flow in one", function()
    local a, b, ready, out = tmp .. "-fa.pcap", tmp .. "-fb.pcap", tmp .. "-fready", tmp .. "-fan.out"
    local script = H.tmpfile(string.format([[
      local g = mg.engine()
      for _, w in ipairs { { "wa", %q }, { "wb", %q } } do
        assert(g:mkpeer("pcapout", "x", "ctl"))
        assert(g:name(".:x", w[1]))
        assert(g:msg(w[1] .. ":", "open", { file = w[2] }))
        assert(g:mkpeer(w[1] .. ":", "pcap", "in", "out"))
        assert(g:rmhook(".", "x"))
        assert(g:msg(w[1] .. ":in", "open", { iface = "vb", fanout = 7, fanout_mode = "hash" }))
        assert(g:msg(w[1] .. ":in", "start"))
      end
      io.open(%q, "w"):close() -- ready
      local function seen()
        return g:msg("wa:in", "getstats").packets + g:msg("wb:in", "getstats").packets
      end
      g:every(0.05, function() if seen() >= 300 then g:stop() end end)
      g:after(15, function() g:stop() end)
      g:run { ["until"] = "stopped" }
      print("seen", g:msg("wa:in", "getstats").packets, g:msg("wb:in", "getstats").packets)
      g:close()
    ]], a, b, ready), ".lua")
    H.execute(x .. q(H.moongraph) .. " " .. script .. " >" .. out .. " 2>&1 &")
    H.wait(100, function() return io.open(ready) end)
    local o, code = H.run(x .. q(H.moongraph) .. " replay " .. q(SAMPLE) .. " -i va --topspeed")
    assert.equal(0, code, o)
    H.wait(200, function() return H.slurp(out):match("seen") end)
    local na, nb = H.slurp(out):match("seen\t(%d+)\t(%d+)")
    assert(na, H.slurp(out))
    na, nb = tonumber(na), tonumber(nb)
    assert.equal(300, na + nb)
    assert.is_true(na > 0 and nb > 0, na .. " and " .. nb)
    -- every packet once: the two files hold the sample's packets, no more
    local function lines(f)
      local t = {}
      for l in H.run("tcpdump -r " .. q(f) .. " -t -nn 2>/dev/null"):gmatch("[^\n]+") do t[#t + 1] = l end
      return t
    end
    local all = {}
    for _, f in ipairs { a, b } do for _, l in ipairs(lines(f)) do all[#all + 1] = l end end
    local want = lines(SAMPLE)
    table.sort(all)
    table.sort(want)
    assert.same(want, all)
    -- each IP flow (its addresses and ports, one way: the kernel's flow hash
    -- is not symmetric) in one file only
    local where = {}
    for i, f in ipairs { a, b } do
      for _, l in ipairs(lines(f)) do
        local src, dst = l:match("IP6? (%S+) > (%S+):")
        if src then
          local key = src .. " > " .. dst
          assert(where[key] == nil or where[key] == i, key .. " in both sources")
          where[key] = i
        end
      end
    end
    assert.is_true(next(where) ~= nil)
    os.remove(a)
    os.remove(b)
  end)

  it("refuses a fanout for a file and names a bad mode", function()
    local g = require("moongraph").engine()
    assert(g:mkpeer("pcap", "p", "out"))
    local ok, err = g:msg(".:p", "open", { file = SAMPLE, fanout = 1 })
    assert.is_nil(ok)
    assert.matches("fanout is for a live interface", err)
    ok, err = g:msg(".:p", "open", { iface = "lo", fanout = 1, fanout_mode = "fastest" })
    assert.is_nil(ok)
    assert.matches("fanout_mode is one of hash, lb, cpu, rollover, random, qm, not \"fastest\"", err)
    ok, err = g:msg(".:p", "open", { iface = "lo", fanout = 70000 })
    assert.is_nil(ok)
    assert.matches("fanout", err)
    g:close()
  end)

  it("counts what the kernel dropped when the capture falls behind", function()
    -- a 64 KiB ring, a Lua node that sleeps 1 ms a packet: the kernel must drop
    local script = H.tmpfile([[
      local g = mg.engine()
      g:define("slow", { rcvdata = function(self, item)
        local t = mg.monotime() + 0.001
        while mg.monotime() < t do end
        item:drop()
      end })
      assert(g:mkpeer("slow", "x", "in"))
      assert(g:name(".:x", "s"))
      assert(g:mkpeer("s:", "pcap", "src", "out"))
      assert(g:msg("s:src", "open", { iface = "vb", bufsize = 65536 }))
      assert(g:msg("s:src", "start"))
      io.open(arg[1], "w"):close()
      g:after(1.5, function() g:stop() end)
      g:run { ["until"] = "stopped" }
      local st = g:msg("s:src", "getstats")
      print("captured", st.packets, "drops", st.drops)
    ]], ".lua")
    local ready, out = tmp .. "-ready2", tmp .. "-slow.out"
    H.execute(x .. q(H.moongraph) .. " " .. script .. " " .. ready .. " >" .. out .. " 2>&1 &")
    H.wait(100, function() return io.open(ready) end)
    for _ = 1, 10 do H.run(x .. q(H.moongraph) .. " replay " .. q(SAMPLE) .. " -i va --topspeed") end
    H.wait(100, function() return H.slurp(out):match("captured") end)
    local text = H.slurp(out)
    local got, drops = text:match("captured\t(%d+)\tdrops\t(%d+)")
    assert(got, text)
    assert.is_true(tonumber(drops) > 0, text)
    assert.is_true(tonumber(got) + tonumber(drops) <= 3000, text)
  end)

  it("names an unknown interface to capture on", function()
    local out, code = H.run(x .. q(H.moongraph) .. [[ -e 'local g = mg.engine()
      assert(g:mkpeer("hole", "x", "in")); assert(g:name(".:x", "h"))
      assert(g:mkpeer("h:", "pcap", "src", "out"))
      print(g:msg("h:src", "open", { iface = "nosuch0" }))']])
    assert.equal(0, code, out)
    assert.matches("nil\tcannot capture on 'nosuch0': no such interface", out)
  end)

  it("names an unknown interface", function()
    local out, code = H.run(x .. q(H.moongraph) .. " replay " .. q(SAMPLE) .. " -i nosuch0")
    assert.equal(1, code)
    assert.matches("cannot send on 'nosuch0': no such interface", out)
  end)
end)
