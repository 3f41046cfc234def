-- bench_pcap.lua -- how fast captures move: libpcap's raw pcap_next_ex
-- loop, then pcap -> hole, pcap -> bpf(udp) -> hole and
-- pcap -> bpf -> tee -> hole x2, on one core with no workers, over
-- 1M- and 10M-packet captures of mixed traffic (made once, kept in DIR), of
-- 80-byte frames on average, and 10M of 361 bytes (figures tagged 10M361).
-- Beside them, the ceiling (the file read with 256 KiB read() calls and
-- its records walked: pcap_raw -r), and whole processes: moongraph replay
-- --topspeed -w against tcpdump -r -w, with and without a filter, and the
-- replay's peak RSS.
-- Every run is a fresh process, the raw loop's and ours alike: on this
-- kind of machine one process may run 30% slower than the next for
-- reasons of placement, and the best of three sees past that for both.
--   build-release/moongraph scripts/bench/bench_pcap.lua PCAP_RAW DIR [-q]
local mg = require "moongraph"
local raw_prog, dir, quick = arg[1], arg[2], arg[3] == "-q"
assert(raw_prog and dir, "usage: bench_pcap.lua PCAP_RAW DIR [-q] (or --one KIND FILE)")
local self = arg[0]
local host = arg[-1] -- the moongraph that runs this script
local here = debug.getinfo(1, "S").source:match("^@(.*)/scripts/bench/") or "."

local B = dofile(here .. "/scripts/bench/benchlib.lua")
local figure, sh = B.figure, B.sh

local function capture(n) return B.capture(here, dir, n) end

local function raw(path, how)
  local out = sh(string.format("'%s' %s '%s'", raw_prog, how or "", path))
  local n, secs = out:match("packets (%d+) bytes %d+ seconds ([%d.]+)")
  return tonumber(n), tonumber(secs)
end

-- the graphs, each ending in holes; "." holds the first node by its hook
-- "ctl" while the graph is built, the source will feed its hook "in"
local graphs = {}
function graphs.hole(g)
  assert(g:mkpeer("hole", "x", "ctl"))
  return ".:x"
end
function graphs.bpf(g)
  assert(g:mkpeer("bpf", "x", "ctl"))
  assert(g:mkpeer(".:x", "hole", "m", "in"))
  return ".:x"
end
function graphs.tee(g)
  assert(g:mkpeer("bpf", "x", "ctl"))
  assert(g:mkpeer(".:x", "tee", "m", "left"))
  assert(g:mkpeer(".:x.m", "hole", "right", "in"))
  assert(g:mkpeer(".:x.m", "hole", "left2right", "in"))
  return ".:x"
end

local function through(kind, path)
  local g = mg.engine()
  local first = graphs[kind](g)
  -- the source hangs off the graph's first node; "." lets go of it
  assert(g:name(first, "first"))
  assert(g:mkpeer("first:", "pcap", "in", "out"))
  assert(g:rmhook(".", "x"))
  if kind ~= "hole" then -- a program for the hook that now exists
    assert(g:msg("first:", "setprogram",
      { thisHook = "in", ifMatch = "m", ifNotMatch = "", expr = "udp" }))
  end
  assert(g:msg("first:in", "open", { file = path }))
  local st, dt = B.drain(g, "first:in", kind, mg.monotime)
  if kind ~= "hole" then -- the filter did run: a mixed capture is 30% UDP
    local b = g:msg("first:", "getstats", { hook = "in" })
    assert(b.recvMatchFrames * 10 == st.packets * 3,
      kind .. ": " .. b.recvMatchFrames .. " of " .. st.packets .. " matched 'udp'")
  end
  g:close()
  return st.packets, dt
end

-- one run in this process, when asked: "--one KIND FILE"
if raw_prog == "--one" then
  local n, s = through(dir, arg[3])
  print(string.format("packets %d seconds %.6f", n, s))
  return
end

local function fresh(kind, path) return B.fresh(host, self, kind, path) end
local best = B.best

-- seconds of a whole command, and its peak RSS in KiB (GNU time)
local function whole(cmd)
  local t0 = mg.monotime()
  local out = sh("/usr/bin/time -f 'rss %M' " .. cmd .. " 2>&1 >/dev/null")
  return tonumber(out:match("rss (%d+)")), mg.monotime() - t0
end

-- 80-byte frames on average (per-packet costs show), and the issue's
-- 10M capture of 361-byte frames (the disk cache's bandwidth shows)
local runs_of = quick and { { 1000000 } } or
  { { 1000000 }, { 10000000 }, { 10000000, 937, "10M361" } }
for _, r in ipairs(runs_of) do
  local size = r[1]
  local hole_mpps
  local path = B.capture(here, dir, size, r[2])
  local tag = r[3] or (size >= 10000000 and "10M" or "1M")
  raw(path) -- into the page cache
  local runs = 3
  local rn, rs = best(runs, function() return raw(path) end)
  local rmpps = rn / rs / 1e6
  figure("pcap_raw_mpps_" .. tag, rmpps, "Mpps")
  for _, kind in ipairs { "hole", "bpf", "tee" } do
    local n, s = best(runs, function() return fresh(kind, path) end)
    assert(n == rn, string.format("%s read %d packets, raw %d", kind, n, rn))
    local mpps = n / s / 1e6
    figure(string.format("pcap_%s_mpps_%s", kind, tag), mpps, "Mpps")
    figure(string.format("pcap_%s_ratio_%s", kind, tag), mpps / rmpps, "x")
    if kind == "hole" then hole_mpps = mpps end
  end
  local cn, cs = best(runs, function() return raw(path, "-r") end)
  figure("pcap_ceiling_mpps_" .. tag, cn / cs / 1e6, "Mpps")
  figure("pcap_ceiling_ratio_" .. tag, cn / cs / 1e6 / rmpps, "x")
  figure("pcap_hole_of_ceiling_" .. tag, hole_mpps / (cn / cs / 1e6), "x")
  local out = os.tmpname()
  for _, f in ipairs { "", "udp" } do
    local q = f ~= "" and " " .. f or ""
    local _, td = best(runs, function() return whole(string.format("tcpdump -r '%s' -w '%s'%s", path, out, q)) end)
    local rss, rp = best(runs, function()
      return whole(string.format("'%s' replay '%s' --topspeed -w '%s'%s", host, path, out,
        f ~= "" and " -f " .. f or ""))
    end)
    local name = f ~= "" and "_" .. f or ""
    figure(string.format("tcpdump_write%s_s_%s", name, tag), td, "s")
    figure(string.format("replay_write%s_s_%s", name, tag), rp, "s")
    figure(string.format("replay_vs_tcpdump%s_%s", name, tag), td / rp, "x")
    if f == "" then figure("replay_rss_mib_" .. tag, rss / 1024, "MiB") end
  end
  os.remove(out)
end
