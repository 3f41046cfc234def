-- Numbers a user names have bounds and clear errors; captures at the
-- limits of their formats go in and come out as they were; replay's exit
-- status and output tell the truth about its input and output.
local mg = require "moongraph"
local q = H.shell_quote
local SAMPLE = H.root .. "/pcaps/sample.pcap"
local mgr = q(H.moongraph) .. " replay "

local function le32(v) return string.pack("<I4", v) end

-- A little-endian pcap: magic, snaplen, link type; records { sec, frac, bytes }.
local function pcap(magic, snaplen, linktype, records)
  local t = { string.pack("<I4I2I2i4I4I4I4", magic, 2, 4, 0, 0, snaplen, linktype) }
  for _, r in ipairs(records) do
    t[#t + 1] = string.pack("<I4I4I4I4", r[1], r[2], #r[3], #r[3]) .. r[3]
  end
  return table.concat(t)
end

-- A little-endian pcapng with one Ethernet interface (microseconds) and
-- one enhanced packet block stamped hi:lo.
local function pcapng(hi, lo, data)
  local shb = le32(0x0a0d0d0a) .. le32(28) .. le32(0x1a2b3c4d) .. string.pack("<I2I2", 1, 0) ..
    string.rep("\255", 8) .. le32(28)
  local idb = le32(1) .. le32(20) .. string.pack("<I2I2", 1, 0) .. le32(65535) .. le32(20)
  local pad = (4 - #data % 4) % 4
  local total = 32 + #data + pad
  local epb = le32(6) .. le32(total) .. le32(0) .. le32(hi) .. le32(lo) .. le32(#data) ..
    le32(#data) .. data .. string.rep("\0", pad) .. le32(total)
  return shb .. idb .. epb
end

-- pcap -> sink: the engine, the open reply or nil and the error
local function source(file, opts, sinktype, engine_opts)
  local g = H.engine(engine_opts)
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

local BAD = { 0 / 0, math.huge, -math.huge, -1, 1e300 }
local function show(v) return v ~= v and "nan" or tostring(v) end

describe("numbers out of range", function()
  it("are refused by the pcap source, naming the option and its range", function()
    local g = source(SAMPLE)
    for _, k in ipairs { "snaplen", "multiplier", "pps", "mbps", "loop", "loopdelay", "count",
                         "duration", "burst", "bufsize" } do
      for _, v in ipairs(BAD) do
        local r, err = g:msg("src:", "open", { file = SAMPLE, [k] = v })
        assert(r == nil, k .. "=" .. show(v) .. " was taken")
        assert.matches(k .. ": must be a number from [%de.+-]+ to [%de.+-]+, got ", err)
      end
    end
    local _, err = g:msg("src:", "open", { file = SAMPLE, pps = 0 / 0 })
    assert.matches("pps: must be a number from 0 to 1e9, got nan", err, 1, true)
    -- the engine is well
    assert(g:msg("src:", "open", { file = SAMPLE, pps = 1e9, count = 3 }))
    assert(g:msg("src:", "start"))
    g:run()
    assert.equal(3, g:msg("src:", "getstats").packets)
    g:close()
  end)

  it("are refused by the pcapout sink", function()
    local g = H.engine()
    g:mkpeer("pcapout", "p", "in")
    local out = os.tmpname()
    for _, v in ipairs(BAD) do
      local _, err = g:msg(".:p", "open", { file = out, snaplen = v })
      assert.matches("snaplen: must be a number from", err)
    end
    local _, err = g:msg(".:p", "open", { file = out, linktype = 70000 })
    assert.matches("linktype: must be a number from 0 to 65535, got 70000", err, 1, true)
    g:close()
  end)

  it("are refused by run, every, after and advance", function()
    local g = H.engine()
    local f = function() end
    for _, v in ipairs(BAD) do
      local ok, err = pcall(g.run, g, v)
      assert(not ok, "run(" .. show(v) .. ")")
      assert.matches("must be a number from 0 to", err)
      ok, err = pcall(g.run, g, { ["for"] = v })
      assert(not ok, "run{for=" .. show(v) .. "}")
      ok, err = pcall(g.after, g, v, f)
      assert(not ok, "after(" .. show(v) .. ")")
      assert.matches("must be a number from 0 to", err)
      ok, err = pcall(g.every, g, v, f)
      assert(not ok, "every(" .. show(v) .. ")")
    end
    -- a period too short to be honoured is refused, with the minimum
    local ok, err = pcall(g.every, g, 1e-9, f)
    assert(not ok)
    assert.matches("period: must be a number from 0.001 to", err, 1, true)
    assert(g:every(0.001, f)):cancel()
    g:close()
    local v = H.engine { clock = "virtual" }
    for _, x in ipairs(BAD) do
      ok, err = pcall(v.advance, v, x)
      assert(not ok, "advance(" .. show(x) .. ")")
      assert.matches("must be a number from 0 to", err)
    end
    v:advance(4294967296)
    v:close()
  end)

  it("are refused by moongraph replay, exit 2", function()
    for _, a in ipairs { "--pps nan", "--pps 1e999", "--pps -1", "--mbps 1e300",
                         "--multiplier inf", "--loop 1e18", "--loop -3", "--stats 1e-9",
                         "--stats 1e300" } do
      local o, code = H.run(mgr .. q(SAMPLE) .. " " .. a)
      assert.equal(2, code, a .. ": " .. o)
      assert.matches(a:match("^%S+") .. ": must be a number from", o)
    end
  end)
end)

describe("capture timestamps at their limits", function()
  local data = H.udp_packet()

  it("read and written without overflow (pcapng 2^64-1 units, pcap 2^32-1 s)", function()
    local ng = H.tmpfile(pcapng(0xffffffff, 0xffffffff, data), ".pcapng")
    local p = H.tmpfile(pcap(0xa1b2c3d4, 65535, 1, { { 0xffffffff, 999999, data } }), ".pcap")
    local pn = H.tmpfile(pcap(0xa1b23c4d, 65535, 1, { { 0xffffffff, 0xffffffff, data } }), ".pcap")
    for _, file in ipairs { ng, p, pn } do
      for _, speed in ipairs { "top", "original" } do
        for _, fmt in ipairs { ".pcap", ".pcapng" } do
          local out = os.tmpname() .. fmt
          local g, info = source(file, { speed = speed }, "pcapout",
            speed == "top" and { clock = "virtual" } or nil)
          assert(info, file)
          assert(g:msg("sink:", "open", { file = out }))
          assert(g:msg("src:", "start"))
          g:run()
          assert.equal(1, g:msg("sink:", "getstats").packets)
          g:close()
          local _, code = H.run("tcpdump -r " .. q(out))
          assert.equal(0, code)
          os.remove(out)
        end
      end
    end
  end)

  it("come back out as the file had them, with its snaplen, byte for byte", function()
    for _, bytes in ipairs {
      pcap(0xa1b2c3d4, 96, 1, { { 1700000000, 1000000, data }, { 1700000001, 0xffffffff, data },
        { 0xffffffff, 5, data } }),
      pcap(0xa1b23c4d, 65535, 1, { { 1700000000, 1000000000, data }, { 7, 0xfffffffe, data } }),
      pcap(0xa1b2c3d4, 0, 1, { { 1, 2, data } }),
    } do
      local file = H.tmpfile(bytes, ".pcap")
      local out = os.tmpname() .. ".pcap"
      local o, code = H.run(mgr .. q(file) .. " --topspeed -w " .. q(out))
      assert.equal(0, code, o)
      assert.equal(bytes, H.slurp(out))
    end
  end)
end)

describe("moongraph replay's input and output", function()
  local want = H.run("tcpdump -r " .. q(SAMPLE) .. " -tt -nn -xx 2>/dev/null")
  local function same(out)
    assert.equal(want, (H.run("tcpdump -r " .. q(out) .. " -tt -nn -xx 2>/dev/null")))
  end

  it("reads a stream once: '-', /dev/stdin and a FIFO", function()
    local out = os.tmpname() .. ".pcap"
    local o, code = H.run("cat " .. q(SAMPLE) .. " | " .. mgr .. "- --topspeed -w " .. q(out))
    assert.equal(0, code, o)
    same(out)
    o, code = H.run("cat " .. q(SAMPLE) .. " | " .. mgr .. "/dev/stdin --topspeed -w " .. q(out))
    assert.equal(0, code, o)
    same(out)
    local fifo = os.tmpname()
    os.remove(fifo)
    assert(os.execute("mkfifo " .. q(fifo)))
    H.execute("cat " .. q(SAMPLE) .. " >" .. q(fifo) .. " &")
    o, code = H.run(mgr .. q(fifo) .. " --topspeed -w " .. q(out))
    assert.equal(0, code, o)
    same(out)
    os.remove(fifo)
    -- a stream cannot be read twice
    o, code = H.run("cat " .. q(SAMPLE) .. " | " .. mgr .. "- --topspeed --loop 2")
    assert.equal(1, code, o)
    assert.matches("loop: a stream is read once", o)
  end)

  it("writes to stdout with -w -, the summary on stderr", function()
    local out, log = os.tmpname() .. ".pcap", os.tmpname()
    local _, code = H.run(mgr .. q(SAMPLE) .. " --topspeed -w - >" .. q(out) .. " 2>" .. q(log))
    assert.equal(0, code, H.slurp(log))
    same(out)
    assert.matches("300 packets", H.slurp(log))
  end)

  it("exits 1 for a truncated or corrupt input, naming it, with what was read written whole", function()
    local whole = H.slurp(SAMPLE)
    local cut = H.tmpfile(whole:sub(1, 24 + 2 * 16 + 77 + 75 + 30), ".pcap")
    local out = os.tmpname() .. ".pcap"
    local o, code = H.run(mgr .. q(cut) .. " --topspeed -w " .. q(out))
    assert.equal(1, code, o)
    assert.matches("'" .. cut:gsub("%p", "%%%0") .. "' is truncated", o)
    assert.no.matches("pcap %[", o)
    local n, c2 = H.run("tcpdump --count -r " .. q(out) .. " 2>/dev/null")
    assert.equal(0, c2)
    assert.equal(2, tonumber(n:match("(%d+) packets")))
    local bad = H.tmpfile(whole:sub(1, 24) .. string.pack("<I4I4I4I4", 1, 2, 5000000, 60) ..
      string.rep("x", 100), ".pcap")
    o, code = H.run(mgr .. q(bad) .. " --topspeed")
    assert.equal(1, code, o)
    assert.matches("'" .. bad:gsub("%p", "%%%0") .. "'.*capture length", o)
  end)

  it("exits 1 when the output cannot be written", function()
    local o, code = H.run(mgr .. q(SAMPLE) .. " --topspeed -w /dev/full")
    assert.equal(1, code, o)
    assert.matches("writing '/dev/full': No space left on device", o)
  end)

  it("writes a header-only capture when nothing matches, replacing the old file", function()
    local out = H.tmpfile("old contents, not a capture", ".pcap")
    local o, code = H.run(mgr .. q(SAMPLE) .. " --topspeed -f 'port 1' -w " .. q(out))
    assert.equal(0, code, o)
    assert.equal(H.slurp(SAMPLE):sub(1, 24), H.slurp(out))
    -- a sink told nothing and given nothing still leaves a valid capture
    local g = H.engine()
    g:mkpeer("pcapout", "p", "in")
    local empty = H.tmpfile("old", ".pcap")
    assert(g:msg(".:p", "open", { file = empty }))
    assert(g:msg(".:p", "close"))
    assert.equal(24, #H.slurp(empty))
    g:close()
  end)
end)

describe("pcapout", function()
  it("refuses a link type a pcap file cannot hold, at open, and keeps nothing", function()
    local g = H.engine()
    g:mkpeer("pcapout", "p", "in")
    local out = os.tmpname() .. ".pcap"
    local _, err = g:msg(".:p", "open", { file = out, linktype = 65000, precision = "micro" })
    -- each try to start the file made a libpcap handle and kept the last:
    -- under ASan, LeakSanitizer saw the others
    g:send("p", H.udp_packet(), { linktype = 65000 })
    g:send("p", H.udp_packet(), { linktype = 65000 })
    g:msg(".:p", "close")
    g:close()
    assert.matches("cannot write '.*': a pcap file cannot hold link type 65000", err)
    assert.equal("", H.slurp(out))
  end)
end)
