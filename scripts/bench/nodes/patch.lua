-- patch as a router's TTL step: one less, header checksum fixed, offsets
-- from the network header (past any VLAN tag)
return function(g, at, hook)
  assert(g:mkpeer(at, "patch", hook, "in"))
  local patch = at .. hook
  assert(g:msg(patch, "setconfig", { relative_offset = 1, csum_flags = 1, ops = {
    { offset = 8, length = 1, mode = "sub", value = 1 } } }))
  assert(g:mkpeer(patch, "hole", "out", "in"))
end
