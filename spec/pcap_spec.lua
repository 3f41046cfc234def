-- Captures in and out: the pcap source and sink, the bpf node, timing,
-- moongraph replay, and bad input of every kind.
local mg = require "moongraph"
local q = H.shell_quote
local SAMPLE = H.root .. "/pcaps/sample.pcap"
local GAPS = H.root .. "/pcaps/gaps.pcap"

local function tcpdump_count(file, expr)
  local out, code = H.run("tcpdump --count -r " .. q(file) .. (expr and (" " .. q(expr)) or "") ..
    " 2>/dev/null")
  return tonumber(out:match("(%d+) packets?")), code
end

-- src -> (filter?) -> hole; returns the engine with nodes "src:" and "sink:"
local function source(file, opts, sinktype)
  local g = H.engine()
  assert(g:mkpeer(sinktype or "hole", "x", "ctl"))
  assert(g:name(".:x", "sink"))
  assert(g:mkpeer("sink:", "pcap", "in", "out"))
  assert(g:name("sink:in", "src"))
  assert(g:rmhook(".", "x"))
  local o = { file = file }
  for k, v in pairs(opts or {}) do o[k] = v end
  local info, err = g:msg("src:", "open", o)
  return g, info, err
end

describe("the pcap source", function()
  it("reads a file and says what it holds", function()
    local g, info = source(SAMPLE)
    assert.same({ linktype = 1, linkname = "EN10MB", snaplen = 262144, precision = "micro",
      reader = "block" }, info)
    assert.is_true(g:msg("src:", "start"))
    g:run()
    local s = g:msg("src:", "getstats")
    assert.equal(300, s.packets)
    assert.is_true(s.done)
    assert.equal(1, s.progress)
    assert.equal(300, g:msg("sink:", "getstats", { hook = "in" }).frames)
    assert.equal(s.bytes, g:msg("sink:", "getstats", { hook = "in" }).octets)
    assert.matches("file .*sample.pcap: done, 300 packets", g:status("src:"))
    g:close()
  end)

  it("tells on_done once when it finishes, and refuses what is not a source", function()
    local g = source(SAMPLE)
    local calls, seen = 0, nil
    assert.is_true(g:on_done("src:", function()
      calls = calls + 1
      seen = g:msg("src:", "getstats")
    end))
    local every = g:every(0.01, function() end) -- does not keep run() going
    assert.is_true(g:msg("src:", "start"))
    g:run()
    assert.equal(1, calls)
    assert.is_true(seen.done)
    assert.equal(300, seen.packets)
    g:run(0.02)
    assert.equal(1, calls) -- once
    -- registered after the end: told on the next turn of the loop
    local late = 0
    assert.is_true(g:on_done("src:", function() late = late + 1 end))
    g:run()
    assert.equal(1, late)
    every:cancel()
    local r, err, name = g:on_done("nosuch:", print)
    assert.is_nil(r)
    assert.matches("nosuch", err)
    assert.equal("ENOENT", name)
    r, err, name = g:on_done("sink:", print)
    assert.is_nil(r)
    assert.matches("on_done: 'sink:' is a hole node, not a pcap source", err)
    assert.equal("EINVAL", name)
    assert.error_matches(function() g:on_done("src:") end, "bad argument #2 to 'on_done'")
    g:close()
  end)

  it("keeps nanoseconds, filters at the source, loops and stops at a count", function()
    local g = H.engine()
    g:define("ts", { constructor = function(node) node.ts = {} end,
      rcvdata = function(node, item) node.ts[#node.ts + 1] = item:ts() end })
    assert(g:mkpeer("ts", "t", "x"))
    assert(g:mkpeer(".:t", "pcap", "in", "out"))
    local info = g:msg(".:t.in", "open", { file = H.root .. "/pcaps/sample-ns.pcap" })
    assert.equal("nano", info.precision)
    assert(g:msg(".:t.in", "start"))
    g:run()
    local ts = g:node(".:t").ts
    assert.equal(100, #ts)
    assert.equal(1700000000 * 1000000000 + 100000, ts[2])
    assert.equal(1, ts[3] % 1000) -- the odd nanosecond kept
    g:close()
    g = source(SAMPLE, { filter = "udp", loop = 3 })
    g:msg("src:", "start")
    g:run()
    assert.equal(3 * tcpdump_count(SAMPLE, "udp"), g:msg("src:", "getstats").packets)
    assert.equal(3, g:msg("src:", "getstats").loops)
    g:close()
    g = source(SAMPLE, { count = 42 })
    g:msg("src:", "start")
    g:run()
    assert.equal(42, g:msg("src:", "getstats").packets)
    g:close()
  end)

  it("drives a virtual clock from packet timestamps at top speed", function()
    local g = H.engine { clock = "virtual" }
    assert(g:mkpeer("hole", "x", "ctl"))
    assert(g:name(".:x", "sink"))
    assert(g:mkpeer("sink:", "pcap", "in", "out"))
    assert(g:msg("sink:in", "open", { file = SAMPLE }))
    local fired = 0
    g:after(0.1, function() fired = fired + 1 end) -- 0.1 s into the capture
    assert(g:msg("sink:in", "start"))
    g:run()
    assert.equal(1, fired)
    assert.truthy(g:now() > 1700000000.1 and g:now() < 1700000001)
    g:close()
  end)

  it("reports bad input clearly and keeps going", function()
    local g, _, err = source("/nonexistent/x.pcap")
    assert.matches("cannot open '/nonexistent/x.pcap': No such file or directory", err)
    local notcap = H.tmpfile("this is not a capture file, just text\n")
    _, err = g:msg("src:", "open", { file = notcap })
    assert.matches("cannot read '.*': unknown file format", err)
    _, err = g:msg("src:", "open", { file = SAMPLE, filter = "udp port" })
    assert.matches("bad filter 'udp port': .*syntax error", err)
    _, err = g:msg("src:", "open", { iface = "nosuchif0" })
    assert.matches("cannot capture on 'nosuchif0'", err)
    _, err = g:msg("src:", "open", { file = SAMPLE, speed = "warp" })
    assert.matches("speed is \"top\" or \"original\"", err)
    _, err = g:msg("src:", "open", { file = SAMPLE, pps = 10, mbps = 1 })
    assert.matches("choose one of", err)
    _, err = g:msg("src:", "open", {})
    assert.matches("either a file or an iface", err)
    _, err = g:msg("src:", "start")
    assert.matches("nothing open", err)
    -- a file cut short: a header alone, and one cut in its third packet
    local whole = io.open(SAMPLE, "rb"):read("a")
    local head = H.tmpfile(whole:sub(1, 10))
    _, err = g:msg("src:", "open", { file = head })
    assert.matches("cannot read '.*': truncated dump file", err)
    local cut = H.tmpfile(whole:sub(1, 24 + 2 * 16 + 77 + 75 + 30))
    assert(g:msg("src:", "open", { file = cut }))
    assert(g:msg("src:", "start"))
    g:run()
    local s = g:msg("src:", "getstats")
    assert.equal(2, s.packets)
    assert.is_true(s.done)
    assert.matches("is truncated: tried to read", H.logs[#H.logs])
    assert.equal(2, tcpdump_count(cut))
    -- the engine is well: a good file still plays
    assert(g:msg("src:", "open", { file = SAMPLE }))
    assert(g:msg("src:", "start"))
    g:run()
    assert.equal(302, g:msg("src:", "getstats").packets)
    g:close()
  end)
end)

describe("the pcapout sink", function()
  it("writes what tcpdump reads back the same", function()
    local out = os.tmpname() .. ".pcap"
    local g = source(SAMPLE, nil, "pcapout")
    assert(g:msg("sink:", "open", { file = out }))
    g:msg("src:", "start")
    g:run()
    assert.same({ packets = 300, bytes = 23745, drops = 0, errors = 0 }, g:msg("sink:", "getstats"))
    g:close() -- shutdown flushes
    local a = H.run("tcpdump -r " .. q(SAMPLE) .. " -tt -nn -xx 2>/dev/null")
    local b = H.run("tcpdump -r " .. q(out) .. " -tt -nn -xx 2>/dev/null")
    assert.equal(a, b)
  end)

  it("writes pcapng, nanoseconds, an empty file, and refuses a second link type", function()
    local out = os.tmpname() .. ".pcapng"
    local g = source(H.root .. "/pcaps/sample-ns.pcap", nil, "pcapout")
    assert(g:msg("sink:", "open", { file = out }))
    g:msg("src:", "start")
    g:run()
    g:close()
    local a = H.run("tcpdump --nano -r " .. q(H.root .. "/pcaps/sample-ns.pcap") .. " -tt -nn 2>/dev/null")
    local b = H.run("tcpdump --nano -r " .. q(out) .. " -tt -nn 2>/dev/null")
    assert.equal(a, b)
    local empty = os.tmpname() .. ".pcap"
    g = H.engine()
    g:mkpeer("pcapout", "p", "in")
    assert(g:msg(".:p", "open", { file = empty, linktype = 101 }))
    assert(g:msg(".:p", "close"))
    local _, code = H.run("tcpdump -r " .. q(empty) .. " 2>&1")
    assert.equal(0, code)
    local mixed = os.tmpname() .. ".pcap"
    assert(g:msg(".:p", "open", { file = mixed }))
    g:send("p", string.rep("\0", 20), { linktype = 1 })
    g:send("p", string.rep("\0", 20), { linktype = 101 })
    assert.same({ packets = 1, bytes = 20, drops = 1, errors = 0 }, g:msg(".:p", "getstats"))
    assert.matches("holds link type 1; dropping packets of type 101", H.logs[#H.logs])
    local _, err = g:msg(".:p", "open", { file = "/nonexistent/dir/x.pcap" })
    assert.matches("cannot write '/nonexistent/dir/x.pcap'", err)
    _, err = g:msg(".:p", "open", { iface = "nosuchif0" })
    assert.matches("cannot send on 'nosuchif0'", err)
    _, err = g:msg(".:p", "open", { file = mixed, format = "cap" })
    assert.matches("format is \"pcap\" or \"pcapng\"", err)
    g:close()
  end)
end)

describe("the bpf node", function()
  it("sends matches one way and the rest another, counting both", function()
    local g = source(SAMPLE, nil, "bpf")
    assert(g:msg("sink:", "setprogram", { thisHook = "in", ifMatch = "udp",
      ifNotMatch = "other", expr = "udp" }))
    assert(g:mkpeer("sink:", "hole", "udp", "in"))
    assert(g:mkpeer("sink:", "hole", "other", "in"))
    g:msg("src:", "start")
    g:run()
    local want = tcpdump_count(SAMPLE, "udp")
    local st = g:msg("sink:", "getstats", { hook = "in" })
    assert.equal(300, st.recvFrames)
    assert.equal(want, st.recvMatchFrames)
    assert.equal(want, g:msg("sink:udp", "getstats", { hook = "in" }).frames)
    assert.equal(300 - want, g:msg("sink:other", "getstats", { hook = "in" }).frames)
    assert.equal(want, g:msg("sink:", "getstats", { hook = "udp" }).xmitFrames)
    assert.same({ thisHook = "in", ifMatch = "udp", ifNotMatch = "other", expr = "udp", tagMatch = 0 },
      g:msg("sink:", "getprogram", { hook = "in" }))
    g:msg("sink:", "clrstats", { hook = "in" })
    assert.equal(0, g:msg("sink:", "getstats", { hook = "in" }).recvFrames)
    local _, err = g:msg("sink:", "setprogram", { thisHook = "in", expr = "udp port" })
    assert.matches("bad expression 'udp port'", err)
    _, err = g:msg("sink:", "setprogram", { thisHook = "nope", expr = "ip" })
    assert.matches("bpf has no hook 'nope'", err)
    g:close()
  end)

  it("compiles per link type; an expression that cannot apply matches nothing", function()
    local g = source(H.root .. "/pcaps/raw.pcap", nil, "bpf")
    assert(g:msg("sink:", "setprogram", { thisHook = "in", ifMatch = "m", expr = "vlan" }))
    g:mkpeer("sink:", "hole", "m", "in")
    g:msg("src:", "start")
    g:run()
    local st = g:msg("sink:", "getstats", { hook = "in" })
    assert.equal(0, st.recvMatchFrames)
    assert.equal(100, st.errors)
    assert.matches("'vlan' cannot apply to link type %d+: no VLAN support", H.logs[1])
    g:close()
  end)
end)

describe("timing", function()
  -- arrival times at a Lua node, against the capture's own timestamps
  local function replay(opts)
    local g = H.engine()
    g:define("clock", {
      constructor = function(node) node.at, node.ts = {}, {} end,
      rcvdata = function(node, item)
        node.at[#node.at + 1] = mg.monotime()
        node.ts[#node.ts + 1] = item:ts()
      end })
    g:mkpeer("clock", "c", "x")
    g:mkpeer(".:c", "pcap", "in", "out")
    local o = { file = GAPS }
    for k, v in pairs(opts) do o[k] = v end
    assert(g:msg(".:c.in", "open", o))
    assert(g:msg(".:c.in", "start"))
    g:run()
    local node = g:node(".:c")
    local at, ts = node.at, node.ts
    local st = g:msg(".:c.in", "getstats")
    g:close()
    return at, ts, st
  end

  it("original timing stays within 1 ms of the timestamps", function()
    local best
    for _ = 1, 3 do -- a busy machine may steal the CPU once; not three times
      local at, ts = replay { speed = "original" }
      local max, sum = 0, 0
      for i = 1, #at do
        local want = (ts[i] - ts[1]) / 1e9
        local dev = math.abs((at[i] - at[1]) - want)
        sum = sum + dev
        if dev > max then max = dev end
      end
      local r = { mean = sum / #at, max = max, n = #at }
      if not best or r.max < best.max then best = r end
      if best.max < 0.001 then break end
    end
    print(string.format("\n    original timing: mean %.1f us, max %.1f us over %d packets",
      best.mean * 1e6, best.max * 1e6, best.n))
    assert.equal(60, best.n)
    assert.truthy(best.mean < 0.001, "mean " .. best.mean)
    assert.truthy(best.max < 0.001, "max " .. best.max)
  end)

  it("keeps multiplier, pps and mbps rates within 2%", function()
    local function span(at) return at[#at] - at[1] end
    local function within(what, got, want)
      print(string.format("\n    %s: %.4f s for %.4f s, off by %.2f%%", what, got, want,
        100 * math.abs(got - want) / want))
      assert.truthy(math.abs(got - want) / want < 0.02, got .. " vs " .. want)
    end
    local at, ts = replay { multiplier = 4 }
    within("multiplier 4", span(at), (ts[#ts] - ts[1]) / 1e9 / 4)
    at = replay { pps = 200 }
    within("200 pps", span(at), 59 / 200)
    at = replay { mbps = 0.1 } -- 86-byte packets: 59 * 688 bits / 1e5 bit/s
    within("0.1 Mbps", span(at), 59 * 86 * 8 / 1e5)
  end)
end)

describe("moongraph replay", function()
  local mgr = q(H.moongraph) .. " replay "

  it("writes, filters and loops, with a summary", function()
    local out = os.tmpname() .. ".pcap"
    local o, code = H.run(mgr .. q(SAMPLE) .. " --topspeed -w " .. out .. " -f 'tcp port 80' --loop 2")
    assert.equal(0, code, o)
    local n = tcpdump_count(SAMPLE, "tcp port 80")
    assert.equal(2 * n, tcpdump_count(out))
    assert.matches(2 * n .. " packets, %d+ bytes in [%d.]+ s: %d+ pps, [%d.]+ Mbps, 0 dropped\n$", o)
  end)

  it("leaves a whole file and a summary when interrupted (SIGINT)", function()
    local out, log = os.tmpname() .. ".pcap", os.tmpname()
    -- 300 packets at 100 pps: three seconds; interrupted after about one
    H.execute(mgr .. q(SAMPLE) .. " --pps 100 -w " .. out .. " >" .. log .. " 2>&1 & " ..
      "echo $! >" .. log .. ".pid")
    os.execute("sleep 1")
    local pid = io.open(log .. ".pid"):read("l")
    H.execute("kill -INT " .. pid)
    H.wait(100, function() return H.slurp(log):match("dropped") end)
    local text = H.slurp(log)
    local n = tonumber(text:match("(%d+) packets, %d+ bytes in"))
    assert(n and n > 50 and n < 200, text)
    local got, code = tcpdump_count(out)
    assert.equal(0, code)
    assert.equal(n, got) -- every packet counted is in the file, and it reads to the end
  end)

  it("prints plain progress lines when not on a terminal, a bar on one", function()
    local o, code = H.run(mgr .. q(GAPS) .. " --multiplier 2 --stats 0.2")
    assert.equal(0, code)
    assert.matches("0%.2s: %d+%%, %d+ packets, %d+ bytes, %d+ pps, ETA %d+s\n", o)
    local sf = H.tmpfile("expect 100%\nexpect dropped\nexit 0\n")
    o, code = H.run(H.ptydrive .. " " .. sf .. " -- " .. H.moongraph .. " replay " .. GAPS ..
      " --multiplier 4")
    assert.equal(0, code, o)
    assert.matches("%[#+%.*%]%s+%d+%%%s+%d+ packets%s+%d+ pps%s+ETA %d+s", o)
  end)

  it("exits 2 for bad options and 1 for bad input, naming them", function()
    local o, code = H.run(mgr .. "--pps")
    assert.equal(2, code)
    assert.matches("%-%-pps needs a value", o)
    o, code = H.run(mgr .. q(SAMPLE) .. " --pps 5 --mbps 2")
    assert.equal(2, code)
    assert.matches("choose one of", o)
    o, code = H.run(mgr .. q(SAMPLE) .. " --frob")
    assert.equal(2, code)
    assert.matches("unknown option '%-%-frob'", o)
    o, code = H.run(mgr .. "/nonexistent.pcap")
    assert.equal(1, code)
    assert.matches("cannot open '/nonexistent.pcap'", o)
    o, code = H.run(mgr .. q(SAMPLE) .. " -f 'udp port'")
    assert.equal(1, code)
    assert.matches("bad filter 'udp port'", o)
    o, code = H.run(mgr .. q(SAMPLE) .. " -i nosuchif0")
    assert.equal(1, code)
    assert.matches("cannot send on 'nosuchif0'", o)
  end)
end)

-- A capture whose bytes and time disagree: 40 big packets at once, then a
-- small one every 0.1 s for 2 s.  Its path.
local function lopsided()
  local parts = { string.pack("<I4I2I2i4I4I4I4", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1) }
  local function pkt(us, len)
    local data = H.udp_packet() .. string.rep("x", len - 42)
    parts[#parts + 1] = string.pack("<I4I4I4I4", 1700000000 + us // 1000000, us % 1000000,
      #data, #data) .. data
  end
  for i = 0, 39 do pkt(i * 1000, 1400) end
  for i = 1, 20 do pkt(i * 100000, 60) end
  return H.tmpfile(table.concat(parts), ".pcap")
end

describe("moongraph replay, tcpreplay's way", function()
  local mgr = q(H.moongraph) .. " replay "

  it("takes tcpreplay's short options and --name=value for every long one", function()
    local out = os.tmpname() .. ".pcap"
    local o, code = H.run(mgr .. q(SAMPLE) .. " -t -l 2 -L 450 -w " .. q(out))
    assert.equal(0, code, o)
    assert.equal(450, tcpdump_count(out))
    o, code = H.run(mgr .. q(SAMPLE) .. " --topspeed --loop=2 --limit=450 --write=" .. q(out) ..
      " --filter='udp' --stats=0")
    assert.equal(0, code, o)
    assert.equal(2 * tcpdump_count(SAMPLE, "udp"), tcpdump_count(out))
    for _, opts in ipairs { "-x 8", "--multiplier=8", "-p 2000", "--pps=2000", "-M 50", "--mbps=50" } do
      o, code = H.run(mgr .. q(GAPS) .. " " .. opts .. " --stats 0")
      assert.equal(0, code, opts .. ": " .. o)
      assert.matches("^60 packets", o, opts)
    end
    -- 100 pps for at most 0.3 s
    o, code = H.run(mgr .. q(SAMPLE) .. " -p 100 --duration=0.3")
    assert.equal(0, code, o)
    local n = tonumber(o:match("(%d+) packets, "))
    assert.truthy(n >= 25 and n <= 35, o)
    o, code = H.run(mgr .. q(SAMPLE) .. " --topspeed=1")
    assert.equal(2, code)
    assert.matches("%-%-topspeed takes no value", o)
    o, code = H.run(mgr .. q(SAMPLE) .. " --loop=x")
    assert.equal(2, code)
    assert.matches("%-%-loop: must be a number", o)
  end)

  it("sends several files in order, looping over them all", function()
    local out = os.tmpname() .. ".pcap"
    local o, code = H.run(mgr .. q(GAPS) .. " " .. q(SAMPLE) .. " -t -l 2 -w " .. q(out))
    assert.equal(0, code, o)
    assert.matches("^720 packets", o)
    local stamps = H.run("tcpdump -r " .. q(out) .. " -tt -nn 2>/dev/null | cut -d' ' -f1")
    local list = {}
    for t in stamps:gmatch("[%d.]+") do list[#list + 1] = t end
    local g1 = H.run("tcpdump -r " .. q(GAPS) .. " -tt -nn 2>/dev/null | cut -d' ' -f1"):match("[%d.]+")
    local s1 = H.run("tcpdump -r " .. q(SAMPLE) .. " -tt -nn 2>/dev/null | cut -d' ' -f1"):match("[%d.]+")
    assert.equal(g1, list[1])
    assert.equal(s1, list[61])
    assert.equal(g1, list[361])
    assert.equal(s1, list[421])
    -- a stream cannot be read twice, but preloaded it can
    o, code = H.run("cat " .. q(SAMPLE) .. " | " .. mgr .. q(GAPS) .. " - -t -l 2")
    assert.equal(1, code, o)
    assert.matches("a stream is read once", o)
    o, code = H.run("cat " .. q(SAMPLE) .. " | " .. mgr .. q(GAPS) .. " - -t -l 2 -K -w " .. q(out))
    assert.equal(0, code, o)
    assert.equal(720, tcpdump_count(out))
    o, code = H.run("cat " .. q(SAMPLE) .. " | " .. mgr .. "- --topspeed --loop 3 --preload-pcap")
    assert.equal(0, code, o)
    assert.matches("^900 packets", o)
  end)

  it("writes only the capture on stdout with -w -", function()
    local o, code = H.run(mgr .. q(SAMPLE) .. " -x 100 --stats 0.01 -w - 2>/dev/null | " ..
      "tcpdump --count -r - 2>/dev/null")
    assert.equal(0, code, o)
    assert.matches("^300 packets", o)
  end)

  it("prints no progress lines with --stats 0, on a terminal or not", function()
    local o, code = H.run(mgr .. q(GAPS) .. " -x 4 --stats 0")
    assert.equal(0, code, o)
    assert.matches("^60 packets, %d+ bytes in [%d.]+ s: [^\n]*\n$", o)
    local sf = H.tmpfile("expect dropped\nexit 0\n")
    o, code = H.run(H.ptydrive .. " " .. sf .. " -- " .. H.moongraph .. " replay " .. GAPS ..
      " -x 4 --stats 0")
    assert.equal(0, code, o)
    assert.not_matches("%[#", o)
  end)

  it("says how many packets the filter passed and dropped", function()
    local o, code = H.run(mgr .. q(SAMPLE) .. " -t -l 2 -f 'tcp port 80'")
    assert.equal(0, code, o)
    local n = tcpdump_count(SAMPLE, "tcp port 80")
    assert.matches(string.format("filter 'tcp port 80': %d packets passed, %d dropped\n",
      2 * n, 2 * (300 - n)), o)
  end)

  it("shows progress and time left by the capture's stamps at original timing", function()
    local file = lopsided()
    local o, code = H.run(mgr .. q(file) .. " --stats 0.5")
    assert.equal(0, code, o)
    -- halfway through its 2 s: about half, about a second left, though
    -- nearly all its bytes were sent at once
    local pct, eta = o:match("\n1%.0s: (%d+)%%, %d+ packets, %d+ bytes, %d+ pps, ETA (%d+)s\n")
    assert.is_truthy(pct, o)
    assert.truthy(tonumber(pct) >= 40 and tonumber(pct) <= 60, o)
    assert.equal("1", eta, o)
    local sf = H.tmpfile("expect ETA 1s\nexpect 100%\nexpect dropped\nexit 0\n")
    o, code = H.run(H.ptydrive .. " " .. sf .. " -- " .. H.moongraph .. " replay " .. file)
    assert.equal(0, code, o)
    assert.matches("%[#+%.+%]%s+[45]%d%%%s+%d+ packets%s+%d+ pps%s+ETA 1s", o)
  end)

  it("shows loops done and no time left with --loop 0", function()
    local sf = H.tmpfile("expect loop 3\nsend \\x03\nexpect interrupted\nexit 130\n")
    local o, code = H.run(H.ptydrive .. " " .. sf .. " -- " .. H.moongraph .. " replay " .. GAPS ..
      " -x 8 --loop 0")
    assert.equal(0, code, o)
    assert.matches("%%%s+loop %d+%s+%d+ packets%s+%d+ pps", o)
    assert.not_matches("ETA", o)
  end)
end)

describe("pcap open's arguments", function()
  it("are documented from the table the node parses them with", function()
    local g = H.engine()
    local pcap
    for _, t in ipairs(g:types()) do if t.name == "pcap" then pcap = t end end
    local opts = pcap.commands.open.options
    local names = {}
    for _, o in ipairs(opts) do names[#names + 1] = o.name end
    table.sort(names)
    assert.same({ "bufsize", "burst", "count", "duration", "fanout", "fanout_mode", "file",
      "filter", "iface", "loop", "loopdelay", "mbps", "multiplier", "pps", "promisc", "reader",
      "snaplen", "speed" }, names)
    local doc = H.slurp(H.root .. "/docs/nodes.md")
    assert(g:mkpeer("pcap", "p", "out"))
    for _, o in ipairs(opts) do
      assert.matches("\n| `" .. o.name .. "` | ", doc, 1, true)
      if o.kind == "number" then
        -- its range is the one the node holds to
        local _, err = g:msg(".:p", "open", { file = SAMPLE, [o.name] = o.max * 2 + 1 })
        assert.matches(o.name .. ": must be a number from", err, 1, true)
        if o.min > 0 then
          _, err = g:msg(".:p", "open", { file = SAMPLE, [o.name] = o.min - 1 })
          assert.matches(o.name .. ": must be a number from", err, 1, true)
        end
        if o.name == "fanout" then -- a live interface's
          assert.matches("fanout is for a live interface",
            select(2, g:msg(".:p", "open", { file = SAMPLE, fanout = o.default })))
        else
          assert(g:msg(".:p", "open", { file = SAMPLE, [o.name] = o.default }), o.name)
        end
      end
    end
    -- the default speed is top, as the reference says, unlike replay's
    local speed
    for _, o in ipairs(opts) do if o.name == "speed" then speed = o end end
    assert.equal('"top"', speed.default_text)
    assert.matches("moongraph replay", speed.help)
    g:close()
  end)
end)

describe("the pools", function()
  it("count nothing outstanding after close, with workers and nodes shut down mid-replay", function()
    for round = 1, 3 do
      local g = H.engine { workers = 2 }
      -- src -> tee -> { bpf -> hole, hole }: C nodes, run by the workers
      assert(g:mkpeer("tee", "x", "left"))
      assert(g:name(".:x", "t"))
      assert(g:mkpeer("t:", "pcap", "right2left", "out"))
      assert(g:name("t:right2left", "src"))
      assert(g:mkpeer("t:", "bpf", "left2right", "in"))
      assert(g:name("t:left2right", "f"))
      assert(g:mkpeer("f:", "hole", "match", "in"))
      assert(g:mkpeer("t:", "hole", "right", "in"))
      assert(g:rmhook(".", "x"))
      assert(g:msg("f:", "setprogram", { thisHook = "in", expr = "udp", ifMatch = "match", ifNotMatch = "match" }))
      assert(g:msg("src:", "open", { file = SAMPLE, loop = 1000 }))
      assert(g:msg("src:", "start"))
      -- nodes go while packets are in flight through the workers
      g:after(0.01 * round, function() assert(g:shutdown("f:")) end)
      g:after(0.02 * round, function() assert(g:shutdown("t:")) end)
      g:run(0.1)
      g:close()
      local items, bufs = mg.pools()
      assert.same({ 0, 0 }, { items, bufs }, "round " .. round)
    end
  end)
end)
