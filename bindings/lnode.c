/*
** lnode.c -- node handles, and node types written in Lua.
**
** A Lua type is a table of methods, registered under a name and made
** with mkpeer like any C type.  Its nodes run only on the loop thread
** (docs/design.md §2 rule 9), where the one Lua state lives.  Each node has a
** handle whose fields are the node's own Lua state: node.count = 0.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmg.h"

typedef struct ltype {
  mg_type_t t;       /* t.udata points back here */
  lmg_engine_t *g;
  int spec_ref;      /* the table given to define */
  mg_cmd_t *cmds;
  char name[MG_NAMESIZ];
} ltype_t;

typedef struct {
  lmg_node_t *h; /* the handle, anchored in the engine's nodes table */
} lpriv_t;

static lmg_node_t *check_node(lua_State *L, int idx) {
  lmg_node_t *h = luaL_checkudata(L, idx, LMG_NODE);
  if (!h->n || !mg_node_valid(h->n))
    luaL_error(L, "node handle: the node is gone (shut down)");
  if (h->eng->closed) luaL_error(L, "node handle: its engine is closed");
  return h;
}

lmg_node_t *lmg_push_node(lua_State *L, lmg_engine_t *g, mg_node_t *n) {
  lmg_node_t *h = lua_newuserdatauv(L, sizeof *h, 1);
  memset(h, 0, sizeof *h);
  h->n = n;
  h->eng = g;
  mg_node_ref(n);
  luaL_setmetatable(L, LMG_NODE);
  lua_newtable(L);
  lua_setiuservalue(L, -2, 1);
  /* remember it, so that closing the engine can let go of the node */
  lmg_push_uv(L, g);
  lua_getfield(L, -1, "handles");
  lua_pushvalue(L, -3);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 2);
  return h;
}

static int l_node_gc(lua_State *L) {
  lmg_node_t *h = luaL_checkudata(L, 1, LMG_NODE);
  if (h->n && !h->eng->closed) mg_node_unref(h->n);
  h->n = NULL;
  return 0;
}

static int l_node_tostring(lua_State *L) {
  lmg_node_t *h = luaL_checkudata(L, 1, LMG_NODE);
  if (!h->n) {
    lua_pushliteral(L, "mg.node (gone)");
    return 1;
  }
  char name[MG_NAMESIZ];
  mg_node_name_copy(h->n, name, sizeof name);
  char buf[128];
  snprintf(buf, sizeof buf, "mg.node [%x] %s%s%s", mg_node_id(h->n),
           mg_node_type(h->n)->name, *name ? " " : "", name);
  lua_pushstring(L, buf);
  return 1;
}

static void push_path(lua_State *L, mg_node_t *n) {
  char buf[16];
  snprintf(buf, sizeof buf, "[%x]:", mg_node_id(n));
  lua_pushstring(L, buf);
}

static int l_node_id(lua_State *L) {
  lua_pushinteger(L, mg_node_id(check_node(L, 1)->n));
  return 1;
}

static int l_node_name(lua_State *L) {
  char name[MG_NAMESIZ];
  mg_node_name_copy(check_node(L, 1)->n, name, sizeof name);
  lua_pushstring(L, name);
  return 1;
}

static int l_node_type(lua_State *L) {
  lua_pushstring(L, mg_node_type(check_node(L, 1)->n)->name);
  return 1;
}

static int l_node_valid(lua_State *L) {
  lmg_node_t *h = luaL_checkudata(L, 1, LMG_NODE);
  lua_pushboolean(L, h->n && !h->eng->closed && mg_node_valid(h->n));
  return 1;
}

static int l_node_path(lua_State *L) {
  push_path(L, check_node(L, 1)->n);
  return 1;
}

/* The node's fields, read through __index (node.valid is a value, not a
** method: "if node.valid" must be able to be false). */
static const struct {
  const char *name;
  lua_CFunction get;
} node_fields[] = {{"id", l_node_id}, {"name", l_node_name}, {"type", l_node_type},
                   {"valid", l_node_valid}, {"path", l_node_path}};

static lua_CFunction field_getter(lua_State *L, int k) {
  const char *key = lua_type(L, k) == LUA_TSTRING ? lua_tostring(L, k) : NULL;
  for (size_t i = 0; key && i < sizeof node_fields / sizeof *node_fields; i++)
    if (!strcmp(key, node_fields[i].name)) return node_fields[i].get;
  return NULL;
}

/* Fields, then methods, then the node's own table. */
static int l_node_index(lua_State *L) {
  luaL_checkudata(L, 1, LMG_NODE);
  lua_CFunction get = field_getter(L, 2);
  if (get) {
    lua_settop(L, 1);
    return get(L);
  }
  lua_getmetatable(L, 1);
  lua_getfield(L, -1, "methods");
  lua_pushvalue(L, 2);
  if (lua_rawget(L, -2) != LUA_TNIL) return 1;
  lua_getiuservalue(L, 1, 1);
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

/* A Lua type's node keeps its own state in fields, but not over the node's. */
static int l_node_newindex(lua_State *L) {
  luaL_checkudata(L, 1, LMG_NODE);
  if (field_getter(L, 2))
    return luaL_error(L, "node.%s is the node's own and read-only", lua_tostring(L, 2));
  lua_getiuservalue(L, 1, 1);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 3);
  lua_rawset(L, -3);
  return 0;
}

/* node:send(hook, data [, meta]): a new data item out of one of its hooks;
** meta { ts=seconds, linktype=n } or an item to copy them from */
static int l_node_send(lua_State *L) {
  lmg_node_t *h = check_node(L, 1);
  const char *hook = lmg_checkname(L, 2);
  luaL_checklstring(L, 3, NULL); /* argument order for errors */
  lmg_meta_t meta;
  lmg_check_meta(L, 4, mg_now(h->eng->e), &meta);
  mg_buf_t *b = lmg_check_packet(L, 3);
  lmg_meta_apply(&meta, b);
  int rc = mg_node_send(h->n, hook, b);
  if (rc) return lmg_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

/* Call a method of the engine with "[id]:" in front of the arguments. */
static int via_engine(lua_State *L, const char *method) {
  lmg_node_t *h = check_node(L, 1);
  int n = lua_gettop(L);
  luaL_getmetatable(L, LMG_ENGINE);
  lua_getfield(L, -1, "__index");
  lua_getfield(L, -1, method);
  lua_replace(L, -3);
  lua_pop(L, 1);
  if (!lmg_push_engine(L, h->eng)) return luaL_error(L, "node handle: its engine is gone");
  push_path(L, h->n);
  for (int i = 2; i <= n; i++) lua_pushvalue(L, i);
  lua_call(L, n + 1, LUA_MULTRET);
  return lua_gettop(L) - n;
}

static int l_node_msg(lua_State *L) { return via_engine(L, "msg"); }
static int l_node_stats(lua_State *L) { return via_engine(L, "stats"); }
static int l_node_show(lua_State *L) { return via_engine(L, "show"); }
static int l_node_shutdown(lua_State *L) { return via_engine(L, "shutdown"); }

static int l_node_hooks(lua_State *L) {
  lua_getfield(L, 1, "show");
  lua_pushvalue(L, 1);
  lua_call(L, 1, 2);
  if (lua_isnil(L, -2)) return 2;
  lua_pop(L, 1);
  lua_getfield(L, -1, "hooks");
  lua_newtable(L);
  lua_Integer n = (lua_Integer)lua_rawlen(L, -2);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, -2, i);
    lua_getfield(L, -1, "ourhook");
    lua_rawseti(L, -3, i);
    lua_pop(L, 1);
  }
  return 1;
}

static const luaL_Reg node_methods[] = {
  {"send", l_node_send},
  {"msg", l_node_msg}, {"stats", l_node_stats}, {"show", l_node_show},
  {"hooks", l_node_hooks}, {"shutdown", l_node_shutdown}, {NULL, NULL}};

static const luaL_Reg node_meta[] = {
  {"__gc", l_node_gc}, {"__index", l_node_index},
  {"__newindex", l_node_newindex}, {"__tostring", l_node_tostring},
  {NULL, NULL}};

void lmg_open_node(lua_State *L) {
  if (luaL_newmetatable(L, LMG_NODE)) {
    luaL_setfuncs(L, node_meta, 0);
    luaL_newlib(L, node_methods);
    lua_setfield(L, -2, "methods");
  }
  lua_pop(L, 1);
}

/*
** {======================================================
** Lua-defined types
** =======================================================
*/
static ltype_t *type_of(mg_node_t *n) {
  return (ltype_t *)mg_node_type(n)->udata;
}

/* Push spec[name] on T; false (nothing pushed) when absent. */
static bool method(ltype_t *lt, const char *name) {
  lua_State *T = lt->g->T;
  lua_rawgeti(T, LUA_REGISTRYINDEX, lt->spec_ref);
  lua_getfield(T, -1, name);
  lua_remove(T, -2);
  if (lua_isfunction(T, -1)) return true;
  lua_pop(T, 1);
  return false;
}

static void push_handle(lua_State *T, mg_node_t *n) {
  lmg_node_t *h = ((lpriv_t *)mg_node_priv(n))->h;
  lmg_push_uv(T, h->eng);
  lua_getfield(T, -1, "nodes");
  lua_rawgeti(T, -1, mg_node_id(n));
  lua_replace(T, -3);
  lua_pop(T, 1);
}

/* A method vetoes by returning false, or nil and a message. */
static int verdict(lua_State *T, int top, const char *what) {
  int nres = lua_gettop(T) - top;
  int rc = 0;
  if (nres >= 1 && lua_isboolean(T, top + 1) && !lua_toboolean(T, top + 1))
    rc = mg_error(-EINVAL, "%s refused%s%s", what, nres >= 2 ? ": " : "",
                  nres >= 2 ? luaL_tolstring(T, top + 2, NULL) : "");
  else if (nres >= 2 && lua_isnil(T, top + 1))
    rc = mg_error(-EINVAL, "%s: %s", what, luaL_tolstring(T, top + 2, NULL));
  lua_settop(T, top);
  return rc;
}

static int do_constructor(mg_node_t *n) {
  ltype_t *lt = type_of(n);
  lmg_engine_t *g = lt->g;
  lua_State *T = g->T;
  int top = lua_gettop(T);
  lmg_node_t *h = lmg_push_node(T, g, n);
  ((lpriv_t *)mg_node_priv(n))->h = h;
  lmg_push_uv(T, g);
  lua_getfield(T, -1, "nodes");
  lua_pushvalue(T, -3);
  lua_rawseti(T, -2, mg_node_id(n));
  lua_pop(T, 3);
  if (!method(lt, "constructor")) return 0;
  push_handle(T, n);
  int rc = 0;
  if (!lmg_call(g, h, 1, LUA_MULTRET, "constructor"))
    rc = mg_error(-EINVAL, "node type '%s': the constructor failed (see log)",
                  lt->name);
  else
    rc = verdict(T, top, lt->name);
  lua_settop(T, top);
  if (rc) { /* the node will not exist: forget its handle */
    lmg_push_uv(T, g);
    lua_getfield(T, -1, "nodes");
    lua_pushnil(T);
    lua_rawseti(T, -2, mg_node_id(n));
    lua_pop(T, 2);
    mg_node_unref(h->n);
    h->n = NULL;
  }
  return rc;
}

static int hook_method_(mg_node_t *n, const char *name, const char *hook,
                        const char *what) {
  ltype_t *lt = type_of(n);
  lua_State *T = lt->g->T;
  int top = lua_gettop(T);
  if (!method(lt, name)) return 0;
  push_handle(T, n);
  lua_pushstring(T, hook);
  lmg_node_t *h = ((lpriv_t *)mg_node_priv(n))->h;
  if (!lmg_call(lt->g, h, 2, LUA_MULTRET, name)) {
    lua_settop(T, top);
    return mg_error(-EINVAL, "%s '%s': the %s handler failed (see log)", what,
                    hook, name);
  }
  return verdict(T, top, what);
}

/* The engine calls the type's functions between a handler's Lua frames
** when the handler sends or asks: their C parts run with the memory
** ceiling held off (lguard.c), the Lua parts within it. */
#define HELD(T, call) \
  do { \
    bool held_ = lmg_guard_hold(T); \
    call; \
    lmg_guard_release(T, held_); \
  } while (0)

static int hook_method(mg_node_t *n, const char *name, const char *hook,
                       const char *what) {
  int rc;
  HELD(type_of(n)->g->T, rc = hook_method_(n, name, hook, what));
  return rc;
}

static int lt_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  (void)h;
  char what[80];
  snprintf(what, sizeof what, "hook '%s' of a %s", name, type_of(n)->name);
  return hook_method(n, "newhook", name, what);
}

static int lt_connect(mg_hook_t *h) {
  return hook_method(mg_hook_node(h), "connect", mg_hook_name(h), "connect of hook");
}

static void lt_disconnect(mg_hook_t *h) {
  hook_method(mg_hook_node(h), "disconnect", mg_hook_name(h), "disconnect of hook");
}

static int do_rcvdata(mg_hook_t *hk, mg_item_t *it) {
  mg_node_t *n = mg_hook_node(hk);
  ltype_t *lt = type_of(n);
  lmg_engine_t *g = lt->g;
  lua_State *T = g->T;
  int top = lua_gettop(T);
  if (!method(lt, "rcvdata")) {
    mg_drop(it, MG_DROP_POLICY);
    return 0;
  }
  push_handle(T, n);
  lmg_item_t *li = lmg_push_item(T, g, n, it);
  lua_pushstring(T, mg_hook_name(hk));
  lua_pushvalue(T, -2); /* keep the item handle below the call */
  lua_insert(T, top + 1);
  lmg_node_t *h = ((lpriv_t *)mg_node_priv(n))->h;
  int rc = 0;
  if (!lmg_call(g, h, 3, 1, "rcvdata")) {
    if (li->it) mg_drop(li->it, MG_DROP_ERROR);
    li->it = NULL;
    rc = -EINVAL;
  } else if (lua_type(T, -1) == LUA_TSTRING && li->it) {
    /* returning a hook name forwards there (a name cut at a NUL byte
    ** would be another hook's) */
    size_t len;
    const char *name = lua_tolstring(T, -1, &len);
    mg_hook_t *out = strlen(name) == len ? mg_node_hook(n, name) : NULL;
    mg_item_t *x = li->it;
    li->it = NULL;
    if (out) rc = mg_forward(out, x);
    else {
      char q[MG_QUOTESIZ];
      mg_drop(x, MG_DROP_NOPEER);
      rc = mg_error(-ENOENT, "rcvdata returned %s, not a hook of the node",
                    mg_quote(q, name));
    }
  }
  lmg_item_done(li, true);
  lua_settop(T, top);
  return rc;
}

/* [-1, +1, -] a value made from the argument, in a userdata box */
static int to_value_protected(lua_State *L) {
  mg_value_t *v = lmg_to_value(L, 1, "rcvmsg reply");
  mg_value_t **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = v;
  return 1;
}

static int do_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_value_t **reply) {
  ltype_t *lt = type_of(n);
  lmg_engine_t *g = lt->g;
  lua_State *T = g->T;
  int top = lua_gettop(T);
  lmg_node_t *h = ((lpriv_t *)mg_node_priv(n))->h;
  if (m->flags & MG_MSG_RESP) { /* an answer to a message it sent */
    if (!method(lt, "reply")) return 0;
    push_handle(T, n);
    lua_pushstring(T, m->cmdstr);
    lmg_push_value(T, m->args);
    if (m->error) lua_pushstring(T, m->errmsg ? m->errmsg : "");
    else lua_pushnil(T);
    lmg_call(g, h, 4, 0, "reply");
    lua_settop(T, top);
    return 0;
  }
  lua_rawgeti(T, LUA_REGISTRYINDEX, lt->spec_ref);
  lua_getfield(T, -1, "rcvmsg");
  lua_getfield(T, -1, m->cmdstr);
  if (lua_istable(T, -1)) lua_getfield(T, -1, "fn");
  if (!lua_isfunction(T, -1)) {
    lua_settop(T, top);
    return mg_error(-ENOSYS, "a %s has no handler for '%s'", lt->name, m->cmdstr);
  }
  lua_replace(T, top + 1);
  lua_settop(T, top + 1);
  push_handle(T, n);
  lmg_push_value(T, m->args);
  lua_pushinteger(T, m->from);
  int base = top + 1, rc = 0;
  const char *err = lmg_pcall(g, 3, 2);
  if (err) {
    lmg_log_error(g, h, m->cmdstr, err);
    /* the asker gets the message without the traceback */
    size_t cut = strcspn(err, "\n");
    rc = mg_error(-EINVAL, "%.*s", (int)cut, err);
  } else if (lua_isnil(T, base) && !lua_isnil(T, base + 1)) {
    rc = mg_error(-EINVAL, "%s", luaL_tolstring(T, base + 1, NULL));
  } else if (!lua_isnil(T, base)) {
    /* a reply that cannot travel is the handler's error, not ours */
    lua_pushcfunction(T, to_value_protected);
    lua_pushvalue(T, base);
    if (lua_pcall(T, 1, 1, 0) == LUA_OK)
      *reply = lua_touserdata(T, -1) ? *(mg_value_t **)lua_touserdata(T, -1) : NULL;
    else
      rc = mg_error(-EINVAL, "%s", lua_tostring(T, -1));
  }
  lua_settop(T, top);
  return rc;
}

static void do_shutdown(mg_node_t *n) {
  ltype_t *lt = type_of(n);
  lmg_engine_t *g = lt->g;
  lua_State *T = g->T;
  int top = lua_gettop(T);
  lmg_node_t *h = ((lpriv_t *)mg_node_priv(n))->h;
  if (method(lt, "shutdown")) {
    push_handle(T, n);
    lmg_call(g, h, 1, 0, "shutdown");
  }
  lua_settop(T, top);
  lmg_push_uv(T, g);
  lua_getfield(T, -1, "nodes");
  lua_pushnil(T);
  lua_rawseti(T, -2, mg_node_id(n));
  lua_settop(T, top);
  if (h->n) mg_node_unref(h->n);
  h->n = NULL;
}

static void do_status(mg_node_t *n, mg_sbuf_t *out) {
  ltype_t *lt = type_of(n);
  lua_State *T = lt->g->T;
  int top = lua_gettop(T);
  if (method(lt, "status")) {
    push_handle(T, n);
    lmg_node_t *h = ((lpriv_t *)mg_node_priv(n))->h;
    if (lmg_call(lt->g, h, 1, 1, "status")) {
      const char *s = luaL_tolstring(T, -1, NULL);
      mg_sbuf_add(out, s, strlen(s));
    }
  } else
    mg_sbuf_printf(out, "a %s node (written in Lua)", lt->name);
  lua_settop(T, top);
}

static int lt_constructor(mg_node_t *n) {
  int rc;
  HELD(type_of(n)->g->T, rc = do_constructor(n));
  return rc;
}

static int lt_rcvdata(mg_hook_t *hk, mg_item_t *it) {
  int rc;
  HELD(type_of(mg_hook_node(hk))->g->T, rc = do_rcvdata(hk, it));
  return rc;
}

static int lt_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last,
                     mg_value_t **reply) {
  (void)last;
  int rc;
  HELD(type_of(n)->g->T, rc = do_rcvmsg(n, m, reply));
  return rc;
}

static void lt_shutdown(mg_node_t *n) { HELD(type_of(n)->g->T, do_shutdown(n)); }

static void lt_status(mg_node_t *n, mg_sbuf_t *out) {
  HELD(type_of(n)->g->T, do_status(n, out));
}

/* engine:define(name, { doc=, constructor=, newhook=, connect=, rcvdata=,
**   rcvmsg = { cmd = function(node, args, from) | { fn=, help=, args= } },
**   reply=, disconnect=, shutdown=, status= }) */
int lmg_define(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  const char *name = lmg_checkname(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  char q[MG_QUOTESIZ], kq[MG_QUOTESIZ];
  mg_quote(q, name);
  static const char *const known[] = {
    "doc", "constructor", "newhook", "connect", "rcvdata", "rcvmsg", "reply",
    "disconnect", "shutdown", "status", NULL};
  lua_pushnil(L);
  while (lua_next(L, 3)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
    bool ok = false;
    for (int i = 0; known[i]; i++)
      if (!strcmp(k, known[i])) ok = true;
    if (!ok)
      return luaL_error(L, "define: unknown field %s in type %s (known: "
                           "doc constructor newhook connect rcvdata rcvmsg "
                           "reply disconnect shutdown status)", mg_quote(kq, k), q);
    if (strcmp(k, "doc") && strcmp(k, "rcvmsg") && !lua_isfunction(L, -1))
      return luaL_error(L, "define: field '%s' of type %s must be a function",
                        k, q);
    lua_pop(L, 1);
  }
  /* commands, with their help, from rcvmsg */
  size_t ncmds = 0;
  lua_getfield(L, 3, "rcvmsg");
  if (!lua_isnil(L, -1)) {
    luaL_argexpected(L, lua_istable(L, -1), 3, "rcvmsg to be a table of handlers");
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (lua_type(L, -2) != LUA_TSTRING ||
          !(lua_isfunction(L, -1) || lua_istable(L, -1)))
        return luaL_error(L, "define: rcvmsg maps command names to functions "
                             "or { fn=, help= } tables");
      size_t klen;
      const char *cmd = lua_tolstring(L, -2, &klen);
      if (klen == 0 || klen >= MG_CMDSIZ || strlen(cmd) != klen)
        return luaL_error(L, "define: rcvmsg command %s of type %s is not 1 "
                             "to %d characters without a NUL byte",
                          mg_quote(kq, cmd), q, MG_CMDSIZ - 1);
      ncmds++;
      lua_pop(L, 1);
    }
  }
  ltype_t *lt = mg_calloc(1, sizeof *lt);
  snprintf(lt->name, sizeof lt->name, "%s", name);
  lt->g = g;
  lt->cmds = mg_calloc(ncmds + 1, sizeof *lt->cmds);
  size_t i = 0;
  if (!lua_isnil(L, -1)) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      mg_cmd_t *c = &lt->cmds[i++];
      c->name = mg_strdup(lua_tostring(L, -2));
      c->cmd = (uint32_t)i;
      const char *help = "", *args = "";
      if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "help");
        lua_getfield(L, -2, "args");
        help = lua_isstring(L, -2) ? lua_tostring(L, -2) : "";
        args = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
        c->help = mg_strdup(help);
        c->args = mg_strdup(args);
        lua_getfield(L, -3, "readonly");
        if (lua_toboolean(L, -1)) c->flags |= MG_CMD_READONLY;
        lua_pop(L, 3);
      } else {
        c->help = mg_strdup(help);
        c->args = mg_strdup(args);
      }
      c->flags |= MG_CMD_ANYARGS; /* the Lua handler checks what it is given */
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  lua_getfield(L, 3, "doc");
  lt->t.doc = mg_strdup(luaL_optstring(L, -1, "a node type written in Lua"));
  lua_pop(L, 1);
  lt->t.name = lt->name;
  lt->t.priv_size = sizeof(lpriv_t);
  lt->t.flags = MG_TF_LOOP_ONLY;
  lt->t.constructor = lt_constructor;
  lt->t.newhook = lt_newhook;
  lt->t.connect = lt_connect;
  lt->t.rcvdata = lt_rcvdata;
  lt->t.rcvmsg = lt_rcvmsg;
  lt->t.disconnect = lt_disconnect;
  lt->t.shutdown = lt_shutdown;
  lt->t.status = lt_status;
  lt->t.cmds = lt->cmds;
  lt->t.udata = lt;
  lua_pushvalue(L, 3);
  lt->spec_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lmg_push_uv(L, g);
  lua_getfield(L, -1, "types");
  lua_pushlightuserdata(L, lt);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 2);
  int rc = mg_type_register(g->e, &lt->t);
  if (rc) {
    lmg_push_uv(L, g);
    lua_getfield(L, -1, "types");
    lua_pushlightuserdata(L, lt);
    lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 2);
    luaL_unref(L, LUA_REGISTRYINDEX, lt->spec_ref);
    for (mg_cmd_t *c = lt->cmds; c->name; c++) {
      free((char *)c->name);
      free((char *)c->help);
      free((char *)c->args);
    }
    free(lt->cmds);
    free((char *)lt->t.doc);
    free(lt);
    return lmg_fail(L, rc);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* After the engine is freed: the types go, and handles of Lua nodes die. */
void lmg_forget_nodes(lua_State *L, lmg_engine_t *g) {
  lmg_push_uv(L, g);
  lua_getfield(L, -1, "nodes");
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lmg_node_t *h = lua_touserdata(L, -1);
    if (h) h->n = NULL;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_getfield(L, -1, "types");
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    ltype_t *lt = lua_touserdata(L, -1);
    luaL_unref(L, LUA_REGISTRYINDEX, lt->spec_ref);
    for (mg_cmd_t *c = lt->cmds; c->name; c++) {
      free((char *)c->name);
      free((char *)c->help);
      free((char *)c->args);
    }
    free(lt->cmds);
    free((char *)lt->t.doc);
    free(lt);
  }
  lua_pop(L, 2);
}
/* }====================================================== */
