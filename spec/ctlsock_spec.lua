-- ctlsock_spec.lua -- an engine served on a Unix socket (moongraph -s,
-- g:serve) and driven from other processes (moongraph -c), as ngctl -s
-- drives a running netgraph: the verbs, data both ways, a bpf put in while
-- packets flow with none lost or doubled, and clients that misbehave.
local M = H.moongraph
local POKE = H.build .. "/spec/sockpoke"

-- N UDP packets GAP ms apart; packet i carries i in its first 4 payload
-- bytes and goes to port 1000 when i is odd, 2000 when even.
local function capture(path, n, gap_ms)
  local f = assert(io.open(path, "wb"))
  f:write(string.pack("<I4I2I2i4I4I4I4", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
  local ts = 1700000000 * 1000000
  for i = 1, n do
    local p = H.udp_packet(4000, i % 2 == 1 and 1000 or 2000) .. string.pack(">I4", i)
    f:write(string.pack("<I4I4I4I4", ts // 1000000, ts % 1000000, #p, #p), p)
    ts = ts + gap_ms * 1000
  end
  f:close()
end

-- The sequence numbers in a pcap file written by pcapout (or --dump).
local function seqs(path)
  local s = H.slurp(path)
  local out, off = {}, 25
  if #s < 24 then return out end
  while off + 16 <= #s + 1 do
    local caplen = string.unpack("<I4", s, off + 8)
    local pkt = s:sub(off + 16, off + 15 + caplen)
    if #pkt < caplen then break end
    out[#out + 1] = string.unpack(">I4", pkt, 43)
    off = off + 16 + caplen
  end
  return out
end

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -m 0755 " .. d))
  return d
end

-- A server in the background: its pid; it is killed by stop().
local function start(dir, args)
  local sock = dir .. "/mg.sock"
  H.execute(string.format("%s -s %s %s >%s/server.out 2>&1 & echo $! >%s/pid",
    M, sock, args, dir, dir))
  local pid = H.wait(40, function() return H.slurp(dir .. "/pid"):match("%d+") end)
  assert(H.wait(100, function() return os.execute("test -S " .. sock) end), "no socket at " .. sock)
  return sock, pid
end

local function alive(pid) return os.execute("kill -0 " .. pid .. " 2>/dev/null") end
local function stop(pid) os.execute("kill " .. pid .. " 2>/dev/null") end

local function client(sock, cmd) return H.run(M .. " -c " .. sock .. " " .. cmd) end

-- A served script with a tee "t" and a hub "hub" on its own node, for
-- each test of a describe block; sets the block's dir, sock and pid.
local function served_script(ctx)
  before_each(function()
    ctx.dir = tmpdir()
    local script = H.tmpfile([[
      local g = mg.engine()
      assert(g:mkpeer("tee", "a", "left"))
      assert(g:name(".:a", "t"))
      assert(g:mkpeer("hub", "h", "s"))
      assert(g:name(".:h", "hub"))
      g:run { ["until"] = "stopped" }
    ]], ".lua")
    ctx.sock, ctx.pid = start(ctx.dir, script)
  end)
  after_each(function()
    stop(ctx.pid)
    os.execute("rm -rf " .. ctx.dir)
  end)
end

describe("a served engine", function()
  local ctx = {}
  served_script(ctx)
  it("makes its socket 0600 for its owner", function()
    local out = H.run("stat -c '%a %u' " .. ctx.sock)
    assert.equals("600 " .. H.run("id -u"):match("%d+"), out:match("%d+ %d+"))
  end)

  it("lists its nodes to a client, each client with a socket node of its own", function()
    local out, code = client(ctx.sock, "list")
    assert.equals(0, code)
    assert.matches("There are 4 total nodes:", out)
    assert.matches("Name: t%s+Type: tee", out)
    -- the script's node and this client's: both of type socket
    local n = 0
    for _ in out:gmatch("Type: socket") do n = n + 1 end
    assert.equals(2, n)
    -- and the client's is gone once it is: the next one sees 3 again
    out = client(ctx.sock, "list")
    assert.matches("There are 4 total nodes:", out)
  end)

  it("runs the verbs with ngctl's output and status", function()
    local out, code = client(ctx.sock, "show t:")
    assert.equals(0, code)
    assert.matches("left%s+<unnamed>%s+socket%s+00000001%s+a", out)
    out, code = client(ctx.sock, "mkpeer t: hole right in")
    assert.equals(0, code, out)
    out = client(ctx.sock, "show t:")
    assert.matches("right%s+<unnamed>%s+hole", out)
    out, code = client(ctx.sock, "msg t: getstats")
    assert.equals(0, code)
    out, code = client(ctx.sock, "msg . listnodes") -- the client's own node
    assert.equals(0, code, out)
    assert.matches('Rec\'d response "listnodes" %(%d+%) from "%[%x+%]:":\nArgs:\t{ nodes=%[', out)
    out, code = client(ctx.sock, "msg t: getstats")
    assert.equals(0, code)
    assert.matches('Rec\'d response "getstats" %(%d+%) from "%[2%]:":', out)
    out, code = client(ctx.sock, "shutdown nosuch:")
    assert.equals(1, code)
    assert.matches("nosuch", out)
    out, code = client(ctx.sock, "mkpee t: hole x y")
    assert.equals(1, code)
    assert.matches("unknown command 'mkpee' %(did you mean 'mkpeer'%?%)", out)
  end)

  it("runs no Lua for a client", function()
    local out, code = client(ctx.sock, "'os.exit(3)'")
    assert.equals(1, code)
    assert.matches("not Lua", out)
    assert.is_truthy(alive(ctx.pid))
  end)

  it("takes commands from stdin until one fails, and several clients at once", function()
    local f = H.tmpfile("mkpeer t: hole right in\nbogus\nmkpeer t: hole left2right in\n")
    local out, code = H.run(M .. " -c " .. ctx.sock .. " < " .. f)
    assert.equals(1, code)
    assert.matches("stdin:2", out)
    out = client(ctx.sock, "show t:")
    assert.matches("right%s+<unnamed>%s+hole", out)
    assert.not_matches("left2right", out)
    -- ten clients at once, each naming a node of its own
    local cmds = {}
    for i = 1, 10 do
      cmds[#cmds + 1] = string.format("(%s -c %s mkpeer hub: hole h%d in >%s/c%d 2>&1; echo $? >>%s/c%d) &",
        M, ctx.sock, i, ctx.dir, i, ctx.dir, i)
    end
    H.run(table.concat(cmds, " ") .. " wait")
    for i = 1, 10 do assert.equals("0\n", H.slurp(ctx.dir .. "/c" .. i)) end
    out = client(ctx.sock, "show hub:")
    for i = 1, 10 do assert.matches("h" .. i .. " ", out) end
  end)

  it("sends data both ways through the client's own hooks; --dump writes pcap", function()
    -- a client hooks its node to the tee and writes: the tee counts it
    local f = H.tmpfile("connect . t: x right\nwrite x 1 2 3 4 5\nmsg t: getstats\n")
    local out, code = H.run(M .. " -c " .. ctx.sock .. " < " .. f)
    assert.equals(0, code, out)
    assert.matches("right={ inOctets=5 inFrames=1", out)
    -- one client dumps what reaches its hook on the hub, another writes
    -- into the hub: the packets come out as pcap, tcpdump reads them
    H.execute(string.format("%s -c %s --dump d connect . hub: d a >%s/dump.pcap 2>%s/dump.err & echo $! >%s/dpid",
      M, ctx.sock, ctx.dir, ctx.dir, ctx.dir))
    local dpid = H.wait(40, function() return H.slurp(ctx.dir .. "/dpid"):match("%d+") end)
    assert(H.wait(60, function() return client(ctx.sock, "show hub:"):match("a%s+<unnamed>%s+socket") end))
    local bytes = {}
    for i = 1, #H.udp_packet(7, 9) do bytes[i] = tostring(H.udp_packet(7, 9):byte(i)) end
    local w = H.tmpfile("connect . hub: w b\n" .. string.rep("write w " .. table.concat(bytes, " ") .. "\n", 3))
    out, code = H.run(M .. " -c " .. ctx.sock .. " < " .. w)
    assert.equals(0, code, out)
    assert(H.wait(60, function() return #H.slurp(ctx.dir .. "/dump.pcap") >= 24 + 3 * (16 + 42) end))
    stop(dpid)
    out = H.run("tcpdump -nr " .. ctx.dir .. "/dump.pcap 2>/dev/null")
    local n = 0
    for _ in out:gmatch("10%.0%.0%.1%.7 > 10%.0%.0%.2%.9: UDP") do n = n + 1 end
    assert.equals(3, n, out)
  end)
  it("gives a terminal the REPL's verbs, Tab completing against the engine", function()
    local sf = H.tmpfile(table.concat({
      "expect mg> ", "send sho\\t", "sleep 200", "send  hu\\t", "sleep 200", "send \\n",
      "expect Type: hub", "expect socket", "expect mg> ",
      "send connect . hub: x q\\n", "expect mg> ", "send connect . hub: y r\\n", "expect mg> ",
      "send write y 1 2 3\\n", "expect Rec'd data packet on hook \"x\":",
      "expect 0000:  01 02 03", "send x = 1\\n", "expect not Lua", "expect mg> ", "sleep 100",
      "send \\x04", "exit 0", "" }, "\n"))
    local out, code = H.run(H.ptydrive .. " " .. sf .. " -- " .. M .. " -c " .. ctx.sock)
    assert.equals(0, code, out)
  end)

  it("refuses a command over 64 KiB on the client's side, and names why it was dropped", function()
    local out, code = client(ctx.sock, string.rep("x", 70000))
    assert.equals(1, code)
    assert.matches("a command of 70000 bytes is over the limit of 65536", out)
    -- a client whose node is shut down is told so when it next speaks
    local f = H.tmpfile("shutdown .\nlist\n")
    out, code = H.run(M .. " -c " .. ctx.sock .. " < " .. f)
    assert.equals(1, code)
    assert.matches("the engine hung up: this client's socket node was shut down", out)
  end)
end)

describe("the REPL served", function()
  it("moongraph -s PATH on a terminal serves the REPL's engine", function()
    local dir = tmpdir()
    finally(function() os.execute("rm -rf " .. dir) end)
    local sf = H.tmpfile("expect mg> \nsend mkpeer . tee a left\\n\nexpect mg> \nsleep 1500\n" ..
      "send \\x04\nexit 0\n")
    H.execute(string.format("%s %s -- %s -s %s/s >%s/pty 2>&1 &", H.ptydrive, sf, M, dir, dir))
    assert(H.wait(100, function() return os.execute("test -S " .. dir .. "/s") end))
    assert(H.wait(20, function() return client(dir .. "/s", "list"):match("Type: tee") end))
    -- the REPL leaves, and the socket with it
    assert(H.wait(100, function() return not os.execute("test -S " .. dir .. "/s") end))
  end)
end)

describe("a replay served at original timing", function()
  it("takes a bpf between two nodes while packets flow, losing and doubling none", function()
    local dir = tmpdir()
    local N = 300
    capture(dir .. "/in.pcap", N, 10) -- 3 s
    local sock, pid = start(dir, "replay " .. dir .. "/in.pcap -w " .. dir .. "/out.pcap")
    finally(function() stop(pid); os.execute("rm -rf " .. dir) end)
    local out, code = client(sock, "list")
    assert.equals(0, code, out)
    assert.matches("Name: src%s+Type: pcap", out)
    assert.matches("Name: sink%s+Type: pcapout", out)
    -- its counters grow
    local a = tonumber(client(sock, "stats src:"):match("out=(%d+)"))
    os.execute("sleep 0.4")
    local b = tonumber(client(sock, "stats src:"):match("out=(%d+)"))
    assert.is_true(b > a, a .. " then " .. b)
    -- the bpf: made on the sink's side, put in the source's way, its
    -- program set; one request, run together, so that no packet comes
    -- between (none lost while src has no peer, none through the bpf
    -- before it has its program)
    local f = H.tmpfile(table.concat({
      "mkpeer sink: bpf in2 match",
      "name sink:in2 filt",
      "rmhook src: out",
      "connect src: filt: out in",
      'msg filt: setprogram { thisHook="in" ifMatch="match" ifNotMatch="" expr="udp dst port 1000" }',
      "" }, "\n"))
    out, code = H.run(M .. " -c " .. sock .. " -f " .. f)
    assert.equals(0, code, out)
    out = client(sock, "show filt:")
    assert.matches("in%s+src%s+pcap", out)
    assert.matches("match%s+sink%s+pcapout", out)
    assert(H.wait(200, function() return not alive(pid) end), "the replay did not end")
    -- every packet before the bpf, then the odd ones only, each once
    local got = seqs(dir .. "/out.pcap")
    local k = 1
    while got[k] == k do k = k + 1 end
    assert.is_true(k > 20 and k < N, "the change came at packet " .. k)
    local want = {}
    for i = 1, k - 1 do want[#want + 1] = i end
    for i = k, N do if i % 2 == 1 then want[#want + 1] = i end end
    assert.same(want, got)
  end)
end)

describe("a client that misbehaves", function()
  local ctx = {}
  served_script(ctx)

  local function still_serves()
    local out, code = client(ctx.sock, "list")
    assert.equals(0, code, out)
    assert.matches("There are 4 total nodes", out) -- no client's node left behind
  end

  it("sending garbage is refused by name and dropped", function()
    local out = H.run(POKE .. " " .. ctx.sock .. " garbage")
    assert.matches("\nE a frame of %d+ bytes is over the limit of 65536 bytes\nend", out)
    still_serves()
  end)

  it("announcing a 1 GiB command is refused at its header", function()
    local t0 = require("moongraph").monotime()
    local out = H.run(POKE .. " " .. ctx.sock .. " huge")
    assert.matches("E a frame of 1073741824 bytes is over the limit of 65536 bytes", out)
    assert.is_true(require("moongraph").monotime() - t0 < 5)
    still_serves()
  end)

  it("a frame of no known type is refused", function()
    local out = H.run(POKE .. " " .. ctx.sock .. " type")
    assert.matches("E a frame of unknown type 0x5a", out)
    still_serves()
  end)

  it("going away mid-frame, or holding half a frame, stalls nobody", function()
    H.run(POKE .. " " .. ctx.sock .. " half")
    H.execute(POKE .. " " .. ctx.sock .. " hold 3 >/dev/null &")
    os.execute("sleep 0.2")
    local out, code = client(ctx.sock, "list")
    assert.equals(0, code)
    assert.matches("There are 5 total nodes", out) -- the holder's node is there
    assert(H.wait(100, function() return client(ctx.sock, "list"):match("There are 4 total") end))
  end)

  it("a data frame goes out of the client's hook; a malformed one drops the client", function()
    local out = H.run(POKE .. " " .. ctx.sock .. " data 'connect . hub: k pk' k")
    assert.matches("R 0", out)
    assert.matches("E a data frame's hook name of 0 bytes is empty", out)
    -- the hub took it in (by the client's hook, gone with the client) and
    -- sent it to the script's node
    out = client(ctx.sock, "stats hub:")
    assert.matches("^{ in=1 out=1 ", out)
    assert.matches("s={ in=0 out=1 }", out)
    still_serves()
  end)

  it("a client that does not read loses packets, not the engine", function()
    H.execute(POKE .. " " .. ctx.sock .. " deaf 60 'connect . hub: z deaf' & echo $! >" .. ctx.dir .. "/deaf")
    local deaf = H.wait(40, function() return H.slurp(ctx.dir .. "/deaf"):match("%d+") end)
    finally(function() stop(deaf) end)
    assert(H.wait(60, function() return client(ctx.sock, "show hub:"):match("deaf%s+<unnamed>%s+socket") end))
    local id = client(ctx.sock, "show hub:"):match("deaf%s+<unnamed>%s+socket%s+(%x+)")
    local big = H.tmpfile(string.rep("\x55", 8192))
    local f = H.tmpfile("connect . hub: w src\n" .. string.rep("write w -f " .. big .. "\n", 700))
    local t0 = require("moongraph").monotime()
    local out, code = H.run(M .. " -c " .. ctx.sock .. " < " .. f)
    assert.equals(0, code, out)
    assert.is_true(require("moongraph").monotime() - t0 < 30)
    -- 5.6 MB sent to a client reading nothing: past 4 MiB they are dropped
    out = client(ctx.sock, "stats [" .. id .. "]:")
    local qfull = tonumber(out:match("qfull=(%d+)"))
    assert.is_true(qfull and qfull > 0, out)
    stop(deaf) -- and when it goes, its node goes
    assert(H.wait(100, function() return client(ctx.sock, "list"):match("There are 4 total") end))
  end)

  it("a command of another user is refused (root aside)", function()
    if H.run("id -u"):match("%d+") ~= "0" then
      pending("needs root, to run a client as nobody")
      return
    end
    -- the socket's mode keeps others out first
    local out, code = H.run("setpriv --reuid=nobody --regid=nogroup --clear-groups " ..
      M .. " -c " .. ctx.sock .. " list")
    assert.equals(1, code)
    assert.matches("cannot attach to .*Permission denied", out)
    -- and with the mode opened by mistake, SO_PEERCRED does
    os.execute("chmod 0666 " .. ctx.sock .. "; chmod 0755 " .. ctx.dir)
    out, code = H.run("setpriv --reuid=nobody --regid=nogroup --clear-groups " ..
      M .. " -c " .. ctx.sock .. " list")
    assert.equals(1, code)
    assert.matches("permission denied: the engine serves its owner %(uid 0%) and root, not uid %d+", out)
    still_serves()
  end)
end)
