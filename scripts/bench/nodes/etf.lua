-- etf as in front of a stack: IPv4 and ARP to their hooks, the rest to
-- nomatch, all into one hole
return function(g, at, hook)
  assert(g:mkpeer(at, "etf", hook, "downstream"))
  local etf = at .. hook
  assert(g:mkpeer(etf, "hole", "ip", "ip"))
  assert(g:connect(etf, etf .. ".ip", "arp", "arp"))
  assert(g:connect(etf, etf .. ".ip", "nomatch", "nomatch"))
  assert(g:msg(etf, "setfilter", { matchhook = "ip", ethertype = 0x800 }))
  assert(g:msg(etf, "setfilter", { matchhook = "arp", ethertype = 0x806 }))
end
