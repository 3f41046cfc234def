-- macfilter with 1000 addresses on two upper hooks, frames from ether
-- sorted by source (the capture's senders unknown: to default), all into
-- one hole
return function(g, at, hook)
  assert(g:mkpeer(at, "macfilter", hook, "ether"))
  local mf = at .. hook
  assert(g:mkpeer(mf, "hole", "default", "default"))
  assert(g:connect(mf, mf .. ".default", "out1", "out1"))
  assert(g:connect(mf, mf .. ".default", "out2", "out2"))
  for i = 1, 1000 do
    assert(g:msg(mf, "direct", { hookname = i % 2 == 0 and "out1" or "out2",
      ether = string.format("02:00:00:00:%02x:%02x", i >> 8, i & 255) }))
  end
end
