-- vlan as a trunk port: VLANs 10 and 20 to their hooks (tags taken off),
-- the rest to nomatch, all into one hole
return function(g, at, hook)
  assert(g:mkpeer(at, "vlan", hook, "downstream"))
  local vlan = at .. hook
  assert(g:mkpeer(vlan, "hole", "v10", "v10"))
  assert(g:connect(vlan, vlan .. ".v10", "v20", "v20"))
  assert(g:connect(vlan, vlan .. ".v10", "nomatch", "nomatch"))
  assert(g:msg(vlan, "addfilter", { vid = 10, hook = "v10" }))
  assert(g:msg(vlan, "addfilter", { vid = 20, hook = "v20" }))
end
