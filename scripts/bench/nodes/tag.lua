-- tag sorting by tag (untagged packets, tag_id 0, go to a) and tagging
-- what leaves by a; both hooks into one hole
return function(g, at, hook)
  assert(g:mkpeer(at, "tag", hook, "in"))
  local tag = at .. hook
  assert(g:mkpeer(tag, "hole", "a", "a"))
  assert(g:connect(tag, tag .. ".a", "b", "b"))
  assert(g:msg(tag, "sethookin", { thisHook = "in", ifMatch = "a", ifNotMatch = "b", tag_id = 0 }))
  assert(g:msg(tag, "sethookout", { thisHook = "a", tag_id = 7 }))
end
