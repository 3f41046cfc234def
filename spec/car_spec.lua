-- The car node (ng_car): colours checked against RFC 2697 and RFC 2698
-- computed here, over the same frame sizes and times.
local mg = require "moongraph"
local gen = dofile(H.root .. "/pcaps/gen.lua")
local q = H.shell_quote
local T0 = 1700000000 * 1000000000

local function tmp() return os.tmpname() .. ".pcap" end

-- n UDP frames of pseudo-random sizes (60..1514) and gaps (0..2 ms)
local function traffic(n, seed)
  local x, t, frames = seed, T0, {}
  local function r(m) x = (x * 1103515245 + 12345) % 2147483648 return x % m end
  for i = 1, n do
    t = t + r(2000000)
    frames[i] = { ts = t, size = 60 + r(1455) }
  end
  local path = tmp()
  local w = gen.writer(path, 1, true)
  for _, f in ipairs(frames) do
    local p = gen.eth(2, 1, 0x0800, gen.ipv4(string.char(10, 0, 0, 1), string.char(10, 0, 0, 2), 17,
      gen.udp(1, 2, string.rep("z", f.size - 42))))
    w:packet(f.ts, p)
  end
  w:close()
  return path, frames
end

-- The markers as the RFCs put them, colour-blind; tokens in bytes * 8e9
-- (bit-nanoseconds), so that the arithmetic is exact.
local BYTE = 8000000000
local function srtcm(frames, cir, cbs, ebs) -- RFC 2697
  local tc, te, last, n = cbs * BYTE, ebs * BYTE, nil, { green = 0, yellow = 0, red = 0 }
  for _, f in ipairs(frames) do
    if last then -- one token at a time: to Tc while below CBS, else to Te while below EBS
      local add = cir * (f.ts - last)
      local room = cbs * BYTE - tc
      if add <= room then tc = tc + add
      else tc = cbs * BYTE; te = math.min(ebs * BYTE, te + add - room) end
    end
    last = f.ts
    local b = f.size * BYTE
    if tc - b >= 0 then n.green = n.green + 1; tc = tc - b
    elseif te - b >= 0 then n.yellow = n.yellow + 1; te = te - b
    else n.red = n.red + 1 end
  end
  return n
end

local function trtcm(frames, cir, pir, cbs, pbs) -- RFC 2698
  local tc, tp, last, n = cbs * BYTE, pbs * BYTE, nil, { green = 0, yellow = 0, red = 0 }
  for _, f in ipairs(frames) do
    if last then
      tc = math.min(cbs * BYTE, tc + cir * (f.ts - last))
      tp = math.min(pbs * BYTE, tp + pir * (f.ts - last))
    end
    last = f.ts
    local b = f.size * BYTE
    if tp - b < 0 then n.red = n.red + 1
    elseif tc - b < 0 then n.yellow = n.yellow + 1; tp = tp - b
    else n.green = n.green + 1; tp = tp - b; tc = tc - b end
  end
  return n
end

-- pcap -> upper car lower -> pcapout under the virtual clock
local function through(input, conf)
  local g = H.engine { clock = "virtual" }
  assert(g:mkpeer("car", "c", "lower"))
  assert(g:name(".:c", "car"))
  assert(g:mkpeer("car:", "pcap", "upper", "out"))
  assert(g:msg("car:upper", "open", { file = input }))
  assert(g:rmhook(".", "c"))
  local out = tmp()
  assert(g:mkpeer("car:", "pcapout", "lower", "in"))
  assert(g:msg("car:lower", "open", { file = out, precision = "nano" }))
  assert(g:msg("car:", "setconf", conf))
  assert(g:msg("car:upper", "start"))
  g:run()
  g:advance(g:now() + 1000)
  g:run()
  local stats = g:msg("car:", "getstats")
  g:close()
  return out, stats.downstream, stats.upstream
end

local function count(file, expr)
  local out = H.run("tcpdump -nn -r " .. q(file) .. " " .. q(expr) .. " 2>/dev/null")
  return select(2, out:gsub("\n", ""))
end

describe("the car node", function()
  it("answers every message, and setconf's form comes back from getconf", function()
    local g = H.engine()
    assert(g:mkpeer("car", "c", "upper"))
    local d = { cbs = 3000, ebs = 6000, cir = 2000000, pir = 4000000, greenAction = 1, yellowAction = 3,
      redAction = 2, mode = 1, opt = 1, greenDscp = 10, yellowDscp = 20, redDscp = 30 }
    assert.is_true(g:msg(".:c", "setconf", { downstream = d }))
    local got = g:msg(".:c", "getconf")
    assert.same(d, got.downstream)
    assert.same({ cbs = 8192, ebs = 8192, cir = 10240, pir = 10240, greenAction = 1, yellowAction = 1,
      redAction = 2, mode = 0, opt = 0, greenDscp = 10, yellowDscp = 12, redDscp = 14 }, got.upstream)
    local text = g:msg_text(".:c", "getconf")
    assert.is_true(g:msg(".:c", "setconf", text))
    assert.equal(text, g:msg_text(".:c", "getconf"))
    -- actions by name too
    assert.is_true(g:msg(".:c", "setconf", '{ upstream={ redAction="mark" greenAction="forward" } }'))
    assert.equal(3, g:msg(".:c", "getconf").upstream.redAction)
    for _, cmd in ipairs { "getstats", "getclrstats" } do
      assert.same({ passed = 0, droped = 0, green = 0, yellow = 0, red = 0, errors = 0 },
        g:msg(".:c", cmd).downstream)
    end
    assert.is_true(g:msg(".:c", "clrstats"))
    g:close()
  end)

  it("names what is wrong in a setconf, and changes nothing then", function()
    local g = H.engine()
    assert(g:mkpeer("car", "c", "upper"))
    local before = g:msg_text(".:c", "getconf")
    local function bad(args, pattern)
      local ok, err, name = g:msg(".:c", "setconf", args)
      assert.is_nil(ok)
      assert.equal("EINVAL", name)
      assert.matches(pattern, err)
    end
    bad("{ sideways={} }", "setconf: unknown field 'sideways'")
    bad("{ upstream={ cbz=1 } }", "setconf upstream: unknown field 'cbz'")
    bad("{ upstream={ cir=1e13 } }", "upstream%.cir")
    bad("{ upstream={ cir=-5 } }", "upstream%.cir: must be a number from 0 to 1e12, got %-5")
    bad("{ downstream={ cbs=2000000000 } }", "downstream%.cbs: must be a number from 0 to 1e9")
    bad("{ downstream={ mode=4 } }", "downstream%.mode: must be a number from 0 to 3, got 4")
    bad("{ downstream={ opt=4 } }", "downstream%.opt")
    bad("{ downstream={ redAction=5 } }", "downstream%.redAction: must be a number from 1 to 3")
    bad('{ downstream={ redAction="paint" } }', "redAction is forward %(1%), drop %(2%) or mark %(3%), not 'paint'")
    bad("{ downstream={ yellowDscp=64 } }", "downstream%.yellowDscp")
    bad("{ downstream={ cbs=0 ebs=0 } }", "downstream: cbs and ebs cannot both be 0")
    bad("{ upstream={ mode=3 cir=0 } }", "upstream%.cir: shaping")
    bad("{ upstream={ mode=1 cir=5000 pir=4000 } }", "upstream%.pir: the peak rate %(4000%) is below")
    bad("{ upstream={ cir=1.5 } }", "upstream%.cir must be a whole number")
    bad("{ downstream={ cbs=100 } upstream={ mode=9 } }", "upstream%.mode") -- downstream not set either
    assert.equal(before, g:msg_text(".:c", "getconf"))
    local ok, err = g:mkpeer(".:c", "hole", "side", "in")
    assert.is_nil(ok)
    assert.matches("car has hooks 'upper' and 'lower', not 'side'", err)
    g:close()
  end)

  it("colours as RFC 2697's single rate three colour marker does", function()
    local input, frames = traffic(3000, 7)
    local want = srtcm(frames, 5500000, 3000, 6000)
    assert.is_true(want.green > 100 and want.yellow > 50 and want.red > 100, mg.format(want))
    local out, s = through(input, { downstream = { mode = 0, cir = 5500000, cbs = 3000, ebs = 6000,
      greenAction = 1, yellowAction = 3, redAction = 2 } })
    assert.same(want, { green = s.green, yellow = s.yellow, red = s.red })
    assert.same({ want.green + want.yellow, want.red, 0 }, { s.passed, s.droped, s.errors })
    -- yellow frames marked AF12 (DSCP 12: tos 0x30), green ones as they were
    assert.equal(want.yellow, count(out, "ip[1] & 0xfc == 48"))
    assert.equal(want.green, count(out, "ip[1] == 0"))
    assert.equal("", (H.run("tcpdump -vv -nn -r " .. q(out) .. " 2>/dev/null | grep -i 'bad cksum'")))
    os.remove(out)
    os.remove(input)
  end)

  it("colours as RFC 2698's two rate three colour marker does, both ways", function()
    local input, frames = traffic(3000, 11)
    local want = trtcm(frames, 1500000, 4000000, 2000, 9000)
    assert.is_true(want.green > 100 and want.yellow > 100 and want.red > 100)
    local conf = { mode = 1, cir = 1500000, pir = 4000000, cbs = 2000, ebs = 9000, redAction = 1 }
    local out, s = through(input, { downstream = conf })
    assert.same(want, { green = s.green, yellow = s.yellow, red = s.red })
    assert.equal(3000, s.passed)
    os.remove(out)
    -- the other way: frames from lower, through the upstream buckets
    local g = H.engine { clock = "virtual" }
    assert(g:mkpeer("car", "c", "upper"))
    assert(g:name(".:c", "car"))
    assert(g:mkpeer("car:", "pcap", "lower", "out"))
    assert(g:msg("car:lower", "open", { file = input }))
    assert(g:msg("car:", "setconf", { upstream = conf }))
    assert(g:msg("car:lower", "start"))
    g:run()
    local st = g:msg("car:", "getclrstats")
    assert.same(want, { green = st.upstream.green, yellow = st.upstream.yellow, red = st.upstream.red })
    assert.equal(0, st.downstream.green)
    assert.equal(0, g:msg("car:", "getstats").upstream.green)
    g:close()
    os.remove(input)
  end)

  it("reads colours back from the DSCP when colour-aware", function()
    local input, frames = traffic(2000, 3)
    local conf = { mode = 0, cir = 2000000, cbs = 3000, ebs = 6000, yellowAction = 3, redAction = 3 }
    local marked, s1 = through(input, { downstream = conf })
    -- a second, colour-aware marker with room for everything keeps the colours
    local out, s2 = through(marked, { downstream = { mode = 0, cir = 1000000000, cbs = 1000000, ebs = 1000000,
      opt = 1, yellowAction = 3, redAction = 3 } })
    assert.same({ s1.green, s1.yellow, s1.red }, { s2.green, s2.yellow, s2.red })
    assert.equal(#frames, s2.passed)
    for _, f in ipairs { input, marked, out } do os.remove(f) end
  end)

  it("shapes: frames that are not green wait for tokens, their times moved on", function()
    local path = tmp()
    local w = gen.writer(path, 1, true)
    for _ = 1, 20 do
      w:packet(T0, gen.eth(2, 1, 0x0800, gen.ipv4(string.char(10, 0, 0, 1), string.char(10, 0, 0, 2), 17,
        gen.udp(1, 2, string.rep("s", 958)))))
    end
    w:close()
    -- 1000-byte frames, 80 kbit/s: one every 100 ms once the 2000 bytes of burst are spent
    local out, s = through(path, { downstream = { mode = 3, cir = 80000, cbs = 2000, ebs = 2000 } })
    assert.same({ 20, 0, 2, 18 }, { s.passed, s.droped, s.green, s.yellow })
    local dump = H.run("tcpdump -tt -nn --time-stamp-precision=nano -r " .. q(out) .. " 2>/dev/null")
    local t = {}
    for sec, frac in dump:gmatch("(%d+)%.(%d+) IP") do t[#t + 1] = tonumber(sec) * 1000000000 + tonumber(frac) end
    assert.equal(20, #t)
    for i = 3, 20 do assert.equal(T0 + (i - 2) * 100000000, t[i]) end
    os.remove(out)
    os.remove(path)
    assert.same({ 0, 0 }, { mg.pools() })
  end)
end)
