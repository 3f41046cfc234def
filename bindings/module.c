/*
** module.c -- what makes moongraph.so.  luaopen_moongraph (lengine.c) is
** its one exported symbol; naming it here pulls the binding in.
*/
#include "lmg.h"

int (*const lmg_entry)(lua_State *L) = luaopen_moongraph;
