/*
** fuzz_repl.c -- the REPL's command lines (bindings/lua/repl.lua, the
** verbs of ngctl) with Lua and the moongraph module embedded.  Each input
** line that the REPL takes for a command goes to mg.repl.line, as a typed
** line would; lines it would run as Lua are skipped (that fuzzes Lua, not
** us).  Lua errors are fine; crashes are not.
**
** Refused, so that an input cannot touch files or block: any line naming
** pcap (the pcap and pcapout types open files and interfaces), "dot" with
** a file, and quitting.  Arguments in text form may spell a type name in
** escapes, so msg arguments are parsed and refused when a string in them
** names pcap.
*/
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lmg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char setup[] =
  "local mg = require 'moongraph'\n"
  "local g = mg.engine()\n"
  "g:on_log(function() end)\n"
  "local s = mg.repl.new(g, function() end)\n"
  "local function names_pcap(v)\n"
  "  if type(v) == 'string' then return v:lower():find('pcap') ~= nil end\n"
  "  if type(v) ~= 'table' then return false end\n"
  "  for k, x in pairs(v) do\n"
  "    if names_pcap(k) or names_pcap(x) then return true end\n"
  "  end\n"
  "  return false\n"
  "end\n"
  "local refused = { dot = true, graphviz = true, confdot = true,\n"
  "                  quit = true, exit = true }\n"
  "return function(line)\n"
  "  if not mg.repl.is_command(line) then return end\n"
  "  if line:lower():find('pcap') then return end\n"
  "  local verb, rest = line:match('^%s*(%S+)%s*(.-)%s*$')\n"
  "  if refused[verb] then return end\n"
  "  if verb == 'msg' or verb == 'cmd' then\n"
  "    local args = rest:match('^%S+%s+%S+%s+(.*)$')\n"
  "    local ok, v = pcall(mg.parse, args or 'nil')\n"
  "    if ok and names_pcap(v) then return end\n"
  "  end\n"
  "  return mg.repl.line(s, line)\n"
  "end, g\n";

static int run(lua_State *L) {
  const char *text = lua_touserdata(L, 1);
  luaL_openlibs(L);
  luaL_requiref(L, "moongraph", luaopen_moongraph, 0);
  lua_pop(L, 1);
  if (luaL_loadbuffer(L, setup, sizeof setup - 1, "=fuzz_repl")) lua_error(L);
  lua_call(L, 0, 2); /* the line function, the engine */
  int fn = lua_gettop(L) - 1;
  for (const char *p = text; *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    lua_pushvalue(L, fn);
    lua_pushlstring(L, p, n);
    lua_pcall(L, 1, 0, 0); /* a Lua error is an answer, not a bug */
    lua_settop(L, fn + 1);
    p += n + (nl ? 1 : 0);
  }
  lua_getfield(L, fn + 1, "close");
  lua_pushvalue(L, fn + 1);
  lua_call(L, 1, 0);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = '\0';
  lua_State *L = luaL_newstate();
  lua_pushcfunction(L, run);
  lua_pushlightuserdata(L, text);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_repl: %s\n", lua_tostring(L, -1));
    abort();
  }
  lua_close(L);
  free(text);
  int64_t items, bufs;
  mg_pool_outstanding(&items, &bufs);
  if (items || bufs) {
    fprintf(stderr, "fuzz_repl: %lld item(s), %lld buffer(s) not returned\n",
            (long long)items, (long long)bufs);
    abort();
  }
  return 0;
}
