-- tag-classify.lua -- a capture sorted by tags: bpf tags UDP 1 and TCP 2,
-- two tag nodes send each tag to its own file.
--
--   pcap -> bpf (udp: tag 1) -> bpf (tcp: tag 2) -> tag A --1--> PREFIX-udp.pcap
--                                                     \--else--> tag B --2--> PREFIX-tcp.pcap
--                                                                  \--else--> PREFIX-other.pcap
-- Usage: moongraph scripts/examples/tag-classify.lua IN.pcap PREFIX
local input, prefix = arg[1], arg[2]
if not (input and prefix) then
  io.stderr:write("usage: moongraph tag-classify.lua IN.pcap PREFIX\n")
  os.exit(2)
end
local function check(ok, err)
  if not ok then io.stderr:write("tag-classify: ", err, "\n") os.exit(1) end
end

local g = mg.engine()
local files = {}
local function file(path, hook, name)
  files[#files + 1] = { name = name, at = path .. hook, file = prefix .. "-" .. name .. ".pcap" }
  assert(g:mkpeer(path, "pcapout", hook, "in"))
  check(g:msg(path .. hook, "open", { file = files[#files].file }))
end
assert(g:mkpeer("tag", "a", "hold")) -- "." holds A while we build
assert(g:name(".:a", "A"))
assert(g:mkpeer("A:", "tag", "rest", "in"))
assert(g:name("A:rest", "B"))
file("A:", "udp", "udp")
assert(g:rmhook(".", "a"))
file("B:", "tcp", "tcp")
file("B:", "other", "other")
assert(g:msg("B:", "sethookin", { thisHook = "in", ifMatch = "tcp", ifNotMatch = "other", tag_id = 2 }))
-- the taggers, in front of A
assert(g:mkpeer("A:", "bpf", "in", "out"))
assert(g:name("A:in", "tcp"))
assert(g:msg("A:", "sethookin", { thisHook = "in", ifMatch = "udp", ifNotMatch = "rest", tag_id = 1 }))
assert(g:mkpeer("tcp:", "bpf", "in", "out"))
assert(g:name("tcp:in", "udp"))
assert(g:msg("tcp:", "setprogram", { thisHook = "in", ifMatch = "out", ifNotMatch = "out",
  expr = "tcp or (vlan and tcp)", tagMatch = 2 }))
assert(g:mkpeer("udp:", "pcap", "in", "out"))
assert(g:msg("udp:", "setprogram", { thisHook = "in", ifMatch = "out", ifNotMatch = "out",
  expr = "udp or (vlan and udp)", tagMatch = 1 }))
check(g:msg("udp:in", "open", { file = input }))
assert(g:msg("udp:in", "start"))
g:run()
for _, f in ipairs(files) do
  print(string.format("%-6s %6d frames -> %s", f.name, g:msg(f.at, "getstats").packets, f.file))
end
g:close() -- flushes the files
