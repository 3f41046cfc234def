-- The REPL: ngctl's commands and Lua on one prompt, completion, and the
-- real thing on a pseudo-terminal (line editing, Ctrl-C, Ctrl-D, history).
local mg = require "moongraph"
local repl = mg.repl

local function session()
  local g = H.engine()
  local out = {}
  local s = repl.new(g, function(x) out[#out + 1] = x end)
  s.out = out
  s.text = function() local t = table.concat(out); for i = #out, 1, -1 do out[i] = nil end; return t end
  return s, g
end

describe("mg.repl", function()
  it("tells commands from Lua", function()
    for _, l in ipairs { "list", "show .", "mkpeer . tee a left", "name .:a b",
      "msg .: getstats", "  types  ", "help", "show [2]:", "quit", "ls -l" } do
      assert.is_true(repl.is_command(l), l)
    end
    for _, l in ipairs { "name = 5", "list()", "show(x)", "list .x", "name:upper()",
      "x = 1", "print(list)", "types[1]", "show { a }", "msg 'x'" } do
      assert.is_false(repl.is_command(l), l)
    end
    -- a double-quoted word is a command's argument, unless Lua has a value by the verb's name
    local s = session()
    assert.is_true(repl.is_command('show "my hub:"', s))
    s.env.show = print
    assert.is_false(repl.is_command('show "my hub:"', s))
  end)

  it("splits a command at spaces, a double-quoted word keeping its own", function()
    local words, stops = repl.split('name  t "my \\"big\\" hub" x"y "z')
    assert.same({ "name", "t", 'my "big" hub', 'x"y', '"z' }, words)
    assert.same({ 4, 7, 24, 28, 31 }, stops)
    local s, g = session()
    assert.is_true(repl.line(s, "mkpeer . hub a a"))
    assert.is_true(repl.line(s, 'name a "test hub"'))
    assert.equal("test hub", g:node(".:a").name)
    assert.is_true(repl.line(s, 'msg "test hub:" nodeinfo'))
    assert.matches('name="test hub"', s.text())
    local r, err = repl.line(s, "name a test hub") -- ngctl's usage error, with the way out
    assert.is_nil(r)
    assert.equal('name: a name is one word; one with a space goes in double quotes: name a "test hub"', err)
    assert.is_true(repl.line(s, 'msg a name { name="other hub" }'))
    assert.equal("other hub", g:node(".:a").name)
    -- netgraph's errors, as ngctl prints them
    assert.same({ nil, "send msg: Address already in use: node name 'other hub' is already in use by [2]" },
      { repl.line(s, 'name . "other hub"') })
    local r2, e2 = repl.line(s, "connect . . a b")
    assert.is_nil(r2)
    assert.matches("^send msg: File exists: node %[1%] %(%a+%) already has a hook 'a'$", e2)
  end)

  it("runs commands and prints as ngctl does", function()
    local s, g = session()
    assert.is_true(repl.line(s, "mkpeer . tee t left"))
    assert.is_true(repl.line(s, "name .:t tee1"))
    assert.is_true(repl.line(s, "show tee1:"))
    local t = s.text()
    assert.matches("  Name: tee1%s+Type: tee%s+ID: 00000002   Num hooks: 1\n", t)
    assert.matches("  Local hook%s+Peer name%s+Peer type%s+Peer ID%s+Peer hook", t)
    assert.matches("  left%s+<unnamed>%s+socket%s+00000001%s+t", t)
    assert.is_true(repl.line(s, "list"))
    assert.matches("There are 2 total nodes:", s.text())
    assert.is_true(repl.line(s, "list -n"))
    assert.matches("There are 1 total named nodes:\n  Name: tee1", s.text())
    assert.is_true(repl.line(s, "types"))
    assert.matches("    tee               1\n", s.text())
    assert.is_true(repl.line(s, "status tee1:"))
    assert.matches('Status for "tee1:":\nleft', s.text())
    assert.is_true(repl.line(s, "msg tee1: getstats"))
    local num = g:types()[1].commands and nil
    for _, t in ipairs(g:types()) do
      if t.name == "tee" then num = t.commands.getstats.cmd end
    end
    assert.is_number(num)
    local want = string.format('Rec\'d response "getstats" (%d) from "[2]:":\nArgs:\t{ right={', num)
    assert.equal(want, s.text():sub(1, #want))
    assert.is_true(repl.line(s, "stats tee1:"))
    assert.matches("^{ in=0 out=0", s.text())
    assert.is_true(repl.line(s, "dot"))
    assert.matches("^graph netgraph", s.text())
    assert.is_true(repl.line(s, "rmhook t"))
    assert.is_true(repl.line(s, "help"))
    assert.matches("Available commands:\n  mkpeer", s.text())
    assert.is_true(repl.line(s, "help tee"))
    assert.matches("tee: left <%-> right.*getstats", s.text())
    assert.is_true(repl.line(s, "help pcap"))
    assert.matches("Arguments of open:\n.*  loop%s+0 to 1e%+?0*9%s+default 1; ", s.text())
    assert.is_true(repl.line(s, "help msg"))
    assert.matches("Usage:    msg <path> <command> %[args%]", s.text())
    g:close()
  end)

  it("reports errors from commands", function()
    local s, g = session()
    local r, err = repl.line(s, "mkpeer . nosuch a b")
    assert.is_nil(r)
    -- as ngctl says it ("send msg: No such file or directory"), then what moongraph knows
    assert.equal("send msg: No such file or directory: unknown node type 'nosuch'", err)
    r, err = repl.line(s, "connect")
    assert.equal("usage: connect [path] <relpath> <hook> <peerhook>", err)
    r, err = repl.line(s, "help nothing")
    assert.matches("no command or node type named 'nothing'", err)
    r, err = repl.line(s, "write x zz")
    assert.equal('write: invalid byte "zz"', err)
    r, err = repl.line(s, "write x 256")
    assert.equal('write: invalid byte "256"', err)
    r, err = repl.line(s, "write x 08")
    assert.equal('write: invalid byte "08"', err)
    r, err = repl.line(s, "quit")
    assert.is_true(r)
    assert.is_true(s.quit)
    g:close()
  end)

  it("has ngctl's config, read and debug", function()
    local s, g = session()
    assert.is_true(repl.line(s, "mkpeer . one2many o one"))
    assert.is_true(repl.line(s, "mkpeer . tee t left"))
    assert.is_true(repl.line(s, "config .:o"))
    assert.matches('^Config for ".:o":\n{ ', s.text())
    assert.is_true(repl.line(s, "config .:t"))
    assert.equal('No config available for ".:t"\n', s.text())
    local f = H.tmpfile("name .:t tee1\n# a comment\nx = 40 +\n 2\n")
    assert.is_true(repl.line(s, "read " .. f))
    assert.is_true(repl.line(s, "show tee1:"))
    assert.matches("Name: tee1", s.text())
    assert.is_true(repl.line(s, "x"))
    assert.equal("42\n", s.text())
    local bad = H.tmpfile("name .:t tee2\nmkpeer . nosuch a b\n")
    local r, err = repl.line(s, "read " .. bad)
    assert.is_nil(r)
    assert.equal(bad .. ":2: send msg: No such file or directory: unknown node type 'nosuch'", err)
    r, err = repl.line(s, "read /nonexistent/x")
    assert.matches("^read: /nonexistent/x: No such file", err)
    assert.is_true(repl.line(s, "debug"))
    assert.equal("Current debug level is 0\n", s.text())
    assert.is_false(repl.logs(s, "debug"))
    assert.is_true(repl.line(s, "debug 2"))
    assert.is_true(repl.line(s, "debug -"))
    assert.is_true(repl.line(s, "debug"))
    assert.equal("Current debug level is 1\n", s.text())
    assert.is_true(repl.logs(s, "debug"))
    r, err = repl.line(s, "debug x")
    assert.equal("usage: debug [level]", err)
    g:close()
  end)

  it("says a mistyped verb is an unknown command, and keeps Lua Lua", function()
    local s, g = session()
    local r, err = repl.line(s, "mkpee . tee a left")
    assert.is_nil(r)
    assert.equal("unknown command 'mkpee' (did you mean 'mkpeer'?)", err)
    r, err = repl.line(s, "lst")
    assert.equal("unknown command 'lst' (did you mean 'list'?)", err)
    r, err = repl.line(s, "frobnicate .:x")
    assert.equal("unknown command 'frobnicate' (try: help)", err)
    r, err = repl.line(s, "x = = 1")
    assert.matches("unexpected symbol near '='", err)
    r, err = repl.line(s, "local = 1")
    assert.matches("near '='", err)
    assert.equal("more", repl.line(s, "mkpee = function()"))
    assert.is_true(repl.line(s, "end"))
    assert.is_true(repl.line(s, "mkpee"))
    assert.matches("^function", s.text())
    assert.is_true(repl.line(s, "y = 1"))
    assert.is_true(repl.line(s, "nosuchvariable"))
    assert.equal("nil\n", s.text())
    g:close()
  end)

  it("names the verb and the argument in argument errors", function()
    local s, g = session()
    local r, err = repl.line(s, "msg . listnodes { named=")
    assert.is_nil(r)
    assert.equal("msg: bad args (bad value at offset 8: expected a value, got end of text)", err)
    r, err = repl.line(s, "msg . getstats {")
    assert.matches("^msg: bad args %(", err)
    g:close()
  end)

  it("leaves the REPL's own frames out of tracebacks", function()
    local s, g = session()
    local r, err = repl.line(s, "error('boom')")
    assert.is_nil(r)
    assert.matches("stdin:1: boom\nstack traceback:\n.*in main chunk$", err)
    assert.not_matches("repl.lua", err)
    assert.not_matches("xpcall", err)
    g:close()
  end)

  it("evaluates Lua: expressions print, statements continue over lines", function()
    local s, g = session()
    assert.is_true(repl.line(s, "1 + 2"))
    assert.equal("3\n", s.text())
    assert.is_true(repl.line(s, "x = { a = 1, 'z' }"))
    assert.is_true(repl.line(s, "x"))
    assert.equal('{ "z", a = 1 }\n', s.text())
    assert.equal("more", repl.line(s, "function f(n)"))
    assert.equal("more", repl.line(s, "  return n * 2"))
    assert.is_true(repl.line(s, "end"))
    assert.is_true(repl.line(s, "f(21), 'two'"))
    assert.equal('42\t"two"\n', s.text())
    local r, err = repl.line(s, "error('boom')")
    assert.is_nil(r)
    assert.matches("stdin:1: boom\nstack traceback", err)
    r, err = repl.line(s, "x = = 1")
    assert.matches("unexpected symbol near '='", err)
    assert.is_true(repl.line(s, "g"))
    assert.matches("mg.engine", s.text())
    assert.is_true(repl.line(s, "# a comment"))
    g:close()
  end)

  it("shows data and stray replies that reach '.'", function()
    local s, g = session()
    repl.line(s, "mkpeer . echo e x")
    repl.line(s, "write e 0x41 66 0103 10")
    assert.equal('Rec\'d data packet on hook "e":\n0000:  41 42 43 0a' ..
      string.rep(" ", 36) .. "  ABC.\n", s.text())
    g:send_msg(".:e", "hello", nil, function() end)
    g:run()
    g:close()
  end)

  it("writes bytes as ngctl reads them (C's %i), or a file", function()
    local s, g = session()
    repl.line(s, "mkpeer . echo e x")
    assert.is_true(repl.line(s, "write e 10 0x10 010 -1 255 0X7f"))
    assert.matches("0000:  0a 10 08 ff ff 7f ", s.text())
    local f = H.tmpfile("hi\n")
    assert.is_true(repl.line(s, "write e -f " .. f))
    assert.matches("0000:  68 69 0a ", s.text())
    assert.is_true(repl.line(s, "write -f " .. f .. " e"))
    assert.matches("0000:  68 69 0a ", s.text())
    local r, err = repl.line(s, "write e -f /nonexistent")
    assert.matches('^write: can\'t read file "/nonexistent"', err)
    r, err = repl.line(s, "write e -f " .. H.tmpfile(""))
    assert.matches('is empty$', err)
    assert.equal(16, repl.cbyte("0x10"))
    assert.equal(8, repl.cbyte("010"))
    assert.equal(0, repl.cbyte("0"))
    assert.equal(128, repl.cbyte("-128"))
    assert.is_nil(repl.cbyte("-129"))
    g:close()
  end)

  it("top: every node's rates, drops by reason and queue", function()
    local s, g = session()
    repl.line(s, "mkpeer . tee t left")
    repl.line(s, "name .:t tee1")
    local text, snap = repl.top_frame(s)
    assert.matches("^ID%s+Name%s+Type%s+In%s+Out%s+Bytes%s+Queue%s+Drops\n", text)
    assert.matches("\n00000002  tee1%s+tee%s+0%s+0%s+0%s+0  0\n", text)
    for _ = 1, 10 do g:send("t", "0123456789") end
    g:run()
    text = repl.top_frame(s, snap, 2)
    -- 10 frames of 10 bytes in 2 s; no right hook: tee drops them (policy)
    assert.matches("In/s%s+Out/s%s+Bytes/s", text)
    assert.matches("\n00000002  tee1%s+tee%s+5%s+0%s+50%s+0  policy=10\n", text)
    assert.matches("\n00000001  <unnamed>%s+socket%s+0%s+5%s+%-%s+0  0\n", text)
    -- off a terminal, top prints the totals once
    assert.is_true(repl.line(s, "top"))
    assert.matches("tee1%s+tee%s+10%s+0%s+100", s.text())
    g:close()
  end)

  it("completes commands, types, paths, hooks, message commands and Lua", function()
    local s, g = session()
    repl.line(s, "mkpeer . tee t left")
    repl.line(s, "name .:t tee1")
    local function c(line) return repl.complete(s, line, (line:match("^.*()%s") or 0) + 1) end
    assert.same({ "show", "shutdown" }, c("sh"))
    assert.same({ "tee" }, c("mkpeer . te"))
    assert.same({ "tee1:" }, c("show te"))
    assert.same({ "[2]:" }, c("show [2"))
    assert.same({ "getclrstats", "getstats" }, c("msg tee1: get"))
    assert.same({ "listhooks", "listnodes", "listtypes" }, c("msg tee1: list"))
    assert.same({ "tee1:left" }, c("show tee1:l"))
    assert.same({ "g:mkpeer", "g:msg", "g:msg_text" }, c("g:m"))
    repl.line(s, "mkpeer tee1: echo right x")
    assert.same({ "left", "right" }, c("rmhook tee1: "))
    assert.same({ "right" }, c("rmhook tee1: r"))
    assert.same({ "t" }, c("disconnect . "))
    assert.same({ "mg.engine" }, c("mg.eng"))
    g:close()
  end)
end)

describe("a command file", function()
  it("that is a directory is an error", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir))
    local out, code = H.run(H.moongraph .. " -f " .. dir)
    os.execute("rmdir " .. dir)
    assert.equal(1, code, out)
    assert.equal("moongraph: cannot open " .. dir .. ": Is a directory\n", out)
  end)

  it("prints msg replies as ngctl does", function()
    local out, code = H.run("printf 'mkpeer . tee t left\\nmsg .:t getstats\\n' | " ..
      H.moongraph)
    assert.equal(0, code, out)
    assert.matches('^Rec\'d response "getstats" %(%d+%) from "%[2%]:":\nArgs:\t{ right=', out)
  end)

  it("ends at g:close(), the engine closed, with no error", function()
    local out, code = H.run("printf 'mkpeer . echo e x\\ng:close()\\nshow e\\n' | " ..
      H.moongraph)
    assert.equal(0, code, out)
    assert.equal("", out)
  end)
end)

describe("the REPL on a terminal", function()
  local function drive(script, args)
    local sf = H.tmpfile(script)
    local hist = os.tmpname()
    local out, code = H.run("MOONGRAPH_HISTORY=" .. hist .. " " .. H.ptydrive .. " " .. sf ..
      " -- " .. H.moongraph .. (args and " " .. args or ""))
    return out, code, hist
  end

  it("edits lines, completes, continues chunks, and leaves on Ctrl-D", function()
    local out, code, hist = drive [[
expect mg> 
send mkpeer . tee t left\n
expect mg> 
send sho\t.\n
expect Local hook
send msg .:t getst\t\n
expect Rec'd response "getstats"
send for i = 1, 3 do\n
expect >> 
send print(i * 10) end\n
expect 30
send x = 7\x15y = 5\n
send y * 2\n
expect 10
send \x04
exit 0
]]
    assert.equal(0, code, out)
    assert.matches("Local hook", out)        -- "sho<Tab>" became "show "
    assert.matches('response "getstats"', out) -- "getst<Tab>" became "getstats"
    local h = io.open(hist):read("a")
    assert.matches("for\\040i\\040=\\0401,\\0403\\040do\\012print", h) -- one entry
    assert.matches("y\\040=\\0405", h)
    assert.not_matches("x\\040=\\0407", h) -- Ctrl-U erased it
  end)

  it("Ctrl-C stops a running chunk, not the engine; at the prompt it clears the line", function()
    local out, code = drive [[
expect mg> 
send mkpeer . echo e x\n
expect mg> 
send while true do end\n
sleep 300
send \x03
expect interrupted!
expect mg> 
send half a line
sleep 100
send \x03
expect mg> 
send write e 0x68 0x69\n
expect Rec'd data packet
send \x04
exit 0
]]
    assert.equal(0, code, out)
    assert.matches("interrupted!\r?\nstack traceback", out)
    assert.matches("mg> half a line%^C", out)
  end)

  it("Ctrl-C stops a handler that never returns, in a chunk and at the prompt", function()
    local out, code = drive([[
expect mg> 
send g:define("spin", { rcvdata = function() while true do end end }); g:mkpeer("spin", "s", "in")\n
expect mg> 
send g:send("s", "in a chunk")\n
sleep 300
send \x03
expect interrupted!
expect mg> 
send g:after(0.1, function() g:send("s", "at the prompt") end)\n
sleep 500
send \x03
expect ^C
expect mg> 
send 6 * 7\n
expect 42
send \x04
exit 0
]], "-i -e 'g = mg.engine { lua_steps = 0 }'")
    assert.equal(0, code, out)
    assert.matches("rcvdata: interrupted %(SIGINT%).*interrupted!.*timer: interrupted %(SIGINT%)", out)
  end)

  it("g:run() says the REPL runs the engine; g:close() ends the session", function()
    local out, code = drive [[
expect mg> 
send g:run()\n
expect already running the engine
expect mg> 
send g:close()\n
exit 0
]]
    assert.equal(0, code, out)
    assert.not_matches("engine is closed", out)
  end)

  it("completes the hooks of the node rmhook names", function()
    local out, code = drive [[
expect mg> 
send mkpeer . tee t left\n
expect mg> 
send name .:t tee1\n
expect mg> 
send mkpeer tee1: echo right x\n
expect mg> 
send rmhook tee1: ri\t\n
expect mg> 
send show tee1:\n
expect Num hooks: 1
send \x04
exit 0
]]
    assert.equal(0, code, out)
  end)

  it("prints a timer's lines above the prompt and redraws the line", function()
    local out, code = drive [[
expect mg> 
send t = g:every(0.3, function() print("tick") end)\n
expect mg> 
send half a line
expect tick
expect mg> half a line
send \x15t:cancel()\n
expect mg> 
send \x04
exit 0
]]
    assert.equal(0, code, out)
    assert.not_matches("half a linetick", out)
  end)

  it("top refreshes a table of the nodes until q", function()
    local out, code = drive [[
expect mg> 
send mkpeer . tee t left\n
expect mg> 
send name .:t tee1\n
expect mg> 
send t = g:every(0.01, function() g:send("t", "0123456789") end)\n
expect mg> 
send top 0.2\n
expect In/s
expect tee1
expect In/s
expect tee1
send x
sleep 100
send q
expect mg> 
send 6 * 7\n
expect 42
send \x04
exit 0
]]
    assert.equal(0, code, out)
    assert.matches("moongraph top: every 0.2 s; q leaves", out)
    -- about 100 frames a second into tee1, all dropped by tee (policy)
    local rate = tonumber(out:match("tee1%s+tee%s+(%d+)%s+0%s+[%d.k]+%s+0%s+policy="))
    assert.truthy(rate and rate > 30 and rate < 200, out)
    assert.not_matches("mg> x", out)
  end)

  it("keeps the engine running while the prompt waits", function()
    local out, code = drive [[
expect mg> 
send n = 0; t = g:every(0.01, function() n = n + 1 end)\n
sleep 300
send n > 10\n
expect true
send \x04
exit 0
]]
    assert.equal(0, code, out)
  end)
end)
