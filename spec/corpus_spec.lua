-- Every capture of tcpdump's own test suite (../shared/corpus/tcpdump),
-- many of them malformed: read without a crash, the same packet count and
-- captured bytes as tcpdump, written back so that tcpdump prints the same,
-- and filtered by the bpf node with tcpdump's match counts.
local mg = require "moongraph"
local q = H.shell_quote
local DIR = (os.getenv("MG_CORPUS") or (H.root .. "/../shared/corpus")) .. "/tcpdump"

local function list()
  local p = io.popen("ls " .. q(DIR) .. " 2>/dev/null")
  local files = {}
  for f in p:lines() do
    if f:match("%.pcap$") or f:match("%.pcapng$") then files[#files + 1] = DIR .. "/" .. f end
  end
  p:close()
  return files
end

local files = list()

local function dump(file, nano)
  return (H.run("tcpdump " .. (nano and "--nano " or "") .. "-r " .. q(file) ..
    " -tt -nn -xx 2>/dev/null"))
end

-- The captured bytes tcpdump reads: what it writes back with -w, less the
-- pcap file header and the 16-byte record headers.
local function tcpdump_bytes(file, npackets)
  local tmp = os.tmpname()
  H.run("tcpdump -r " .. q(file) .. " -w " .. tmp .. " 2>/dev/null")
  local f = io.open(tmp, "rb")
  local size = f and f:seek("end") or 0
  if f then f:close() end
  os.remove(tmp)
  return size - 24 - 16 * npackets
end

local function count(file, expr)
  local out, code = H.run("tcpdump --count -r " .. q(file) .. (expr and (" " .. q(expr)) or "") ..
    " 2>/dev/null")
  return tonumber(out:match("(%d+) packets?")), code
end

-- Read file into a sink of type sinktype; the engine for further queries.
local function read(file, sinktype, setup)
  local g = assert(mg.engine())
  g:on_log(function() end)
  assert(g:mkpeer(sinktype, "x", "ctl"))
  assert(g:name(".:x", "sink"))
  assert(g:mkpeer("sink:", "pcap", "in", "out"))
  assert(g:name("sink:in", "src"))
  assert(g:rmhook(".", "x"))
  local info, err = g:msg("src:", "open", { file = file })
  if not info then g:close(); return nil, err end
  if setup then setup(g, info) end
  assert(g:msg("src:", "start"))
  g:run()
  return g, info
end

describe("the tcpdump corpus", function()
  if #files == 0 then
    pending("no corpus at " .. DIR .. ": skipped (set MG_CORPUS to its folder)")
    return
  end

  it("reads every file: packets and bytes as tcpdump counts them, and writes it back the same", function()
    local bad, nano_files, packets = {}, 0, 0
    for _, file in ipairs(files) do
      local out = os.tmpname() .. (file:match("%.pcapng$") and ".pcapng" or ".pcap")
      local g, info = read(file, "pcapout", function(g, info)
        assert(g:msg("sink:", "open", { file = out, snaplen = info.snaplen,
          linktype = info.linktype, precision = info.precision }))
      end)
      if not g then
        bad[#bad + 1] = file .. ": " .. info
      else
        local nano = info.precision == "nano"
        if nano then nano_files = nano_files + 1 end
        local s = g:msg("src:", "getstats")
        g:close()
        local want = count(file)
        local bytes = tcpdump_bytes(file, want or 0)
        local orig, copy = dump(file, nano), dump(out, nano)
        packets = packets + s.packets
        if s.packets ~= want then
          bad[#bad + 1] = string.format("%s: %d packets, tcpdump says %s", file, s.packets, want)
        elseif s.bytes ~= bytes then
          bad[#bad + 1] = string.format("%s: %d bytes, tcpdump shows %d", file, s.bytes, bytes)
        elseif orig ~= copy then
          bad[#bad + 1] = file .. ": written back, tcpdump prints it differently"
        end
      end
      os.remove(out)
    end
    print(string.format("\n    corpus: %d files, %d packets, %d with nanosecond stamps, %d differ",
      #files, packets, nano_files, #bad))
    assert.same({}, bad)
  end)

  it("gives the same records through its block reader as through libpcap, filtered or not", function()
    local bad, blocks = {}, 0
    local function copy(file, reader, filter)
      local out = os.tmpname() .. (file:match("%.pcapng$") and ".pcapng" or ".pcap")
      local g = assert(mg.engine())
      g:on_log(function() end)
      assert(g:mkpeer("pcapout", "x", "ctl"))
      assert(g:name(".:x", "sink"))
      assert(g:mkpeer("sink:", "pcap", "in", "out"))
      assert(g:rmhook(".", "x"))
      local info, err = g:msg("sink:in", "open", { file = file, reader = reader, filter = filter })
      local st
      if info then
        assert(g:msg("sink:", "open", { file = out, snaplen = info.snaplen,
          linktype = info.linktype, precision = info.precision }))
        assert(g:msg("sink:in", "start"))
        g:run()
        st = g:msg("sink:in", "getstats")
      end
      g:close()
      local f = io.open(out, "rb")
      local bytes = f and f:read("a") or ""
      if f then f:close() end
      os.remove(out)
      return info, err, st, bytes
    end
    for _, file in ipairs(files) do
      for _, filter in ipairs { false, "udp or arp" } do
        local i1, e1, s1, b1 = copy(file, "libpcap", filter or nil)
        local i2, e2, s2, b2 = copy(file, nil, filter or nil)
        local what = file .. (filter and " (filtered)" or "")
        if not filter and i2 and i2.reader == "block" then blocks = blocks + 1 end
        if (i1 == nil) ~= (i2 == nil) or e1 ~= e2 then
          bad[#bad + 1] = what .. ": opened differently: " .. tostring(e1) .. " / " .. tostring(e2)
        elseif i1 and (s1.packets ~= s2.packets or s1.bytes ~= s2.bytes or
                       s1.error ~= s2.error or b1 ~= b2) then
          bad[#bad + 1] = string.format("%s: libpcap %d packets %d bytes (%s), blocks %d packets %d bytes (%s)%s",
            what, s1.packets, s1.bytes, tostring(s1.error), s2.packets, s2.bytes,
            tostring(s2.error), b1 ~= b2 and ", files differ" or "")
        end
      end
    end
    print(string.format("\n    corpus: %d files walked in blocks, %d differ from libpcap", blocks, #bad))
    assert.truthy(blocks > #files / 2, blocks .. " files in blocks")
    assert.same({}, bad)
  end)

  it("filters as tcpdump does: ip, ip6, udp, tcp port 80, vlan, arp or icmp, not ip", function()
    local exprs = { "ip", "ip6", "udp", "tcp port 80", "vlan", "arp or icmp", "not ip" }
    local bad, compared, refused = {}, 0, 0
    for _, file in ipairs(files) do
      local g = read(file, "hub", function(g)
        for i, expr in ipairs(exprs) do
          local b = "f" .. i
          assert(g:mkpeer("sink:", "bpf", b, "in"))
          assert(g:name("sink:" .. b, b))
          assert(g:msg(b .. ":", "setprogram", { thisHook = "in", ifMatch = "yes", expr = expr }))
          assert(g:mkpeer(b .. ":", "hole", "yes", "in"))
        end
      end)
      if g then
        for i, expr in ipairs(exprs) do
          local st = g:msg("f" .. i .. ":", "getstats", { hook = "in" })
          local want, code = count(file, expr)
          if code ~= 0 then -- tcpdump cannot apply it to this link type: nor can we
            refused = refused + 1
            if st.recvMatchFrames ~= 0 or (st.recvFrames > 0 and st.errors ~= st.recvFrames) then
              bad[#bad + 1] = string.format("%s '%s': tcpdump refused, we matched %d",
                file, expr, st.recvMatchFrames)
            end
          else
            compared = compared + 1
            if st.recvMatchFrames ~= want then
              bad[#bad + 1] = string.format("%s '%s': %d matches, tcpdump %d", file, expr,
                st.recvMatchFrames, want)
            end
          end
        end
        g:close()
      end
    end
    print(string.format("\n    corpus filters: %d counts equal tcpdump's, %d refused by both, %d differ",
      compared - #bad, refused, #bad))
    assert.same({}, bad)
  end)
end)
