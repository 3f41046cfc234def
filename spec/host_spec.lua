-- The moongraph program: scripts, chunks, command files, stdin, options
-- and exit codes.
local q = H.shell_quote

describe("the moongraph program", function()
  it("runs a script with its arguments in arg", function()
    local f = H.tmpfile([[
      local mg = require "moongraph"
      print(#arg, arg[0]:match("[^/]*$"), arg[1], arg[2], mg == _G.mg)
      local g = mg.engine()
      g:mkpeer("tee", "t", "left")
      print(#g:list())
    ]], ".lua")
    local out, code = H.run(q(H.moongraph) .. " " .. f .. " a 'b c'")
    assert.equal(0, code)
    assert.matches("2\t" .. f:match("[^/]*$"):gsub("%p", "%%%0") .. "\ta\tb c\ttrue\n2\n", out)
  end)

  it("reports a script error with file:line and exits 1", function()
    local f = H.tmpfile("local x = 1\nerror('broken here')\n", ".lua")
    local out, code = H.run(q(H.moongraph) .. " " .. f)
    assert.equal(1, code)
    assert.matches("moongraph: .*%.lua:2: broken here", out)
    assert.matches("stack traceback", out)
    f = H.tmpfile("local = 1\n", ".lua")
    out, code = H.run(q(H.moongraph) .. " " .. f)
    assert.equal(1, code)
    assert.matches("%.lua:1: .*near '='", out)
    out, code = H.run(q(H.moongraph) .. " /nonexistent/x.lua")
    assert.equal(1, code)
    assert.matches("cannot open /nonexistent/x.lua", out)
  end)

  it("-e runs a chunk; -h, -v; unknown options exit 2", function()
    local out, code = H.run(q(H.moongraph) .. " -e 'print(mg.version, 6*7)'")
    assert.equal(0, code)
    assert.matches("^0%.1%.0\t42\n$", out)
    out, code = H.run(q(H.moongraph) .. " -e 'error(\"no\")'")
    assert.equal(1, code)
    assert.matches("%(command line%):1: no", out)
    out, code = H.run(q(H.moongraph) .. " --help")
    assert.equal(0, code)
    assert.matches("usage: moongraph %[options%]", out)
    out, code = H.run(q(H.moongraph) .. " --version")
    assert.equal(0, code)
    assert.matches("^moongraph 0%.1%.0 %(Lua 5%.4", out)
    out, code = H.run(q(H.moongraph) .. " --frob")
    assert.equal(2, code)
    assert.matches("unknown option '%-%-frob'", out)
    out, code = H.run(q(H.moongraph) .. " -e")
    assert.equal(2, code)
    assert.matches("option '%-e' needs an argument", out)
  end)

  it("-f runs a command file in ngctl's syntax", function()
    local f = H.tmpfile([[
# a small graph
mkpeer . tee t left
name .:t t
mkpeer t: hole right in

# data through it, then its counters
write t 01 02 03
msg t:right getstats { hook="in" }
show t:
print("lua too", #g:list())
]])
    local out, code = H.run(q(H.moongraph) .. " -f " .. f)
    assert.equal(0, code)
    assert.matches('Rec\'d response "getstats" %(%d+%) from "%[3%]:":\nArgs:\t{ frames=1 octets=3 }', out)
    assert.matches("Name: t%s+Type: tee", out)
    assert.matches("lua too\t3", out)
  end)

  it("-f stops at the first failing line, naming it, and exits 1", function()
    local f = H.tmpfile("mkpeer . tee t left\nmkpeer . nosuch x y\nlist\n")
    local out, code = H.run(q(H.moongraph) .. " -f " .. f)
    assert.equal(1, code)
    assert.matches(":2: send msg: No such file or directory: unknown node type 'nosuch'", out)
    assert.not_matches("There are", out)
    f = H.tmpfile("show\n")
    out, code = H.run(q(H.moongraph) .. " -f " .. f)
    assert.equal(1, code)
    assert.matches(":1: usage: show %[%-n%] <path>", out)
    f = H.tmpfile("for i = 1, 2 do\n")
    out, code = H.run(q(H.moongraph) .. " -f " .. f)
    assert.equal(1, code)
    assert.matches("unfinished Lua chunk", out)
    out, code = H.run(q(H.moongraph) .. " -f /nonexistent")
    assert.equal(1, code)
    assert.matches("cannot open /nonexistent", out)
  end)

  it("reads stdin as commands when it is not a terminal", function()
    local out, code = H.run("printf 'mkpeer . echo e x\\ntypes\\nx = 2\\nprint(x + 1)\\n' | "
      .. q(H.moongraph))
    assert.equal(0, code)
    assert.matches("There are %d+ total types", out) -- one per type in nodes.def, and socket
    assert.matches("\n3\n", out)
    out, code = H.run("printf 'msg nowhere: nodeinfo\\n' | " .. q(H.moongraph))
    assert.equal(1, code)
    assert.matches("stdin:1: send msg: No such file or directory: no node named 'nowhere'", out)
  end)
end)

describe("a handler that never returns", function()
  -- Start the script, signal it after a second; its output and exit code.
  -- (A background job of sh starts with SIGINT ignored: env puts it back;
  -- timeout kills what does not end.)
  local function signalled(script, sig)
    local f = H.tmpfile(script, ".lua")
    return H.run("timeout -s KILL 20 env --default-signal=INT " .. q(H.moongraph) ..
      " " .. f .. " & t=$!; sleep 1; kill -" .. sig .. " $(pgrep -P $t); wait $t")
  end
  local SPIN = [[
    local g = mg.engine { lua_steps = 0 }
    g:define("spin", { rcvdata = function() while true do end end })
    assert(g:mkpeer("spin", "x", "in"))
  ]]

  it("still hears SIGTERM and SIGINT, and the program says so", function()
    -- with no budget (no hook until the signal) and a budget too big to end it
    for _, steps in ipairs { "0", "1 << 40" } do for _, sig in ipairs { "TERM", "INT" } do
      local out, code = signalled(SPIN:gsub("lua_steps = 0", "lua_steps = " .. steps) .. [[
        io.stderr:write("spinning\n")
        g:send("x", "p")
        print("not reached")
      ]], sig)
      assert.matches("spinning", out)
      assert.matches("SIG" .. sig .. ": a Lua handler was interrupted", out)
      assert.not_matches("not reached", out)
      assert.equal(sig == "TERM" and 143 or 130, code)
    end end
  end)

  it("lets the script's own signal handler have the signal", function()
    local out, code = signalled(SPIN .. [[
      g:on_signal("TERM", function() print("on_signal TERM"); g:stop() end)
      g:after(0, function() g:send("x", "p") end) -- from a timer: nested calls
      g:run { ["until"] = "stopped" }
      print("after run")
      g:close()
    ]], "TERM")
    assert.equal(0, code)
    assert.matches("timer: .*interrupted %(SIGTERM%)", out)
    assert.matches("on_signal TERM\nafter run", out)
  end)
end)
