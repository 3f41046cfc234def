/*
** lmg.h -- shared between the files of the Lua binding.
*/
#ifndef LMG_H
#define LMG_H

#include <lauxlib.h>
#include <lua.h>

#include "moongraph.h"

#define LMG_ENGINE "mg.engine"
#define LMG_NODE "mg.node"
#define LMG_ITEM "mg.item"
#define LMG_TIMER "mg.timer"
#define LMG_VIEW "mg.view"

/* Slots of an engine's user value table for its handlers. */
#define UV_ON_DATA 1
#define UV_ON_MSG 2
#define UV_ON_LOG 3

/* One engine as Lua sees it.  Its userdata's user value is a table:
** [1] on_data, [2] on_msg, nodes = { [id] = handle } (Lua-type nodes),
** handles = weak set of every node handle, timers = { [t] = true }. */
typedef struct lmg_engine {
  mg_engine_t *e;
  mg_node_t *ctl;      /* ".": the script's own node */
  lua_State *T;        /* the thread callbacks run on */
  int T_ref, uv_ref;   /* registry: T, and the user value table */
  int logged, suppressed; /* rate limit for errors with no node */
  int64_t log_window;
  int64_t lua_steps;   /* instruction budget of a handler call; 0: none */
  int64_t lua_memory;  /* ceiling of the Lua state's bytes; 0: none */
  bool closed;
  void *served;        /* lserve.c: the sockets it is served on */
} lmg_engine_t;

/* An engine as an attached client sees it (lserve.c): the verbs act with
** the client's own socket node as ".".  g is NULL once the client goes. */
typedef struct lmg_view {
  lmg_engine_t *g;
  mg_node_t *ctl;
} lmg_view_t;

/* A node handle: for Lua-type nodes its user value holds the node's own
** fields; a handle outliving its node answers every call with an error. */
typedef struct lmg_node {
  mg_node_t *n;
  lmg_engine_t *eng;
  int64_t log_window;  /* error log rate limit */
  int logged, suppressed;
} lmg_node_t;

/* An item handle, valid only while its handler runs. */
typedef struct lmg_item {
  mg_item_t *it;
  mg_node_t *n;
  lmg_engine_t *eng;
} lmg_item_t;

/* lvalue.c */
/* The string at arg as a C name, path, hook, type or command: one with a
** NUL byte in it would be read cut short, so it is refused. */
const char *lmg_checkname(lua_State *L, int arg);
const char *lmg_optname(lua_State *L, int arg, const char *def);
void lmg_push_value(lua_State *L, const mg_value_t *v);
/* [-0, +0, e] the value at idx, or an error naming what: argument */
mg_value_t *lmg_to_value(lua_State *L, int idx, const char *what);
/* x, when within [min, max]; else an argument error at arg naming it and
** the range (mg_check_num's words). */
double lmg_checkrange(lua_State *L, int arg, double x, const char *name, double min,
                      double max);
/* Seconds as the engine's ns, for times a script names (up to 2^32 s, the
** end of a capture's 32-bit stamp). */
#define LMG_TIME_MAX 4294967296.0

/* lengine.c */
lmg_engine_t *lmg_check_engine(lua_State *L, int idx);
void lmg_push_uv(lua_State *L, lmg_engine_t *g); /* the user value table */
/* Call the function at the top of T's stack with nargs under it, in
** protected mode; on error log it against node n (may be NULL) and
** return false with the stack balanced. */
bool lmg_call(lmg_engine_t *g, lmg_node_t *who, int nargs, int nres,
              const char *what);
/* The same without logging: NULL, or the error with its traceback (left
** on the stack in place of the results). */
const char *lmg_pcall(lmg_engine_t *g, int nargs, int nres);
/* Push the engine's userdata; false (nil pushed) when it is gone. */
bool lmg_push_engine(lua_State *L, lmg_engine_t *g);
void lmg_log_error(lmg_engine_t *g, lmg_node_t *who, const char *what,
                   const char *msg);

/* lnode.c */
void lmg_open_node(lua_State *L);
lmg_node_t *lmg_push_node(lua_State *L, lmg_engine_t *g, mg_node_t *n);
int lmg_define(lua_State *L); /* engine:define(name, table) */
int lmg_fail(lua_State *L, int rc); /* pushes nil, message, name: 3 */
int lmg_msgh(lua_State *L);          /* a message handler: adds a traceback */
/* A packet buffer holding a copy of the string at arg (1 MiB at most). */
mg_buf_t *lmg_check_packet(lua_State *L, int arg);
void lmg_forget_nodes(lua_State *L, lmg_engine_t *g);

/* litem.c */
void lmg_open_item(lua_State *L);
lmg_item_t *lmg_push_item(lua_State *L, lmg_engine_t *g, mg_node_t *n,
                          mg_item_t *it);
/* After the handler: the item ends now if the handler did not end it. */
void lmg_item_done(lmg_item_t *li, bool consume);

/* ledit.c: rewriting packets */
extern const luaL_Reg lmg_item_edit_methods[];
/* A new packet's metadata: { ts=seconds, linktype=n } (default: now, 1) or
** an item to copy them from (and its tags); checked before the packet is
** made, applied after. */
typedef struct lmg_meta {
  int64_t ts;
  uint16_t linktype;
  const mg_buf_t *from;
} lmg_meta_t;
void lmg_check_meta(lua_State *L, int arg, int64_t now, lmg_meta_t *m);
void lmg_meta_apply(const lmg_meta_t *m, mg_buf_t *b);

void lmg_metatable(lua_State *L, const char *name, const luaL_Reg *meta,
                   const luaL_Reg *methods);
void lmg_methods(lua_State *L, const char *name, const luaL_Reg *methods);

/* lverbs.c, lrun.c: engine methods by concern */
extern const luaL_Reg lmg_verb_methods[], lmg_run_methods[], lmg_view_methods[];

/* lserve.c: the engine on a Unix socket for moongraph -c */
extern const luaL_Reg lmg_serve_methods[];
/* registry: a path the next engine made is served on (the host's -s) */
#define LMG_SERVE_NEXT "moongraph.serve_next"
void lmg_open_serve(lua_State *L);
/* Serve g at path: 0, or a negative errno with mg_errmsg saying why. */
int lmg_serve(lua_State *L, lmg_engine_t *g, const char *path);
/* Every client of g goes and its sockets close (before g's engine does). */
void lmg_serve_close(lmg_engine_t *g);
extern const luaL_Reg lmg_timer_methods[], lmg_timer_meta[];

/* lguard.c: limits on handlers */
void lmg_guard_open(lua_State *L); /* once per state: the allocator */
/* lua_pcall on g->T within g's instruction budget and memory ceiling */
int lmg_guard_call(lmg_engine_t *g, int nargs, int nres, int msgh);
/* An engine callback runs C code between a handler's frames: a refused
** allocation there would unwind through the engine, so the ceiling is
** held off until its own call (or its return). */
bool lmg_guard_hold(lua_State *T);
void lmg_guard_release(lua_State *T, bool was);
/* SIGINT and SIGTERM go through ours (in front of whatever else takes
** them), so that a handler that never returns still hears them; called
** again after anyone else (libuv) may have taken them. */
void lmg_signals_catch(void);
/* Async-signal-safe: a handler running now stops with "interrupted". */
void lmg_interrupt(int sig);

/* lrepl.c: Lua parts of the module (the REPL's commands), embedded */
void lmg_open_repl(lua_State *L);
int luaopen_moongraph(lua_State *L);

#endif
