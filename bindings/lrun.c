/*
** lrun.c -- running an engine from Lua, and its time: run, stop, now,
** advance, timers (after, every) and signal handlers.
*/
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "lmg.h"

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
    secs = lmg_checkrange(L, 2, lua_tonumber(L, 2), "seconds", 0, MG_SECS_MAX);
  } else if (lua_istable(L, 2)) {
    lua_getfield(L, 2, "for");
    lua_getfield(L, 2, "until");
    if (!lua_isnil(L, -2)) {
      mode = MG_RUN_FOR;
      secs = lmg_checkrange(L, 2, luaL_checknumber(L, -2), "for", 0, MG_SECS_MAX);
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
  double t = lmg_checkrange(L, 2, luaL_checknumber(L, 2), "time", 0, LMG_TIME_MAX);
  mg_clock_advance(g->e, (int64_t)(t * 1e9));
  return 0;
}

/* {------------------------------------------------------ timers */
/* A timer's record is not its handle's memory: a firing queued on "."
** may still be on its way when the handle is cancelled and collected.
** It goes when the handle, its callout and every posted call let go. */
typedef struct ltimer {
  mg_callout_t c; /* first: the timers table is walked as callouts */
  lmg_engine_t *g;
  int64_t every;  /* ns; 0 for once */
  bool armed;
  int refs;       /* handle + callout + calls posted to the loop */
} ltimer_t;

static void timer_unref(ltimer_t *t) {
  if (--t->refs == 0) free(t);
}

static void timer_fin(mg_callout_t *c) { timer_unref((ltimer_t *)c); }

static ltimer_t *check_timer(lua_State *L, int i) {
  return *(ltimer_t **)luaL_checkudata(L, i, LMG_TIMER);
}

static void timer_disarm(lua_State *L, ltimer_t *t) {
  if (t->armed) mg_callout_stop(&t->c);
  t->armed = false;
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
  if (g->closed) {
    timer_unref(f.t);
    return;
  }
  lua_State *T = g->T;
  lmg_push_uv(T, g);
  lua_getfield(T, -1, "timers");
  lua_remove(T, -2);
  lua_pushlightuserdata(T, f.t); /* only a key until found: it may be gone */
  lua_rawget(T, -2);
  lua_remove(T, -2); /* the handle, alive on the stack below */
  ltimer_t *t = f.t;
  if (lua_isnil(T, -1)) { /* cancelled since */
    lua_pop(T, 1);
    timer_unref(t);
    return;
  }
  lua_getiuservalue(T, -1, 1);
  if (!t->every) timer_disarm(T, t);
  timer_unref(t); /* the handle on the stack holds it */
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
  t->refs++;
  mg_engine_post(g->e, timer_lua, f);
  return 0;
}

static int new_timer(lua_State *L, bool every) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  /* a period below 1 ms would fire faster than the loop can call Lua */
  double secs = lmg_checkrange(L, 2, luaL_checknumber(L, 2), every ? "period" : "delay",
                               every ? 0.001 : 0, MG_SECS_MAX);
  luaL_checktype(L, 3, LUA_TFUNCTION);
  ltimer_t **box = lua_newuserdatauv(L, sizeof *box, 2);
  ltimer_t *t = *box = mg_calloc(1, sizeof *t);
  mg_callout_init(&t->c);
  t->refs = 2; /* the handle and the callout */
  t->g = g;
  t->every = every ? (int64_t)(secs * 1e9) : 0;
  luaL_setmetatable(L, LMG_TIMER);
  lua_pushvalue(L, 3);
  lua_setiuservalue(L, -2, 1);
  lua_pushvalue(L, 1); /* t->g stays valid as long as the handle */
  lua_setiuservalue(L, -2, 2);
  lmg_push_uv(L, g);
  lua_getfield(L, -1, "timers");
  lua_pushlightuserdata(L, t);
  lua_pushvalue(L, -4);
  lua_rawset(L, -3);
  lua_pop(L, 2);
  int rc = mg_callout_reset(&t->c, g->ctl, (int64_t)(secs * 1e9), timer_fire, t, 0);
  if (rc) return lmg_fail(L, rc);
  t->armed = true;
  /* a timer does not hold the engine (docs/lua.md): run() returns once no
  ** source is active and nothing is queued, timers armed or not */
  return 1;
}

static int l_after(lua_State *L) { return new_timer(L, false); }
static int l_every(lua_State *L) { return new_timer(L, true); }

static int l_timer_cancel(lua_State *L) {
  ltimer_t *t = check_timer(L, 1);
  bool was = t->armed;
  if (!t->g->closed) timer_disarm(L, t);
  t->armed = false;
  lua_pushboolean(L, was);
  return 1;
}

static int l_timer_tostring(lua_State *L) {
  ltimer_t *t = check_timer(L, 1);
  lua_pushfstring(L, "mg.timer (%s)", t->armed ? "armed" : "idle");
  return 1;
}

/* The handle is collected: while armed only when the state closes, as
** the engine's table holds it till then.  Once the engine is closed no
** firing can be in flight. */
static int l_timer_gc(lua_State *L) {
  ltimer_t **box = luaL_checkudata(L, 1, LMG_TIMER), *t = *box;
  if (!t) return 0;
  *box = NULL;
  if (t->g->closed) timer_fin(&t->c);
  else {
    timer_disarm(L, t); /* out of the table the engine's close walks */
    mg_callout_free(&t->c, timer_fin);
  }
  timer_unref(t);
  return 0;
}
/* }------------------------------------------------------ */
/* }====================================================== */

/*
** {======================================================
** on_done(path, fn): fn() once, on the loop, when the pcap source at
** path finishes.  The uv table's done = { [id] = { fn... } }.
** =======================================================
*/
typedef struct { lmg_engine_t *g; uint32_t id; } done_t;

static void done_lua(void *arg) {
  done_t d = *(done_t *)arg;
  free(arg);
  lmg_engine_t *g = d.g;
  if (g->closed || !g->ctl) return; /* the engine is closing */
  lua_State *T = g->T;
  lmg_push_uv(T, g);
  lua_getfield(T, -1, "done");
  lua_remove(T, -2);
  if (!lua_istable(T, -1)) {
    lua_pop(T, 1);
    return;
  }
  lua_rawgeti(T, -1, d.id);
  lua_pushnil(T);
  lua_rawseti(T, -3, d.id); /* once */
  lua_remove(T, -2);
  if (!lua_istable(T, -1)) {
    lua_pop(T, 1);
    return;
  }
  int fns = lua_gettop(T);
  for (lua_Integer i = 1; lua_rawgeti(T, fns, i) == LUA_TFUNCTION; i++)
    lmg_call(g, NULL, 0, 0, "on_done handler");
  lua_settop(T, fns - 1);
}

/* From the source's finish, inside its node: the call waits for the loop. */
static void done_cb(void *arg, uint32_t id) {
  lmg_engine_t *g = arg;
  done_t *d = mg_alloc(sizeof *d);
  *d = (done_t){g, id};
  mg_engine_post(g->e, done_lua, d);
}

static int l_on_done(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  const char *path = lmg_checkname(L, 2);
  luaL_checktype(L, 3, LUA_TFUNCTION);
  mg_node_t *n;
  int rc = mg_resolve(g->ctl, path, &n, NULL);
  if (rc) return lmg_fail(L, rc);
  bool done = false;
  rc = mg_pcap_on_done(n, done_cb, g, &done);
  uint32_t id = mg_node_id(n);
  if (rc) {
    char q[MG_QUOTESIZ];
    mg_error(rc, "on_done: %s is a %s node, not a pcap source", mg_quote(q, path),
             mg_node_type(n)->name);
  }
  mg_node_unref(n);
  if (rc) return lmg_fail(L, rc);
  lmg_push_uv(L, g);
  lua_getfield(L, -1, "done");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "done");
  }
  if (lua_rawgeti(L, -1, id) == LUA_TNIL) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, id);
  }
  lua_pushvalue(L, 3);
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  lua_pop(L, 3);
  if (done) done_cb(g, id); /* finished already: on the next turn */
  lua_pushboolean(L, 1);
  return 1;
}
/* }====================================================== */

/*
** {======================================================
** Signals
** =======================================================
*/
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
/* }====================================================== */

const luaL_Reg lmg_run_methods[] = {
  {"run", l_run}, {"stop", l_stop}, {"now", l_now}, {"advance", l_advance},
  {"after", l_after}, {"every", l_every}, {"on_signal", l_on_signal},
  {"on_done", l_on_done},
  {NULL, NULL}};

const luaL_Reg lmg_timer_methods[] = {{"cancel", l_timer_cancel}, {NULL, NULL}};
const luaL_Reg lmg_timer_meta[] = {{"__tostring", l_timer_tostring},
                                   {"__gc", l_timer_gc}, {NULL, NULL}};
