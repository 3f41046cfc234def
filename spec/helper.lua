-- helper.lua -- what every spec shares.  The build directory comes from
-- MG_BUILD (ctest sets it); busted's --cpath finds the module there.
local H = {}
H.build = os.getenv("MG_BUILD") or "build"
H.root = os.getenv("MG_ROOT") or "."
H.moongraph = H.build .. "/moongraph"
H.ptydrive = H.build .. "/spec/ptydrive"

-- Under ASan, stock lua5.4 runs with the runtime preloaded; our programs
-- link it themselves, and other programs (ip, tcpdump) must not get it:
-- its leak checker would fail them for their own leaks.
local CLEAN = "unset LD_PRELOAD; "

-- Run a shell command; its output (stdout and stderr) and exit code.
function H.run(cmd)
  local f = io.popen(CLEAN .. "{ " .. cmd .. "; } 2>&1; echo \"@exit=$?\"")
  local out = f:read("a")
  f:close()
  local code = tonumber(out:match("@exit=(%d+)%s*$"))
  return out:gsub("@exit=%d+%s*$", ""), code
end

-- A file with these contents; its path.
function H.tmpfile(contents, suffix)
  local path = os.tmpname() .. (suffix or "")
  local f = assert(io.open(path, "w"))
  f:write(contents)
  f:close()
  return path
end

-- A file's contents, or "" while it does not exist.
function H.slurp(path)
  local f = io.open(path)
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

-- Ask fn every 50 ms, for at most tries times, until it says something
-- true (a background program got there); its last answer.
function H.wait(tries, fn)
  local v
  for _ = 1, tries do
    v = fn()
    if v then return v end
    os.execute("sleep 0.05")
  end
  return v
end

-- os.execute, for commands started in the background.
function H.execute(cmd) return os.execute(CLEAN .. cmd) end

function H.shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- A fresh engine whose log lines are kept in H.logs instead of printed.
function H.engine(opts)
  local mg = require "moongraph"
  local g = assert(mg.engine(opts))
  H.logs = {}
  g:on_log(function(level, line) H.logs[#H.logs + 1] = level .. ": " .. line end)
  return g
end

-- An Ethernet + IPv4 + UDP packet, 42 bytes.
function H.udp_packet(sport, dport)
  sport, dport = sport or 1234, dport or 53
  return string.char(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00,
    0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    sport >> 8, sport & 255, dport >> 8, dport & 255, 0, 8, 0, 0)
end

_G.H = H
return H
