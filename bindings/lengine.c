/*
** lengine.c -- the engine as Lua sees it: making and closing engines,
** calling Lua from the engine (handlers, the log), the module's own
** functions and its registration.  The verbs are in lverbs.c, running and
** time in lrun.c, text made from what the verbs return in lua/present.lua.
**
** Conventions (luv's and io's): misuse raises an error naming the
** function and argument; an operation that fails returns nil, a message
** naming what was wrong, and the error's name ("ENOENT").
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "builtin.h"
#include "lmg.h"

lmg_engine_t *lmg_check_engine(lua_State *L, int idx) {
  lmg_engine_t *g = luaL_checkudata(L, idx, LMG_ENGINE);
  if (g->closed) luaL_error(L, "engine is closed");
  return g;
}

void lmg_push_uv(lua_State *L, lmg_engine_t *g) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, g->uv_ref);
}

/* nil, message, name */
int lmg_fail(lua_State *L, int rc) {
  lua_pushnil(L);
  lua_pushstring(L, mg_errmsg());
  lua_pushstring(L, mg_errname(rc));
  return 3;
}

/*
** {======================================================
** Calling Lua from the engine
** =======================================================
*/
int lmg_msgh(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static void log_cb(void *arg, int level, const char *line) {
  lmg_engine_t *g = arg;
  lua_State *T = g->T;
  if (T && !g->closed) {
    bool held = lmg_guard_hold(T);
    lmg_push_uv(T, g);
    lua_rawgeti(T, -1, UV_ON_LOG);
    lua_remove(T, -2);
    if (lua_isfunction(T, -1)) {
      static const char *lv[] = {"error", "warning", "info", "debug"};
      lua_pushstring(T, lv[level & 3]);
      lua_pushstring(T, line);
      lua_pushcfunction(T, lmg_msgh);
      lua_insert(T, -4);
      if (lmg_guard_call(g, 2, 0, -4) == LUA_OK) {
        lua_pop(T, 1);
        lmg_guard_release(T, held);
        return;
      }
      fprintf(stderr, "moongraph: log handler failed: %s\n", lua_tostring(T, -1));
      lua_pop(T, 2);
    } else
      lua_pop(T, 1);
    lmg_guard_release(T, held);
  }
  static const char *lv[] = {"error", "warning", "info", "debug"};
  fprintf(stderr, "moongraph: %s: %s\n", lv[level & 3], line);
}

/* Once a second at most per node (or engine): the first error in full,
** then a count of those held back. */
void lmg_log_error(lmg_engine_t *g, lmg_node_t *who, const char *what,
                   const char *msg) {
  int64_t now = mg_now(g->e) / 1000000000;
  int64_t *win = who ? &who->log_window : &g->log_window;
  int *logged = who ? &who->logged : &g->logged;
  int *supp = who ? &who->suppressed : &g->suppressed;
  if (*win != now) {
    if (*supp)
      mg_log(g->e, MG_LOG_ERR, "%d more error(s) held back", *supp);
    *win = now;
    *logged = 0;
    *supp = 0;
  }
  if (*logged >= 1) {
    (*supp)++;
    return;
  }
  (*logged)++;
  char d[96] = "";
  if (who && who->n)
    snprintf(d, sizeof d, "node [%x] (%s) ", mg_node_id(who->n),
             mg_node_type(who->n)->name);
  mg_log(g->e, MG_LOG_ERR, "%s%s: %s", d, what, msg);
}

const char *lmg_pcall(lmg_engine_t *g, int nargs, int nres) {
  lua_State *T = g->T;
  int base = lua_gettop(T) - nargs;
  lua_pushcfunction(T, lmg_msgh);
  lua_insert(T, base);
  int rc = lmg_guard_call(g, nargs, nres, base);
  lua_remove(T, base);
  return rc == LUA_OK ? NULL : lua_tostring(T, -1);
}

#define ENGINES "mg.engines" /* registry: weak map lightuserdata -> engine */

bool lmg_push_engine(lua_State *L, lmg_engine_t *g) {
  lua_getfield(L, LUA_REGISTRYINDEX, ENGINES);
  lua_rawgetp(L, -1, g);
  lua_remove(L, -2);
  return !lua_isnil(L, -1);
}

bool lmg_call(lmg_engine_t *g, lmg_node_t *who, int nargs, int nres,
              const char *what) {
  const char *err = lmg_pcall(g, nargs, nres);
  if (err) {
    lmg_log_error(g, who, what, err);
    lua_pop(g->T, 1);
    return false;
  }
  return true;
}

/* Data that reached one of "."'s hooks. */
static void ctl_data_(lmg_engine_t *g, mg_hook_t *h, mg_item_t *it) {
  lua_State *T = g->T;
  lmg_push_uv(T, g);
  lua_rawgeti(T, -1, UV_ON_DATA);
  lua_remove(T, -2);
  if (!lua_isfunction(T, -1)) {
    lua_pop(T, 1);
    mg_consume(it);
    return;
  }
  lua_pushstring(T, mg_hook_name(h));
  lmg_item_t *li = lmg_push_item(T, g, g->ctl, it);
  /* keep the handle below the call: a handler that does not name the
  ** item lets it go, and a collection inside would free li under us */
  lua_pushvalue(T, -1);
  lua_insert(T, -4);
  bool ok = lmg_call(g, NULL, 2, 0, "on_data handler");
  if (!ok && li->it) {
    mg_drop(li->it, MG_DROP_ERROR);
    li->it = NULL;
  }
  lmg_item_done(li, true);
  lua_pop(T, 1);
}

static void ctl_data(void *arg, mg_hook_t *h, mg_item_t *it) {
  lmg_engine_t *g = arg;
  bool held = lmg_guard_hold(g->T);
  ctl_data_(g, h, it);
  lmg_guard_release(g->T, held);
}

/* A reply nobody waited for, or a message sent to ".". */
static void ctl_msg_(lmg_engine_t *g, uint32_t from, mg_msg_t *m) {
  lua_State *T = g->T;
  lmg_push_uv(T, g);
  lua_rawgeti(T, -1, UV_ON_MSG);
  lua_remove(T, -2);
  if (!lua_isfunction(T, -1)) {
    lua_pop(T, 1);
    return;
  }
  lua_pushinteger(T, from);
  lua_pushstring(T, m->cmdstr);
  lmg_push_value(T, m->args);
  if (m->error) lua_pushstring(T, m->errmsg ? m->errmsg : mg_errname(m->error));
  else lua_pushnil(T);
  lmg_call(g, NULL, 4, 0, "on_msg handler");
}

static void ctl_msg(void *arg, uint32_t from, mg_msg_t *m) {
  lmg_engine_t *g = arg;
  bool held = lmg_guard_hold(g->T);
  ctl_msg_(g, from, m);
  lmg_guard_release(g->T, held);
}
/* }====================================================== */

/*
** {======================================================
** Making and closing engines
** =======================================================
*/
static int opt_int(lua_State *L, int t, const char *k, int def, int lo, int hi) {
  lua_getfield(L, t, k);
  int v = def;
  if (!lua_isnil(L, -1)) {
    if (!lua_isinteger(L, -1))
      luaL_error(L, "engine: option '%s' must be an integer", k);
    lua_Integer x = lua_tointeger(L, -1);
    if (x < lo || x > hi)
      luaL_error(L, "engine: option '%s' must be between %d and %d", k, lo, hi);
    v = (int)x;
  }
  lua_pop(L, 1);
  return v;
}

static int64_t opt_i64(lua_State *L, int t, const char *k, int64_t def,
                       int64_t lo, int64_t hi) {
  lua_getfield(L, t, k);
  int64_t v = def;
  if (!lua_isnil(L, -1)) {
    if (!lua_isinteger(L, -1))
      luaL_error(L, "engine: option '%s' must be an integer", k);
    v = lua_tointeger(L, -1);
    if (v != 0 && (v < lo || v > hi))
      luaL_error(L, "engine: option '%s' must be 0 (no limit) or between %I and %I",
                 k, (lua_Integer)lo, (lua_Integer)hi);
  }
  lua_pop(L, 1);
  return v;
}

static int l_engine(lua_State *L) {
  mg_engine_opts_t o = {0};
  const char *name = NULL;
  int64_t steps = 100000000, memory = (int64_t)1 << 30;
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTABLE);
    static const char *const known[] = {"workers", "ttl", "max_depth", "queue_limit",
                                        "fanout", "clock", "name", "lua_steps",
                                        "lua_memory", NULL};
    lua_pushnil(L);
    while (lua_next(L, 1)) { /* an option misspelt would be ignored: refused */
      lua_pop(L, 1);
      const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
      int i = 0;
      while (k && known[i] && strcmp(known[i], k)) i++;
      if (!k || !known[i]) {
        char q[MG_QUOTESIZ];
        luaL_argerror(L, 1, lua_pushfstring(L, "unknown option %s (options: workers, clock, "
                                               "ttl, fanout, max_depth, queue_limit, name, "
                                               "lua_steps, lua_memory)",
                                            k ? mg_quote(q, k) : luaL_typename(L, -1)));
      }
    }
    o.workers = opt_int(L, 1, "workers", 0, 0, 256);
    o.ttl = (uint32_t)opt_int(L, 1, "ttl", 0, 1, 1 << 30);
    o.max_depth = (uint32_t)opt_int(L, 1, "max_depth", 0, 1, 4096);
    o.queue_limit = (uint32_t)opt_int(L, 1, "queue_limit", 0, 1, 1 << 30);
    o.fanout = (uint32_t)opt_int(L, 1, "fanout", 0, 1, 1 << 24);
    lua_getfield(L, 1, "clock");
    const char *c = luaL_optstring(L, -1, "wall");
    if (!strcmp(c, "virtual")) o.clock = MG_CLOCK_VIRTUAL;
    else if (strcmp(c, "wall"))
      luaL_error(L, "engine: option 'clock' is \"wall\" or \"virtual\", not \"%s\"", c);
    lua_pop(L, 1);
    lua_getfield(L, 1, "name");
    size_t len;
    name = lua_tolstring(L, -1, &len);
    if (name && strlen(name) != len)
      luaL_error(L, "engine: option 'name' may not contain a NUL byte");
    lua_pop(L, 1);
    steps = opt_i64(L, 1, "lua_steps", steps, 1000, (int64_t)1 << 50);
    memory = opt_i64(L, 1, "lua_memory", memory, (int64_t)1 << 20, (int64_t)1 << 50);
  }
  lmg_engine_t *g = lua_newuserdatauv(L, sizeof *g, 1);
  memset(g, 0, sizeof *g);
  g->closed = true; /* until it is whole */
  g->lua_steps = steps;
  g->lua_memory = memory;
  luaL_setmetatable(L, LMG_ENGINE);
  lua_createtable(L, 3, 3); /* the user value */
  lua_newtable(L);
  lua_setfield(L, -2, "nodes");
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_setfield(L, -2, "handles");
  lua_newtable(L);
  lua_setfield(L, -2, "timers");
  lua_newtable(L);
  lua_setfield(L, -2, "types");
  lua_pushvalue(L, -1);
  g->uv_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_setiuservalue(L, -2, 1);
  g->e = mg_engine_new(&o);
  if (!g->e) return lmg_fail(L, -EINVAL);
  mg_builtin_register(g->e);
  g->ctl = mg_ctl_new(g->e, name);
  if (!g->ctl) {
    /* a new engine has no names in use: the name itself was refused, too
    ** long (the message says which) or otherwise not a name */
    int rc = name && strlen(name) >= MG_NAMESIZ ? -ENAMETOOLONG : -EINVAL;
    mg_engine_free(g->e);
    return lmg_fail(L, rc);
  }
  if (lua_getfield(L, LUA_REGISTRYINDEX, ENGINES) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, ENGINES);
  }
  lua_pushvalue(L, -2);
  lua_rawsetp(L, -2, g);
  lua_pop(L, 1);
  lua_newthread(L);
  g->T = lua_tothread(L, -1);
  g->T_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  g->closed = false;
  mg_ctl_on_data(g->ctl, ctl_data, g);
  mg_ctl_on_msg(g->ctl, ctl_msg, g);
  mg_set_log(g->e, log_cb, g);
  lmg_signals_catch();
  /* moongraph -s PATH: the first engine made is served there */
  if (lua_getfield(L, LUA_REGISTRYINDEX, LMG_SERVE_NEXT) == LUA_TSTRING) {
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LMG_SERVE_NEXT);
    if (lmg_serve(L, g, lua_tostring(L, -1))) return luaL_error(L, "%s", mg_errmsg());
  }
  lua_pop(L, 1);
  return 1;
}

static void release_handles(lua_State *L, lmg_engine_t *g) {
  lmg_push_uv(L, g);
  lua_getfield(L, -1, "handles");
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    lmg_node_t *h = lua_touserdata(L, -1);
    if (h && h->n) {
      mg_node_unref(h->n);
      h->n = NULL;
    }
  }
  lua_pop(L, 2);
}

static int l_close(lua_State *L) {
  lmg_engine_t *g = luaL_checkudata(L, 1, LMG_ENGINE);
  if (g->closed || !g->e) return 0;
  if (!mg_on_loop_thread(g->e))
    return luaL_error(L, "close: the engine belongs to another thread");
  /* Timers first, then every node: Lua-type nodes run their shutdown
  ** handlers while Lua can still answer. */
  lmg_push_uv(L, g);
  lua_getfield(L, -1, "timers");
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    mg_callout_t *c = lua_touserdata(L, -1);
    if (c) mg_callout_stop(c);
  }
  lua_pop(L, 2);
  lmg_serve_close(g); /* clients go first: their nodes shut down with Lua here */
  mg_node_unref(g->ctl);
  g->ctl = NULL;
  release_handles(L, g);
  mg_engine_free(g->e);
  g->e = NULL;
  release_handles(L, g); /* shutdown handlers may have made more */
  lmg_forget_nodes(L, g);
  g->closed = true;
  luaL_unref(L, LUA_REGISTRYINDEX, g->T_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, g->uv_ref);
  g->T = NULL;
  return 0;
}

static int l_tostring(lua_State *L) {
  lmg_engine_t *g = luaL_checkudata(L, 1, LMG_ENGINE);
  if (g->closed) lua_pushliteral(L, "mg.engine (closed)");
  else
    lua_pushfstring(L, "mg.engine (%d workers, %s clock)",
                    mg_engine_workers(g->e),
                    mg_clock_mode(g->e) == MG_CLOCK_VIRTUAL ? "virtual" : "wall");
  return 1;
}
/* }====================================================== */

static int l_parse(lua_State *L) {
  mg_value_t *v;
  if (mg_value_parse(luaL_checkstring(L, 1), &v)) return lmg_fail(L, -EINVAL);
  lmg_push_value(L, v);
  mg_value_free(v);
  return 1;
}

static int l_format(lua_State *L) {
  mg_value_t *v = lmg_to_value(L, 1, "format: bad argument #1");
  char *s = mg_value_text(v);
  lua_pushstring(L, s);
  free(s);
  mg_value_free(v);
  return 1;
}

static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

static int l_monotime(lua_State *L) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  lua_pushnumber(L, (double)t.tv_sec + (double)t.tv_nsec * 1e-9);
  return 1;
}

/* mg.strerror("EEXIST") -> "File exists": the C library's text for an
** error's name, as ngctl prints it ("send msg: File exists"); nil for a
** name the engine does not give. */
static int l_strerror(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  for (int e = 1; e < 4096 && strcmp(name, "EUNKNOWN"); e++)
    if (!strcmp(mg_errname(-e), name)) {
      lua_pushstring(L, strerror(e));
      return 1;
    }
  lua_pushnil(L);
  return 1;
}

static int l_pools(lua_State *L) {
  int64_t items, bufs;
  mg_pool_outstanding(&items, &bufs);
  lua_pushinteger(L, items);
  lua_pushinteger(L, bufs);
  return 2;
}

static const luaL_Reg engine_meta[] = {
  {"__gc", l_close}, {"__close", l_close}, {"__tostring", l_tostring},
  {NULL, NULL}};

static const luaL_Reg engine_methods[] = {
  {"define", lmg_define}, {"close", l_close}, {NULL, NULL}};

static const luaL_Reg module[] = {
  {"engine", l_engine}, {"parse", l_parse}, {"format", l_format},
  {"pools", l_pools}, {"isatty", l_isatty}, {"monotime", l_monotime},
  {"strerror", l_strerror}, {NULL, NULL}};

/* Loading twice in one state (busted does, per spec file) must be safe:
** metatables are made only when missing. */
void lmg_metatable(lua_State *L, const char *name, const luaL_Reg *meta,
                   const luaL_Reg *methods) {
  if (luaL_newmetatable(L, name)) {
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
}

/* More methods for the metatable name: [-0, +0] */
void lmg_methods(lua_State *L, const char *name, const luaL_Reg *methods) {
  luaL_getmetatable(L, name);
  lua_getfield(L, -1, "__index");
  luaL_setfuncs(L, methods, 0);
  lua_pop(L, 2);
}

/* An error from luaL_argerror names the function by its call; called by
** value (pcall(g.mkpeer, g, 42)) it has none, and lauxlib looks for it in
** package.loaded: so the methods are there too, as moongraph.engine.mkpeer
** and the like, not '?'. */
static void name_methods(lua_State *L) {
  static const char *const kinds[][2] = {{LMG_ENGINE, "moongraph.engine"},
                                         {LMG_NODE, "moongraph.node"},
                                         {LMG_ITEM, "moongraph.item"},
                                         {LMG_TIMER, "moongraph.timer"}};
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
    luaL_getmetatable(L, kinds[i][0]);
    lua_getfield(L, -1, "__index");
    lua_setfield(L, -3, kinds[i][1]);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

__attribute__((visibility("default"))) int luaopen_moongraph(lua_State *L) {
  lmg_guard_open(L);
  lmg_metatable(L, LMG_ENGINE, engine_meta, engine_methods);
  lmg_methods(L, LMG_ENGINE, lmg_verb_methods);
  lmg_methods(L, LMG_ENGINE, lmg_run_methods);
  lmg_metatable(L, LMG_TIMER, lmg_timer_meta, lmg_timer_methods);
  lmg_open_node(L);
  lmg_open_item(L);
  lmg_methods(L, LMG_ITEM, lmg_item_edit_methods);
  lmg_open_serve(L);
  name_methods(L);
  luaL_newlib(L, module);
  lua_pushliteral(L, MG_VERSION);
  lua_setfield(L, -2, "version");
  lmg_open_repl(L);
  return 1;
}
