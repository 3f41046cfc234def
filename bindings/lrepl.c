/*
** lrepl.c -- the Lua parts of the module, compiled in: mg.repl (the
** REPL's commands), mg.replay and mg.flows (the replay and flows
** programs), and engine methods
** that only make text (lua/present.lua).
*/
#include "lmg.h"
#include "present_lua.h" /* made by the build from lua/present.lua */
#include "repl_lua.h"    /* from lua/repl.lua */
#include "replay_lua.h"  /* from lua/replay.lua */
#include "flows_lua.h"   /* and from lua/flows.lua */

static void load(lua_State *L, const char *src, size_t len, const char *name,
                 const char *field) {
  /* the module table is on top; each chunk gets it as its argument */
  if (luaL_loadbuffer(L, src, len, name) != LUA_OK) lua_error(L);
  lua_pushvalue(L, -2);
  lua_call(L, 1, 1);
  lua_setfield(L, -2, field);
}

void lmg_open_repl(lua_State *L) {
  /* present's table of functions joins the engine's methods */
  if (luaL_loadbuffer(L, lmg_present_lua, sizeof lmg_present_lua - 1,
                      "@moongraph/present.lua") != LUA_OK)
    lua_error(L);
  lua_pushvalue(L, -2);
  lua_call(L, 1, 1);
  /* and a client's view's (lserve.c): dot */
  static const char *const into[] = {LMG_ENGINE, LMG_VIEW};
  for (int i = 0; i < 2; i++) {
    luaL_getmetatable(L, into[i]);
    lua_getfield(L, -1, "__index");
    lua_pushnil(L);
    while (lua_next(L, -4)) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, -4);
    }
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  load(L, lmg_repl_lua, sizeof lmg_repl_lua - 1, "@moongraph/repl.lua", "repl");
  load(L, lmg_replay_lua, sizeof lmg_replay_lua - 1, "@moongraph/replay.lua", "replay");
  load(L, lmg_flows_lua, sizeof lmg_flows_lua - 1, "@moongraph/flows.lua", "flows");
}
