-- present.lua -- engine methods that only make text out of what the verbs
-- return.  g:dot(): the graph in Graphviz form, as ngctl's dot draws it.
local M = {}

function M.dot(g)
  local nodes, err, code = g:list()
  if not nodes then return nil, err, code end
  local out = { "graph netgraph {\n\tedge [ weight = 1.0 ];\n",
                "\tnode [ shape = record, fontsize = 12 ] {\n" }
  local function add(fmt, ...) out[#out + 1] = fmt:format(...) end
  for _, n in ipairs(nodes) do
    add('\t\t"%x" [ label = "{%s:|{%s|[%x]:}}" ];\n', n.id,
      n.name ~= "" and n.name or "<unnamed>", n.type, n.id)
  end
  add("\t};\n\tsubgraph cluster_disconnected {\n\t\tbgcolor = pink;\n")
  for _, n in ipairs(nodes) do
    if n.hooks == 0 then add('\t\t"%x";\n', n.id) end
  end
  add("\t};\n")
  for _, n in ipairs(nodes) do
    local s = g:show(("[%x]:"):format(n.id))
    for _, h in ipairs(s and s.hooks or {}) do
      local p = h.peer.id
      -- each edge once: from the lower id, or the lower hook name
      if p and (n.id < p or (n.id == p and h.ourhook <= h.peerhook)) then
        add('\t"%x" -- "%x" [ headlabel = "%s", taillabel = "%s" ];\n', n.id, p,
          h.peerhook, h.ourhook)
      end
    end
  end
  add("}\n")
  return table.concat(out)
end

return M
