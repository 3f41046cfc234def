-- graph_util.lua -- what FreeBSD's tests/sys/netgraph/util.c gives its
-- cases, over a moongraph engine: the script's node "." plays the test's
-- socket node, Lua callbacks count what reaches its hooks, and running the
-- engine until it is idle stands for ng_handle_events.
--
-- FreeBSD's ng_connect(path, hook, peerpath, peerhook) is
-- g:connect(path, peerpath, hook, peerhook) here, and ng_mkpeer(path,
-- hook, type, peerhook) is g:mkpeer(path, type, hook, peerhook).
local U = {}

-- A fresh engine, and r[0..3], the counters the cases' get_dataN bump.
function U.init(opts)
  local t = { g = H.engine(opts), r = {}, counts = {} }
  U.clear(t)
  t.g:on_data(function(hook, item)
    local i = t.counts[hook]
    if i then t.r[i] = t.r[i] + 1 end
    if t.on_data then t.on_data(hook, item) end
  end)
  return t
end

-- ng_register_data(hook, get_dataN): what reaches hook counts in r[n].
function U.register(t, hook, n) t.counts[hook] = n end

-- bzero(r) / ng_counter_clear(r)
function U.clear(t) for i = 0, 3 do t.r[i] = 0 end end

-- ng_handle_events: everything sent so far arrives.
function U.handle(t) t.g:run() end

-- ng_send_data, then ng_handle_events: what it returned, and r after.
function U.send(t, hook, data)
  local ok, err, name = t.g:send(hook, data)
  U.handle(t)
  return ok, err, name
end

-- r[0..3] as a list, for assert.same
function U.counts(t) return { t.r[0], t.r[1], t.r[2], t.r[3] } end

-- The hook names of the node at path.
function U.hooks(t, path)
  local s = assert(t.g:show(path))
  local names = {}
  for _, h in ipairs(s.hooks) do names[#names + 1] = h.ourhook end
  table.sort(names)
  return names
end

return U
