/*
** lrepl.c -- the Lua parts of the module, compiled in: mg.repl.
*/
#include "lmg.h"
#include "repl_lua.h" /* made by the build from lua/repl.lua */

void lmg_open_repl(lua_State *L) {
  /* the module table is on top */
  if (luaL_loadbuffer(L, lmg_repl_lua, sizeof lmg_repl_lua - 1,
                      "@moongraph/repl.lua") != LUA_OK)
    lua_error(L);
  lua_pushvalue(L, -2);
  lua_call(L, 1, 1);
  lua_setfield(L, -2, "repl");
}
