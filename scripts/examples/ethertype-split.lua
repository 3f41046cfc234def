-- ethertype-split.lua -- a capture split by ethertype, one file per kind
-- (IPv4, ARP, IPv6) plus one for the rest, by an etf node:
--
--   pcap --> etf --ipv4--> pcapout PREFIX-ipv4.pcap
--                --arp---> pcapout PREFIX-arp.pcap
--                --ipv6--> pcapout PREFIX-ipv6.pcap
--                --nomatch-> pcapout PREFIX-other.pcap
--
-- Usage: moongraph scripts/examples/ethertype-split.lua IN.pcap PREFIX
local input, prefix = arg[1], arg[2]
if not (input and prefix) then
  io.stderr:write("usage: moongraph ethertype-split.lua IN.pcap PREFIX\n")
  os.exit(2)
end
local function check(ok, err)
  if not ok then io.stderr:write("ethertype-split: ", err, "\n") os.exit(1) end
  return ok
end

local g = mg.engine()
assert(g:mkpeer("etf", "e", "downstream")) -- held by "." while we build
assert(g:name(".:e", "etf"))
local kinds = { { "ipv4", 0x0800 }, { "arp", 0x0806 }, { "ipv6", 0x86dd }, { "nomatch" } }
for _, k in ipairs(kinds) do
  local hook, file = k[1], prefix .. "-" .. (k[2] and k[1] or "other") .. ".pcap"
  assert(g:mkpeer("etf:", "pcapout", hook, "in"))
  check(g:msg("etf:" .. hook, "open", { file = file }))
  if k[2] then assert(g:msg("etf:", "setfilter", { matchhook = hook, ethertype = k[2] })) end
  k.file = file
end
assert(g:rmhook(".", "e"))
assert(g:mkpeer("etf:", "pcap", "downstream", "out"))
check(g:msg("etf:downstream", "open", { file = input }))
assert(g:msg("etf:downstream", "start"))
g:run()

local st = g:msg("etf:", "getstatus")
print(string.format("%d frames read, %d matched no filter", st.packets_in, st.packets_nomatch))
for _, k in ipairs(kinds) do
  print(string.format("%-8s %6d frames -> %s", k[1], g:msg("etf:" .. k[1], "getstats").packets, k.file))
end
g:close() -- flushes the files
