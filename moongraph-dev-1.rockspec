-- LuaRocks: `luarocks make` builds the module with CMake and installs it,
-- with the moongraph program and its manual pages, into the rocks tree.
rockspec_format = "3.0"
package = "moongraph"
version = "dev-1"
source = { url = "git+file://." }
description = {
  summary = "FreeBSD's netgraph in user space, scriptable in Lua",
  detailed = [[
A C engine moves packets through a graph of nodes joined by hooks, each node
with its own queue and reader/writer lock; Lua builds the graph, sends control
messages and defines node types. Captures and live interfaces through libpcap,
the loop through libuv.]],
  license = "BSD-2-Clause",
}
dependencies = { "lua >= 5.4, < 5.5" }
external_dependencies = {
  LIBUV = { header = "uv.h" },
  LIBPCAP = { header = "pcap.h" },
}
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    MG_LUA_CMOD_DIR = "$(LIBDIR)",
    MG_LUA_LMOD_DIR = "$(LUADIR)",
    BUILD_TESTING = "OFF",
  },
}
