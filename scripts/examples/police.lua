-- police.lua -- a capture policed by RFC 2697's single rate three colour
-- marker: green frames pass, yellow ones pass marked AF12 (DSCP 12), red
-- ones are dropped; what passes is written out.
--
--   pcap --upper--> car --lower--> pcapout OUT.pcap
--
-- The buckets fill by the capture's timestamps (a virtual clock), so the
-- colours are the same on every run.
-- Usage: moongraph scripts/examples/police.lua IN.pcap OUT.pcap [CIR [CBS [EBS]]]
-- (CIR in bit/s, default 64000; CBS and EBS in bytes, default 1500 and 3000)
local input, output = arg[1], arg[2]
if not (input and output) then
  io.stderr:write("usage: moongraph police.lua IN.pcap OUT.pcap [CIR [CBS [EBS]]]\n")
  os.exit(2)
end
local function check(ok, err)
  if not ok then io.stderr:write("police: ", err, "\n") os.exit(1) end
end
local function num(i, default)
  if not arg[i] then return default end
  local x = math.tointeger(tonumber(arg[i]))
  check(x, "not a whole number: '" .. arg[i] .. "'")
  return x
end

local g = mg.engine { clock = "virtual" }
assert(g:mkpeer("car", "c", "lower")) -- "." holds it while we build
assert(g:name(".:c", "police"))
check(g:msg("police:", "setconf", { downstream = { mode = 0, cir = num(3, 64000),
  cbs = num(4, 1500), ebs = num(5, 3000), greenAction = "forward",
  yellowAction = "mark", redAction = "drop" } }))
assert(g:mkpeer("police:", "pcap", "upper", "out"))
check(g:msg("police:upper", "open", { file = input }))
assert(g:rmhook(".", "c"))
assert(g:mkpeer("police:", "pcapout", "lower", "in"))
check(g:msg("police:lower", "open", { file = output }))
assert(g:msg("police:upper", "start"))
g:run()

local s = g:msg("police:", "getstats").downstream
print(string.format("green %d, yellow %d (marked, but %d not IP), red %d (dropped)", s.green,
  s.yellow, s.errors, s.red))
print(string.format("%d frames passed -> %s", s.passed, output))
g:close()
