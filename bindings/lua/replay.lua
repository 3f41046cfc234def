-- replay.lua -- moongraph replay: a capture file out to a file, an
-- interface or nowhere, at original timing or faster, built from the same
-- nodes a script would use (pcap -> pcapout | hole).  Embedded as mg.replay.
local mg = type(...) == "table" and ... or require "moongraph"

local usage = [[
usage: moongraph replay FILE|- ... [-i IFACE | -w OUT|-] [-f FILTER]
                        [-t | -x X | -p N | -M M] [-l N] [-L N] [-K]
                        [--duration S] [--stats S]
  -i, --intf1 IFACE     send the packets on a live interface
  -w, --write OUT       write them to a capture file (.pcapng: pcapng; -: stdout)
  -f, --filter FILTER   only packets that match a tcpdump expression
  -t, --topspeed        as fast as possible (default: original timing)
  -x, --multiplier X    original timing, X times faster (0.001 to 1e6)
  -p, --pps N           N packets a second (0.001 to 1e9)
  -M, --mbps M          M megabits a second (0.001 to 1e6)
  -l, --loop N          the files N times (0: until interrupted; 1 for a stream)
  -L, --limit N         at most N packets in all (1 to 1e15)
  -K, --preload-pcap    read every file whole into memory before sending
  --duration S          at most S seconds of sending (0.001 to 1e9)
  --stats S             a progress line every S seconds, 0.01 to 1e6, or 0 for
                        none (default 1 when not on a terminal; a progress bar
                        on one)
Files are sent one after the other, in order; - reads standard input.  Every
long option may be written --name=VALUE.  Exit status: 0 done, 1 bad input or
output (a capture cut short or corrupt, a write that failed), 2 bad options,
130 interrupted.]]

-- 1e9 rather than 1e+09, as the engine says its ranges
local function fmt(x)
  if x ~= x then return "nan" end
  return (string.format("%g", x):gsub("e([+-])0*(%d)", function(sign, d)
    return "e" .. (sign == "-" and "-" or "") .. d end))
end

-- tcpreplay's names: short, long, and whether a value follows
local options = {
  ["-i"] = "iface", ["--intf1"] = "iface", ["-w"] = "out", ["--write"] = "out",
  ["-f"] = "filter", ["--filter"] = "filter", ["-t"] = "topspeed", ["--topspeed"] = "topspeed",
  ["-x"] = "multiplier", ["--multiplier"] = "multiplier", ["-p"] = "pps", ["--pps"] = "pps",
  ["-M"] = "mbps", ["--mbps"] = "mbps", ["-l"] = "loop", ["--loop"] = "loop",
  ["-L"] = "limit", ["--limit"] = "limit", ["-K"] = "preload", ["--preload-pcap"] = "preload",
  ["--duration"] = "duration", ["--stats"] = "stats", ["-h"] = "help", ["--help"] = "help",
}
local flags = { topspeed = true, preload = true, help = true }

local function parse(args)
  local o = { loop = 1, files = {} }
  local i = 1
  local inline -- the value of --name=VALUE
  local function value(name)
    if inline then return inline end
    i = i + 1
    if args[i] == nil then error({ usage = name .. " needs a value" }) end
    return args[i]
  end
  -- every number has a range, so that none reaches the engine absurd
  local function number(name, min, max, zero)
    local s = value(name)
    local v = tonumber(s)
    if not v or not ((v >= min and v <= max) or (zero and v == 0)) then
      error({ usage = string.format("%s: must be a number from %s to %s%s, got %s", name,
        fmt(min), fmt(max), zero and " (or 0)" or "", v and fmt(v) or "'" .. s .. "'") })
    end
    return v
  end
  local function whole(name, min, max)
    local v = number(name, min, max)
    return math.tointeger(v) or error({ usage = name .. " needs a whole number" })
  end
  while i <= #args do
    local a = args[i]
    local name
    name, inline = a:match("^(%-%-[%w-]+)=(.*)$")
    if not name then name, inline = a, nil end
    local opt = options[name]
    if opt and inline and flags[opt] then
      error({ usage = name .. " takes no value" })
    end
    if opt == "iface" then o.iface = value(name)
    elseif opt == "out" then o.out = value(name)
    elseif opt == "filter" then o.filter = value(name)
    elseif opt == "topspeed" then o.speed = "top"
    elseif opt == "multiplier" then o.multiplier = number(name, 0.001, 1e6)
    elseif opt == "pps" then o.pps = number(name, 0.001, 1e9)
    elseif opt == "mbps" then o.mbps = number(name, 0.001, 1e6)
    elseif opt == "loop" then o.loop = whole(name, 0, 1e9)
    elseif opt == "limit" then o.limit = whole(name, 1, 1e15)
    elseif opt == "preload" then o.preload = true
    elseif opt == "duration" then o.duration = number(name, 0.001, 1e9)
    elseif opt == "stats" then o.stats = number(name, 0.01, 1e6, true)
    elseif opt == "help" then o.help = true
    elseif a:sub(1, 1) == "-" and a ~= "-" then error({ usage = "unknown option '" .. a .. "'" })
    else o.files[#o.files + 1] = a end
    i = i + 1
  end
  local n = (o.speed and 1 or 0) + (o.multiplier and 1 or 0) + (o.pps and 1 or 0) + (o.mbps and 1 or 0)
  if n > 1 then error({ usage = "choose one of --topspeed, --multiplier, --pps and --mbps" }) end
  if o.iface and o.out then error({ usage = "-i and -w go to different places: choose one" }) end
  if #o.files == 0 and not o.help then error({ usage = "no capture file given" }) end
  return o
end

local function human(n)
  if n >= 1e9 then return string.format("%.2fG", n / 1e9) end
  if n >= 1e6 then return string.format("%.2fM", n / 1e6) end
  if n >= 1e3 then return string.format("%.1fk", n / 1e3) end
  return string.format("%d", math.floor(n))
end

local function clock()
  return mg.monotime()
end

-- -K: each input read whole first, into a file in memory (/dev/shm when
-- there is one): no disk read while sending, and a stream may loop.
local function preload(files)
  local made = {}
  local dir = io.open("/dev/shm/.") and "/dev/shm" or nil
  for k, f in ipairs(files) do
    local fh, err = (f == "-") and io.stdin or io.open(f, "rb")
    if not fh then return nil, "cannot open '" .. f .. "': " .. tostring(err):gsub("^[^:]*: ", ""), made end
    local data = fh:read("a")
    if fh ~= io.stdin then fh:close() end
    local path = dir and string.format("%s/moongraph-replay-%d-%d", dir,
      math.floor(mg.monotime() * 1e6) % 1000000000, k) or os.tmpname()
    local out = io.open(path, "wb")
    if not out or not out:write(data) then
      return nil, "cannot preload '" .. f .. "' into " .. path, made
    end
    out:close()
    made[#made + 1] = path
    files[k] = path
  end
  return true, nil, made
end

return function(args)
  local ok, o = pcall(parse, args)
  if not ok then
    if type(o) == "table" then
      io.stderr:write("moongraph replay: ", o.usage, "\n", usage, "\n")
      return 2
    end
    error(o, 0)
  end
  if o.help then print(usage); return 0 end

  local names = {} -- what the user called each input, for messages
  for k, f in ipairs(o.files) do names[k] = f end
  local preloaded = {}
  local function cleanup() for _, f in ipairs(preloaded) do os.remove(f) end end
  if o.preload then
    local okp, err, made = preload(o.files)
    preloaded = made
    if not okp then
      cleanup()
      io.stderr:write("moongraph replay: ", err, "\n")
      return 1
    end
  end

  local g <close> = mg.engine()
  -- the nodes' log lines, without their ids: this program is one thing
  g:on_log(function(_, line)
    line = line:gsub("^%w+ %[%x+%]: ", "")
    for k, f in ipairs(o.files) do -- a preloaded copy's name is the user's
      if f ~= names[k] then line = line:gsub(f:gsub("%p", "%%%0"), (names[k]:gsub("%%", "%%%%"))) end
    end
    io.stderr:write("moongraph replay: ", line, "\n")
  end)
  -- with -w -, stdout is the capture: the words go to stderr
  local out = o.out == "-" and io.stderr or io.stdout
  local function check(r, err)
    if r == nil then error({ msg = err }, 0) end
    return r
  end
  local multi = #o.files > 1
  local original = not (o.speed or o.pps or o.mbps)
  local mult = o.multiplier or 1
  -- one file loops in the node; several are opened in turn, each once
  local function open(k, remaining)
    return g:msg("src:", "open", {
      file = o.files[k], filter = o.filter, loop = multi and 1 or o.loop,
      speed = (o.speed == "top") and "top" or (not (o.multiplier or o.pps or o.mbps) and "original" or nil),
      multiplier = o.multiplier, pps = o.pps, mbps = o.mbps,
      count = o.limit, duration = remaining })
  end
  local ok2, err = pcall(function()
    if multi and o.loop ~= 1 then
      for k, f in ipairs(o.files) do
        if f == "-" then check(nil, "loop: a stream is read once ('" .. names[k] ..
          "' cannot be read again; -K reads it into memory first)") end
      end
    end
    -- pcap -> sink, named so that the parts can be found
    check(g:mkpeer((o.out or o.iface) and "pcapout" or "hole", "x", "ctl"))
    check(g:name(".:x", "sink"))
    check(g:mkpeer("sink:", "pcap", "in", "out"))
    check(g:name("sink:in", "src"))
    check(g:rmhook(".", "x")) -- the sink keeps a hook: it stays
    local info = check(open(1, o.duration))
    o.info = info
    -- the file written says what the one read said, even with no packet
    if o.out then
      check(g:msg("sink:", "open", { file = o.out, linktype = info.linktype,
        snaplen = info.snaplen, precision = info.precision }))
    elseif o.iface then
      check(g:msg("sink:", "open", { iface = o.iface }))
    end
  end)
  if not ok2 then
    cleanup()
    io.stderr:write("moongraph replay: ", type(err) == "table" and err.msg or tostring(err), "\n")
    return 1
  end

  local tty = mg.isatty(out == io.stdout and 1 or 2)
  local every = o.stats or (tty and 0.1 or 1)
  local t0 = clock()
  local interrupted, failed = false, nil
  g:on_signal("INT", function() interrupted = true; g:stop() end)
  g:on_signal("TERM", function() interrupted = true; g:stop() end)

  local cur, cycle = 1, 0 -- the file being sent; whole passes over the files done
  -- How far, 0 to 1 (nil with --loop 0), and the seconds left (nil when
  -- not known).  At original timing, by the capture's stamps.
  local function progress(s, secs)
    local loops = multi and cycle or (s.loops or 0)
    local f -- of the file in hand
    if s.done then f = 1
    elseif original and (s.span or 0) > 0 then f = math.min((s.at or 0) / s.span, 1)
    else f = s.progress or 0 end
    if o.loop == 0 then return nil, nil, f, loops end
    local nf = #o.files
    local frac = multi and (cycle * nf + cur - 1 + f) / (nf * o.loop) or (loops + f) / o.loop
    frac = math.min(frac, 1)
    local eta
    if original and not multi and (s.span or 0) > 0 then
      eta = ((o.loop - loops - 1) * s.span + s.span - (s.at or 0)) / mult
      if s.done then eta = 0 end
    elseif frac > 0 then
      eta = secs * (1 - frac) / frac
    end
    return frac, eta, f, loops
  end

  local last_line = ""
  local function report()
    local s = g:msg("src:", "getstats") or {}
    local secs = math.max(clock() - t0, 1e-9)
    local rate = s.packets / secs
    local frac, eta, f, loops = progress(s, secs)
    if tty then
      local width = 30
      local shown = frac or f
      local fill = math.floor(shown * width + 0.5)
      local line = string.format("\r[%s%s] %3d%%  %s%s packets  %s pps%s ",
        string.rep("#", fill), string.rep(".", width - fill), math.floor(shown * 100 + 0.5),
        frac and "" or string.format("loop %d  ", loops + 1),
        human(s.packets), human(rate),
        eta and string.format("  ETA %ds", math.floor(eta + 0.5)) or "")
      out:write(line)
      out:flush()
      last_line = line
    else
      out:write(string.format("%.1fs: %s%d packets, %d bytes, %.0f pps%s\n", secs,
        frac and string.format("%d%%, ", math.floor(frac * 100 + 0.5))
          or string.format("loop %d, ", loops + 1),
        s.packets, s.bytes, rate,
        eta and string.format(", ETA %ds", math.floor(eta + 0.5)) or ""))
      out:flush()
    end
  end

  -- the next file, or the next pass; false when all is sent
  local function advance(s)
    if o.limit and s.packets >= o.limit then return false end
    if o.duration and clock() - t0 >= o.duration then return false end
    if not multi or s.error then return false end
    cur = cur + 1
    if cur > #o.files then
      cycle = cycle + 1
      if o.loop ~= 0 and cycle >= o.loop then cur = #o.files; return false end
      cur = 1
    end
    local info, e = open(cur, o.duration and (o.duration - (clock() - t0)))
    if not info then failed = e; return false end
    if o.out and info.linktype ~= o.info.linktype then
      failed = string.format("'%s' has link type %d (%s), '%s' %d (%s): one capture file " ..
        "cannot hold both", names[cur], info.linktype, info.linkname, names[1],
        o.info.linktype, o.info.linkname)
      return false
    end
    check(g:msg("src:", "start"))
    return true
  end

  -- look often whether it is done; report at the interval asked
  local next_report = every
  g:every(math.min(every > 0 and every or 1, 0.02), function()
    local s = g:msg("src:", "getstats") or {}
    if s.done and not advance(s) then g:stop() return end
    if every > 0 and clock() - t0 >= next_report then
      report()
      next_report = next_report + every
    end
  end)
  check(g:msg("src:", "start"))
  g:run { ["until"] = "stopped" }
  if tty and every > 0 and not interrupted and not failed then report() end -- the bar at its end
  g:msg("src:", "stop")
  -- the file whole, or why not (the sink logged it when it happened)
  local wrote = not o.out or g:msg("sink:", "close") ~= nil
  local s = g:msg("src:", "getstats") or {}
  local secs = (not multi and s.elapsed and s.elapsed > 0) and s.elapsed or math.max(clock() - t0, 1e-9)
  if tty and last_line ~= "" then out:write("\n") end
  if failed then io.stderr:write("moongraph replay: ", failed, "\n") end
  local sink = (o.out or o.iface) and g:msg("sink:", "getstats") or {}
  local drops = (s.drops or 0) + (s.ifdrops or 0) + (sink.drops or 0)
  local st = g:stats("src:")
  drops = drops + (st.drops and (st.drops.nopeer + st.drops.qfull) or 0)
  if o.filter then -- what the filter let through of what was read
    out:write(string.format("filter '%s': %d packets passed, %d dropped\n", o.filter,
      s.packets, s.filtered or 0))
  end
  out:write(string.format(
    "%s%d packets, %d bytes in %.3f s: %.0f pps, %.2f Mbps, %d dropped\n",
    interrupted and "interrupted: " or "", s.packets, s.bytes, secs,
    s.packets / secs, s.bytes * 8 / secs / 1e6, drops))
  g:close()
  cleanup()
  -- a read that stopped early was logged as it happened
  if s.error or failed or not wrote then return 1 end
  return interrupted and 130 or 0
end
