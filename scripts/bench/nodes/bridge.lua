-- bridge of three links as a small switch would be: packets come in on
-- link0 (their sources learnt there); the capture's destinations are
-- never heard from, so each packet is flooded to link1 and link2, both
-- into one hole: a lookup, a learn or refresh, and one shared copy
return function(g, at, hook)
  assert(g:mkpeer(at, "bridge", hook, "link0"))
  local br = at .. hook
  assert(g:mkpeer(br, "hole", "link1", "a"))
  assert(g:connect(br, br .. ".link1", "link2", "b"))
end
