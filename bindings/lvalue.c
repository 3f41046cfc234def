/*
** lvalue.c -- control-message values to and from Lua: maps are tables with
** string keys, arrays are sequences, strings and bytes are strings.
*/
#include <stdlib.h>
#include <string.h>

#include "lmg.h"

const char *lmg_checkname(lua_State *L, int arg) {
  size_t len;
  const char *s = luaL_checklstring(L, arg, &len);
  if (strlen(s) != len) luaL_argerror(L, arg, "a name, path or hook may not contain a NUL byte");
  return s;
}

const char *lmg_optname(lua_State *L, int arg, const char *def) {
  return lua_isnoneornil(L, arg) ? def : lmg_checkname(L, arg);
}

void lmg_push_value(lua_State *L, const mg_value_t *v) {
  luaL_checkstack(L, 4, "value too deep");
  if (!v) {
    lua_pushnil(L);
    return;
  }
  switch (v->type) {
  case MG_NIL: lua_pushnil(L); break;
  case MG_BOOL: lua_pushboolean(L, v->u.b); break;
  case MG_INT: lua_pushinteger(L, (lua_Integer)v->u.i); break;
  case MG_NUM: lua_pushnumber(L, v->u.n); break;
  case MG_STR:
  case MG_BYTES: lua_pushlstring(L, v->u.s.p, v->u.s.len); break;
  case MG_ARRAY:
    lua_createtable(L, (int)v->u.a.n, 0);
    for (uint32_t i = 0; i < v->u.a.n; i++) {
      lmg_push_value(L, v->u.a.v[i]);
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    break;
  case MG_MAP:
    lua_createtable(L, 0, (int)v->u.m.n);
    for (uint32_t i = 0; i < v->u.m.n; i++) {
      lmg_push_value(L, v->u.m.kv[i].val);
      lua_setfield(L, -2, v->u.m.kv[i].key);
    }
    break;
  }
}

/* Is the table at idx a sequence 1..n with n > 0 and nothing else? */
static bool is_array(lua_State *L, int idx, lua_Integer *n) {
  lua_Integer len = (lua_Integer)lua_rawlen(L, idx), count = 0;
  if (len == 0) return false;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (!lua_isinteger(L, -1)) {
      lua_pop(L, 1);
      return false;
    }
    count++;
  }
  *n = len;
  return count == len;
}

/* First pass: raise any error before anything is allocated. */
static void check(lua_State *L, int idx, const char *what, int depth) {
  idx = lua_absindex(L, idx);
  if (depth > 32) luaL_error(L, "%s: value nested too deep (a cycle?)", what);
  switch (lua_type(L, idx)) {
  case LUA_TNONE: case LUA_TNIL: case LUA_TBOOLEAN: case LUA_TNUMBER:
  case LUA_TSTRING:
    return;
  case LUA_TTABLE: {
    luaL_checkstack(L, 4, "value too deep");
    lua_Integer n;
    bool arr = is_array(L, idx, &n);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      if (!arr && lua_type(L, -2) != LUA_TSTRING)
        luaL_error(L, "%s: table keys must be strings (or the table a "
                      "sequence), found a %s key", what, luaL_typename(L, -2));
      size_t klen;
      if (!arr && strlen(lua_tolstring(L, -2, &klen)) != klen)
        luaL_error(L, "%s: a table key may not contain a NUL byte", what);
      check(L, -1, what, depth + 1);
      lua_pop(L, 1);
    }
    return;
  }
  default:
    luaL_error(L, "%s: a %s cannot be sent in a message", what,
               luaL_typename(L, idx));
  }
}

static int by_key(const void *a, const void *b) {
  return strcmp(((const mg_pair_t *)a)->key, ((const mg_pair_t *)b)->key);
}

static mg_value_t *build(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  switch (lua_type(L, idx)) {
  case LUA_TBOOLEAN: return mg_bool(lua_toboolean(L, idx));
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) return mg_int(lua_tointeger(L, idx));
    return mg_num(lua_tonumber(L, idx));
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    return mg_strn(s, len);
  }
  case LUA_TTABLE: {
    lua_Integer n;
    if (is_array(L, idx, &n)) {
      mg_value_t *a = mg_array();
      for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        mg_array_push(a, build(L, -1));
        lua_pop(L, 1);
      }
      return a;
    }
    mg_value_t *m = mg_map();
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      mg_map_set(m, lua_tostring(L, -2), build(L, -1));
      lua_pop(L, 1);
    }
    /* lua_next's order changes from run to run: the keys in byte order */
    if (m->u.m.n > 1) qsort(m->u.m.kv, m->u.m.n, sizeof *m->u.m.kv, by_key);
    return m;
  }
  default: return mg_nil();
  }
}

double lmg_checkrange(lua_State *L, int arg, double x, const char *name, double min,
                      double max) {
  if (mg_check_num(x, name, min, max)) luaL_argerror(L, arg, mg_errmsg());
  return x;
}

mg_value_t *lmg_to_value(lua_State *L, int idx, const char *what) {
  check(L, idx, what, 0);
  return build(L, idx);
}
