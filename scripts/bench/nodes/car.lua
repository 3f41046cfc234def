-- car policing as an ISP's edge would: RFC 2697 at 100 Mbit/s, yellow
-- frames marked (their DSCP rewritten), red ones dropped
return function(g, at, hook)
  assert(g:mkpeer(at, "car", hook, "upper"))
  local car = at .. hook
  assert(g:mkpeer(car, "hole", "lower", "in"))
  assert(g:msg(car, "setconf", { downstream = { mode = 0, cir = 100000000, cbs = 64000,
    ebs = 128000, greenAction = 1, yellowAction = 3, redAction = 2 } }))
end
