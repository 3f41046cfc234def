-- repl.lua -- netgraph's ngctl verbs over an engine, and the Lua side of
-- the interactive prompt: one line of Lua or one command at a time.
-- Embedded in the moongraph module as mg.repl.

-- the module table, passed by the loader; or required on its own
local mg = type(...) == "table" and ... or require "moongraph"

local repl = {}

local function out(s, ...) return s.write(string.format(...)) end

local function nodeinfo_line(ni)
  local name = ni.name ~= "" and ni.name or "<unnamed>"
  return string.format("  Name: %-15s Type: %-15s ID: %08x   Num hooks: %d",
    name, ni.type, ni.id, ni.hooks)
end

-- {====================================================== printing values
local function is_ident(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil
end

-- A value as Lua would write it, a few levels deep, sorted keys.
local function pretty(v, depth, seen)
  depth = depth or 0
  local t = type(v)
  if t == "string" then return string.format("%q", v) end
  if t ~= "table" then
    local ok, s = pcall(tostring, v)
    return ok and s or "?"
  end
  local mt = getmetatable(v)
  if mt and mt.__tostring then return tostring(v) end
  seen = seen or {}
  if seen[v] then return "<cycle>" end
  if depth > 4 then return "{...}" end
  seen[v] = true
  local parts, n = {}, #v
  for i = 1, n do parts[#parts + 1] = pretty(v[i], depth + 1, seen) end
  local keys = {}
  for k in pairs(v) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    local ks = is_ident(k) and k or "[" .. pretty(k, depth + 1, seen) .. "]"
    parts[#parts + 1] = ks .. " = " .. pretty(v[k], depth + 1, seen)
  end
  seen[v] = nil
  local s = "{ " .. table.concat(parts, ", ") .. " }"
  if #parts == 0 then s = "{}" end
  return s
end
repl.pretty = pretty
-- }======================================================

-- 1.5k, 2.31M: counts and rates in a narrow column
local function human(n)
  if n >= 1e9 then return string.format("%.2fG", n / 1e9) end
  if n >= 1e6 then return string.format("%.2fM", n / 1e6) end
  if n >= 1e4 then return string.format("%.1fk", n / 1e3) end
  return string.format("%d", math.floor(n + 0.5))
end

-- {====================================================== the verbs
local commands = {}
local order = {}

local function def(name, usage, help, fn, aliases)
  local c = { name = name, usage = usage, help = help, fn = fn }
  commands[name] = c
  order[#order + 1] = name
  for _, a in ipairs(aliases or {}) do commands[a] = c end
end

local function need(args, n, c)
  if #args < n then error({ usage = c }, 0) end
end

def("mkpeer", "mkpeer [path] <type> <hook> <peerhook>",
  "Create a node of <type> and connect it to <path> (default: .)",
  function(s, a, c)
    need(a, 3, c)
    if #a >= 4 then return s.g:mkpeer(a[1], a[2], a[3], a[4]) end
    return s.g:mkpeer(".", a[1], a[2], a[3])
  end)

def("connect", "connect [path] <relpath> <hook> <peerhook>",
  "Connect <hook> of <path> (default: .) to <peerhook> of <relpath>",
  function(s, a, c)
    need(a, 3, c)
    if #a >= 4 then return s.g:connect(a[1], a[2], a[3], a[4]) end
    return s.g:connect(".", a[1], a[2], a[3])
  end, { "join" })

def("name", "name <path> <name>", "Give the node at <path> a name " ..
  "(one with a space in double quotes: name t \"my hub\")",
  function(s, a, c)
    need(a, 2, c)
    if #a > 2 then
      return nil, 'name: a name is one word; one with a space goes in double quotes: name ' ..
        a[1] .. ' "' .. table.concat(a, " ", 2) .. '"'
    end
    return s.g:name(a[1], a[2])
  end)

def("rmhook", "rmhook [path] <hook>", "Disconnect a hook of <path> (default: .)",
  function(s, a, c)
    need(a, 1, c)
    if #a >= 2 then return s.g:rmhook(a[1], a[2]) end
    return s.g:rmhook(".", a[1])
  end, { "disconnect" })

def("shutdown", "shutdown <path>", "Shut down the node at <path>",
  function(s, a, c)
    need(a, 1, c)
    return s.g:shutdown(a[1])
  end, { "kill", "rmnode" })

def("show", "show [-n] <path>", "Show a node and its hooks (-n: no hooks)",
  function(s, a, c)
    local nohooks = false
    if a[1] == "-n" then nohooks = true; table.remove(a, 1) end
    need(a, 1, c)
    local r, err, ename = s.g:show(a[1])
    if not r then return nil, err, ename end
    out(s, "%s\n", nodeinfo_line(r.node))
    if nohooks or #r.hooks == 0 then return true end
    out(s, "  %-15s %-15s %-12s %-15s %-15s\n", "Local hook", "Peer name",
      "Peer type", "Peer ID", "Peer hook")
    out(s, "  %-15s %-15s %-12s %-15s %-15s\n", "----------", "---------",
      "---------", "-------", "---------")
    for _, h in ipairs(r.hooks) do
      local p = h.peer
      out(s, "  %-15s %-15s %-12s %-15s %-15s\n", h.ourhook,
        p.name and (p.name ~= "" and p.name or "<unnamed>") or "",
        p.type or "", p.id and string.format("%08x", p.id) or "",
        h.connecting and "(connecting)" or h.peerhook)
    end
    return true
  end, { "inquire", "info" })

def("list", "list [-l] [-n]", "List nodes (-n: named only, -l: with hooks)",
  function(s, a)
    local long, named = false, false
    for _, f in ipairs(a) do
      if f:find("l") then long = true end
      if f:find("n") then named = true end
    end
    local nodes, err, ename = s.g:list(named)
    if not nodes then return nil, err, ename end
    out(s, "There are %d total %snodes:\n", #nodes, named and "named " or "")
    for _, ni in ipairs(nodes) do
      if long then commands.show.fn(s, { string.format("[%x]:", ni.id) })
      else out(s, "%s\n", nodeinfo_line(ni)) end
    end
    return true
  end, { "ls" })

def("types", "types", "List the node types",
  function(s)
    local ts = s.g:types()
    out(s, "There are %d total types:\n", #ts)
    out(s, "    %-17s %s\n", "Type name", "Number of living nodes")
    out(s, "    %-17s %s\n", "---------", "----------------------")
    for _, t in ipairs(ts) do out(s, "    %-17s %d\n", t.name, t.count) end
    return true
  end)

def("status", "status <path>", "The node's status text",
  function(s, a, c)
    need(a, 1, c)
    local r, err, ename = s.g:status(a[1])
    if not r then return nil, err, ename end
    out(s, "Status for \"%s\":\n%s\n", a[1], r)
    return true
  end)

-- The number of command cmd of the node at path (or with id), as ngctl
-- shows it; -1 when it is not known.
local function cmdnum(s, node, cmd)
  local r = s.g:show(type(node) == "number" and string.format("[%x]:", node) or node)
  local tname = r and r.node.type
  for _, t in ipairs(s.g:types()) do
    if t.name == tname and t.commands[cmd] then return t.commands[cmd].cmd, r.node.id end
  end
  local gc = s.g:generic()[cmd]
  return gc and gc.cmd or -1, r and r.node.id
end

def("msg", "msg <path> <command> [args]",
  "Send a control message; args in text form, e.g. { hook=\"in\" }",
  function(s, a, c, rest)
    need(a, 2, c)
    local path, cmd = a[1], a[2]
    local args = rest(2)
    local r, err, ename = s.g:msg_text(path, cmd, args ~= "" and args or nil)
    if r == nil then return nil, err, ename end
    if r ~= true then -- ngctl's MsgRead: the reply's command, its number, whence
      local num, id = cmdnum(s, path, cmd)
      out(s, "Rec'd response \"%s\" (%d) from \"%s\":\nArgs:\t%s\n", cmd, num,
        id and string.format("[%x]:", id) or path, r)
    end
    return true
  end, { "cmd" })

def("stats", "stats [path]", "Engine counters of a node and its hooks",
  function(s, a)
    local r, err, ename = s.g:msg_text(a[1] or ".", "stats")
    if not r then return nil, err, ename end
    out(s, "%s\n", r)
    return true
  end)

def("dot", "dot [-s] [file]", "The graph in Graphviz form, shown or to a file " ..
  "(a picture for .svg, .png, .pdf); -s: packet counts on every edge",
  function(s, a)
    local stats = a[1] == "-s"
    local file = a[stats and 2 or 1]
    local d, err = s.g:dot { stats = stats, file = file }
    if not d then return nil, err end
    if not file then s.write(d) end
    return true
  end, { "graphviz", "confdot" })

-- A byte as C's %i reads it (ngctl's write): 10 ten, 0x10 sixteen, 010
-- eight; -128 to 255, a negative one as the byte of its two's complement.
local function cbyte(w)
  local sign, body = w:match("^([+-]?)(.+)$")
  local v
  if body:match("^0[xX]%x+$") then v = tonumber(body:sub(3), 16)
  elseif body:match("^0[0-7]*$") then v = tonumber(body, 8)
  elseif body:match("^[1-9]%d*$") then v = tonumber(body, 10) end
  if not v then return nil end
  if sign == "-" then v = -v end
  if v < -128 or v > 255 then return nil end
  return v & 255
end
repl.cbyte = cbyte

def("write", "write <hook> <byte> ... | write <hook> -f <file> | write -f <file> <hook>",
  "Send a packet out of a hook of .: the bytes given (as C reads them: " ..
  "10, 0x0a, 012), or a file's contents",
  function(s, a, c)
    need(a, 2, c)
    local hook, file
    if a[1] == "-f" then file, hook = a[2], a[3]; need(a, 3, c)
    elseif a[2] == "-f" then hook, file = a[1], a[3]; need(a, 3, c) end
    if file then
      if #a ~= 3 then error({ usage = c }, 0) end
      local f, err = io.open(file, "rb")
      if not f then return nil, string.format("write: can't read file \"%s\": %s", file, err) end
      local data = f:read(8192) or ""
      f:close()
      if data == "" then return nil, string.format("write: file \"%s\" is empty", file) end
      return s.g:send(hook, data)
    end
    local bytes = {}
    for i = 2, #a do
      local v = cbyte(a[i])
      if not v then return nil, string.format("write: invalid byte \"%s\"", a[i]) end
      bytes[#bytes + 1] = string.char(v)
    end
    return s.g:send(a[1], table.concat(bytes))
  end, { "w" })

def("config", "config <path> [arguments]",
  "Get or set the configuration of the node at <path> (its getconfig/setconfig)",
  function(s, a, c, rest)
    need(a, 1, c)
    local path = a[1]
    local args = rest(1)
    local r, err
    if args ~= "" then
      r, err = s.g:msg_text(path, "setconfig", args)
      if r == nil then return nil, "config: " .. err end
      return true
    end
    r, err = s.g:msg_text(path, "getconfig")
    if r == nil or r == true then
      if err and not err:match("has no command") then return nil, "config: " .. err end
      out(s, "No config available for \"%s\"\n", path)
    else
      out(s, "Config for \"%s\":\n%s\n", path, r)
    end
    return true
  end)

def("read", "read <filename>", "Read and execute commands from a file",
  function(s, a, c)
    need(a, 1, c)
    local f, err = io.open(a[1])
    if not f then return nil, "read: " .. err end
    local n = 0
    for line in f:lines() do
      n = n + 1
      local r, e = repl.line(s, line)
      if r == nil then f:close(); s.pending = nil; return nil, string.format("%s:%d: %s", a[1], n, e) end
      if s.quit then break end
    end
    f:close()
    if s.pending then
      s.pending = nil
      return nil, string.format("%s:%d: unfinished Lua chunk at the end", a[1], n)
    end
    return true
  end, { "source" })

def("debug", "debug [level]",
  "Get or set the log's verbosity: 0 errors, warnings and notes; 1 and up debug lines too",
  function(s, a, c)
    if not a[1] then
      out(s, "Current debug level is %d\n", s.debug)
      return true
    end
    local v
    if a[1] == "+" then v = s.debug + 1
    elseif a[1] == "-" then v = s.debug - 1
    else v = math.tointeger(tonumber(a[1])) end
    if not v or v < 0 then error({ usage = c }, 0) end
    s.debug = v
    return true
  end)

-- {------------------------------------------------------ top
-- The bytes a node says it took in, when its getstats says (pcap, pcapout,
-- tee, bpf ...): the engine counts frames, not bytes.
local function node_bytes(s, id, tcmds)
  if not (tcmds and tcmds.getstats) then return nil end
  local r = s.g:msg(string.format("[%x]:", id), "getstats")
  if type(r) ~= "table" then return nil end
  local sum, found = 0, false
  local function walk(t, d)
    for k, v in pairs(t) do
      if (k == "bytes" or k == "inOctets" or k == "recvOctets") and math.type(v) then
        sum, found = sum + v, true
      elseif type(v) == "table" and d < 3 then walk(v, d + 1) end
    end
  end
  walk(r, 0)
  return found and sum or nil
end

-- One screen of top: every node's frames in and out, bytes, drops by
-- reason and queue; rates against prev (dt seconds before), totals with
-- no prev.  Returns the text and this snapshot.
function repl.top_frame(s, prev, dt)
  local tcmds = {}
  for _, t in ipairs(s.g:types()) do tcmds[t.name] = t.commands end
  local nodes = s.g:list() or {}
  local rate = prev and dt and dt > 0
  local snap, lines = {}, {}
  lines[1] = string.format("%-8s  %-15s %-10s %10s %10s %11s %6s  %s", "ID", "Name", "Type",
    rate and "In/s" or "In", rate and "Out/s" or "Out", rate and "Bytes/s" or "Bytes",
    "Queue", "Drops")
  for _, ni in ipairs(nodes) do
    local st = s.g:stats(string.format("[%x]:", ni.id))
    if st then
      local cur = { ["in"] = st["in"], out = st.out, bytes = node_bytes(s, ni.id, tcmds[ni.type]) }
      snap[ni.id] = cur
      local p = prev and prev[ni.id]
      local function col(k)
        if cur[k] == nil then return "-" end
        if not rate then return human(cur[k]) end
        if not p or p[k] == nil then return "-" end
        return human(math.max(cur[k] - p[k], 0) / dt)
      end
      local reasons = {}
      for why, n in pairs(st.drops or {}) do
        if n > 0 then reasons[#reasons + 1] = why .. "=" .. n end
      end
      table.sort(reasons)
      lines[#lines + 1] = string.format("%08x  %-15s %-10s %10s %10s %11s %6d  %s", ni.id,
        ni.name ~= "" and ni.name or "<unnamed>", ni.type, col("in"), col("out"), col("bytes"),
        st.qlen or 0, #reasons > 0 and table.concat(reasons, " ") or "0")
    end
  end
  return table.concat(lines, "\n") .. "\n", snap
end

-- The prompt's top: a screen every so often until a key ends it (the host
-- hands over the terminal: tty.c).
function repl.top_start(s)
  local t = s.top
  local function draw()
    local now = mg.monotime()
    local text
    text, t.snap = repl.top_frame(s, t.snap, t.at and now - t.at)
    t.at = now
    s.write(string.format("\27[H\27[2Jmoongraph top: every %g s; q leaves\n\n%s", t.every, text))
  end
  draw()
  t.timer = s.g:every(t.every, draw)
end

function repl.top_stop(s)
  if s.top and s.top.timer then s.top.timer:cancel() end
  s.top = nil
end

def("top", "top [seconds]",
  "Every node's frames and bytes a second, drops by reason and queue, " ..
  "refreshed until q (once, as totals, off a terminal)",
  function(s, a, c)
    local every = tonumber(a[1] or 1)
    if not every or every < 0.05 or every > 3600 then error({ usage = c }, 0) end
    if not s.prompt then
      out(s, "%s", (repl.top_frame(s)))
      return true
    end
    s.top = { every = every }
    return true
  end)
-- }------------------------------------------------------

def("help", "help [command|type]", "Show commands, or help on one command or node type",
  function(s, a)
    if a[1] then return repl.help(s, a[1]) end
    out(s, "Available commands:\n")
    for _, n in ipairs(order) do out(s, "  %-10s %s\n", n, commands[n].help) end
    out(s, "Anything else is Lua; the engine is 'g', the module 'mg'.\n")
    return true
  end, { "?" })

def("quit", "quit", "Leave", function(s) s.quit = true; return true end, { "exit" })

function repl.help(s, what)
  local c = commands[what]
  if c then
    out(s, "Usage:    %s\nSummary:  %s\n", c.usage, c.help)
    return true
  end
  for _, t in ipairs(s.g:types()) do
    if t.name == what then
      out(s, "%s: %s\n", t.name, t.doc)
      local names = {}
      for cmd in pairs(t.commands) do names[#names + 1] = cmd end
      table.sort(names)
      if #names > 0 then out(s, "Commands:\n") end
      for _, cmd in ipairs(names) do
        local ci = t.commands[cmd]
        out(s, "  %-12s %-30s %s\n", cmd, ci.args, ci.help)
      end
      for _, cmd in ipairs(names) do -- what the arguments may be
        local opts = t.commands[cmd].options
        if opts then out(s, "Arguments of %s:\n", cmd) end
        for _, o in ipairs(opts or {}) do
          local range = o.kind == "number" and string.format("%g to %g", o.min, o.max)
            or o.kind == "boolean" and "true or false" or o.values or ""
          local dflt = o.default_text or (o.kind == "number" and string.format("%g", o.default))
            or (o.default ~= nil and tostring(o.default)) or "-"
          out(s, "  %-12s %-30s default %s; %s\n", o.name, range, dflt, o.help)
        end
      end
      return true
    end
  end
  return nil, "no command or node type named '" .. what .. "'"
end

repl.commands = commands
-- }======================================================

-- {====================================================== one line
-- The words of a command line, split at white space as ngctl does, and
-- where each ends (stops[i]: the index of its last byte).  Unlike ngctl, a
-- word that starts with a double quote runs to the closing one, with \"
-- and \\ inside, so that a name with a space can be given: name t "my hub";
-- without a closing quote (followed by a space or the end) it is a plain word.
local function split(line)
  local words, stops, i = {}, {}, 1
  while true do
    local from = line:find("%S", i)
    if not from then break end
    local word, stop
    if line:sub(from, from) == '"' then
      local j, buf = from + 1, {}
      while j <= #line do
        local ch = line:sub(j, j)
        if ch == "\\" and j < #line then buf[#buf + 1] = line:sub(j + 1, j + 1); j = j + 2
        elseif ch == '"' then break
        else buf[#buf + 1] = ch; j = j + 1 end
      end
      if j <= #line and not line:sub(j + 1, j + 1):match("%S") then
        word, stop = table.concat(buf), j
      end
    end
    if not word then
      stop = (line:find("%s", from) or #line + 1) - 1
      word = line:sub(from, stop)
    end
    words[#words + 1], stops[#stops + 1] = word, stop
    i = stop + 1
  end
  return words, stops
end
repl.split = split

-- Is this line a command rather than Lua?  A verb followed by nothing, or
-- by a space and then something that cannot continue a Lua expression or
-- statement ("name = 1", "show(x)", "list .x", "name:m()" stay Lua).
function repl.is_command(line, s)
  local verb, rest = line:match("^%s*([%a?]+)(.*)$")
  if not verb or not commands[verb] then return false end
  if rest:match("^%s*$") then return true end
  if not rest:match("^%s") then return false end
  local arg = rest:match("^%s+(.*)$")
  -- show "my hub:" is the verb with a quoted word, unless Lua has a show
  if arg:match('^"') and s and s.env[verb] == nil then return true end
  if arg:match("^[=({\"']") then return false end
  if arg:match("^%[") and not arg:match("^%[%x+%]") then return false end
  if arg:match("^[.:][%a_]") then return false end
  return true
end

-- The arguments of the engine's methods the verbs call, by position.
local argnames = {
  msg_text = { "path", "command", "args" }, mkpeer = { "path", "type", "hook", "peerhook" },
  connect = { "path", "relpath", "hook", "peerhook" }, name = { "path", "name" },
  rmhook = { "path", "hook" }, shutdown = { "path" }, show = { "path" },
  status = { "path" }, send = { "hook", "data" }, list = { "named" }, dot = { "options" },
}

-- An error raised under a verb, as the verb's: "msg: bad args (...)"
-- rather than "moongraph/repl.lua:172: bad argument #3 to 'msg_text' (...)".
local function argerror(verb, m)
  m = m:gsub("^moongraph/[%w_]+%.lua:%d+: ", "")
  local n, fn, why = m:match("^bad argument #(%d+) to '([%w_]+)' %((.*)%)$")
  if n then
    local names = argnames[fn]
    local what = names and names[tonumber(n)]
    return string.format("%s: bad %s (%s)", verb, what or ("argument #" .. n), why)
  end
  return m
end

-- An engine's error as ngctl words it, what failed and the C library's
-- text for the errno ("send msg: File exists"), then what moongraph knows
-- of it: "send msg: File exists: node [1] (ctl) already has a hook 'a'".
local function ngctl_error(c, err, ename)
  local text = ename and mg.strerror(ename)
  if not text then return err end
  return string.format("%s: %s: %s", c.name == "write" and "write" or "send msg", text, err)
end

-- Run one command; true, or nil and a message.
function repl.command(s, line)
  local words, stops = split(line)
  if #words == 0 then return true end
  local c = commands[words[1]]
  if not c then return nil, unknown(words[1]) end
  table.remove(words, 1)
  -- what follows the verb's nth word, as typed (msg's and config's arguments)
  local function after(n) return stops[n + 1] and line:sub(stops[n + 1] + 1):match("^%s*(.-)%s*$") or "" end
  local ok, r, err, ename = pcall(c.fn, s, words, c, after)
  if not ok then
    if type(r) == "table" and r.usage then return nil, "usage: " .. r.usage.usage end
    return nil, argerror(c.name, tostring(r))
  end
  if r == nil then return nil, ngctl_error(c, err, ename) end
  return true
end

-- Should the session show a log line of this level?  (debug verb)
local loglevels = { error = 0, warning = 0, info = 0, debug = 1 }
function repl.logs(s, level) return (loglevels[level] or 0) <= s.debug end

-- How far apart two words are (edits: insert, delete, change, swap).
local function distance(a, b)
  local d = {}
  for i = 0, #a do d[i] = { [0] = i } end
  for j = 0, #b do d[0][j] = j end
  for i = 1, #a do
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      local v = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1 and j > 1 and a:sub(i, i) == b:sub(j - 1, j - 1) and a:sub(i - 1, i - 1) == b:sub(j, j) then
        v = math.min(v, d[i - 2][j - 2] + 1)
      end
      d[i][j] = v
    end
  end
  return d[#a][#b]
end

-- The verb closest to word, if one is close enough to be meant.
function repl.suggest(word)
  local best, bd
  for _, n in ipairs(order) do
    local dd = distance(word, n)
    if dd <= (#n > 4 and 2 or 1) and (not bd or dd < bd) then best, bd = n, dd end
  end
  return best
end

local function unknown(word)
  local m = "unknown command '" .. word .. "'"
  local near = repl.suggest(word)
  if near then m = m .. " (did you mean '" .. near .. "'?)" else m = m .. " (try: help)" end
  return m
end

-- Evaluate a chunk as lua.c does: first as an expression, then as
-- statements.  Returns "more" when the chunk is unfinished.
function repl.eval(s, src)
  local f, err = load("return " .. src, "=stdin", "t", s.env)
  if not f then
    f, err = load(src, "=stdin", "t", s.env)
  end
  if not f then
    if err:match("<eof>$") then return "more" end
    return nil, err
  end
  local res = table.pack(xpcall(f, function(m)
    -- the chunk's frames, not the REPL's that called it
    local tb = debug.traceback(tostring(m), 2)
    local cut = tb:match("()\n%s*%[C%]: in function 'xpcall'\n%s*moongraph/repl%.lua:%d+: in field 'eval'")
    return cut and tb:sub(1, cut - 1) or tb
  end))
  if not res[1] then return nil, res[2] end
  if res.n > 1 then
    local parts = {}
    for i = 2, res.n do parts[#parts + 1] = pretty(res[i]) end
    out(s, "%s\n", table.concat(parts, "\t"))
  end
  return true
end

local keywords = {}
for k in ("and break do else elseif end false for function goto if in local nil " ..
  "not or repeat return then true until while"):gmatch("%a+") do keywords[k] = true end

-- One line from the prompt (or from a script on stdin).
function repl.line(s, line)
  if s.pending then
    local src = s.pending .. "\n" .. line
    local r, err = repl.eval(s, src)
    if r == "more" then s.pending = src; return "more" end
    s.pending = nil
    return r, err
  end
  if line:match("^%s*$") or line:match("^%s*#") then return true end
  if repl.is_command(line, s) then return repl.command(s, line) end
  -- a word that Lua does not know, then words that are not Lua: a verb
  -- mistyped ("mkpee . tee a b"), or one alone near a verb ("lst")
  local word, rest = line:match("^%s*([%a_][%w_]*)(.*)$")
  if word and (keywords[word] or s.env[word] ~= nil) then word = nil end
  if word and not load("return " .. line, "=stdin", "t", s.env) then
    if not load(line, "=stdin", "t", s.env) and rest:match("^%s+[%w_.:%[%-/~]") then
      local _, lerr = load(line, "=stdin", "t", s.env)
      if not lerr:match("<eof>$") then return nil, unknown(word) end
    end
  elseif word and rest:match("^%s*$") and repl.suggest(word) then
    return nil, unknown(word)
  end
  local r, err = repl.eval(s, line)
  if r == "more" then s.pending = line end
  return r, err
end
-- }======================================================

-- {====================================================== attached clients
-- What a client attached to a served engine (moongraph -c, lserve.c) may
-- run: ngctl's verbs, with its own socket node as ".", and nothing else.
-- Not Lua: that would be running any code in the engine's process, which
-- ngctl cannot do; nor what opens the server's files (read, write -f,
-- dot FILE): the client does those on its side.
local remote_verbs = {}
for v in ("mkpeer connect name rmhook shutdown show list types status msg stats " ..
  "dot write config help debug top"):gmatch("%S+") do remote_verbs[v] = true end

function repl.remote_session(view)
  return { g = view, write = function() end, debug = 0, remote = true, env = {} }
end

local function remote_refusal(c, words)
  if c.name == "dot" and words[#words] and words[#words] ~= "-s" and words[#words] ~= "dot" then
    return "dot: an attached client writes the file itself (moongraph -c PATH dot > FILE)"
  end
  if c.name == "write" and (words[2] == "-f" or words[3] == "-f") then
    return "write: -f reads a file on the client's side"
  end
end

-- The lines of text, one command each, run in order until one fails.
-- Returns their output, and true or nil and the error.
function repl.remote(s, text)
  local buf = {}
  s.write = function(x) buf[#buf + 1] = x end
  local ok, err = true, nil
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    line = line:gsub("\r$", "")
    if not (line:match("^%s*$") or line:match("^%s*#")) then
      local words = split(line)
      local c = commands[words[1]]
      if not c then
        ok, err = nil, unknown(words[1]) ..
          "; an attached client takes ngctl's commands, not Lua (Lua runs in the engine's own process)"
      elseif not remote_verbs[c.name] then
        ok, err = nil, string.format("%s: not for an attached client (%s)", words[1],
          c.name == "quit" and "it leaves on its side" or
          c.name == "read" and "the client reads the file and sends its commands" or
          "it would act on the server's process")
      else
        err = remote_refusal(c, words)
        if err then ok = nil else ok, err = repl.command(s, line) end
      end
      if not ok then break end
    end
  end
  s.write = function() end
  return table.concat(buf), ok, err
end

-- Candidates for the last word of line, one a line (the client's Tab).
function repl.remote_complete(s, line)
  local from = (line:match("^.*()%s%S*$") or 0) + 1
  local cands
  if not line:sub(1, from - 1):match("%S") then
    cands = {}
    for name in pairs(commands) do
      if remote_verbs[commands[name].name] and name:sub(1, #line - from + 1) == line:sub(from) then
        cands[#cands + 1] = name
      end
    end
    table.sort(cands)
  else
    -- after a verb only: the Lua names of the server's process are not
    -- a client's business
    local c = commands[line:match("^%s*(%S+)")]
    cands = c and remote_verbs[c.name] and repl.complete(s, line, from) or {}
  end
  return table.concat(cands, "\n"), true
end
-- }======================================================

-- {====================================================== completion
local function sorted_unique(list)
  table.sort(list)
  local outl, last = {}, nil
  for _, v in ipairs(list) do
    if v ~= last then outl[#outl + 1] = v end
    last = v
  end
  return outl
end

-- Candidates for the word at [from..] of line (1-based).
function repl.complete(s, line, from)
  local word = line:sub(from)
  local before = line:sub(1, from - 1)
  local words = split(before)
  local cands = {}
  local function add(c)
    if c:sub(1, #word) == word then cands[#cands + 1] = c end
  end
  if #words == 0 and not word:match("^[%a_][%w_.:]*[.:]") then
    for name in pairs(commands) do add(name) end
    for k in pairs(s.env) do if type(k) == "string" then add(k) end end
    for k in pairs(_G) do if type(k) == "string" then add(k) end end
    return sorted_unique(cands)
  end
  local verb = words[1]
  local nodes = commands[verb] and s.g:list() or {}
  if verb == "mkpeer" and #words <= 2 then -- [path] <type>
    for _, t in ipairs(s.g:types()) do add(t.name) end
    if #words == 2 then return sorted_unique(cands) end
  end
  if verb == "help" then
    for name in pairs(commands) do add(name) end
    for _, t in ipairs(s.g:types()) do add(t.name) end
  end
  if verb and commands[verb] == commands.rmhook and #words == 2 then
    -- rmhook <path> <hook>: the hooks of the node at path
    local r = s.g:show(words[2])
    if r then for _, h in ipairs(r.hooks) do add(h.ourhook) end end
    return sorted_unique(cands)
  end
  if verb == "msg" and #words == 2 then
    -- commands of the node at words[2], and the generic ones
    local r = s.g:show(words[2])
    local tname = r and r.node.type
    for _, t in ipairs(s.g:types()) do
      if t.name == tname then for cmd in pairs(t.commands) do add(cmd) end end
    end
    for cmd in pairs(s.g:generic()) do add(cmd) end
    return sorted_unique(cands)
  end
  if verb and commands[verb] then
    -- a path: node names and ids, then hooks of the node named so far
    for _, ni in ipairs(nodes) do
      if ni.name ~= "" then add(ni.name .. ":") end
      add(string.format("[%x]:", ni.id))
    end
    local done = word:match("^(.*[:.])") -- "tee1:" or "tee1:left." so far
    if done then
      local r = s.g:show(done:sub(-1) == "." and done:sub(1, -2) or done)
      if r then for _, h in ipairs(r.hooks) do add(done .. h.ourhook) end end
    else -- hooks of "." itself
      local r = s.g:show(".")
      if r then for _, h in ipairs(r.hooks) do add(h.ourhook) end end
    end
    return sorted_unique(cands)
  end
  -- Lua: fields of a table or methods of a handle
  local head, sep, tail = word:match("^(.-)([.:])([%w_]*)$")
  if head then
    local obj = s.env
    for part in head:gmatch("[^.:]+") do
      if type(obj) ~= "table" and type(obj) ~= "userdata" then obj = nil; break end
      local ok, v = pcall(function() return obj[part] end)
      obj = ok and v or nil
      if obj == nil then break end
    end
    local function from(t)
      if type(t) ~= "table" then return end
      for k in pairs(t) do
        if type(k) == "string" and k:sub(1, #tail) == tail then
          cands[#cands + 1] = head .. sep .. k
        end
      end
    end
    if type(obj) == "table" then from(obj) end
    local mt = obj ~= nil and getmetatable(obj)
    if type(mt) == "table" then
      from(mt.__index)
      from(mt.methods)
    end
    return sorted_unique(cands)
  end
  for k in pairs(s.env) do if type(k) == "string" then add(k) end end
  for k in pairs(_G) do if type(k) == "string" then add(k) end end
  return sorted_unique(cands)
end
-- }======================================================

-- {====================================================== the host's engine
-- A host (the prompt, a command file) marks its session s.hosted while it
-- runs it, and s.prompt while the prompt runs the engine.  Then g:close()
-- cannot free the engine under the loop that is running it: it ends the
-- session instead (s.quit, s.close: the host closes the engine after), and
-- g:run() says why it is not needed.
local sessions = setmetatable({}, { __mode = "k" })
local guarded = false

local function guard(g)
  if guarded then return end
  guarded = true
  local methods = getmetatable(g).__index
  local close, run = methods.close, methods.run
  methods.close = function(e, ...)
    local s = sessions[e]
    if s and s.hosted then
      s.quit, s.close = true, true
      return
    end
    return close(e, ...)
  end
  methods.run = function(e, ...)
    local s = sessions[e]
    if s and s.prompt then
      error("run: the REPL is already running the engine: it runs while " ..
        "the prompt waits", 2)
    end
    return run(e, ...)
  end
end
-- }======================================================

-- A session: an engine, an environment for Lua lines, a writer.
function repl.new(g, write, env)
  local s = { g = g, write = write or io.write, pending = nil, debug = 0 }
  guard(g)
  sessions[g] = s
  s.env = env or setmetatable({ g = g, mg = mg }, { __index = _G })
  -- print goes where the session writes: at the prompt, above it (a timer's
  -- line does not scribble over the line being typed)
  if not env then
    s.env.print = function(...)
      if s.top then return end
      local parts = table.pack(...)
      for i = 1, parts.n do parts[i] = tostring(parts[i]) end
      s.write(table.concat(parts, "\t", 1, parts.n) .. "\n")
    end
  end
  -- data at "." is shown as ngctl shows it: a summary and a hex dump
  g:on_data(function(hook, item)
    if s.top then return end -- top has the screen
    local b = item:bytes()
    s.write(string.format("Rec'd data packet on hook \"%s\":\n", hook))
    for off = 0, #b - 1, 16 do
      local hex, asc = {}, {}
      for i = off + 1, math.min(off + 16, #b) do
        local c = b:byte(i)
        hex[#hex + 1] = string.format("%02x", c)
        asc[#asc + 1] = (c >= 32 and c < 127) and string.char(c) or "."
      end
      s.write(string.format("%04x:  %-47s  %s\n", off, table.concat(hex, " "),
        table.concat(asc)))
    end
  end)
  g:on_msg(function(from, cmd, value, err)
    if s.top then return end
    if err then
      s.write(string.format("Rec'd error for \"%s\" from \"[%x]:\": %s\n", cmd, from, err))
    else
      local text = value ~= nil and mg.format(value) or ""
      s.write(string.format("Rec'd response \"%s\" (%d) from \"[%x]:\":\n%s\n", cmd,
        (cmdnum(s, from, cmd)), from, text ~= "" and "Args:\t" .. text or "No arguments"))
    end
  end)
  return s
end

return repl
