-- tunnel.lua -- two hosts joined over UDP (or TCP): the packets that enter
-- at one end leave at the other, whole, one datagram each (over TCP, one
-- frame each: a 4-byte length, then the packet).
--
--   IN  pcap --right2left--> tee --left--> ksocket inet/dgram/udp ~~> other end
--   OUT pcapout <--right---- tee <-------- ksocket <~~ other end
--
-- Usage: moongraph scripts/examples/tunnel.lua [--tcp] LOCAL REMOTE
--            [-i IN] [-w OUT] [--pps N] [--count N] [--for S]
--   LOCAL, REMOTE  this end's address and the other end's, A.B.C.D:PORT or
--                  [IPV6]:PORT (numbers only: names are not looked up)
--   -i IN      what enters: an interface (captured) or a capture file
--              (replayed once, at its own timing unless --pps)
--   -w OUT     where what arrives goes: an interface (sent on it) or a
--              capture file (timestamps: when each packet arrived)
--   --tcp      over TCP: REMOTE "-" listens on LOCAL and takes the first
--              connection; LOCAL "-" connects from any address
--   --pps N    replay the file at N packets a second
--   --count N  end once N packets have arrived
--   --for S    end after S seconds
-- Without --count or --for it runs until interrupted, or, with a file for
-- IN and no OUT, until the file is sent.  The other host runs the same
-- with LOCAL and REMOTE swapped; for example, to carry a capture from
-- host A (10.0.0.1) to host B (10.0.0.2):
--   B: moongraph tunnel.lua 10.0.0.2:4000 10.0.0.1:4000 -w got.pcap --count 300
--   A: moongraph tunnel.lua 10.0.0.1:4000 10.0.0.2:4000 -i sent.pcap
-- At the end it prints what crossed: "tunnel: S sent, R received, D
-- dropped, E errors".  Exit status 0, 1 for a failure, 2 for bad usage.
local usage = "usage: moongraph tunnel.lua [--tcp] LOCAL REMOTE [-i IN] [-w OUT] [--pps N] " ..
  "[--count N] [--for S]\n"
local o, pos = {}, {}
local i = 1
while arg[i] do
  local a = arg[i]
  if a == "--tcp" then o.tcp = true
  elseif a == "-i" or a == "-w" or a == "--pps" or a == "--count" or a == "--for" then
    o[a:gsub("^%-+", "")], i = arg[i + 1], i + 1
    if not o[a:gsub("^%-+", "")] then io.stderr:write(usage) os.exit(2) end
  elseif a:sub(1, 1) == "-" and a ~= "-" then io.stderr:write(usage) os.exit(2)
  else pos[#pos + 1] = a end
  i = i + 1
end
if #pos ~= 2 then io.stderr:write(usage) os.exit(2) end
local function fail(why) io.stderr:write("tunnel: ", why, "\n") os.exit(1) end
local function check(ok, err, ...) if not ok then fail(err) end return ok, err, ... end
local function number(name, min, max)
  local v = o[name] and tonumber(o[name])
  if o[name] and not (v and v >= min and v <= max) then
    io.stderr:write(string.format("tunnel: --%s is a number from %g to %g, not '%s'\n", name,
      min, max, o[name]))
    os.exit(2)
  end
  return v
end
local pps, count, secs = number("pps", 0.001, 1e9), number("count", 1, 1e15), number("for", 0.001, 1e9)

-- A.B.C.D:PORT as netgraph writes it: inet/A.B.C.D:PORT, inet6/[ADDR]:PORT
local function addr(s)
  if s == "-" then return nil end
  if s:sub(1, 1) == "[" then return "inet6/" .. s, "inet6" end
  return "inet/" .. s, "inet"
end
local localaddr, fam1 = addr(pos[1])
local remote, fam2 = addr(pos[2])
if not (localaddr or remote) or (not o.tcp and not (localaddr and remote)) then
  io.stderr:write(usage) os.exit(2)
end
local family = fam1 or fam2
local function is_iface(name) return io.open("/sys/class/net/" .. name .. "/ifindex") ~= nil end

if not (o.i or o.w) then io.stderr:write(usage) os.exit(2) end

local g = mg.engine()
assert(g:mkpeer("tee", "t", "left2right")) -- "." holds it while we build
assert(g:name(".:t", "tunnel"))
if o.i then
  assert(g:mkpeer("tunnel:", "pcap", "right2left", "out"))
  if is_iface(o.i) then check(g:msg("tunnel:right2left", "open", { iface = o.i }))
  else
    check(g:msg("tunnel:right2left", "open", { file = o.i, pps = pps,
      speed = not pps and "original" or nil }))
  end
end
if o.w then
  assert(g:mkpeer("tunnel:", "pcapout", "right", "in"))
  check(g:msg("tunnel:right", "open", is_iface(o.w) and { iface = o.w } or { file = o.w }))
end

local kind = family .. (o.tcp and "/stream/tcp" or "/dgram/udp")
local sock -- the path of the ksocket that carries the packets
local failed
local function setup(path)
  if not localaddr then return end
  check(g:msg(path, "setopt", { name = "SO_REUSEADDR", value = 1 }))
  check(g:msg(path, "bind", string.format("%q", localaddr)))
end
if o.tcp and not remote then
  -- a listener on "."; the connection that comes is a node of its own,
  -- joined to the tee when it is announced
  assert(g:mkpeer("ksocket", "l", kind))
  setup(".:l")
  check(g:msg(".:l", "listen", 1))
  local function accepted(v)
    sock = string.format("[%x]:", v.nodeid)
    assert(g:connect("tunnel:", sock, "left", "data"))
  end
  g:on_msg(function(_, cmd, v, err)
    if cmd ~= "accept" then return end
    if err then failed = err g:stop() else accepted(v) end
  end)
  local v = check(g:msg(".:l", "accept"))
  if type(v) == "table" then accepted(v) end
else
  sock = "tunnel:left"
  assert(g:mkpeer("tunnel:", "ksocket", "left", kind))
  setup(sock)
  g:on_msg(function(_, cmd, _, err) -- a stream's connect, made or refused, comes later
    if cmd == "connect" and err then failed = err g:stop() end
  end)
  check(g:msg(sock, "connect", string.format("%q", remote)))
end
assert(g:rmhook(".", "t"))

local source_done = not o.i or is_iface(o.i)
if o.i then
  assert(g:msg("tunnel:right2left", "start"))
  if not is_iface(o.i) then g:on_done("tunnel:right2left", function() source_done = true end) end
end
local function stats() return sock and g:msg(sock, "getstats") end
local started = g:now()
g:on_signal("INT", function() g:stop() end)
g:on_signal("TERM", function() g:stop() end)
g:every(0.02, function()
  local s = stats()
  if secs and g:now() - started >= secs then g:stop() end
  if count and s and s.rcvd >= count then g:stop() end
  if s and (s.state == "failed" or s.state == "closed") and not o.w then g:stop() end
  -- a file sent and nothing to wait for: done once it has left
  if source_done and o.i and not o.w and not count and not secs and s and s.queued_bytes == 0 then
    g:stop()
  end
end)
g:run { ["until"] = "stopped" }
local s = stats() or { sent = 0, rcvd = 0, dropped = 0, errors = 0 }
print(string.format("tunnel: %d sent, %d received, %d dropped, %d errors", s.sent, s.rcvd,
  s.dropped, s.errors))
if s.error then print("tunnel: last error: " .. s.error) end
g:close()
if failed then fail(failed) end
if count and s.rcvd < count then fail(string.format("%d packets of %d arrived", s.rcvd, count)) end
