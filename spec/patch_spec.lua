-- The patch node (ng_patch): bytes rewritten at offsets, checksums fixed,
-- checked by tcpdump -vv (which verifies IP, TCP and UDP checksums).
local mg = require "moongraph"
local gen = dofile(H.root .. "/pcaps/gen.lua")
local q = H.shell_quote

local function tcpdump(file, flags)
  return (H.run("tcpdump -r " .. q(file) .. " " .. flags .. " 2>/dev/null"))
end
local function count(s, pat) return select(2, s:gsub(pat, "")) end
local function tmp() return os.tmpname() .. ".pcap" end

local A, B = string.char(10, 0, 0, 1), string.char(10, 0, 0, 2)
local T0 = 1700000000 * 1000000000

-- A capture of these frames (Ethernet), one a microsecond.
local function capture(frames)
  local path = tmp()
  local w = gen.writer(path, 1)
  for i, f in ipairs(frames) do w:packet(T0 + i * 1000, f) end
  w:close()
  return path
end

-- pcap (input) -> in patch out -> pcapout; setup(g) configures "patch:".
local function through(input, setup)
  local g = H.engine()
  local out = tmp()
  assert(g:mkpeer("patch", "p", "in"))
  assert(g:name(".:p", "patch"))
  assert(g:mkpeer("patch:", "pcapout", "out", "in"))
  assert(g:msg("patch:out", "open", { file = out }))
  assert(g:rmhook(".", "p"))
  assert(g:mkpeer("patch:", "pcap", "in", "out"))
  assert(g:msg("patch:in", "open", { file = input }))
  setup(g)
  assert(g:msg("patch:in", "start"))
  g:run()
  local st = g:msg("patch:", "getstats")
  g:close()
  return out, st
end

local function v4frames()
  return {
    gen.eth(2, 1, 0x0800, gen.ipv4(A, B, 17, gen.udp(1234, 53, "query"))),
    gen.eth(2, 1, 0x0800, gen.ipv4(A, B, 6, gen.tcp(40000, 80, 1, 2, 0x18, "GET / HTTP/1.0\r\n"))),
    gen.vlan(2, 1, 10, 0x0800, gen.ipv4(B, A, 17, gen.udp(999, 53, "x"))),
    "short!", -- too short for an Ethernet header: passes unpatched
  }
end

describe("the patch node", function()
  it("takes one from the TTL and moves the port, with correct checksums", function()
    local input = capture(v4frames())
    local out, st = through(input, function(g)
      assert.is_true(g:msg("patch:", "setconfig", '{ count=2 csum_flags=7 relative_offset=1 ops=[ ' ..
        '{ offset=8 length=1 mode=3 value=1 } { offset=22 length=2 mode=1 value=5353 } ] }'))
    end)
    local s = tcpdump(out, "-e -nn -vv")
    assert.equal(3, count(s, "ttl 63"), s)
    assert.equal(0, count(s, "ttl 64"), s)
    assert.matches("10%.0%.0%.1%.1234 > 10%.0%.0%.2%.5353: %[udp sum ok%]", s)
    assert.matches("10%.0%.0%.1%.40000 > 10%.0%.0%.2%.5353: Flags %[P%.%], cksum 0x%x+ %(correct%)", s)
    assert.matches("vlan 10, p 0, ethertype IPv4.-10%.0%.0%.2%.999 > 10%.0%.0%.1%.5353: %[udp sum ok%]", s)
    assert.not_matches("bad", s)
    assert.not_matches("incorrect", s)
    assert.same({ Received = 4, Patched = 3, Dropped = 0 }, st)
    -- the short frame is there, as it was
    assert.matches("%[|ether%]%s+0x0000:  7368 6f72 7421", tcpdump(out, "-e -nn -xx"))
    -- without csum_flags the checksums are left wrong, and tcpdump says so
    out = through(input, function(g)
      assert(g:msg("patch:", "setconfig", { relative_offset = 1, ops = {
        { offset = 8, length = 1, mode = "sub", value = 1 } } }))
    end)
    s = tcpdump(out, "-nn -vv")
    assert.equal(3, count(s, "bad cksum"), s)
    os.remove(input)
    os.remove(out)
  end)

  it("fixes TCP and UDP checksums over IPv6, and works from the first byte", function()
    local s6, d6 = string.pack(">I8I8", 0x20010db800000000, 1), string.pack(">I8I8", 0x20010db800000000, 2)
    local input = capture {
      gen.eth(2, 1, 0x86dd, gen.ipv6(s6, d6, 17, gen.udp(5000, 53, "hello"))),
      gen.eth(2, 1, 0x86dd, gen.ipv6(s6, d6, 6, gen.tcp(40001, 80, 7, 0, 0x02))),
    }
    -- from the first byte: 14 + 40 + 2 is the destination port
    local out = through(input, function(g)
      assert(g:msg("patch:", "setconfig", { csum_flags = 0x600, ops = {
        { offset = 56, length = 2, mode = 2, value = 1000 } } }))
    end)
    local s = tcpdump(out, "-nn -vv")
    assert.matches("2001:db8::1%.5000 > 2001:db8::2%.1053: %[udp sum ok%]", s)
    assert.matches("2001:db8::1%.40001 > 2001:db8::2%.1080: Flags %[S%], cksum 0x%x+ %(correct%)", s)
    assert.not_matches("incorrect", s)
    assert.not_matches("bad", s)
    os.remove(input)
    os.remove(out)
  end)

  it("does every mode at every width, wrapping, and skips ops past the end", function()
    local g = H.engine()
    assert(g:mkpeer("patch", "p", "in"))
    assert(g:connect(".", ".:p", "o", "out"))
    local got
    g:on_data(function(hook, item) got = { hook, item:bytes() } end)
    local function run(ops, data)
      assert.is_true(g:msg(".:p", "setconfig", { ops = ops }))
      got = nil
      assert(g:send("p", data))
      g:run()
      assert.equal("o", got[1])
      return got[2]
    end
    local base = string.rep("\0", 16)
    local function put(s, at, bytes) return s:sub(1, at) .. bytes .. s:sub(at + #bytes + 1) end
    local cases = {
      { 1, 1, 200, string.char(7), string.char(200) },              -- set
      { 2, 1, 200, string.char(100), string.char(44) },             -- add wraps
      { 3, 2, 2, "\0\1", "\xff\xff" },                              -- sub wraps
      { 4, 4, 3, "\0\0\1\0", "\0\0\3\0" },                          -- mul
      { 5, 8, 16, "\0\0\0\0\0\0\1\0", "\0\0\0\0\0\0\0\16" },        -- div
      { 6, 2, 0, "\0\1", "\xff\xff" },                              -- neg
      { 7, 1, 0x0f, "\xab", "\x0b" },                               -- and
      { 8, 1, 0xf0, "\x0b", "\xfb" },                               -- or
      { 9, 4, 0xff00ff00, "\x12\x34\x56\x78", "\xed\x34\xa9\x78" }, -- xor
      { 10, 2, 4, "\x12\x34", "\x23\x40" },                         -- shl
      { 11, 8, 8, "\1\2\3\4\5\6\7\8", "\0\1\2\3\4\5\6\7" },         -- shr
      { 10, 1, 8, "\xff", "\0" },                                   -- shift past the width
      { 2, 8, -1, "\0\0\0\0\0\0\0\1", "\0\0\0\0\0\0\0\0" },         -- -1 is all ones
    }
    for _, c in ipairs(cases) do
      local mode, len, value, before, after = table.unpack(c)
      local r = run({ { offset = 4, length = len, mode = mode, value = value } }, put(base, 4, before))
      assert.equal(put(base, 4, after), r, "mode " .. mode .. " length " .. len)
    end
    -- an op that does not fit is skipped; the others still apply
    assert.is_true(g:msg(".:p", "clrstats"))
    local r = run({ { offset = 15, length = 2, mode = 1, value = 0xffff },
      { offset = 0, length = 1, mode = 1, value = 9 } }, base)
    assert.equal("\9" .. base:sub(2), r)
    assert.equal(1, g:msg(".:p", "getstats").Patched)
    -- nothing fits: not counted as patched
    run({ { offset = 16, length = 1, mode = 1, value = 1 } }, base)
    assert.equal(1, g:msg(".:p", "getclrstats").Patched)
    -- from out, packets go to in as they are; with out gone, in gets its own back
    got = nil
    assert(g:send("o", base))
    g:run()
    assert.same({ "p", base }, got)
    assert(g:rmhook(".", "o"))
    assert(g:send("p", base))
    g:run()
    assert.same({ "p", base }, got)
    g:close()
    local items, bufs = mg.pools()
    assert.same({ 0, 0 }, { items, bufs })
  end)

  it("answers its messages in ng_patch's form, and names what is wrong", function()
    local g = H.engine()
    assert(g:mkpeer("patch", "p", "in"))
    local text = "{ count=2 csum_flags=7 relative_offset=1 ops=[ { offset=8 length=1 mode=3 value=1 } " ..
      "{ offset=22 length=2 mode=1 value=5353 } ] }"
    assert.equal("{ count=0 csum_flags=0 relative_offset=0 ops=[] }", g:msg_text(".:p", "getconfig"))
    assert.is_true(g:msg(".:p", "setconfig", text))
    assert.equal(text, g:msg_text(".:p", "getconfig"))
    local c = g:msg(".:p", "getconfig")
    assert.same(c, mg.parse(mg.format(c)))
    assert.is_true(g:msg(".:p", "setconfig", c)) -- what getconfig says, setconfig takes
    assert.matches("2 ops, csum_flags 0x7, offsets from the network header", g:status(".:p"))
    assert.matches("sub 1 bytes at 8, 1", g:status(".:p"))
    assert.equal("{ Received=0 Patched=0 Dropped=0 }", g:msg_text(".:p", "getstats"))
    assert.is_true(g:msg(".:p", "clrstats"))
    assert.equal(1, g:msg(".:p", "getdlt"))
    assert.is_true(g:msg(".:p", "setdlt", "12"))
    assert.equal(12, g:msg(".:p", "getdlt"))
    local function err(cmd, args)
      local ok, e, name = g:msg(".:p", cmd, args)
      assert.is_nil(ok)
      return e, name
    end
    local e, name = err("setconfig", "{ opz=[] }")
    assert.matches("setconfig: unknown field 'opz' %(it takes { count=", e)
    assert.equal("EINVAL", name)
    assert.matches("setconfig ops%[0%]: unknown field 'len'",
      err("setconfig", { ops = { { offset = 0, len = 1, mode = 1 } } }))
    assert.matches("ops%[0%]%.length: must be 1, 2, 4 or 8, got 3",
      err("setconfig", { ops = { { offset = 0, length = 3, mode = 1 } } }))
    assert.matches("ops%[1%]%.mode: must be a number from 1 to 11, got 12",
      err("setconfig", { ops = { { offset = 0, length = 1, mode = 1 }, { offset = 0, length = 1, mode = 12 } } }))
    assert.matches("ops%[0%]%.mode: no mode 'pow'",
      err("setconfig", { ops = { { offset = 0, length = 1, mode = "pow" } } }))
    assert.matches("ops%[0%]%.offset: must be a number from 0 to 262143, got 262144",
      err("setconfig", { ops = { { offset = 262144, length = 1, mode = 1 } } }))
    assert.matches("ops%[0%]%.value: must be from %-128 to 255 for length 1, got 256",
      err("setconfig", { ops = { { offset = 0, length = 1, mode = 1, value = 256 } } }))
    assert.matches("ops%[0%]: div by 0", err("setconfig", { ops = { { offset = 0, length = 2, mode = "div" } } }))
    assert.matches("ops%[0%] needs offset, length and mode", err("setconfig", { ops = { { offset = 0 } } }))
    assert.matches("count=2 but 1 ops", err("setconfig", { count = 2, ops = { { offset = 0, length = 1, mode = 1 } } }))
    assert.matches("count: must be a number from 0 to 64", err("setconfig", { count = 65 }))
    assert.matches("csum_flags: 0x10 is not among", err("setconfig", { csum_flags = 0x11 }))
    assert.matches("relative_offset: must be a number from 0 to 1, got 2", err("setconfig", { relative_offset = 2 }))
    assert.matches("setconfig: ops must be an array", err("setconfig", { ops = 3 }))
    assert.matches("setdlt takes 1 %(DLT_EN10MB%) or 12 %(DLT_RAW%)", err("setdlt", "5"))
    -- a failed setconfig leaves the old one
    assert.equal(text, g:msg_text(".:p", "getconfig"))
    e, name = select(2, g:mkpeer(".:p", "hole", "middle", "in"))
    assert.matches("patch has hooks 'in' and 'out', not 'middle'", e)
    assert.equal("EINVAL", name)
    -- the node goes with its last hook
    assert(g:rmhook(".", "p"))
    g:run()
    for _, n in ipairs(g:list()) do assert.not_equal("patch", n.type) end
    g:close()
  end)
end)
