/*
** lengine.c -- the engine as Lua sees it: netgraph's verbs, running the
** loop, timers, sending data and the script's own node ".".
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

#define UV_ON_DATA 1
#define UV_ON_MSG 2
#define UV_ON_LOG 3

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
  lua_State *T = g->T;
  int base = lua_gettop(T) - nargs;
  lua_pushcfunction(T, lmg_msgh);
  lua_insert(T, base);
  int rc = lmg_guard_call(g, nargs, nres, base);
  lua_remove(T, base);
  if (rc != LUA_OK) {
    lmg_log_error(g, who, what, lua_tostring(T, -1));
    lua_pop(T, 1);
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
  bool ok = lmg_call(g, NULL, 2, 0, "on_data handler");
  if (!ok && li->it) {
    mg_drop(li->it, MG_DROP_ERROR);
    li->it = NULL;
  }
  lmg_item_done(li, true);
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
    o.workers = opt_int(L, 1, "workers", 0, 0, 256);
    o.ttl = (uint32_t)opt_int(L, 1, "ttl", 0, 1, 1 << 30);
    o.max_depth = (uint32_t)opt_int(L, 1, "max_depth", 0, 1, 4096);
    o.queue_limit = (uint32_t)opt_int(L, 1, "queue_limit", 0, 1, 1 << 30);
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
    int rc = -EADDRINUSE;
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

/*
** {======================================================
** The verbs
** =======================================================
*/
/* Send cmd to path and wait for its reply; pushes the reply (true when it
** has no value) or nil, message, name. */
static int call(lua_State *L, lmg_engine_t *g, const char *path,
                const char *cmd, mg_value_t *args) {
  mg_value_t *reply = NULL;
  int rc = mg_ctl_call(g->ctl, path, cmd, args, &reply);
  if (rc) return lmg_fail(L, rc);
  if (reply) {
    lmg_push_value(L, reply);
    mg_value_free(reply);
  } else
    lua_pushboolean(L, 1);
  return 1;
}

static mg_value_t *fields(const char *k1, const char *v1, const char *k2,
                          const char *v2, const char *k3, const char *v3) {
  mg_value_t *m = mg_map();
  mg_map_set(m, k1, mg_str(v1));
  if (k2) mg_map_set(m, k2, mg_str(v2));
  if (k3) mg_map_set(m, k3, mg_str(v3));
  return m;
}

/* mkpeer([path,] type, hook, peerhook) */
static int l_mkpeer(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  int a = lua_gettop(L) >= 5 ? 2 : 1;
  const char *path = a == 2 ? lmg_checkname(L, 2) : ".";
  const char *type = lmg_checkname(L, a + 1);
  const char *hook = lmg_checkname(L, a + 2);
  const char *peer = lmg_checkname(L, a + 3);
  return call(L, g, path, "mkpeer",
              fields("type", type, "ourhook", hook, "peerhook", peer));
}

/* connect([path,] relpath, hook, peerhook) */
static int l_connect(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  int a = lua_gettop(L) >= 5 ? 2 : 1;
  const char *path = a == 2 ? lmg_checkname(L, 2) : ".";
  const char *rel = lmg_checkname(L, a + 1);
  const char *hook = lmg_checkname(L, a + 2);
  const char *peer = lmg_checkname(L, a + 3);
  return call(L, g, path, "connect",
              fields("path", rel, "ourhook", hook, "peerhook", peer));
}

static int l_name(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  const char *path = lmg_checkname(L, 2), *name = lmg_checkname(L, 3);
  return call(L, g, path, "name", fields("name", name, 0, 0, 0, 0));
}

/* rmhook([path,] hook) */
static int l_rmhook(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  int a = lua_gettop(L) >= 3 ? 2 : 1;
  const char *path = a == 2 ? lmg_checkname(L, 2) : ".";
  const char *hook = lmg_checkname(L, a + 1);
  return call(L, g, path, "rmhook", fields("hook", hook, 0, 0, 0, 0));
}

static int l_shutdown(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  return call(L, g, lmg_checkname(L, 2), "shutdown", NULL);
}

/* Arguments: a table, a value, or a string in the text form. */
static mg_value_t *msg_args(lua_State *L, int idx, const char *fn) {
  if (lua_isnoneornil(L, idx)) return NULL;
  if (lua_type(L, idx) == LUA_TSTRING) {
    mg_value_t *v;
    if (mg_value_parse(lua_tostring(L, idx), &v)) {
      luaL_argerror(L, idx, mg_errmsg());
      return NULL;
    }
    return v;
  }
  char what[64];
  snprintf(what, sizeof what, "%s: bad argument #%d", fn, idx - 1);
  return lmg_to_value(L, idx, what);
}

/* msg_text(path, cmd [, args]): the reply in text form, in the order the
** node gave its fields (a Lua table would lose it); true with no reply */
static int l_msg_text(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  const char *path = lmg_checkname(L, 2), *cmd = lmg_checkname(L, 3);
  mg_value_t *reply = NULL;
  int rc = mg_ctl_call(g->ctl, path, cmd, msg_args(L, 4, "msg_text"), &reply);
  if (rc) return lmg_fail(L, rc);
  if (!reply) {
    lua_pushboolean(L, 1);
    return 1;
  }
  char *s = mg_value_text(reply);
  lua_pushstring(L, s);
  free(s);
  mg_value_free(reply);
  return 1;
}

static int l_msg(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  const char *path = lmg_checkname(L, 2), *cmd = lmg_checkname(L, 3);
  return call(L, g, path, cmd, msg_args(L, 4, "msg"));
}

/* send_msg(path, cmd, args, callback(reply, err)): no waiting.  The
** record may complete on a worker thread; Lua hears of it on the loop. */
typedef struct {
  lmg_engine_t *g;
  int fn_ref, err;
  char *errmsg;
  mg_value_t *reply;
} pending_t;

static void msg_deliver(void *arg) {
  pending_t *p = arg;
  lmg_engine_t *g = p->g;
  if (!g->closed) {
    lua_State *T = g->T;
    lua_rawgeti(T, LUA_REGISTRYINDEX, p->fn_ref);
    luaL_unref(T, LUA_REGISTRYINDEX, p->fn_ref);
    if (p->err) {
      lua_pushnil(T);
      lua_pushstring(T, p->errmsg);
    } else {
      if (p->reply) lmg_push_value(T, p->reply);
      else lua_pushboolean(T, 1);
      lua_pushnil(T);
    }
    lmg_call(g, NULL, 2, 0, "send_msg callback");
  }
  mg_value_free(p->reply);
  free(p->errmsg);
  free(p);
}

static void msg_done(mg_rec_t *r, void *arg) {
  pending_t *p = arg;
  p->err = mg_rec_error(r);
  p->errmsg = mg_strdup(mg_rec_errmsg(r));
  p->reply = mg_rec_take_reply(r);
  /* always later, from the loop, outside any node's lock: the callback
  ** may well send more messages */
  mg_engine_post(p->g->e, msg_deliver, p);
}

static int l_send_msg(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  const char *path = lmg_checkname(L, 2), *cmd = lmg_checkname(L, 3);
  luaL_checktype(L, 5, LUA_TFUNCTION);
  mg_value_t *args = msg_args(L, 4, "send_msg");
  pending_t *p = mg_calloc(1, sizeof *p);
  p->g = g;
  lua_pushvalue(L, 5);
  p->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  mg_rec_t *r = mg_rec_new(g->e, msg_done, p);
  int rc = mg_ctl_send(g->ctl, path, cmd, args, r);
  bool sent = mg_rec_sent(r);
  mg_rec_free(r); /* the items carry it on */
  if (!sent) { /* failed before anything left */
    luaL_unref(L, LUA_REGISTRYINDEX, p->fn_ref);
    free(p);
    return lmg_fail(L, rc);
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_show(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  return call(L, g, lmg_optname(L, 2, "."), "listhooks", NULL);
}

static int l_list(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  mg_value_t *a = NULL;
  if (lua_toboolean(L, 2)) {
    a = mg_map();
    mg_map_set(a, "named", mg_bool(true));
  }
  int n = call(L, g, ".", "listnodes", a);
  if (n == 1) lua_getfield(L, -1, "nodes");
  return n;
}

static void type_doc(const mg_type_t *t, uint32_t count, void *arg) {
  lua_State *L = arg;
  lua_createtable(L, 0, 3);
  lua_pushstring(L, t->name);
  lua_setfield(L, -2, "name");
  lua_pushinteger(L, count);
  lua_setfield(L, -2, "count");
  lua_pushstring(L, t->doc ? t->doc : "");
  lua_setfield(L, -2, "doc");
  lua_createtable(L, 0, 0);
  for (const mg_cmd_t *c = t->cmds; c && c->name; c++) {
    lua_createtable(L, 0, 3);
    lua_pushstring(L, c->args ? c->args : "");
    lua_setfield(L, -2, "args");
    lua_pushstring(L, c->help ? c->help : "");
    lua_setfield(L, -2, "help");
    lua_pushboolean(L, c->flags & MG_CMD_READONLY);
    lua_setfield(L, -2, "readonly");
    lua_setfield(L, -2, c->name);
  }
  lua_setfield(L, -2, "commands");
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
}

static int l_types(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  lua_newtable(L);
  mg_type_foreach(g->e, type_doc, L);
  return 1;
}

static int l_generic(lua_State *L) {
  luaL_checkudata(L, 1, LMG_ENGINE);
  lua_newtable(L);
  for (const mg_cmd_t *c = mg_generic_cmds(); c->name; c++) {
    lua_createtable(L, 0, 2);
    lua_pushstring(L, c->args);
    lua_setfield(L, -2, "args");
    lua_pushstring(L, c->help);
    lua_setfield(L, -2, "help");
    lua_setfield(L, -2, c->name);
  }
  return 1;
}

static int l_status(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  return call(L, g, lmg_checkname(L, 2), "status", NULL);
}

static int l_stats(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  return call(L, g, lmg_optname(L, 2, "."), "stats", NULL);
}

static int l_node(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  mg_node_t *n;
  int rc = mg_resolve(g->ctl, lmg_checkname(L, 2), &n, NULL);
  if (rc) return lmg_fail(L, rc);
  /* a Lua-type node has one handle, which carries its fields */
  lmg_push_uv(L, g);
  lua_getfield(L, -1, "nodes");
  lua_rawgeti(L, -1, mg_node_id(n));
  if (lua_isnil(L, -1)) {
    lua_pop(L, 3);
    lmg_push_node(L, g, n);
  } else {
    lua_replace(L, -3);
    lua_pop(L, 1);
  }
  mg_node_unref(n); /* the handle holds its own */
  return 1;
}

/* Made last by its callers, after every other argument is checked: a
** buffer made before an argument error would leak. */
mg_buf_t *lmg_check_packet(lua_State *L, int arg) {
  size_t len;
  const char *data = luaL_checklstring(L, arg, &len);
  if (len > 1 << 20) luaL_argerror(L, arg, "a packet of at most 1 MiB");
  mg_buf_t *b = mg_buf_new((uint32_t)len);
  memcpy(b->data, data, len);
  return b;
}

/* send(hook, data [, { ts=seconds, linktype=n }]) out of "." */
static int l_send(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  const char *hook = lmg_checkname(L, 2);
  luaL_checklstring(L, 3, NULL); /* argument order for errors */
  int64_t ts = mg_now(g->e);
  lua_Integer lt = 1;
  if (!lua_isnoneornil(L, 4)) {
    luaL_checktype(L, 4, LUA_TTABLE);
    lua_getfield(L, 4, "ts");
    if (!lua_isnil(L, -1)) ts = (int64_t)(luaL_checknumber(L, -1) * 1e9);
    lua_getfield(L, 4, "linktype");
    lt = luaL_optinteger(L, -1, 1);
    lua_pop(L, 2);
  }
  mg_buf_t *b = lmg_check_packet(L, 3);
  b->ts = ts;
  b->linktype = (uint16_t)lt;
  int rc = mg_ctl_send_data(g->ctl, hook, b);
  if (rc) return lmg_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static int set_handler(lua_State *L, int slot) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  if (!lua_isnil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
  lmg_push_uv(L, g);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, slot);
  return 0;
}

static int l_on_data(lua_State *L) { return set_handler(L, UV_ON_DATA); }
static int l_on_msg(lua_State *L) { return set_handler(L, UV_ON_MSG); }
static int l_on_log(lua_State *L) { return set_handler(L, UV_ON_LOG); }

/* dot(): the graph in Graphviz form, as ngctl dot draws it. */
static int l_dot(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  mg_value_t *r = NULL;
  int rc = mg_ctl_call(g->ctl, ".", "listnodes", NULL, &r);
  if (rc) return lmg_fail(L, rc);
  mg_sbuf_t b = {0};
  mg_sbuf_printf(&b, "graph netgraph {\n\tedge [ weight = 1.0 ];\n\tnode [ shape = record, fontsize = 12 ] {\n");
  mg_value_t *nodes = mg_map_get(r, "nodes");
  for (uint32_t i = 0; nodes && i < nodes->u.a.n; i++) {
    mg_value_t *ni = nodes->u.a.v[i];
    const char *nm = mg_map_get(ni, "name")->u.s.p, *ty = mg_map_get(ni, "type")->u.s.p;
    mg_sbuf_printf(&b, "\t\t\"%x\" [ label = \"{%s:|{%s|[%x]:}}\" ];\n",
                   (unsigned)mg_map_get(ni, "id")->u.i, *nm ? nm : "<unnamed>",
                   ty, (unsigned)mg_map_get(ni, "id")->u.i);
  }
  mg_sbuf_printf(&b, "\t};\n\tsubgraph cluster_disconnected {\n\t\tbgcolor = pink;\n");
  for (uint32_t i = 0; nodes && i < nodes->u.a.n; i++) {
    mg_value_t *ni = nodes->u.a.v[i];
    if (mg_map_get(ni, "hooks")->u.i == 0)
      mg_sbuf_printf(&b, "\t\t\"%x\";\n", (unsigned)mg_map_get(ni, "id")->u.i);
  }
  mg_sbuf_printf(&b, "\t};\n");
  for (uint32_t i = 0; nodes && i < nodes->u.a.n; i++) {
    mg_value_t *ni = nodes->u.a.v[i];
    unsigned id = (unsigned)mg_map_get(ni, "id")->u.i;
    char path[32];
    snprintf(path, sizeof path, "[%x]:", id);
    mg_value_t *lh = NULL;
    if (mg_ctl_call(g->ctl, path, "listhooks", NULL, &lh)) continue;
    mg_value_t *hs = mg_map_get(lh, "hooks");
    for (uint32_t j = 0; hs && j < hs->u.a.n; j++) {
      mg_value_t *hk = hs->u.a.v[j];
      mg_value_t *peer = mg_map_get(hk, "peer"), *pid = mg_map_get(peer, "id");
      if (!pid) continue;
      unsigned p = (unsigned)pid->u.i;
      const char *ours = mg_map_get(hk, "ourhook")->u.s.p;
      const char *theirs = mg_map_get(hk, "peerhook")->u.s.p;
      /* each edge once: from the lower id, or the lower hook name */
      if (id > p || (id == p && strcmp(ours, theirs) > 0)) continue;
      mg_sbuf_printf(&b, "\t\"%x\" -- \"%x\" [ headlabel = \"%s\", taillabel = \"%s\" ];\n",
                     id, p, theirs, ours);
    }
    mg_value_free(lh);
  }
  mg_sbuf_printf(&b, "}\n");
  mg_value_free(r);
  lua_pushlstring(L, b.p, b.len);
  mg_sbuf_free(&b);
  return 1;
}
/* }====================================================== */

/*
** {======================================================
** Running
** =======================================================
*/
/* run() until idle; run(seconds); run{ until="idle" | "stopped" } or
** run{ ["for"]=seconds } */
static int l_run(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  mg_run_t mode = MG_RUN_IDLE;
  double secs = 0;
  if (lua_type(L, 2) == LUA_TNUMBER) {
    mode = MG_RUN_FOR;
    secs = lua_tonumber(L, 2);
  } else if (lua_istable(L, 2)) {
    lua_getfield(L, 2, "for");
    lua_getfield(L, 2, "until");
    if (!lua_isnil(L, -2)) {
      mode = MG_RUN_FOR;
      secs = luaL_checknumber(L, -2);
    } else if (!lua_isnil(L, -1)) {
      const char *u = luaL_checkstring(L, -1);
      if (!strcmp(u, "stopped")) mode = MG_RUN_FOREVER;
      else if (!strcmp(u, "idle")) mode = MG_RUN_IDLE;
      else if (!strcmp(u, "nowait")) mode = MG_RUN_NOWAIT;
      else return luaL_argerror(L, 2, "until is \"idle\", \"stopped\" or \"nowait\"");
    }
    lua_pop(L, 2);
  } else if (!lua_isnoneornil(L, 2))
    return luaL_argerror(L, 2, "seconds or { until=... } / { for=... }");
  if (secs < 0) return luaL_argerror(L, 2, "a duration cannot be negative");
  lmg_signals_catch(); /* libuv may have taken them since */
  int rc = mg_engine_run(g->e, mode, (uint64_t)(secs * 1e9));
  if (rc) return lmg_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_stop(lua_State *L) {
  mg_engine_stop(lmg_check_engine(L, 1)->e);
  return 0;
}

static int l_now(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  lua_pushnumber(L, (double)mg_now(g->e) / 1e9);
  return 1;
}

static int l_advance(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  if (mg_clock_mode(g->e) != MG_CLOCK_VIRTUAL)
    return luaL_error(L, "advance: the engine's clock is the wall clock");
  mg_clock_advance(g->e, (int64_t)(luaL_checknumber(L, 2) * 1e9));
  return 0;
}

/* {------------------------------------------------------ timers */
typedef struct ltimer {
  mg_callout_t c; /* first: the timers table is walked as callouts */
  lmg_engine_t *g;
  int64_t every;  /* ns; 0 for once */
  bool armed, held;
} ltimer_t;

static void timer_disarm(lua_State *L, ltimer_t *t) {
  if (t->armed) mg_callout_stop(&t->c);
  t->armed = false;
  if (t->held) mg_engine_hold(t->g->e, -1);
  t->held = false;
  lmg_push_uv(L, t->g);
  lua_getfield(L, -1, "timers");
  lua_pushlightuserdata(L, t);
  lua_rawget(L, -2); /* the handle */
  if (!lua_isnil(L, -1)) {
    lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pushlightuserdata(L, t);
    lua_pushnil(L);
    lua_rawset(L, -3);
  } else
    lua_pop(L, 1);
  lua_pop(L, 2);
}

/* The Lua side of a timer, from the loop and outside any node's lock, so
** that it may use every verb, "." included. */
typedef struct { lmg_engine_t *g; ltimer_t *t; } firing_t;

static void timer_lua(void *arg) {
  firing_t f = *(firing_t *)arg;
  free(arg);
  lmg_engine_t *g = f.g;
  if (g->closed) return;
  lua_State *T = g->T;
  lmg_push_uv(T, g);
  lua_getfield(T, -1, "timers");
  lua_remove(T, -2);
  lua_pushlightuserdata(T, f.t); /* only a key until found: it may be gone */
  lua_rawget(T, -2);
  lua_remove(T, -2); /* the handle, alive on the stack below */
  if (lua_isnil(T, -1)) { /* cancelled since */
    lua_pop(T, 1);
    return;
  }
  ltimer_t *t = f.t;
  lua_getiuservalue(T, -1, 1);
  if (!t->every) timer_disarm(T, t);
  lmg_call(g, NULL, 0, 0, "timer");
  lua_pop(T, 1);
}

/* Runs as a writer function item on "." when due: it re-arms a periodic
** timer and hands the call to the loop. */
static int timer_fire(mg_node_t *n, mg_hook_t *h, void *arg, intptr_t x) {
  (void)n; (void)h; (void)x;
  ltimer_t *t = arg;
  lmg_engine_t *g = t->g;
  if (g->closed || !t->armed) return 0;
  if (t->every) mg_callout_reset(&t->c, g->ctl, t->every, timer_fire, t, 0);
  firing_t *f = mg_alloc(sizeof *f);
  *f = (firing_t){g, t};
  mg_engine_post(g->e, timer_lua, f);
  return 0;
}

static int new_timer(lua_State *L, bool every) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  double secs = luaL_checknumber(L, 2);
  luaL_checktype(L, 3, LUA_TFUNCTION);
  if (secs < 0 || (every && secs <= 0))
    return luaL_argerror(L, 2, every ? "a period above zero" : "a delay of zero or more");
  ltimer_t *t = lua_newuserdatauv(L, sizeof *t, 1);
  memset(t, 0, sizeof *t);
  mg_callout_init(&t->c);
  t->g = g;
  t->every = every ? (int64_t)(secs * 1e9) : 0;
  luaL_setmetatable(L, LMG_TIMER);
  lua_pushvalue(L, 3);
  lua_setiuservalue(L, -2, 1);
  lmg_push_uv(L, g);
  lua_getfield(L, -1, "timers");
  lua_pushlightuserdata(L, t);
  lua_pushvalue(L, -4);
  lua_rawset(L, -3);
  lua_pop(L, 2);
  int rc = mg_callout_reset(&t->c, g->ctl, (int64_t)(secs * 1e9), timer_fire, t, 0);
  if (rc) return lmg_fail(L, rc);
  t->armed = true;
  /* a pending wall-clock timer is work: run() waits for it */
  if (mg_clock_mode(g->e) == MG_CLOCK_WALL) {
    mg_engine_hold(g->e, 1);
    t->held = true;
  }
  return 1;
}

static int l_after(lua_State *L) { return new_timer(L, false); }
static int l_every(lua_State *L) { return new_timer(L, true); }

static int l_timer_cancel(lua_State *L) {
  ltimer_t *t = luaL_checkudata(L, 1, LMG_TIMER);
  bool was = t->armed;
  if (!t->g->closed) timer_disarm(L, t);
  t->armed = false;
  lua_pushboolean(L, was);
  return 1;
}

static int l_timer_tostring(lua_State *L) {
  ltimer_t *t = luaL_checkudata(L, 1, LMG_TIMER);
  lua_pushfstring(L, "mg.timer (%s)", t->armed ? "armed" : "idle");
  return 1;
}
/* }------------------------------------------------------ */
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

/* on_signal("INT" | "TERM" | "HUP" | "USR1" | "USR2", fn) */
typedef struct { lmg_engine_t *g; int ref; } sighandler_t;

static void on_sig(mg_engine_t *e, int signum, void *arg) {
  (void)e;
  sighandler_t *sh = arg;
  lmg_engine_t *g = sh->g;
  if (g->closed) return;
  lua_rawgeti(g->T, LUA_REGISTRYINDEX, sh->ref);
  lua_pushinteger(g->T, signum);
  lmg_call(g, NULL, 1, 0, "signal handler");
}

static int l_on_signal(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  static const char *const names[] = {"INT", "TERM", "HUP", "USR1", "USR2", NULL};
  static const int nums[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
  int which = luaL_checkoption(L, 2, NULL, names);
  luaL_checktype(L, 3, LUA_TFUNCTION);
  /* the handler lives as long as the engine: its record in the user value */
  sighandler_t *sh = lua_newuserdatauv(L, sizeof *sh, 0);
  sh->g = g;
  lua_pushvalue(L, 3);
  sh->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lmg_push_uv(L, g);
  lua_getfield(L, -1, "signals");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "signals");
  }
  lua_pushvalue(L, -3);
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  lua_pop(L, 2);
  int rc = mg_engine_signal(g->e, nums[which], on_sig, sh);
  lmg_signals_catch(); /* in front of libuv's, which took the signal */
  if (rc) return lmg_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_pools(lua_State *L) {
  int64_t items, bufs;
  mg_pool_outstanding(&items, &bufs);
  lua_pushinteger(L, items);
  lua_pushinteger(L, bufs);
  return 2;
}

static const luaL_Reg engine_methods[] = {
  {"mkpeer", l_mkpeer}, {"connect", l_connect}, {"name", l_name},
  {"msg", l_msg}, {"msg_text", l_msg_text}, {"send_msg", l_send_msg}, {"shutdown", l_shutdown},
  {"rmhook", l_rmhook}, {"show", l_show}, {"list", l_list},
  {"types", l_types}, {"generic", l_generic}, {"status", l_status},
  {"stats", l_stats}, {"dot", l_dot}, {"node", l_node},
  {"send", l_send}, {"on_data", l_on_data}, {"on_msg", l_on_msg},
  {"on_log", l_on_log}, {"run", l_run}, {"stop", l_stop}, {"now", l_now},
  {"advance", l_advance}, {"after", l_after}, {"every", l_every},
  {"define", lmg_define}, {"on_signal", l_on_signal}, {"close", l_close},
  {NULL, NULL}};

static const luaL_Reg engine_meta[] = {
  {"__gc", l_close}, {"__close", l_close}, {"__tostring", l_tostring},
  {NULL, NULL}};

static const luaL_Reg timer_methods[] = {{"cancel", l_timer_cancel}, {NULL, NULL}};
static const luaL_Reg timer_meta[] = {{"__tostring", l_timer_tostring},
                                      {NULL, NULL}};

static const luaL_Reg module[] = {
  {"engine", l_engine}, {"parse", l_parse}, {"format", l_format},
  {"pools", l_pools}, {"isatty", l_isatty}, {"monotime", l_monotime},
  {NULL, NULL}};

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

__attribute__((visibility("default"))) int luaopen_moongraph(lua_State *L) {
  lmg_guard_open(L);
  lmg_metatable(L, LMG_ENGINE, engine_meta, engine_methods);
  lmg_metatable(L, LMG_TIMER, timer_meta, timer_methods);
  lmg_open_node(L);
  lmg_open_item(L);
  luaL_newlib(L, module);
  lua_pushliteral(L, MG_VERSION);
  lua_setfield(L, -2, "version");
  lmg_open_repl(L);
  return 1;
}
