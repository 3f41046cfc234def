-- pipe as a WAN link would be set: 1 Gbit/s, 1 ms, a little loss, a
-- queue of 1000 frames; the capture arrives far faster than the link
-- sends it, so the queue fills and drops: a queue, a schedule and a timer
return function(g, at, hook)
  assert(g:mkpeer(at, "pipe", hook, "upper"))
  local pipe = at .. hook
  assert(g:mkpeer(pipe, "hole", "lower", "in"))
  local link = { plr = 0.0001, queuelen = 1000 }
  assert(g:msg(pipe, "setcfg", { bandwidth = 1000000000, delay = 1000, seed = 1,
    downstream = link, upstream = link }))
end
