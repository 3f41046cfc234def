-- replay.lua -- moongraph replay: a capture file out to a file, an
-- interface or nowhere, at original timing or faster, built from the same
-- nodes a script would use (pcap -> pcapout | hole).  Embedded as mg.replay.
local mg = type(...) == "table" and ... or require "moongraph"

local usage = [[
usage: moongraph replay FILE|- [-i IFACE | -w OUT|-] [-f FILTER]
                        [--topspeed | --multiplier X | --pps N | --mbps M]
                        [--loop N] [--stats SECONDS]
  -i IFACE        send the packets on a live interface
  -w OUT          write them to a capture file (.pcapng: pcapng; -: stdout)
  -f FILTER       only packets that match a tcpdump expression
  --topspeed      as fast as possible (default: original timing)
  --multiplier X  original timing, X times faster (0.001 to 1e6)
  --pps N         N packets a second (0.001 to 1e9)
  --mbps M        M megabits a second (0.001 to 1e6)
  --loop N        the file N times (0: until interrupted; 1 for a stream)
  --stats S       a progress line every S seconds, 0.01 to 1e6 (default 1
                  when not on a terminal; a progress bar on one)
FILE - reads standard input.  Exit status: 0 done, 1 bad input or output
(a capture cut short or corrupt, a write that failed), 2 bad options,
130 interrupted.]]

-- 1e9 rather than 1e+09, as the engine says its ranges
local function fmt(x)
  if x ~= x then return "nan" end
  return (string.format("%g", x):gsub("e([+-])0*(%d)", function(sign, d)
    return "e" .. (sign == "-" and "-" or "") .. d end))
end

local function parse(args)
  local o = { loop = 1 }
  local i = 1
  local function value(name)
    i = i + 1
    if args[i] == nil then error({ usage = name .. " needs a value" }) end
    return args[i]
  end
  -- every number has a range, so that none reaches the engine absurd
  local function number(name, min, max)
    local s = value(name)
    local v = tonumber(s)
    if not v or not (v >= min and v <= max) then
      error({ usage = string.format("%s: must be a number from %s to %s, got %s", name,
        fmt(min), fmt(max), v and fmt(v) or "'" .. s .. "'") })
    end
    return v
  end
  while i <= #args do
    local a = args[i]
    if a == "-i" then o.iface = value(a)
    elseif a == "-w" then o.out = value(a)
    elseif a == "-f" then o.filter = value(a)
    elseif a == "--topspeed" then o.speed = "top"
    elseif a == "--multiplier" then o.multiplier = number(a, 0.001, 1e6)
    elseif a == "--pps" then o.pps = number(a, 0.001, 1e9)
    elseif a == "--mbps" then o.mbps = number(a, 0.001, 1e6)
    elseif a == "--loop" then o.loop = math.tointeger(number(a, 0, 1e9)) or error({ usage = "--loop needs a whole number" })
    elseif a == "--stats" then o.stats = number(a, 0.01, 1e6)
    elseif a == "-h" or a == "--help" then o.help = true
    elseif a:sub(1, 1) == "-" and a ~= "-" then error({ usage = "unknown option '" .. a .. "'" })
    elseif not o.file then o.file = a
    else error({ usage = "one capture file at a time ('" .. a .. "' too?)" }) end
    i = i + 1
  end
  local n = (o.speed and 1 or 0) + (o.multiplier and 1 or 0) + (o.pps and 1 or 0) + (o.mbps and 1 or 0)
  if n > 1 then error({ usage = "choose one of --topspeed, --multiplier, --pps and --mbps" }) end
  if o.iface and o.out then error({ usage = "-i and -w go to different places: choose one" }) end
  if not o.file and not o.help then error({ usage = "no capture file given" }) end
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

  local g <close> = mg.engine()
  -- the nodes' log lines, without their ids: this program is one thing
  g:on_log(function(_, line)
    io.stderr:write("moongraph replay: ", (line:gsub("^%w+ %[%x+%]: ", "")), "\n")
  end)
  -- with -w -, stdout is the capture: the words go to stderr
  local out = o.out == "-" and io.stderr or io.stdout
  local function check(r, err)
    if r == nil then error({ msg = err }, 0) end
    return r
  end
  local ok2, err = pcall(function()
    -- pcap -> sink, named so that the parts can be found
    check(g:mkpeer((o.out or o.iface) and "pcapout" or "hole", "x", "ctl"))
    check(g:name(".:x", "sink"))
    check(g:mkpeer("sink:", "pcap", "in", "out"))
    check(g:name("sink:in", "src"))
    check(g:rmhook(".", "x")) -- the sink keeps a hook: it stays
    local info = check(g:msg("src:", "open", {
      file = o.file, filter = o.filter, loop = o.loop,
      speed = (o.speed == "top") and "top" or (not (o.multiplier or o.pps or o.mbps) and "original" or nil),
      multiplier = o.multiplier, pps = o.pps, mbps = o.mbps }))
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
    io.stderr:write("moongraph replay: ", type(err) == "table" and err.msg or tostring(err), "\n")
    return 1
  end

  local tty = mg.isatty(out == io.stdout and 1 or 2)
  local every = o.stats or (tty and 0.1 or 1)
  local t0 = clock()
  local interrupted = false
  g:on_signal("INT", function() interrupted = true; g:stop() end)
  g:on_signal("TERM", function() interrupted = true; g:stop() end)

  local last_line = ""
  local function report(final)
    local s = g:msg("src:", "getstats") or {}
    local secs = math.max(clock() - t0, 1e-9)
    local rate = s.packets / secs
    if tty and not final then
      local frac = s.progress or 0
      if s.done then frac = 1
      elseif o.loop and o.loop > 1 then frac = ((s.loops or 0) + frac) / o.loop end
      local width = 30
      local fill = math.floor(frac * width + 0.5)
      local eta = frac > 0 and secs * (1 - frac) / frac or 0
      local line = string.format("\r[%s%s] %3d%%  %s packets  %s pps  ETA %ds ",
        string.rep("#", fill), string.rep(".", width - fill), math.floor(frac * 100 + 0.5),
        human(s.packets), human(rate), math.floor(eta + 0.5))
      out:write(line)
      out:flush()
      last_line = line
    elseif not final then
      out:write(string.format("%.1fs: %d packets, %d bytes, %.0f pps\n", secs,
        s.packets, s.bytes, rate))
      out:flush()
    end
    return s, secs
  end

  -- look often whether it is done; report at the interval asked
  local next_report = every
  g:every(math.min(every, 0.02), function()
    local s = g:msg("src:", "getstats") or {}
    if s.done then g:stop() return end
    if clock() - t0 >= next_report then
      report(false)
      next_report = next_report + every
    end
  end)
  check(g:msg("src:", "start"))
  g:run { ["until"] = "stopped" }
  if tty and not interrupted then report(false) end -- the bar at its end
  g:msg("src:", "stop")
  -- the file whole, or why not (the sink logged it when it happened)
  local wrote = not o.out or g:msg("sink:", "close") ~= nil
  local s = report(true)
  local secs = (s.elapsed and s.elapsed > 0) and s.elapsed or math.max(clock() - t0, 1e-9)
  if tty and last_line ~= "" then out:write("\n") end
  local sink = (o.out or o.iface) and g:msg("sink:", "getstats") or {}
  local drops = (s.drops or 0) + (s.ifdrops or 0) + (sink.drops or 0)
  local st = g:stats("src:")
  drops = drops + (st.drops and (st.drops.nopeer + st.drops.qfull) or 0)
  out:write(string.format(
    "%s%d packets, %d bytes in %.3f s: %.0f pps, %.2f Mbps, %d dropped\n",
    interrupted and "interrupted: " or "", s.packets, s.bytes, secs,
    s.packets / secs, s.bytes * 8 / secs / 1e6, drops))
  g:close()
  -- a read that stopped early was logged as it happened
  if s.error or not wrote then return 1 end
  return interrupted and 130 or 0
end
