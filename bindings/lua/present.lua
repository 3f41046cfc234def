-- present.lua -- engine methods that only make text out of what the verbs
-- return.  g:dot([opts]): the graph in Graphviz form, as ngctl's dot draws
-- it; with opts.stats each edge carries its packet counts, with opts.file
-- it is written there, as a picture when the name says .svg, .png or .pdf
-- (through Graphviz's dot program).
local M = {}

local pictures = { svg = true, png = true, pdf = true }

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function write(text, file)
  local ext = file:match("%.(%w+)$")
  ext = ext and ext:lower()
  if not pictures[ext] then
    local f, err = io.open(file, "w")
    if not f then return nil, "dot: " .. err, "EIO" end
    f:write(text)
    f:close()
    return true
  end
  if not os.execute("command -v dot >/dev/null 2>&1") then
    return nil, "dot: drawing " .. file .. " needs Graphviz's dot program, which is not " ..
      "installed (Debian: apt-get install graphviz); a .dot file needs nothing", "ENOENT"
  end
  local errs = os.tmpname()
  local p = io.popen(("dot -T%s -o %s 2>%s"):format(ext, quote(file), quote(errs)), "w")
  p:write(text)
  local ok = p:close()
  local f = io.open(errs)
  local why = f and f:read("a"):gsub("%s+$", "") or ""
  if f then f:close() end
  os.remove(errs)
  if not ok then return nil, "dot: Graphviz could not write " .. file .. ": " .. why, "EIO" end
  return true
end

-- A name may hold any byte but . and : (netgraph's rule): in a record
-- label \ " { } | < > would be Graphviz's syntax, in a plain one \ and ".
local function record_text(s) return (s:gsub('[\\"{}|<>]', "\\%0")) end
local function label_text(s) return (s:gsub('[\\"]', "\\%0")) end

function M.dot(g, opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to 'dot' ({ file=..., stats=true } expected)", 2)
  end
  opts = opts or {}
  local nodes, err, code = g:list()
  if not nodes then return nil, err, code end
  local out = { "graph netgraph {\n\tedge [ weight = 1.0 ];\n",
                "\tnode [ shape = record, fontsize = 12 ] {\n" }
  local function add(fmt, ...) out[#out + 1] = fmt:format(...) end
  for _, n in ipairs(nodes) do
    add('\t\t"%x" [ label = "{%s:|{%s|[%x]:}}" ];\n', n.id,
      n.name ~= "" and record_text(n.name) or "<unnamed>", record_text(n.type), n.id)
  end
  add("\t};\n\tsubgraph cluster_disconnected {\n\t\tbgcolor = pink;\n")
  for _, n in ipairs(nodes) do
    if n.hooks == 0 then add('\t\t"%x";\n', n.id) end
  end
  add("\t};\n")
  local sent = {} -- [id][hook] = packets out of it, for opts.stats
  local function out_of(id, hook)
    if not sent[id] then
      local st = g:stats(("[%x]:"):format(id))
      sent[id] = {}
      for h, c in pairs(st and st.hooks or {}) do sent[id][h] = c.out end
    end
    return sent[id][hook] or 0
  end
  for _, n in ipairs(nodes) do
    local s = g:show(("[%x]:"):format(n.id))
    for _, h in ipairs(s and s.hooks or {}) do
      local p = h.peer.id
      -- each edge once: from the lower id, or the lower hook name
      if p and (n.id < p or (n.id == p and h.ourhook <= h.peerhook)) then
        local label = ""
        if opts.stats then
          label = (', label = "%d >\\n< %d"'):format(out_of(n.id, h.ourhook),
            out_of(p, h.peerhook))
        end
        add('\t"%x" -- "%x" [ headlabel = "%s", taillabel = "%s"%s ];\n', n.id, p,
          label_text(h.peerhook), label_text(h.ourhook), label)
      end
    end
  end
  add("}\n")
  local text = table.concat(out)
  if opts.file then return write(text, opts.file) end
  return text
end

return M
