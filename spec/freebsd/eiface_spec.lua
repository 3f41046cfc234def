-- FreeBSD's tests/sys/netgraph/eiface_test.sh, case by case.  Where the
-- shell test gives the interface to a vnet jail, this gives it to a
-- network namespace (`ip link set IF netns NS`); the jail's `sleep 0.1`
-- is a `sleep 0.1` run inside that namespace.
local U = dofile(H.root .. "/spec/eiface_util.lua")

describe("FreeBSD eiface_test.sh", function()
  local why = U.unable()
  if why then
    pending("skipped: " .. why)
    return
  end

  -- PR 292993: shutting an eiface node down while its interface is in
  -- another vnet (here: another network namespace) must remove the
  -- interface there and leave the system standing, ten times over.
  it("pr292993", function()
    local g = H.engine()
    local nss = {}
    finally(function()
      g:close()
      for _, ns in ipairs(nss) do U.drop(ns) end
    end)
    local first
    for i = 1, 10 do
      local ns = assert(U.netns("eif" .. i)) -- the jail eiface_destroy_$i
      nss[#nss + 1] = ns
      -- mkpeer . eiface path_$i ether; msg .:path_$i getifname
      assert(g:mkpeer(".", "eiface", "path_" .. i, "ether"))
      local ngeth = g:msg(".:path_" .. i, "getifname")
      assert.matches("^ngeth%d+$", ngeth)
      first = first or ngeth
      assert.equal(first, ngeth) -- the first unused name, free again each time
      -- sanity check: ifconfig $ngeth
      local out, code = H.run("ip link show " .. ngeth)
      assert.equal(0, code, out)
      -- jail -c vnet vnet.interface=$ngeth exec.start="sleep 0.1" &
      U.sh("ip link set " .. ngeth .. " netns " .. ns)
      local done = os.tmpname()
      H.execute("( ip netns exec " .. ns .. " sleep 0.1; echo $? >" .. done .. " ) &")
      g:run(0.1)
      -- ngctl shutdown ${ngeth}:
      assert.is_true(g:shutdown(ngeth .. ":"))
      -- wait $pid
      assert.truthy(H.wait(100, function() return H.slurp(done):match("^0") end))
      os.remove(done)
      out, code = H.run("ip -n " .. ns .. " link show " .. ngeth)
      assert.is_not.equal(0, code, out) -- gone from where it was
      assert.is_nil(g:node(ngeth .. ":"))
    end
  end)
end)
