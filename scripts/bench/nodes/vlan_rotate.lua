-- vlan_rotate from original to ordered, no rotation: frames with tags
-- counted and passed, untagged ones to incomplete, all into one hole
return function(g, at, hook)
  assert(g:mkpeer(at, "vlan_rotate", hook, "original"))
  local vr = at .. hook
  assert(g:mkpeer(vr, "hole", "ordered", "ordered"))
  assert(g:connect(vr, vr .. ".ordered", "incomplete", "incomplete"))
  assert(g:connect(vr, vr .. ".ordered", "excessive", "excessive"))
  assert(g:msg(vr, "setconf", { rot = 0, min = 0, max = 10 }))
end
