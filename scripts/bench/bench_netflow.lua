-- bench_netflow.lua -- flow accounting's cost: packets a second through
-- pcap -> netflow -> hole (NetFlow v9 export) with 100,000 flows active
-- in the cache, as a ratio to pcap -> hole over the same capture in the
-- same run; and `moongraph flows` beside `softflowd -r` on that capture,
-- each a whole process exporting v9 to the same nfcapd on loopback
-- (softflowd with -c none: 1.1.0 otherwise waits in accept() on its
-- control socket and never reads the file).
-- Every figure is the best of three fresh processes, ours and softflowd's
-- alike, in CPU seconds (user and system) rather than wall time: on a
-- shared machine a descheduled run would swamp the difference.  The
-- capture (gen.flowmix: half the packets from 100 heavy flows, half spread
-- over 100,000, no pauses) is made once into DIR.
--   build-release/moongraph scripts/bench/bench_netflow.lua DIR [-q]
local mg = require "moongraph"
local dir, quick = arg[1], arg[2] == "-q"
assert(dir, "usage: bench_netflow.lua DIR [-q] (or --one KIND FILE)")
local self = arg[0]
local host = arg[-1]
local here = debug.getinfo(1, "S").source:match("^@(.*)/scripts/bench/") or "."

local B = dofile(here .. "/scripts/bench/benchlib.lua")
local figure, sh = B.figure, B.sh
local FLOWS = 100000
-- timeouts long enough that every flow seen stays in the cache
local INACTIVE, ACTIVE = 100000, 200000

local function through(kind, path)
  local g = mg.engine { clock = "virtual" }
  if kind == "netflow" then
    assert(g:mkpeer(".", "netflow", "x", "out0"))
    assert(g:mkpeer(".:x", "hole", "export9", "in"))
    assert(g:msg(".:x", "settimeouts", { inactive = INACTIVE, active = ACTIVE }))
  else
    assert(g:mkpeer(".", "hole", "x", "ctl"))
  end
  assert(g:name(".:x", "first"))
  assert(g:mkpeer("first:", "pcap", kind == "netflow" and "iface0" or "in", "out"))
  assert(g:rmhook(".", "x"))
  local src = kind == "netflow" and "first:iface0" or "first:in"
  assert(g:msg(src, "open", { file = path, speed = "top" }))
  local st, dt = B.drain(g, src, kind, os.clock)
  local extra = ""
  if kind == "netflow" then
    local i = g:msg("first:", "info")
    extra = string.format(" flows %d", i["IPv4 records used"] + i["IPv6 records used"])
  end
  g:close()
  return st.packets, dt, extra
end

if dir == "--one" then
  local n, s, extra = through(arg[2], arg[3])
  print(string.format("packets %d seconds %.6f%s", n, s, extra))
  return
end

local n = quick and 1000000 or 3000000
local path = string.format("%s/flowmix-%d.pcap", dir, n)
if not io.open(path) then
  io.stderr:write(string.format("# making %s (once)\n", path))
  sh(string.format("mkdir -p '%s' && lua5.4 '%s/pcaps/gen.lua' flowmix %d '%s.tmp' %d 0 && mv '%s.tmp' '%s'",
    dir, here, n, path, FLOWS, path, path))
end
sh("cat '" .. path .. "' >/dev/null") -- into the page cache

local runs = 3
local out = sh(string.format("'%s' '%s' --one netflow '%s'", host, self, path))
local active = tonumber(out:match("flows (%d+)"))
figure("netflow_active_flows", active, "flows")
local hn, hs = B.best(runs, function() return B.fresh(host, self, "hole", path) end)
local nn, ns = B.best(runs, function() return B.fresh(host, self, "netflow", path) end)
assert(hn == nn and hn == n, string.format("read %d and %d packets of %d", hn, nn, n))
figure("pcap_hole_mpps", hn / hs / 1e6, "Mpps")
figure("netflow_mpps", nn / ns / 1e6, "Mpps")
figure("netflow_vs_hole", (nn / ns) / (hn / hs), "x")
figure("netflow_ns_per_packet", (ns - hs) / n * 1e9, "ns")

-- whole processes into one nfcapd; their CPU seconds (GNU time)
local cdir = os.tmpname()
os.remove(cdir)
sh("mkdir -p " .. cdir .. "/data")
local port = 30000 + math.random(0, 20000)
sh(string.format("nfcapd -w %s/data -p %d -b 127.0.0.1 -B 8000000 -P %s/pid -D >/dev/null 2>&1; sleep 0.5",
  cdir, port, cdir))
local function whole(cmd)
  local out = sh("/usr/bin/time -f 'cpu %U %S' " .. cmd .. " 2>&1 >/dev/null")
  local u, s = out:match("cpu ([%d.]+) ([%d.]+)")
  return n, tonumber(u) + tonumber(s)
end
-- the collector goes whatever happens to the runs
local ok, ours, theirs = pcall(function()
  local _, o = B.best(runs, function()
    return whole(string.format("'%s' flows -v 9 -n 127.0.0.1:%d --inactive %d --active %d '%s'",
      host, port, INACTIVE, ACTIVE, path))
  end)
  local _, t = B.best(runs, function()
    return whole(string.format("softflowd -r '%s' -n 127.0.0.1:%d -v 9 -6 -m 262144 -p %s/sf.pid -c none "
      .. "-t general=%d -t tcp=%d -t udp=%d -t icmp=%d -t maxlife=%d -d", path, port, cdir,
      INACTIVE, INACTIVE, INACTIVE, INACTIVE, ACTIVE))
  end)
  return o, t
end)
sh("kill $(cat " .. cdir .. "/pid); sleep 0.5; rm -rf " .. cdir)
if not ok then error(ours, 0) end
figure("flows_whole_cpu_s", ours, "s")
figure("softflowd_whole_cpu_s", theirs, "s")
figure("flows_vs_softflowd", theirs / ours, "x")
