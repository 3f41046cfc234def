/*
** lverbs.c -- netgraph's verbs as engine methods (mkpeer, connect, name,
** msg, shutdown, rmhook, show, list, types, ...), data in and out of ".".
**
** Conventions (luv's and io's): misuse raises an error naming the
** function and argument; an operation that fails returns nil, a message
** naming what was wrong, and the error's name ("ENOENT").
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmg.h"

/* The engine and the node that is "." for a method's object: an engine's
** own node, or a view's (the socket node of a client attached to a
** served engine, lserve.c), so that one set of verbs serves both. */
static mg_node_t *self(lua_State *L, lmg_engine_t **gp) {
  lmg_view_t *v = luaL_testudata(L, 1, LMG_VIEW);
  if (v) {
    if (!v->g || v->g->closed || !v->ctl) luaL_error(L, "the client has gone");
    if (gp) *gp = v->g;
    return v->ctl;
  }
  lmg_engine_t *g = lmg_check_engine(L, 1);
  if (gp) *gp = g;
  return g->ctl;
}

/*
** {======================================================
** The verbs
** =======================================================
*/
/* Send cmd to path and wait for its reply; pushes the reply (true when it
** has no value) or nil, message, name. */
static int call(lua_State *L, mg_node_t *ctl, const char *path,
                const char *cmd, mg_value_t *args) {
  mg_value_t *reply = NULL;
  int rc = mg_ctl_call(ctl, path, cmd, args, &reply);
  if (rc) return lmg_fail(L, rc);
  if (reply) {
    lmg_push_value(L, reply);
    mg_value_free(reply);
  } else
    lua_pushboolean(L, 1);
  return 1;
}

/* The result of a verb with nothing to reply: true, or nil, message, name. */
static int done(lua_State *L, int rc) {
  if (rc) return lmg_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

/* mkpeer([path,] type, hook, peerhook) */
static int l_mkpeer(lua_State *L) {
  mg_node_t *ctl = self(L, NULL);
  int a = lua_gettop(L) >= 5 ? 2 : 1;
  const char *path = a == 2 ? lmg_checkname(L, 2) : ".";
  const char *type = lmg_checkname(L, a + 1);
  const char *hook = lmg_checkname(L, a + 2);
  const char *peer = lmg_checkname(L, a + 3);
  return done(L, mg_mkpeer(ctl, path, type, hook, peer));
}

/* connect([path,] relpath, hook, peerhook) */
static int l_connect(lua_State *L) {
  mg_node_t *ctl = self(L, NULL);
  int a = lua_gettop(L) >= 5 ? 2 : 1;
  const char *path = a == 2 ? lmg_checkname(L, 2) : ".";
  const char *rel = lmg_checkname(L, a + 1);
  const char *hook = lmg_checkname(L, a + 2);
  const char *peer = lmg_checkname(L, a + 3);
  return done(L, mg_connect(ctl, path, rel, hook, peer));
}

static int l_name(lua_State *L) {
  mg_node_t *ctl = self(L, NULL);
  const char *path = lmg_checkname(L, 2), *name = lmg_checkname(L, 3);
  return done(L, mg_name(ctl, path, name));
}

/* rmhook([path,] hook) */
static int l_rmhook(lua_State *L) {
  mg_node_t *ctl = self(L, NULL);
  int a = lua_gettop(L) >= 3 ? 2 : 1;
  const char *path = a == 2 ? lmg_checkname(L, 2) : ".";
  const char *hook = lmg_checkname(L, a + 1);
  return done(L, mg_rmhook(ctl, path, hook));
}

static int l_shutdown(lua_State *L) {
  mg_node_t *ctl = self(L, NULL);
  return done(L, mg_shutdown(ctl, lmg_checkname(L, 2)));
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
  mg_node_t *ctl = self(L, NULL);
  const char *path = lmg_checkname(L, 2), *cmd = lmg_checkname(L, 3);
  mg_value_t *reply = NULL;
  int rc = mg_ctl_call(ctl, path, cmd, msg_args(L, 4, "msg_text"), &reply);
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
  mg_node_t *ctl = self(L, NULL);
  const char *path = lmg_checkname(L, 2), *cmd = lmg_checkname(L, 3);
  return call(L, ctl, path, cmd, msg_args(L, 4, "msg"));
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
  lmg_engine_t *g;
  mg_node_t *ctl = self(L, &g);
  const char *path = lmg_checkname(L, 2), *cmd = lmg_checkname(L, 3);
  luaL_checktype(L, 5, LUA_TFUNCTION);
  mg_value_t *args = msg_args(L, 4, "send_msg");
  pending_t *p = mg_calloc(1, sizeof *p);
  p->g = g;
  lua_pushvalue(L, 5);
  p->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  mg_rec_t *r = mg_rec_new(g->e, msg_done, p);
  int rc = mg_ctl_send(ctl, path, cmd, args, r);
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
  mg_node_t *ctl = self(L, NULL);
  return call(L, ctl, lmg_optname(L, 2, "."), "listhooks", NULL);
}

static int l_list(lua_State *L) {
  mg_node_t *ctl = self(L, NULL);
  mg_value_t *a = NULL;
  if (lua_toboolean(L, 2)) {
    a = mg_map();
    mg_map_set(a, "named", mg_bool(true));
  }
  int n = call(L, ctl, ".", "listnodes", a);
  if (n == 1) lua_getfield(L, -1, "nodes");
  return n;
}

/* A command's arguments, when its type documents them: options = { {name
** kind min max default values default_text help} ... } in the type's order. */
static void push_argdocs(lua_State *L, const mg_type_t *t, const char *cmd) {
  if (!t->argdocs) return;
  static const char *kinds[] = {"number", "string", "boolean"};
  lua_newtable(L);
  int n = 0;
  for (const mg_argdoc_t *a = t->argdocs; a->cmd; a++) {
    if (strcmp(a->cmd, cmd)) continue;
    lua_createtable(L, 0, 8);
    lua_pushstring(L, a->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, kinds[a->kind >= 0 && a->kind <= MG_ARG_BOOL ? a->kind : 1]);
    lua_setfield(L, -2, "kind");
    if (a->kind == MG_ARG_NUM) {
      lua_pushnumber(L, a->min);
      lua_setfield(L, -2, "min");
      lua_pushnumber(L, a->max);
      lua_setfield(L, -2, "max");
      lua_pushnumber(L, a->dflt);
      lua_setfield(L, -2, "default");
    } else if (a->kind == MG_ARG_BOOL) {
      lua_pushboolean(L, a->dflt != 0);
      lua_setfield(L, -2, "default");
    }
    if (a->values) {
      lua_pushstring(L, a->values);
      lua_setfield(L, -2, "values");
    }
    if (a->dflt_text) {
      lua_pushstring(L, a->dflt_text);
      lua_setfield(L, -2, "default_text");
    }
    lua_pushstring(L, a->help ? a->help : "");
    lua_setfield(L, -2, "help");
    lua_rawseti(L, -2, ++n);
  }
  if (n) lua_setfield(L, -2, "options");
  else lua_pop(L, 1);
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
    lua_createtable(L, 0, 4);
    lua_pushstring(L, c->args ? c->args : "");
    lua_setfield(L, -2, "args");
    lua_pushstring(L, c->help ? c->help : "");
    lua_setfield(L, -2, "help");
    lua_pushboolean(L, c->flags & MG_CMD_READONLY);
    lua_setfield(L, -2, "readonly");
    lua_pushinteger(L, c->cmd);
    lua_setfield(L, -2, "cmd");
    push_argdocs(L, t, c->name);
    lua_setfield(L, -2, c->name);
  }
  lua_setfield(L, -2, "commands");
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
}

static int l_types(lua_State *L) {
  lmg_engine_t *g;
  self(L, &g);
  lua_newtable(L);
  mg_type_foreach(g->e, type_doc, L);
  return 1;
}

static int l_generic(lua_State *L) {
  self(L, NULL);
  lua_newtable(L);
  for (const mg_cmd_t *c = mg_generic_cmds(); c->name; c++) {
    lua_createtable(L, 0, 3);
    lua_pushstring(L, c->args);
    lua_setfield(L, -2, "args");
    lua_pushstring(L, c->help);
    lua_setfield(L, -2, "help");
    lua_pushinteger(L, c->cmd);
    lua_setfield(L, -2, "cmd");
    lua_setfield(L, -2, c->name);
  }
  return 1;
}

static int l_status(lua_State *L) {
  mg_node_t *ctl = self(L, NULL);
  return call(L, ctl, lmg_checkname(L, 2), "status", NULL);
}

static int l_stats(lua_State *L) {
  mg_node_t *ctl = self(L, NULL);
  return call(L, ctl, lmg_optname(L, 2, "."), "stats", NULL);
}

static int l_node(lua_State *L) {
  lmg_engine_t *g;
  mg_node_t *ctl = self(L, &g);
  mg_node_t *n;
  int rc = mg_resolve(ctl, lmg_checkname(L, 2), &n, NULL);
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

/* send(hook, data [, { ts=seconds, linktype=n } | item]) out of "." */
static int l_send(lua_State *L) {
  lmg_engine_t *g;
  mg_node_t *ctl = self(L, &g);
  const char *hook = lmg_checkname(L, 2);
  luaL_checklstring(L, 3, NULL); /* argument order for errors */
  lmg_meta_t meta;
  lmg_check_meta(L, 4, mg_now(g->e), &meta);
  mg_buf_t *b = lmg_check_packet(L, 3);
  lmg_meta_apply(&meta, b);
  int rc = mg_node_send(ctl, hook, b);
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

/* }====================================================== */

const luaL_Reg lmg_verb_methods[] = {
  {"mkpeer", l_mkpeer}, {"connect", l_connect}, {"name", l_name},
  {"msg", l_msg}, {"msg_text", l_msg_text}, {"send_msg", l_send_msg},
  {"shutdown", l_shutdown}, {"rmhook", l_rmhook}, {"show", l_show},
  {"list", l_list}, {"types", l_types}, {"generic", l_generic},
  {"status", l_status}, {"stats", l_stats}, {"node", l_node},
  {"send", l_send}, {"on_data", l_on_data}, {"on_msg", l_on_msg},
  {"on_log", l_on_log}, {NULL, NULL}};

/* A client's view (lserve.c): the verbs, with its own node as ".". */
const luaL_Reg lmg_view_methods[] = {
  {"mkpeer", l_mkpeer}, {"connect", l_connect}, {"name", l_name},
  {"msg", l_msg}, {"msg_text", l_msg_text}, {"shutdown", l_shutdown},
  {"rmhook", l_rmhook}, {"show", l_show}, {"list", l_list},
  {"types", l_types}, {"generic", l_generic}, {"status", l_status},
  {"stats", l_stats}, {"send", l_send}, {NULL, NULL}};
