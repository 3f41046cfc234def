-- Messages: ng_bpf's instruction form of a program, and every node type
-- refusing a field it does not know by name.
local q = H.shell_quote
local SAMPLE = H.root .. "/pcaps/sample.pcap"

-- tcpdump's own compilation of expr for the sample, as netgraph takes it
local function ddd(expr)
  local out, code = H.run("tcpdump -r " .. q(SAMPLE) .. " -ddd " .. q(expr) .. " 2>/dev/null")
  assert.equal(0, code)
  local n, prog = nil, {}
  for line in out:gmatch("[^\n]+") do
    if not n then n = tonumber(line)
    else
      local c, t, f, k = line:match("^(%d+) (%d+) (%d+) (%d+)$")
      prog[#prog + 1] = { code = tonumber(c), jt = tonumber(t), jf = tonumber(f), k = tonumber(k) }
    end
  end
  assert.equal(n, #prog)
  return prog
end

local function count(expr)
  local out = H.run("tcpdump --count -r " .. q(SAMPLE) .. " " .. q(expr) .. " 2>/dev/null")
  return tonumber(out:match("(%d+) packets?"))
end

-- pcap -> bpf "f:" (in) -> hole on yes and no
local function graph()
  local g = H.engine()
  assert(g:mkpeer("bpf", "x", "ctl"))
  assert(g:name(".:x", "f"))
  assert(g:mkpeer("f:", "pcap", "in", "out"))
  assert(g:name("f:in", "src"))
  assert(g:mkpeer("f:", "hole", "yes", "in"))
  assert(g:connect("f:", "f:yes", "no", "in2"))
  assert(g:msg("src:", "open", { file = SAMPLE }))
  return g
end

describe("the bpf node", function()
  it("takes ng_bpf's instructions from tcpdump -ddd and matches as tcpdump does", function()
    local g = graph()
    local prog = ddd("udp port 53")
    assert.is_true(g:msg("f:", "setprogram", { thisHook = "in", ifMatch = "yes", ifNotMatch = "no",
      bpf_prog_len = #prog, bpf_prog = prog }))
    local p = g:msg("f:", "getprogram", "in") -- ng_bpf's bare hook name
    assert.equal(#prog, p.bpf_prog_len)
    assert.same(prog, p.bpf_prog)
    assert.is_nil(p.expr)
    assert(g:msg("src:", "start"))
    g:run()
    local st = g:msg("f:", "getstats", "in")
    assert.equal(300, st.recvFrames)
    assert.equal(count("udp port 53"), st.recvMatchFrames)
    assert.equal(300 - st.recvMatchFrames, g:msg("f:", "getstats", { hook = "no" }).xmitFrames)
    -- the text form, as ngctl users write it
    local text = {}
    for _, i in ipairs(prog) do
      text[#text + 1] = string.format("{ code=%d jt=%d jf=%d k=%d }", i.code, i.jt, i.jf, i.k)
    end
    assert.is_true(g:msg("f:", "setprogram", string.format(
      "{ thisHook=\"in\" ifMatch=\"yes\" bpf_prog_len=%d bpf_prog=[ %s ] }", #prog,
      table.concat(text, " "))))
    assert.matches("bpf_prog_len=20", g:msg_text("f:", "getprogram", "in"))
    -- an instruction program tags what it matches as an expression does
    assert.is_true(g:msg("f:", "setprogram", { thisHook = "in", ifMatch = "yes",
      bpf_prog_len = #prog, bpf_prog = prog, tagMatch = 53 }))
    assert.equal(53, g:msg("f:", "getprogram", "in").tagMatch)
    g:close()
  end)

  it("checks a program as bpf_validate does, naming what is wrong", function()
    local g = graph()
    local function set(t)
      t.thisHook = "in"
      local r, err = g:msg("f:", "setprogram", t)
      assert.is_nil(r)
      return err
    end
    local ret = { code = 6, k = 65535 }
    assert.matches("bpf_prog_len must be the number of instructions in bpf_prog %(1%)",
      set { bpf_prog_len = 2, bpf_prog = { ret } })
    assert.matches("bpf_prog_len must be", set { bpf_prog = { ret } })
    assert.matches("bpf_prog must be an array", set { bpf_prog_len = 1 })
    assert.matches("bpf_prog is empty", set { bpf_prog_len = 0, bpf_prog = {} })
    local long = {}
    for i = 1, 4097 do long[i] = ret end
    assert.matches("4097 instructions, at most 4096", set { bpf_prog_len = 4097, bpf_prog = long })
    assert.matches("bpf_prog%[1%] %(code=21 k=0%) is not valid: a jump past the end",
      set { bpf_prog_len = 2, bpf_prog = { { code = 21, jt = 1 }, ret } })
    assert.matches("a jump past the end",
      set { bpf_prog_len = 2, bpf_prog = { { code = 5, k = 1 }, ret } })
    assert.matches("must end in a return",
      set { bpf_prog_len = 1, bpf_prog = { { code = 40, k = 12 } } })
    assert.matches("a memory slot out of range",
      set { bpf_prog_len = 2, bpf_prog = { { code = 2, k = 16 }, ret } })
    assert.matches("a division by a constant 0",
      set { bpf_prog_len = 2, bpf_prog = { { code = 0x34, k = 0 }, ret } })
    assert.matches("bpf_prog%[1%]%.jt must be an integer from 0 to 255",
      set { bpf_prog_len = 2, bpf_prog = { { code = 21, jt = 300 }, ret } })
    assert.matches("setprogram: bpf_prog%[2%]: unknown field 'kk'",
      set { bpf_prog_len = 2, bpf_prog = { ret, { code = 6, kk = 1 } } })
    assert.matches("expr or bpf_prog, not both",
      set { expr = "udp", bpf_prog_len = 1, bpf_prog = { ret } })
    assert.matches("setprogram: unknown field 'bogus'", set { expr = "udp", bogus = 1 })
    assert.matches("thisHook is missing", (select(2, g:msg("f:", "setprogram", { expr = "udp" }))))
    -- nothing was stored: the hook still has no program
    assert.same({ thisHook = "in", ifMatch = "", ifNotMatch = "", expr = "", tagMatch = 0 },
      g:msg("f:", "getprogram", { hook = "in" }))
    assert.matches("bpf has no hook 'nosuch'", (select(2, g:msg("f:", "getstats", "nosuch"))))
    assert.matches("getstats: unknown field 'hok'", (select(2, g:msg("f:", "getstats", { hok = "in" }))))
    g:close()
  end)
end)

describe("every node type", function()
  it("refuses a field it does not know, by name", function()
    local g = H.engine()
    local peerhook = { tee = "left", hub = "x", hole = "x", one2many = "one", pcap = "out",
      pcapout = "in", bpf = "x", bridge = "link0", etf = "downstream", vlan = "downstream",
      split = "mixed", echo = "x" }
    for t, h in pairs(peerhook) do assert(g:mkpeer(t, t, h)) end
    local cases = {
      { "tee", "getstats", { bogus = 1 }, "getstats: unknown field 'bogus' %(it takes no arguments%)" },
      { "hub", "setpersistent", { bogus = 1 }, "setpersistent: unknown field 'bogus'" },
      { "hole", "getstats", { hook = "x", bogus = 1 }, "getstats: unknown field 'bogus'" },
      { "one2many", "setconfig", { xmitAlg = 1, bogus = 1 }, "setconfig: unknown field 'bogus'" },
      { "one2many", "getstats", { linknum = 0 }, "getstats: unknown field 'linknum'" },
      { "pcap", "open", { file = SAMPLE, bogus = 1 }, "open: unknown field 'bogus'" },
      { "pcap", "start", { bogus = 1 }, "start: unknown field 'bogus'" },
      { "pcapout", "open", { file = "/tmp/x.pcap", bogus = 1 }, "open: unknown field 'bogus'" },
      { "pcapout", "getstats", { bogus = 1 }, "getstats: unknown field 'bogus'" },
      { "bpf", "setprogram", { thisHook = "x", bogus = 1 }, "setprogram: unknown field 'bogus'" },
      { "bridge", "setconfig", { bogus = 1 }, "setconfig: unknown field 'bogus'" },
      { "bridge", "gettable", { bogus = 1 }, "gettable: unknown field 'bogus'" },
      { "etf", "getstatus", { bogus = 1 }, "getstatus: unknown field 'bogus'" },
      { "vlan", "gettable", { bogus = 1 }, "gettable: unknown field 'bogus'" },
      { "tee", "name", { name = "t", bogus = 1 }, "name: unknown field 'bogus'" },
      { "tee", "nodeinfo", { bogus = 1 }, "nodeinfo: unknown field 'bogus'" },
    }
    for _, c in ipairs(cases) do
      local r, err, name = g:msg(".:" .. c[1], c[2], c[3])
      assert.is_nil(r, c[1] .. " " .. c[2])
      assert.matches(c[4], err)
      assert.equal("EINVAL", name)
    end
    -- an empty table is no field; echo takes anything
    assert.truthy(g:msg(".:tee", "getstats", {}))
    assert.equal("pong", g:msg(".:echo", "echo", "pong"))
    g:close()
  end)
end)
