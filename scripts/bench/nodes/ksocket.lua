-- a connected UDP socket on the loopback: each packet is one send(2) to a
-- port bound by a second ksocket (its reads, the hole's, are the far end's
-- cost and not measured here: it reads on the loop only between bursts)
return function(g, at, hook)
  assert(g:mkpeer(at, "ksocket", hook, "inet/dgram/udp"))
  local far = "ksfar"
  assert(g:mkpeer("ksocket", far, "inet/dgram/udp"))
  assert(g:msg(".:" .. far, "setopt", { name = "SO_RCVBUF", value = 0 })) -- the least
  assert(g:msg(".:" .. far, "bind", "inet/127.0.0.1:0"))
  assert(g:msg(at .. hook, "connect", g:msg(".:" .. far, "getname")))
end
