-- flows.lua -- moongraph flows: a capture's flows, as softflowd -r finds
-- them, exported to a collector as NetFlow v5, v9 or IPFIX, or printed.
-- Built from the nodes a script would use: pcap -> netflow -> ksocket
-- (or the script's own node, which decodes the datagrams to print them).
-- The engine runs on a virtual clock driven by the capture's timestamps,
-- so the file is read at top speed and the flows, their times and their
-- timeouts are what a replay at the original speed would give.
-- Embedded as mg.flows.
local mg = type(...) == "table" and ... or require "moongraph"

local usage = [[
usage: moongraph flows FILE... [-f FILTER] [-n HOST:PORT] [-v 5|9|10]
                       [--inactive S] [--active S] [--cache N]
  -f, --filter FILTER      only packets that match a tcpdump expression
  -n, --collector HOST:PORT  send the flows there over UDP (as softflowd -n);
                           without it they are printed, one a line
  -v, --version 5|9|10     NetFlow v5 (IPv4 only), v9 (default) or IPFIX
  --inactive S             a flow idle S seconds ends (default 15)
  --active S               a flow ends after S seconds in all (default 1800)
  --cache N                at most N flows at once (default 262144); a packet
                           that would start one more is not accounted
Files are read one after the other, at top speed on the capture's own clock.
Exit status: 0 done, 1 bad input or output, 2 bad options.]]

local options = {
  ["-f"] = "filter", ["--filter"] = "filter", ["-n"] = "collector", ["--collector"] = "collector",
  ["-v"] = "version", ["--version"] = "version", ["--inactive"] = "inactive",
  ["--active"] = "active", ["--cache"] = "cache", ["-h"] = "help", ["--help"] = "help",
}

local function parse(args)
  local o = { files = {}, version = 9 }
  local i = 1
  local inline
  local function value(name)
    if inline then return inline end
    i = i + 1
    if args[i] == nil then error({ usage = name .. " needs a value" }) end
    return args[i]
  end
  local function whole(name, min, max)
    local s = value(name)
    local v = math.tointeger(tonumber(s))
    if not v or v < min or v > max then
      error({ usage = string.format("%s: must be a whole number from %d to %d, got '%s'",
        name, min, max, s) })
    end
    return v
  end
  while i <= #args do
    local a = args[i]
    local name
    name, inline = a:match("^(%-%-[%w-]+)=(.*)$")
    if not name then name, inline = a, nil end
    local opt = options[name]
    if opt == "help" then
      if inline then error({ usage = name .. " takes no value" }) end
      o.help = true
    elseif opt == "filter" then o.filter = value(name)
    elseif opt == "collector" then
      local c = value(name)
      local host, port = c:match("^%[(.+)%]:(%d+)$")
      if not host then host, port = c:match("^([^:]+):(%d+)$") end
      port = math.tointeger(tonumber(port))
      if not host or not port or port < 1 or port > 65535 then
        error({ usage = name .. ": HOST:PORT, with a port from 1 to 65535, not '" .. c .. "'" })
      end
      o.host, o.port = host, port
    elseif opt == "version" then
      o.version = whole(name, 5, 10)
      if o.version ~= 5 and o.version ~= 9 and o.version ~= 10 then
        error({ usage = name .. ": 5, 9 or 10 (IPFIX), not " .. o.version })
      end
    elseif opt == "inactive" then o.inactive = whole(name, 1, 1000000000)
    elseif opt == "active" then o.active = whole(name, 1, 1000000000)
    elseif opt == "cache" then o.cache = whole(name, 1, 10000000)
    elseif a:sub(1, 1) == "-" then error({ usage = "unknown option '" .. a .. "'" })
    else o.files[#o.files + 1] = a end
    i = i + 1
  end
  if #o.files == 0 and not o.help then error({ usage = "no capture file given" }) end
  return o
end

-- {====================================================== decoding
-- The export datagrams read back, for printing: v5's fixed records, and
-- v9's and IPFIX's by the templates they carry.
local function addr(s)
  if #s == 4 then return string.format("%d.%d.%d.%d", s:byte(1, 4)) end
  local w = { string.unpack(">I2I2I2I2I2I2I2I2", s) }
  -- the longest run of two or more zero groups is written ::
  local at, len, i = 0, 1, 1
  while i <= 8 do
    local j = i
    while j <= 8 and w[j] == 0 do j = j + 1 end
    if j - i > len then at, len = i, j - i end
    i = j + 1
  end
  local part = {}
  for k = 1, 8 do part[k] = string.format("%x", w[k]) end
  if at == 0 then return table.concat(part, ":") end
  return table.concat(part, ":", 1, at - 1) .. "::" .. table.concat(part, ":", at + len, 8)
end

local function decoder()
  local templates = {}
  local boot -- v9: the exporter's boot time, ms
  local d = {}
  local function v5(s, emit)
    local _, count, uptime, secs, nsecs = string.unpack(">I2I2I4I4I4", s)
    local b = secs * 1000 + nsecs // 1000000 - uptime
    for k = 0, count - 1 do
      local p = 25 + k * 48
      local src, dst, _, input, _, pkts, bytes, first, last, sport, dport, _, flags, proto, tos =
        string.unpack(">c4c4c4I2I2I4I4I4I4I2I2BBBB", s, p)
      emit { src = addr(src), dst = addr(dst), input = input, packets = pkts, bytes = bytes,
        first = b + first, last = b + last, sport = sport, dport = dport, flags = flags,
        proto = proto, tos = tos }
    end
  end
  local names = { [8] = "src", [12] = "dst", [27] = "src", [28] = "dst", [7] = "sport",
    [11] = "dport", [4] = "proto", [5] = "tos", [6] = "flags", [10] = "input", [2] = "packets",
    [1] = "bytes", [22] = "first", [21] = "last", [152] = "first", [153] = "last" }
  local function sets(s, p, version, emit)
    while p + 3 <= #s do
      local id, len = string.unpack(">I2I2", s, p)
      if len < 4 then return end
      local stop = p + len
      local q = p + 4
      if id == (version == 9 and 0 or 2) then
        while q + 3 < stop do
          local tid, n = string.unpack(">I2I2", s, q)
          q = q + 4
          local t = {}
          for k = 1, n do
            local fid, flen = string.unpack(">I2I2", s, q)
            t[k] = { id = fid & 0x7fff, len = flen }
            q = q + 4 + ((fid & 0x8000 ~= 0) and 4 or 0)
          end
          templates[tid] = t
        end
      elseif id >= 256 and templates[id] then
        local t = templates[id]
        local size = 0
        for _, f in ipairs(t) do size = size + f.len end
        while size > 0 and q + size <= stop do
          local r = {}
          for _, f in ipairs(t) do
            local field = s:sub(q, q + f.len - 1)
            local name = names[f.id]
            if name == "src" or name == "dst" then r[name] = addr(field)
            elseif name then r[name] = string.unpack(">I" .. f.len, field) end
            q = q + f.len
          end
          if version == 9 then r.first, r.last = boot + r.first, boot + r.last end
          emit(r)
        end
      end
      p = stop
    end
  end
  function d.datagram(s, emit)
    if #s < 16 then return end
    local version = string.unpack(">I2", s)
    if version == 5 and #s >= 24 then v5(s, emit)
    elseif version == 9 and #s >= 20 then
      local _, _, uptime, secs = string.unpack(">I2I2I4I4", s)
      boot = secs * 1000 - uptime
      sets(s, 21, 9, emit)
    elseif version == 10 then sets(s, 17, 10, emit) end
  end
  return d
end
-- }======================================================

local function stamp(ms)
  return os.date("!%Y-%m-%d %H:%M:%S", ms // 1000) .. string.format(".%03d", ms % 1000)
end

local pnames = { [1] = "ICMP", [6] = "TCP", [17] = "UDP", [58] = "ICMP6", [132] = "SCTP" }

return function(args)
  local ok, o = pcall(parse, args)
  if not ok then
    if type(o) == "table" then
      io.stderr:write("moongraph flows: ", o.usage, "\n", usage, "\n")
      return 2
    end
    error(o, 0)
  end
  if o.help then print(usage); return 0 end

  local g <close> = mg.engine { clock = "virtual" }
  g:on_log(function(_, line)
    io.stderr:write("moongraph flows: ", (line:gsub("^%w+ %[%x+%]: ", "")), "\n")
  end)
  local hook = ({ [5] = "export", [9] = "export9", [10] = "ipfix" })[o.version]
  local records, failed = {}, nil
  local dec = decoder()
  local function check(r, err)
    if r == nil then error({ msg = err }, 0) end
    return r
  end
  local ok2, err = pcall(function()
    -- held by a hook of ours while it is built (with none it would go)
    check(g:mkpeer(".", "netflow", "x", "out0"))
    check(g:name(".:x", "nf"))
    if o.host then
      local fam = o.host:find(":", 1, true) and "inet6" or "inet"
      check(g:mkpeer("nf:", "ksocket", hook, fam .. "/dgram/udp"))
      check(g:msg("nf:" .. hook, "connect", { family = fam, addr = o.host, port = o.port }))
    else
      check(g:connect(".", "nf:", "flows", hook))
      g:on_data(function(_, item) dec.datagram(item:bytes(), function(r) records[#records + 1] = r end) end)
    end
    check(g:msg("nf:", "settimeouts", { inactive = o.inactive, active = o.active }))
    if o.cache then check(g:msg("nf:", "setcachesize", { size = o.cache })) end
    check(g:mkpeer("nf:", "pcap", "iface0", "out"))
    check(g:name("nf:iface0", "src"))
    check(g:rmhook(".", "x"))
  end)
  if not ok2 then
    io.stderr:write("moongraph flows: ", type(err) == "table" and err.msg or tostring(err), "\n")
    return 1
  end
  local interrupted = false
  g:on_signal("INT", function() interrupted = true; g:stop() end)
  g:on_signal("TERM", function() interrupted = true; g:stop() end)
  local packets, bytes = 0, 0
  for _, f in ipairs(o.files) do
    local info, e = g:msg("src:", "open", { file = f, filter = o.filter, speed = "top" })
    if not info then failed = e; break end
    g:msg("src:", "start")
    g:run()
    local s = g:msg("src:", "getstats") or {}
    packets, bytes = packets + (s.packets or 0), bytes + (s.bytes or 0)
    if s.error or interrupted then failed = failed or (s.error and tostring(s.error)); break end
  end
  -- what the cache holds at the end leaves now, as softflowd -r does
  g:msg("nf:", "flush")
  g:run()
  local info = g:msg("nf:", "info") or {}
  local out = io.stdout
  if not o.host then
    table.sort(records, function(a, b)
      if a.first ~= b.first then return a.first < b.first end
      return a.last < b.last
    end)
    for _, r in ipairs(records) do
      local v6 = r.src:find(":", 1, true)
      out:write(string.format("%s  %s  %-5s %s -> %s  %d packets  %d bytes\n",
        stamp(r.first), stamp(r.last), pnames[r.proto] or tostring(r.proto),
        v6 and "[" .. r.src .. "]:" .. r.sport or r.src .. ":" .. r.sport,
        v6 and "[" .. r.dst .. "]:" .. r.dport or r.dst .. ":" .. r.dport, r.packets, r.bytes))
    end
  end
  local acc = (info["IPv4 packets"] or 0) + (info["IPv6 packets"] or 0)
  out:write(string.format("%d packets read, %d accounted in flows (%d not IP, %d malformed, "
    .. "%d with the cache full)%s\n", packets, acc, info["Non-IP packets"] or 0,
    info["Malformed packets"] or 0, (info["IPv4 skipped packets"] or 0) + (info["IPv6 skipped packets"] or 0),
    o.host and "" or string.format(", %d flows", #records)))
  if o.version == 5 and (info["IPv6 packets"] or 0) > 0 then
    io.stderr:write("moongraph flows: NetFlow v5 carries no IPv6: ", info["IPv6 packets"],
      " IPv6 packets were left out (-v 9 or -v 10 carry them)\n")
  end
  local xf = info["V5 failed exports"] + info["V9 failed exports"] + info["IPFIX failed exports"]
  if xf > 0 then io.stderr:write("moongraph flows: ", xf, " datagrams could not be sent\n") end
  g:close()
  if failed then io.stderr:write("moongraph flows: ", failed, "\n") end
  if failed or xf > 0 then return 1 end
  return interrupted and 130 or 0
end
