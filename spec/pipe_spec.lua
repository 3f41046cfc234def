-- The pipe node (ng_pipe): bandwidth, delay, loss, queues, on the engine
-- clock; output times checked by tcpdump, to the nanosecond.
local mg = require "moongraph"
local gen = dofile(H.root .. "/pcaps/gen.lua")
local q = H.shell_quote
local T0 = 1700000000 * 1000000000

local function tmp() return os.tmpname() .. ".pcap" end

-- A capture of n frames: frame i is sizes(i) bytes (a UDP frame padded)
-- at times(i) ns; nanosecond precision.
local function capture(n, times, sizes)
  local path = tmp()
  local w = gen.writer(path, 1, true)
  for i = 1, n do
    local p = H.udp_packet(1000 + i % 7, 53)
    p = p .. string.rep("x", sizes(i) - #p)
    w:packet(times(i), p)
  end
  w:close()
  return path
end

-- pcap -> upper pipe lower -> pcapout, under the virtual clock, with cfg;
-- runs the capture, then moves the clock on so that the pipe empties.
local function through(input, cfg, opts)
  opts = opts or {}
  local g = H.engine { clock = "virtual" }
  assert(g:mkpeer("pipe", "p", "lower")) -- "." holds it while we build
  assert(g:name(".:p", "pipe"))
  assert(g:mkpeer("pipe:", "pcap", "upper", "out"))
  assert(g:msg("pipe:upper", "open", { file = input }))
  assert(g:rmhook(".", "p"))
  local out = tmp()
  assert(g:mkpeer("pipe:", "pcapout", "lower", "in"))
  assert(g:msg("pipe:lower", "open", { file = out, precision = "nano" }))
  assert(g:msg("pipe:", "setcfg", cfg))
  assert(g:msg("pipe:upper", "start"))
  g:run()
  local run = g:msg("pipe:", "getrun")
  if not opts.keep then
    g:advance(g:now() + 100)
    g:run()
  end
  local stats = g:msg("pipe:", "getstats")
  if not opts.keep then g:close() end
  return out, stats, run, g
end

-- tcpdump's times, in ns, one a frame
local function times_of(file)
  local out, code = H.run("tcpdump -tt -nn --time-stamp-precision=nano -r " .. q(file) .. " 2>/dev/null")
  assert.equal(0, code)
  local t = {}
  for s, f in out:gmatch("(%d+)%.(%d+) IP") do t[#t + 1] = tonumber(s) * 1000000000 + tonumber(f) end
  return t
end

describe("the pipe node", function()
  it("answers every message, and setcfg's form comes back from getcfg", function()
    local g = H.engine()
    assert(g:mkpeer("pipe", "p", "upper"))
    local cfg = { bandwidth = 2000000, delay = 1500, overhead = 20, header_offset = 4, seed = 7,
      downstream = { BER = 100000, plr = 0.25, queuelen = 10, delaylen = 20, duplicate = 5, drr = 4096, drophead = 1 },
      upstream = { bandwidth = 0, wfq = 1 } }
    assert.is_true(g:msg(".:p", "setcfg", cfg))
    local got = g:msg(".:p", "getcfg")
    assert.same({ 2000000, 1500, 20, 4, 7 }, { got.bandwidth, got.delay, got.overhead, got.header_offset, got.seed })
    assert.same({ bandwidth = 0, BER = 100000, plr = 0.25, queuelen = 10, delaylen = 20, duplicate = 5,
      fifo = 0, drr = 4096, wfq = 0, droptail = 0, drophead = 1 }, got.downstream)
    assert.same({ 0, 1, 0, 1 }, { got.upstream.fifo, got.upstream.wfq, got.upstream.drr, got.upstream.droptail })
    -- getcfg's answer, given back, changes nothing; in ASCII form too
    local text = g:msg_text(".:p", "getcfg")
    assert.is_true(g:msg(".:p", "setcfg", text))
    assert.equal(text, g:msg_text(".:p", "getcfg"))
    assert.is_true(g:msg(".:p", "setcfg", got))
    assert.same(got, g:msg(".:p", "getcfg"))
    -- -1 turns a setting off; different bandwidths show per direction
    assert.is_true(g:msg(".:p", "setcfg", "{ delay=-1 downstream={ BER=-1 plr=-1 bandwidth=5000 } }"))
    got = g:msg(".:p", "getcfg")
    assert.same({ 0, 0, 0, 0.0, 5000, 2000000 }, { got.delay, got.bandwidth, got.downstream.BER,
      got.downstream.plr, got.downstream.bandwidth, got.upstream.bandwidth })
    for _, cmd in ipairs { "getstats", "getclrstats" } do
      local s = g:msg(".:p", cmd)
      assert.same({ FwdOctets = 0, FwdFrames = 0, queueDropOctets = 0, queueDropFrames = 0,
        delayDropOctets = 0, delayDropFrames = 0 }, s.downstream)
      assert.same(s.downstream, s.upstream)
    end
    assert.is_true(g:msg(".:p", "clrstats"))
    for _, cmd in ipairs { "getrun", "getrunstats" } do
      assert.same({ queues = 0, queuedOctets = 0, queuedFrames = 0, delayedOctets = 0, delayedFrames = 0 },
        g:msg(".:p", cmd).upstream)
    end
    g:close()
  end)

  it("names what is wrong in a setcfg, and changes nothing then", function()
    local g = H.engine()
    assert(g:mkpeer("pipe", "p", "upper"))
    local before = g:msg_text(".:p", "getcfg")
    local function bad(args, pattern)
      local ok, err, name = g:msg(".:p", "setcfg", args)
      assert.is_nil(ok)
      assert.equal("EINVAL", name)
      assert.matches(pattern, err)
    end
    bad("{ bandwith=1 }", "setcfg: unknown field 'bandwith'")
    bad("{ downstream={ qlen=5 } }", "setcfg downstream: unknown field 'qlen'")
    bad("{ bandwidth=50 }", "bandwidth: must be a number from 100 to 1e12, got 50")
    bad("{ bandwidth=1e13 }", "bandwidth: must be a number from 100 to 1e12")
    bad("{ delay=20000000 }", "delay: must be a number from 1 to 1e7")
    bad("{ overhead=256 }", "overhead: must be a number from 1 to 255")
    bad("{ header_offset=64 }", "header_offset")
    bad("{ upstream={ queuelen=4 } }", "upstream%.queuelen: must be a number from 5 to 1e6, got 4")
    bad("{ downstream={ duplicate=51 } }", "downstream%.duplicate: must be a number from 1 to 50")
    bad("{ downstream={ plr=1.5 } }", "downstream%.plr: must be a number from 0 to 1, got 1%.5")
    bad("{ downstream={ BER=0.5 } }", "downstream%.BER")
    bad("{ downstream={ queuelen=7.5 } }", "downstream%.queuelen must be a whole number")
    bad("{ downstream={ delaylen=\"x\" } }", "downstream%.delaylen must be a number")
    bad("{ downstream={ fifo=1 wfq=1 } }", "one of fifo, drr and wfq")
    bad("{ delay=100 downstream={ queuelen=1 } }", "queuelen") -- and delay is not set
    bad("7", "setcfg takes")
    assert.equal(before, g:msg_text(".:p", "getcfg"))
    local ok, err = g:mkpeer(".:p", "hole", "middle", "in")
    assert.is_nil(ok)
    assert.matches("pipe has hooks 'upper' and 'lower', not 'middle'", err)
    ok, err = g:msg(".:p", "setconf", {})
    assert.is_nil(ok)
    assert.matches("setconf", err)
    g:close()
  end)

  it("moves each frame on by its wait, its time on the wire and the delay, exactly (tcpdump -tt)", function()
    -- 10 Mbit/s, 40 ms, Ethernet's 24 bytes of overhead: a 1000-byte
    -- frame takes 819.2 us, so frames 100 us apart queue behind each other
    local n = 200
    local function at(i) return T0 + (i - 1) * 100000 + (i % 3) * 7 end
    local function size(i) return 60 + (i * 37) % 1400 end
    local input = capture(n, at, size)
    local out, stats = through(input, { bandwidth = 10000000, delay = 40000, downstream = { queuelen = 1000 } })
    local link, frac, bw, want = 0, 0, 10000000, {}
    for i = 1, n do -- the reference: integer ns, the division's remainder carried
      if at(i) > link then link, frac = at(i), 0 end
      local num = (size(i) + 24) * 8 * 1000000000 + frac
      link, frac = link + num // bw, num % bw
      want[i] = link + 40000000
    end
    assert.same(want, times_of(out))
    assert.equal(n, stats.downstream.FwdFrames)
    -- the bytes are the input's
    local function hex(f) return (H.run("tcpdump -nn -xx -r " .. q(f) .. " 2>/dev/null | grep -v '^[0-9]'")) end
    assert.equal(hex(input), hex(out))
    os.remove(input)
    os.remove(out)
  end)

  it("counts the frames its queue drops when the bandwidth is too low", function()
    local input = capture(1000, function() return T0 end, function() return 100 end)
    for _, how in ipairs { "droptail", "drophead" } do
      local out, stats = through(input, { bandwidth = 100000, downstream = { queuelen = 50, [how] = 1 } })
      -- one on the wire, fifty waiting, the rest dropped
      assert.same({ 949, 949 * 100, 51 }, { stats.downstream.queueDropFrames,
        stats.downstream.queueDropOctets, stats.downstream.FwdFrames })
      local t = times_of(out)
      assert.equal(51, #t)
      assert.equal(T0 + 110 * 8 * 10000, t[1]) -- 100 bytes + 10 (HDLC's) at 100 kbit/s
      os.remove(out)
    end
    os.remove(input)
  end)

  it("loses frames at the rate asked, over 100k frames, the same with the same seed", function()
    local n = 100000
    local input = capture(n, function(i) return T0 + i * 1000 end, function() return 64 end)
    local plr = 0.01
    local out1, s1 = through(input, { seed = 42, downstream = { plr = plr } })
    local lost = s1.downstream.delayDropFrames
    local sd = math.sqrt(n * plr * (1 - plr))
    assert.is_true(math.abs(lost - n * plr) < 5 * sd, "lost " .. lost)
    assert.equal(n - lost, s1.downstream.FwdFrames)
    local out2, s2 = through(input, { seed = 42, downstream = { plr = plr } })
    assert.equal(lost, s2.downstream.delayDropFrames)
    assert.equal(H.slurp(out1), H.slurp(out2)) -- byte for byte
    local out3 = through(input, { seed = 43, downstream = { plr = plr } })
    assert.not_equal(H.slurp(out1), H.slurp(out3))
    -- bit errors: a 64-byte frame + 0 overhead is clean with (1 - 1/ber)^512
    local ber = 51200
    local _, s4 = through(input, { seed = 1, overhead = -1, downstream = { BER = ber } })
    local p = 1 - (1 - 1 / ber) ^ 512
    sd = math.sqrt(n * p * (1 - p))
    assert.is_true(math.abs(s4.downstream.delayDropFrames - n * p) < 5 * sd, "ber lost " .. s4.downstream.delayDropFrames)
    -- duplicates: about 10 % more frames
    local _, s5 = through(input, { seed = 2, downstream = { duplicate = 10 } })
    local extra = s5.downstream.FwdFrames - n
    sd = math.sqrt(n * 0.1 * 0.9) / 0.9
    assert.is_true(math.abs(extra - n / 9) < 6 * sd, "duplicated " .. extra)
    for _, f in ipairs { input, out1, out2, out3 } do os.remove(f) end
  end)

  it("shares the link between flows by DRR and WFQ", function()
    -- two flows, a burst of 100 frames of one, then 10 of the other
    local path = tmp()
    local w = gen.writer(path, 1, true)
    local function frame(src)
      return gen.eth(2, 1, 0x0800, gen.ipv4(string.char(10, 0, 0, src), string.char(10, 0, 0, 9), 17,
        gen.udp(1, 2, string.rep("y", 500))))
    end
    for _ = 1, 100 do w:packet(T0, frame(1)) end
    for _ = 1, 10 do w:packet(T0, frame(2)) end
    w:close()
    for _, sched in ipairs { { drr = 1 }, { wfq = 1 } } do
      sched.queuelen = 200
      local out, _, run = through(path, { bandwidth = 1000000, downstream = sched })
      assert.equal(2, run.downstream.queues)
      local dump = H.run("tcpdump -nn -r " .. q(out) .. " 2>/dev/null")
      local order = {}
      for src in dump:gmatch("IP 10%.0%.0%.(%d)") do order[#order + 1] = src end
      assert.equal(110, #order)
      -- the small flow is not stuck behind the burst: all of it within the first 25
      local seen = 0
      for i = 1, 25 do if order[i] == "2" then seen = seen + 1 end end
      assert.equal(10, seen)
      os.remove(out)
    end
    local out = through(path, { bandwidth = 1000000, downstream = { queuelen = 200 } }) -- FIFO
    assert.matches("^[^\n]*10%.0%.0%.1%.", H.run("tcpdump -nn -r " .. q(out) .. " 2>/dev/null | tail -11"))
    os.remove(out)
    os.remove(path)
  end)

  it("releases every frame it holds when it goes", function()
    local input = capture(500, function(i) return T0 + i end, function() return 200 end)
    local _, _, run, g = through(input, { bandwidth = 1000000, delay = 1000000,
      downstream = { queuelen = 100 } }, { keep = true })
    assert.is_true(run.downstream.queuedFrames + run.downstream.delayedFrames > 50)
    local items = mg.pools()
    assert.is_true(items > 50)
    assert(g:shutdown("pipe:"))
    g:run()
    assert.equal(0, (mg.pools()))
    g:close()
    -- and when the hook its frames go to is removed
    _, _, _, g = through(input, { bandwidth = 1000000, delay = 1000000 }, { keep = true })
    assert(g:rmhook("pipe:", "lower"))
    local s = g:msg("pipe:", "getstats")
    assert.is_true(s.downstream.queueDropFrames > 0)
    assert.equal(0, g:msg("pipe:", "getrun").downstream.queuedFrames)
    g:close()
    assert.same({ 0, 0 }, { mg.pools() })
    os.remove(input)
  end)

  it("holds the engine under the wall clock until its frames are out", function()
    local g = H.engine()
    assert(g:mkpeer("pipe", "p", "upper"))
    assert(g:name(".:p", "pipe"))
    assert(g:mkpeer("pipe:", "hole", "lower", "in"))
    assert(g:msg("pipe:", "setcfg", { delay = 50000 }))
    local t0 = mg.monotime()
    assert(g:send("p", H.udp_packet()))
    g:run()
    assert.is_true(mg.monotime() - t0 >= 0.045)
    assert.equal(1, g:msg("pipe:", "getstats").downstream.FwdFrames)
    g:close()
  end)
end)
