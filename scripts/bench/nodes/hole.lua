-- the baseline: the hole alone
return function(g, at, hook) assert(g:mkpeer(at, "hole", hook, "in")) end
