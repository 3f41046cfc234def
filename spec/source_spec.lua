-- The source node (ng_source): a queue sent round and round at a rate.
-- Run alone (RUN_SERIAL): one test holds a rate on the wall clock.
local mg = require "moongraph"
local q = H.shell_quote
local SAMPLE = H.root .. "/pcaps/sample.pcap"

-- A source on "." hooks in (its input) and out (its output); what comes
-- out is kept as { ts, first byte }.
local function setup(opts)
  local g = H.engine(opts)
  assert(g:mkpeer("source", "in", "input"))
  assert(g:name(".:in", "src"))
  assert(g:connect(".", "src:", "out", "output"))
  local got = {}
  g:on_data(function(_, item) got[#got + 1] = { item:ts(), item:bytes(1, 1):byte(), item:bytes() } end)
  return g, got
end

local function fill(g, n)
  for i = 1, n do assert(g:send("in", string.rep(string.char(i % 256), 60))) end
  g:run()
end

describe("the source node", function()
  it("holds its rate exactly under the virtual clock, stamping each packet with its time", function()
    local g, got = setup { clock = "virtual" }
    fill(g, 3)
    assert.is_true(g:msg("src:", "setpps", "1000"))
    assert.is_true(g:msg("src:", "start"))
    g:run()
    assert.equal(1, #got) -- the first at once, the rest when the clock moves
    g:advance(2.5)
    g:run()
    assert.equal(2501, #got)
    g:advance(5)
    g:run()
    assert.equal(5001, #got)
    for k, p in ipairs(got) do
      assert.equal((k - 1) * 1000000, p[1])
      assert.equal((k - 1) % 3 + 1, p[2]) -- round and round the queue
    end
    local st = g:msg("src:", "getstats")
    assert.same({ 5001, 5001 * 60, 3, 180, 1000 }, { st.outFrames, st.outOctets, st.queueFrames,
      st.queueOctets, st.maxPps })
    assert.same({ tv_sec = 5, tv_usec = 0 }, st.lastTime)
    assert.same({ tv_sec = 5, tv_usec = 0 }, st.elapsedTime)
    assert.matches("sending; 3 packets queued %(180 bytes%); 5001 sent; 1000 a second", g:status("src:"))
    assert.is_true(g:msg("src:", "stop"))
    g:advance(10)
    g:run()
    assert.equal(5001, #got)
    -- N packets, then it stops; a new rate counts from when it is set
    assert(g:msg("src:", "clrstats"))
    assert(g:msg("src:", "start", 10))
    g:advance(10.004)
    g:run()
    assert.equal(5006, #got)
    assert(g:msg("src:", "setpps", 100))
    g:advance(11)
    g:run()
    assert.equal(5011, #got)
    assert.equal(10004000000 + 5 * 10000000, got[5011][1]) -- 10 ms after the last
    assert.matches("^stopped; 3 packets queued", g:status("src:"))
    st = g:msg("src:", "getstats")
    assert.equal(10, st.outFrames)
    assert.same({ tv_sec = 10, tv_usec = 54000 }, st.endTime)
    g:close()
    local items, bufs = mg.pools()
    assert.same({ 0, 0 }, { items, bufs })
  end)

  it("holds a rate within 1% over 5 s on the wall clock", function()
    local g, got = setup()
    local arrived = {}
    g:on_data(function(_, item)
      got[#got + 1] = item:ts()
      arrived[#arrived + 1] = mg.monotime()
    end)
    fill(g, 2)
    assert(g:msg("src:", "setpps", 2000))
    local t0 = mg.monotime()
    assert(g:msg("src:", "start", 10001)) -- the last is due 5 s after the first
    g:run() -- until it has sent them all
    local dt = mg.monotime() - t0
    assert.equal(10001, #got)
    assert.is_true(math.abs(dt - 5) < 0.05, "took " .. dt .. " s")
    local span = arrived[#arrived] - arrived[1]
    assert.is_true(math.abs(span - 5) < 0.05, "sent over " .. span .. " s")
    -- every second of it within 1% too
    for s = 1, 4 do
      local n = 0
      for _, t in ipairs(arrived) do
        if t >= arrived[1] + s - 1 and t < arrived[1] + s then n = n + 1 end
      end
      assert.is_true(math.abs(n - 2000) <= 20, "second " .. s .. ": " .. n)
    end
    assert.equal(5 * 1000000000, got[#got] - got[1]) -- stamped when due
    g:close()
  end)

  it("replays a capture at top speed through a graph, and embeds the send time", function()
    -- pcap -> source -> pcapout: twice round the sample
    local g = H.engine()
    local out = os.tmpname() .. ".pcap"
    assert(g:mkpeer("source", "s", "input"))
    assert(g:name(".:s", "src"))
    assert(g:mkpeer("src:", "pcapout", "output", "in"))
    assert(g:rmhook(".", "s"))
    assert(g:msg("src:output", "open", { file = out }))
    assert(g:mkpeer("src:", "pcap", "input", "out"))
    assert(g:msg("src:input", "open", { file = SAMPLE }))
    assert(g:msg("src:input", "start"))
    g:run()
    assert.equal(300, g:msg("src:", "getstats").queueFrames)
    assert(g:msg("src:", "start_now", 600))
    g:run()
    assert.equal(600, g:msg("src:", "getstats").outFrames)
    g:close()
    local function dump(f) return (H.run("tcpdump -r " .. q(f) .. " -t -S -nn -vv 2>/dev/null")) end
    local a, b = dump(SAMPLE), dump(out)
    assert.equal(a .. a, b)
    os.remove(out)
    -- the send time at an offset, in packets long enough
    local g2, got = setup { clock = "virtual" }
    g2:advance(1700000000)
    fill(g2, 1)
    assert(g2:send("in", "short"))
    assert.is_true(g2:msg("src:", "settimestamp", "{ offset=4 flags=1 }"))
    assert.equal("{ offset=4 flags=1 }", g2:msg_text("src:", "gettimestamp"))
    assert(g2:msg("src:", "start", 2))
    g2:run()
    local sec, usec = string.unpack(">I4I4", got[1][3], 5)
    assert.same({ 1700000000, 0 }, { sec, usec })
    assert.equal("short", got[2][3])
    g2:close()
  end)

  it("answers its messages in ng_source's form, and names what is wrong", function()
    local g = H.engine()
    assert(g:mkpeer("source", "in", "input"))
    assert(g:name(".:in", "src"))
    local function err(cmd, args)
      local ok, e, name = g:msg("src:", cmd, args)
      assert.is_nil(ok)
      return e, name
    end
    local e, name = err("start")
    assert.matches("start: output is not connected", e)
    assert.equal("ENOTCONN", name)
    assert(g:connect(".", "src:", "out", "output"))
    e, name = err("start_now", 5)
    assert.matches("start_now: no packets queued", e)
    assert.equal("ENOENT", name)
    fill(g, 2)
    assert.matches("start: must be a number from 1 to", err("start", 0))
    assert.matches("start takes a number of packets", err("start", '"many"'))
    assert.matches("setpps: must be a number from 0 to 1e%+?0?8, got %-1", err("setpps", -1))
    assert.matches("setpps takes a number of packets a second", err("setpps"))
    assert.matches("settimestamp: unknown field 'ofset'", err("settimestamp", { ofset = 1 }))
    assert.matches("offset: must be a number from 0 to 65535, got 70000", err("settimestamp", { offset = 70000 }))
    assert.matches("settimestamp takes { offset=42 flags=1 }", err("settimestamp", "3"))
    assert.equal("{ offset=0 flags=0 }", g:msg_text("src:", "gettimestamp"))
    assert.is_true(g:msg("src:", "setpps", 10))
    assert.is_true(g:msg("src:", "start"))
    e, name = err("start")
    assert.matches("start: the source is already sending", e)
    assert.equal("EBUSY", name)
    assert.matches("clrdata: stop the source first", err("clrdata"))
    g:run(0.25)
    local st = g:msg("src:", "getclrstats")
    assert.is_true(st.outFrames >= 2)
    assert.equal(0, g:msg("src:", "getstats").outFrames)
    assert.is_true(g:msg("src:", "stop"))
    assert.is_true(g:msg("src:", "clrdata"))
    assert.is_true(g:msg("src:", "getclrstats").endTime.tv_sec > 0) -- from the clear to the stop
    assert.equal("{ outOctets=0 outFrames=0 queueOctets=0 queueFrames=0 maxPps=10 startTime={ tv_sec=0 tv_usec=0 } " ..
      "endTime={ tv_sec=0 tv_usec=0 } elapsedTime={ tv_sec=0 tv_usec=0 } lastTime={ tv_sec=0 tv_usec=0 } }",
      g:msg_text("src:", "getclrstats"))
    local st2 = mg.parse(g:msg_text("src:", "getstats"))
    assert.same(g:msg("src:", "getstats"), st2)
    e, name = select(2, g:mkpeer("src:", "hole", "other", "in"))
    assert.matches("source has hooks 'input' and 'output', not 'other'", e)
    assert.equal("EINVAL", name)
    -- bounded: 4096 packets, 64 MiB
    fill(g, 4096)
    local ok, e2, n2 = g:send("in", "one too many")
    assert.is_nil(ok)
    assert.matches("source: the queue is full %(4096 packets", e2)
    assert.equal("ENOBUFS", n2)
    assert.equal(1, g:stats("src:").drops.qfull)
    assert(g:msg("src:", "clrdata"))
    local mib = string.rep("x", 1 << 20)
    for _ = 1, 64 do assert(g:send("in", mib)) end
    ok, e2 = g:send("in", "x")
    assert.is_nil(ok)
    assert.matches("67108864 bytes", e2)
    -- a dying node, running and full, frees everything
    assert(g:msg("src:", "start"))
    g:run(0.1)
    assert(g:shutdown("src:"))
    g:run()
    g:close()
    local items, bufs = mg.pools()
    assert.same({ 0, 0 }, { items, bufs })
  end)
end)
