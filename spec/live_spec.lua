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
