/*
** generic.c -- the commands every node answers (netgraph's NGM_GENERIC
** set).  They run under the node's lock like any message: writers change
** the graph, read-only queries run as readers.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum {
  G_SHUTDOWN = 1, G_MKPEER, G_CONNECT, G_NAME, G_RMHOOK, G_NODEINFO,
  G_LISTHOOKS, G_LISTNODES = 9, G_LISTTYPES, G_STATUS, G_STATS = 20
};

static const mg_cmd_t generic_cmds[] = {
  {"shutdown", G_SHUTDOWN, 0, "", "shut the node down and remove it"},
  {"mkpeer", G_MKPEER, 0, "{ type=\"tee\" ourhook=\"h\" peerhook=\"left\" }",
   "make a new node and connect it to this one"},
  {"connect", G_CONNECT, 0, "{ path=\"other:\" ourhook=\"h\" peerhook=\"p\" }",
   "connect one of our hooks to a hook of another node"},
  {"name", G_NAME, 0, "{ name=\"fred\" }", "give the node a name"},
  {"rmhook", G_RMHOOK, 0, "{ hook=\"h\" }", "disconnect one of our hooks"},
  {"nodeinfo", G_NODEINFO, MG_CMD_READONLY, "", "name, type, id, hook count"},
  {"listhooks", G_LISTHOOKS, MG_CMD_READONLY, "",
   "our hooks with their peers"},
  {"listnodes", G_LISTNODES, MG_CMD_READONLY, "{ named=false }",
   "every node in the graph (named ones only with named=true)"},
  {"listtypes", G_LISTTYPES, MG_CMD_READONLY, "",
   "the node types known, with their node counts"},
  {"status", G_STATUS, MG_CMD_READONLY, "", "a human-readable status text"},
  {"stats", G_STATS, MG_CMD_READONLY, "",
   "engine counters of the node and of each hook"},
  {NULL, 0, 0, NULL, NULL}};

const mg_cmd_t *mg_generic_cmds(void) { return generic_cmds; }

/* Caller holds topo. */
static mg_value_t *nodeinfo_locked(mg_node_t *n) {
  mg_value_t *v = mg_map();
  mg_map_set(v, "name", mg_str(n->name ? n->name : ""));
  mg_map_set(v, "type", mg_str(n->te->type->name));
  mg_map_set(v, "id", mg_int(n->id));
  mg_map_set(v, "hooks", mg_int(n->nhooks));
  return v;
}

mg_value_t *mg__nodeinfo(mg_node_t *n) {
  pthread_mutex_lock(&n->eng->topo);
  mg_value_t *v = nodeinfo_locked(n);
  pthread_mutex_unlock(&n->eng->topo);
  return v;
}

static mg_value_t *listhooks(mg_node_t *n) {
  mg_value_t *v = mg_map(), *a = mg_array();
  pthread_mutex_lock(&n->eng->topo);
  mg_map_set(v, "node", nodeinfo_locked(n));
  for (mg_hook_t *h = n->hooks; h; h = h->next) {
    mg_value_t *l = mg_map();
    mg_map_set(l, "ourhook", mg_str(h->name));
    mg_hook_t *p = h->peer;
    bool up = p != &mg__deadhook;
    mg_map_set(l, "peerhook", mg_str(up ? p->name : ""));
    mg_map_set(l, "peer", up ? nodeinfo_locked(p->node) : mg_map());
    if (atomic_load(&h->flags) & MG_HF_INVALID)
      mg_map_set(l, "connecting", mg_bool(true));
    mg_array_push(a, l);
  }
  pthread_mutex_unlock(&n->eng->topo);
  mg_map_set(v, "hooks", a);
  return v;
}

static int by_id(const void *x, const void *y) {
  /* nodeinfo maps keep "id" third: name, type, id */
  int64_t a = (*(mg_value_t *const *)x)->u.m.kv[2].val->u.i;
  int64_t b = (*(mg_value_t *const *)y)->u.m.kv[2].val->u.i;
  return (a > b) - (a < b);
}

static mg_value_t *listnodes(mg_engine_t *e, bool named) {
  mg_value_t *a = mg_array();
  pthread_mutex_lock(&e->topo);
  for (uint32_t i = 0; e->idtab && i <= e->idmask; i++)
    for (mg_node_t *n = e->idtab[i]; n; n = n->idnext)
      if (mg_node_valid(n) && (!named || n->name))
        mg_array_push(a, nodeinfo_locked(n));
  pthread_mutex_unlock(&e->topo);
  /* by id, so that listings read the same every time */
  if (a->u.a.n) qsort(a->u.a.v, a->u.a.n, sizeof *a->u.a.v, by_id);
  mg_value_t *r = mg_map();
  mg_map_set(r, "nodes", a);
  return r;
}

static void addtype(const mg_type_t *t, uint32_t count, void *arg) {
  mg_value_t *ti = mg_map();
  mg_map_set(ti, "name", mg_str(t->name));
  mg_map_set(ti, "count", mg_int(count));
  mg_array_push(arg, ti);
}

static mg_value_t *stats(mg_node_t *n) {
  mg_value_t *v = mg_map(), *hs = mg_map();
  mg_node_stats_value(n, v);
  pthread_mutex_lock(&n->eng->topo);
  for (mg_hook_t *h = n->hooks; h; h = h->next) {
    mg_value_t *s = mg_map();
    mg_map_set(s, "in", mg_int((int64_t)atomic_load(&h->in)));
    mg_map_set(s, "out", mg_int((int64_t)atomic_load(&h->out)));
    mg_map_set(hs, h->name, s);
  }
  pthread_mutex_unlock(&n->eng->topo);
  mg_map_set(v, "hooks", hs);
  return v;
}

static int need_str(const mg_msg_t *m, const char *k, const char **out) {
  *out = NULL;
  if (!mg_map_str(m->args, k, out)) return -EINVAL;
  if (!*out)
    return mg_error(-EINVAL, "%s needs a '%s' field, as in %s %s", m->cmdstr,
                    k, m->cmdstr, mg_cmd_find(NULL, m->cmdstr, NULL)->args);
  return 0;
}

int mg__generic(mg_node_t *n, mg_msg_t *m, mg_hook_t *lasthook,
                mg_value_t **reply) {
  (void)lasthook;
  const char *a, *b, *c;
  int rc;
  if (m->args && m->args->type != MG_MAP && m->args->type != MG_NIL &&
      m->cmd != G_STATUS)
    return mg_error(-EINVAL, "%s takes a { field=value ... } argument",
                    m->cmdstr);
  if (m->args && m->args->type == MG_MAP && m->cmd != G_STATUS) {
    /* a field nobody reads is refused by name, not ignored */
    static const char *const none[] = {NULL}, *const mkpeer[] = {"type", "ourhook", "peerhook", NULL},
      *const connect[] = {"path", "ourhook", "peerhook", NULL}, *const name[] = {"name", NULL},
      *const rmhook[] = {"hook", NULL}, *const listnodes[] = {"named", NULL};
    const char *const *known = m->cmd == G_MKPEER ? mkpeer : m->cmd == G_CONNECT ? connect
      : m->cmd == G_NAME ? name : m->cmd == G_RMHOOK ? rmhook
      : m->cmd == G_LISTNODES ? listnodes : none;
    const mg_cmd_t *gc = mg_cmd_find(NULL, m->cmdstr, NULL);
    if ((rc = mg_map_only(m->args, m->cmdstr, known,
                          gc && *gc->args ? gc->args : "no arguments")))
      return rc;
  }
  switch (m->cmd) {
  case G_SHUTDOWN:
    return mg__rmnode(n);
  case G_MKPEER:
    if ((rc = need_str(m, "type", &a)) || (rc = need_str(m, "ourhook", &b)) ||
        (rc = need_str(m, "peerhook", &c)))
      return rc;
    /* a type that cannot be a name is no type: said here, quoted */
    if ((rc = mg__check_name("node type", a))) return rc;
    return mg__mkpeer(n, a, b, c);
  case G_CONNECT: {
    if ((rc = need_str(m, "path", &a)) || (rc = need_str(m, "ourhook", &b)) ||
        (rc = need_str(m, "peerhook", &c)))
      return rc;
    mg_node_t *other;
    if ((rc = mg_resolve(n, a, &other, NULL))) return rc;
    rc = mg__connect_start(n, other, b, c);
    mg_node_unref(other);
    return rc;
  }
  case G_NAME:
    if ((rc = need_str(m, "name", &a))) return rc;
    return mg__set_name(n, a);
  case G_RMHOOK: {
    if ((rc = need_str(m, "hook", &a))) return rc;
    mg_hook_t *h = mg_node_hook(n, a);
    if (!h) {
      char q[MG_QUOTESIZ];
      return mg__node_error(n, -ENOENT, "has no hook %s", mg_quote(q, a));
    }
    mg__hook_destroy(h, true);
    return 0;
  }
  case G_NODEINFO:
    *reply = mg__nodeinfo(n);
    return 0;
  case G_LISTHOOKS:
    *reply = listhooks(n);
    return 0;
  case G_LISTNODES: {
    mg_value_t *v = mg_map_get(m->args, "named");
    *reply = listnodes(n->eng, v && v->type == MG_BOOL && v->u.b);
    return 0;
  }
  case G_LISTTYPES: {
    mg_value_t *arr = mg_array();
    mg_type_foreach(n->eng, addtype, arr);
    *reply = mg_map();
    mg_map_set(*reply, "types", arr);
    return 0;
  }
  case G_STATUS: {
    mg_sbuf_t sb = {0};
    const mg_type_t *t = n->te->type;
    if (t->status) t->status(n, &sb);
    else mg_sbuf_printf(&sb, "No status available");
    *reply = mg_str(sb.p ? sb.p : "");
    mg_sbuf_free(&sb);
    return 0;
  }
  case G_STATS:
    *reply = stats(n);
    return 0;
  }
  char q[MG_QUOTESIZ];
  return mg_error(-ENOSYS, "unknown generic command %s", mg_quote(q, m->cmdstr));
}
