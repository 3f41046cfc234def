-- the anchor hop: a tee passing left to right, into the hole
return function(g, at, hook)
  assert(g:mkpeer(at, "tee", hook, "left"))
  assert(g:mkpeer(at .. hook, "hole", "right", "in"))
end
