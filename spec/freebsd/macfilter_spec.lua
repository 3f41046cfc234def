-- FreeBSD's tests/sys/netgraph/ng_macfilter_test.sh, case by case.  The
-- shell test hangs the graph on a real interface's ng_ether node ($eth:);
-- here the script's own node "." stands in for it, with hooks "lower" and
-- "upper" as ng_ether has.  The test's `ngctl msg MF: gethooks` output
-- is read the same way: the ASCII form, by the same patterns.
local HOOKS, HOOKSADD, ITERATIONS, SUBITERATIONS = 3, 42, 7, 71

local g

local function configure_nodes()
  assert(g:mkpeer(".", "macfilter", "lower", "ether"))
  assert(g:name(".:lower", "MF"))
  assert(g:mkpeer(".", "one2many", "upper", "one"))
  assert(g:name(".:upper", "O2M"))
  assert(g:msg("O2M:", "setconfig", "{ xmitAlg=3 failAlg=1 enabledLinks=[ 1 1 ] }"))
  assert(g:connect("MF:", "O2M:", "default", "many0"))
  for i = 1, HOOKS do assert(g:connect("MF:", "O2M:", "out" .. i, "many" .. i)) end
end

-- gethooks: the hook names, sorted, joined by ":".
local function gethooks()
  local text = assert(g:msg_text("MF:", "gethooks"))
  local h, names = {}, {}
  for name in text:gmatch('hookname="(.-)"') do h[name] = true end
  for name in pairs(h) do names[#names + 1] = name end
  table.sort(names)
  return table.concat(names, ":")
end

-- countmacs [hookname]: the addresses directed to that hook (any: all).
local function countmacs(hookname)
  local text = assert(g:msg_text("MF:", "gethooks"))
  local c = 0
  for name, n in text:gmatch('hookname="(.-)" hookid=%d+ maccnt=(%d+)') do
    if not hookname or name == hookname then c = c + tonumber(n) end
  end
  return c
end

local function randomedge()
  local e = math.random(0, HOOKS)
  return e == 0 and "default" or "out" .. e
end
local function genmac(j, i) return string.format("00:00:00:00:%02x:%02x", j, i) end
local function direct(edge, ether)
  assert(g:msg("MF:", "direct", ('{ hookname="%s" ether=%s }'):format(edge, ether)))
end
-- seq 1 1 n | sort -R
local function shuffled(a, b)
  local t = {}
  for i = a, b do t[#t + 1] = i end
  for i = #t, 2, -1 do
    local j = math.random(i)
    t[i], t[j] = t[j], t[i]
  end
  return t
end
local function count(entries, edge)
  local n = 0
  for _, e in ipairs(entries) do if e[2] == edge then n = n + 1 end end
  return n
end

-- The shell test is one script whose steps build on each other; so are
-- these cases, in its order, on one graph.
describe("FreeBSD ng_macfilter_test.sh", function()
  local created_hooks, entries
  setup(function()
    math.randomseed(42)
    g = H.engine()
    configure_nodes()
    created_hooks = gethooks()
    assert.equal("default:out1:out2:out3", created_hooks)
  end)
  teardown(function()
    assert(g:shutdown("MF:"))
    assert(g:shutdown("O2M:"))
    g:close()
  end)

  it("Duplicate default hook", function()
    local ok, _, name = g:connect("MF:", "O2M:", "default", "many99")
    assert.is_nil(ok)
    assert.truthy(name)
  end)

  it("Add and remove hooks", function()
    for i = 1, 3 do assert.is_true(g:connect("MF:", "O2M:", "xxx" .. i, "many" .. (HOOKS + i))) end
    assert.equal(created_hooks .. ":xxx1:xxx2:xxx3", gethooks())
    assert.is_true(g:rmhook("MF:", "xxx1"))
    assert.equal(created_hooks .. ":xxx2:xxx3", gethooks())
    assert.is_true(g:rmhook("MF:", "xxx2"))
    assert.equal(created_hooks .. ":xxx3", gethooks())
    assert.is_true(g:rmhook("MF:", "xxx3"))
    assert.equal(created_hooks, gethooks())
  end)

  it("Add many hooks", function()
    local added, names = "", {}
    for i = 10, HOOKSADD do
      added = added .. ":xxx" .. i
      names[#names + 1] = "xxx" .. i
      assert(g:connect("MF:", "O2M:", "xxx" .. i, "many" .. (HOOKS + i)))
    end
    assert.equal(created_hooks .. added, gethooks())
    for _, h in ipairs(names) do assert(g:rmhook("MF:", h)) end
    assert.equal(created_hooks, gethooks())
  end)

  it("Adding many MACs...", function()
    for _, i in ipairs(shuffled(1, ITERATIONS)) do
      for j = 0, SUBITERATIONS do direct(i == 2 and "out2" or "out1", genmac(j, i)) end
    end
    assert.equal((ITERATIONS - 1) * (SUBITERATIONS + 1), countmacs("out1"))
    assert.equal(1 * (SUBITERATIONS + 1), countmacs("out2"))
    assert.equal(0, countmacs("out3"))
  end)

  it("Changing hooks for MACs...", function()
    for i = 1, ITERATIONS do direct("out3", genmac(0, i)) end
    assert.equal((ITERATIONS - 1) * SUBITERATIONS, countmacs("out1"))
    assert.equal(1 * SUBITERATIONS, countmacs("out2"))
    assert.equal(ITERATIONS, countmacs("out3"))
  end)

  it("Removing all MACs one by one...", function()
    for _, i in ipairs(shuffled(1, ITERATIONS)) do
      for _, j in ipairs(shuffled(0, SUBITERATIONS)) do direct("default", genmac(j, i)) end
    end
    assert.equal(0, countmacs())
  end)

  it("Randomly adding MACs on random hooks...", function()
    entries = {}
    for i = 1, ITERATIONS do
      for _, j in ipairs(shuffled(0, SUBITERATIONS)) do
        local edge, ether = randomedge(), genmac(j, i)
        direct(edge, ether)
        entries[#entries + 1] = { ether, edge }
      end
    end
    for k = 1, 3 do assert.equal(count(entries, "out" .. k), countmacs("out" .. k)) end
  end)

  it("Randomly changing MAC assignments...", function()
    for _ = 1, ITERATIONS do
      local entries2 = {}
      for _, e in ipairs(entries) do
        local edge2 = randomedge()
        direct(edge2, e[1])
        entries2[#entries2 + 1] = { e[1], edge2 }
      end
      for k = 1, 3 do assert.equal(count(entries2, "out" .. k), countmacs("out" .. k)) end
      entries = entries2
    end
  end)

  it("Resetting macfilter...", function()
    assert.is_true(g:msg("MF:", "reset"))
    assert.equal(0, countmacs())
  end)
end)
