-- eiface_util.lua -- what the eiface specs share: whether they can run,
-- network namespaces made and removed, and a Lua node type that answers
-- ARP and ICMP echo for one address, the far end of a ping.
local U = {}

-- nil when the live tests can run here, else why not.
function U.unable()
  if not H.run("id -u"):match("^0%s") then return "needs root (CAP_NET_ADMIN) for TAP interfaces" end
  for _, cmd in ipairs { "ip", "tcpdump", "ping" } do
    if select(2, H.run("command -v " .. cmd)) ~= 0 then return "needs " .. cmd end
  end
  if select(2, H.run("test -c /dev/net/tun")) ~= 0 then return "no /dev/net/tun" end
  return nil
end

-- A network namespace of our own, quiet (no IPv6 of the kernel's), or
-- nil and why.  U.drop(ns) removes it and whatever runs in it.
function U.netns(tag)
  local ns = "mgtest-" .. tag .. "-" .. math.random(100000, 999999)
  local out, code = H.run("ip netns add " .. ns)
  if code ~= 0 then return nil, out end
  H.run("ip netns exec " .. ns .. " sysctl -qw net.ipv6.conf.default.disable_ipv6=1")
  H.run("ip netns exec " .. ns .. " sysctl -qw net.ipv6.conf.all.disable_ipv6=1")
  return ns
end
function U.drop(ns)
  H.run("ip netns pids " .. ns .. " | xargs -r kill 2>/dev/null")
  H.run("ip netns del " .. ns)
end

-- Run these shell commands, each of which must succeed.
function U.sh(...)
  for _, c in ipairs { ... } do
    local out, code = H.run(c)
    assert(code == 0, c .. ": " .. out)
  end
end

-- Move interface ifname into ns with address addr (CIDR), up.
function U.move_in(ifname, ns, addr)
  U.sh("ip link set " .. ifname .. " netns " .. ns,
    "ip -n " .. ns .. " addr add " .. addr .. " dev " .. ifname,
    "ip -n " .. ns .. " link set " .. ifname .. " up")
end

local csum = dofile(H.root .. "/pcaps/gen.lua").csum

local function ip4(text)
  local a, b, c, d = text:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  return string.char(tonumber(a), tonumber(b), tonumber(c), tonumber(d))
end

-- g:define(name, ...): a node that answers, on the hook a frame came by,
-- ARP requests for ip (dotted) with mac (6 bytes), and ICMP echo
-- requests to ip with echo replies.  node.answered counts its answers.
function U.define_responder(g, name, ip, mac)
  ip = ip4(ip)
  assert(g:define(name, {
    constructor = function(node) node.answered = 0 end,
    rcvdata = function(node, item, hook)
      local f = item:bytes()
      if #f < 34 then return end
      local src, et = f:sub(7, 12), string.unpack(">I2", f, 13)
      if et == 0x0806 and string.unpack(">I2", f, 21) == 1 and f:sub(39, 42) == ip then
        node:send(hook, src .. mac .. "\8\6" .. f:sub(15, 20) .. "\0\2" .. mac .. ip ..
          f:sub(23, 32))
        node.answered = node.answered + 1
      elseif et == 0x0800 and f:byte(24) == 1 and f:sub(31, 34) == ip then
        local ihl, total = (f:byte(15) & 15) * 4, string.unpack(">I2", f, 17)
        local at = 15 + ihl -- the ICMP header
        if f:byte(at) ~= 8 then return end
        -- addresses swapped: the IP header's sum stays right
        local iph = f:sub(15, 26) .. f:sub(31, 34) .. f:sub(27, 30) .. f:sub(35, at - 1)
        local body = "\0" .. f:sub(at + 1, at + 1) .. "\0\0" .. f:sub(at + 4, 14 + total)
        body = body:sub(1, 2) .. string.pack(">I2", csum(body)) .. body:sub(5)
        node:send(hook, src .. mac .. "\8\0" .. iph .. body)
        node.answered = node.answered + 1
      end
    end,
    rcvmsg = { answered = { fn = function(node) return node.answered end, readonly = true } },
  }))
end

-- Run shell command cmd in the background while the engine runs, until
-- it ends (or secs pass); its output.
function U.while_running(g, cmd, secs)
  local out = os.tmpname()
  H.execute("( { " .. cmd .. "; } >" .. out .. " 2>&1; echo @done >>" .. out .. " ) &")
  local t = g:every(0.05, function()
    if H.slurp(out):match("@done") then g:stop() end
  end)
  g:after(secs or 15, function() g:stop() end)
  g:run { ["until"] = "stopped" }
  t:cancel()
  local s = H.slurp(out)
  os.remove(out)
  return s
end

return U
