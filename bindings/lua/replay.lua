-- replay.lua -- moongraph replay: a capture file out to a file, an
-- interface or nowhere, at original timing or faster, built from the same
-- nodes a script would use (pcap -> pcapout | hole).  Embedded as mg.replay.
local mg = type(...) == "table" and ... or require "moongraph"

local usage = [[
usage: moongraph replay FILE [-i IFACE | -w OUT] [-f FILTER]
                        [--topspeed | --multiplier X | --pps N | --mbps M]
                        [--loop N] [--stats SECONDS]
  -i IFACE        send the packets on a live interface
  -w OUT          write them to a capture file (.pcapng: pcapng)
  -f FILTER       only packets that match a tcpdump expression
  --topspeed      as fast as possible (default: original timing)
  --multiplier X  original timing, X times faster
  --pps N         N packets a second
  --mbps M        M megabits a second
  --loop N        the file N times (0: until interrupted)
  --stats S       a progress line every S seconds (default 1 when not
                  on a terminal; a progress bar on one)]]

local function parse(args)
  local o = { loop = 1 }
  local i = 1
  local function value(name)
    i = i + 1
    if args[i] == nil then error({ usage = name .. " needs a value" }) end
    return args[i]
  end
  local function number(name, min)
    local v = tonumber(value(name))
    if not v or v < (min or 0) then error({ usage = name .. " needs a number" ..
      (min and min > 0 and " above 0" or "") }) end
    return v
  end
  while i <= #args do
    local a = args[i]
    if a == "-i" then o.iface = value(a)
    elseif a == "-w" then o.out = value(a)
    elseif a == "-f" then o.filter = value(a)
    elseif a == "--topspeed" then o.speed = "top"
    elseif a == "--multiplier" then o.multiplier = number(a, 1e-9)
    elseif a == "--pps" then o.pps = number(a, 1e-9)
    elseif a == "--mbps" then o.mbps = number(a, 1e-9)
    elseif a == "--loop" then o.loop = math.tointeger(number(a)) or error({ usage = "--loop needs a whole number" })
    elseif a == "--stats" then o.stats = number(a, 1e-9)
    elseif a == "-h" or a == "--help" then o.help = true
    elseif a:sub(1, 1) == "-" then error({ usage = "unknown option '" .. a .. "'" })
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
    if o.out or o.iface then
      check(g:msg("sink:", "open", o.out and { file = o.out } or { iface = o.iface }))
    end
    local info = check(g:msg("src:", "open", {
      file = o.file, filter = o.filter, loop = o.loop,
      speed = (o.speed == "top") and "top" or (not (o.multiplier or o.pps or o.mbps) and "original" or nil),
      multiplier = o.multiplier, pps = o.pps, mbps = o.mbps }))
    o.info = info
  end)
  if not ok2 then
    io.stderr:write("moongraph replay: ", type(err) == "table" and err.msg or tostring(err), "\n")
    return 1
  end

  local tty = mg.isatty(1)
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
      io.stdout:write(line)
      io.stdout:flush()
      last_line = line
    elseif not final then
      io.stdout:write(string.format("%.1fs: %d packets, %d bytes, %.0f pps\n", secs,
        s.packets, s.bytes, rate))
      io.stdout:flush()
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
  if o.out then g:msg("sink:", "flush") end
  local s = report(true)
  local secs = (s.elapsed and s.elapsed > 0) and s.elapsed or math.max(clock() - t0, 1e-9)
  if tty and last_line ~= "" then io.stdout:write("\n") end
  local sink = (o.out or o.iface) and g:msg("sink:", "getstats") or {}
  local drops = (s.drops or 0) + (s.ifdrops or 0) + (sink.drops or 0)
  local st = g:stats("src:")
  drops = drops + (st.drops and (st.drops.nopeer + st.drops.qfull) or 0)
  io.stdout:write(string.format(
    "%s%d packets, %d bytes in %.3f s: %.0f pps, %.2f Mbps, %d dropped\n",
    interrupted and "interrupted: " or "", s.packets, s.bytes, secs,
    s.packets / secs, s.bytes * 8 / secs / 1e6, drops))
  g:close()
  return interrupted and 130 or 0
end
