-- vlan-split.lua -- a capture demultiplexed by VLAN: one file per VLAN,
-- its frames untagged, and one for the rest (untagged or other VLANs).
--
--   pcap --downstream--> vlan --v10-----> pcapout PREFIX-vlan10.pcap
--                             --v20-----> pcapout PREFIX-vlan20.pcap
--                             --nomatch-> pcapout PREFIX-other.pcap
--
-- The VLANs are those named after the prefix, or else every VLAN in the
-- capture, found by a first pass with a small node type written in Lua.
-- Usage: moongraph scripts/examples/vlan-split.lua IN.pcap PREFIX [VID...]
local input, prefix = arg[1], arg[2]
if not (input and prefix) then
  io.stderr:write("usage: moongraph vlan-split.lua IN.pcap PREFIX [VID...]\n")
  os.exit(2)
end
local function check(ok, err)
  if not ok then io.stderr:write("vlan-split: ", err, "\n") os.exit(1) end
end

-- a pcap source reading the input on this hook of the node at path;
-- runs the file through to the end
local function play(g, path, hook)
  assert(g:mkpeer(path, "pcap", hook, "out"))
  check(g:msg(path .. hook, "open", { file = input }))
  assert(g:msg(path .. hook, "start"))
  g:run()
end

local vids = {}
for i = 3, #arg do
  local vid = math.tointeger(tonumber(arg[i]))
  check(vid and vid >= 0 and vid <= 4095, "a VID is from 0 to 4095, not '" .. arg[i] .. "'")
  vids[#vids + 1] = vid
end
if #vids == 0 then -- first pass: which VLANs are there?
  local g = mg.engine()
  local seen = {}
  g:define("vids", { rcvdata = function(_, item)
    local v = item:decode().vlan
    if v and not seen[v] then seen[v] = true vids[#vids + 1] = v end
  end })
  assert(g:mkpeer("vids", "v", "hold"))
  assert(g:name(".:v", "vids"))
  play(g, "vids:", "in")
  g:close()
  table.sort(vids)
end

local g = mg.engine()
assert(g:mkpeer("vlan", "v", "hold")) -- "." holds it while we build
assert(g:name(".:v", "vlan"))
local outs = {}
for _, vid in ipairs(vids) do outs[#outs + 1] = { hook = "v" .. vid, vid = vid, name = "vlan" .. vid } end
outs[#outs + 1] = { hook = "nomatch", name = "other" }
for _, o in ipairs(outs) do
  o.file = prefix .. "-" .. o.name .. ".pcap"
  assert(g:mkpeer("vlan:", "pcapout", o.hook, "in"))
  check(g:msg("vlan:" .. o.hook, "open", { file = o.file }))
  if o.vid then assert(g:msg("vlan:", "addfilter", { vid = o.vid, hook = o.hook })) end
end
assert(g:rmhook(".", "v"))
play(g, "vlan:", "downstream")

for _, o in ipairs(outs) do
  print(string.format("%-8s %6d frames -> %s", o.name, g:msg("vlan:" .. o.hook, "getstats").packets, o.file))
end
g:close() -- flushes the files
