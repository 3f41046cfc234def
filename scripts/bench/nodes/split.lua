-- split passing in -> mixed, into the hole
return function(g, at, hook)
  assert(g:mkpeer(at, "split", hook, "in"))
  assert(g:mkpeer(at .. hook, "hole", "mixed", "in"))
end
