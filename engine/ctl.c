/*
** ctl.c -- the control endpoint, as ngctl's socket node: scripts, the REPL
** and tests talk to the graph through one.  It is "." in their addresses,
** mkpeer with no path attaches to it, replies come back to it, and data
** that reaches its hooks goes to a callback.  Its methods run only on the
** loop thread, where the script lives (docs/design.md §2 rule 9).
*/
#include <stdio.h>
#include <string.h>

#include "internal.h"

typedef struct ctl {
  mg_ctl_data_cb on_data;
  void *data_arg;
  mg_ctl_msg_cb on_msg;
  void *msg_arg;
  uint32_t token;
} ctl_t;

static int ctl_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  (void)n; (void)h; (void)name;
  return 0;
}

static int ctl_rcvdata(mg_hook_t *h, mg_item_t *it) {
  ctl_t *c = mg_node_priv(mg_hook_node(h));
  if (c->on_data) c->on_data(c->data_arg, h, it);
  else mg_consume(it);
  return 0;
}

static int ctl_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *lasthook,
                      mg_value_t **reply) {
  (void)lasthook; (void)reply;
  ctl_t *c = mg_node_priv(n);
  if (m->flags & MG_MSG_RESP) { /* nobody waits for this one */
    if (c->on_msg) c->on_msg(c->msg_arg, m->from, m);
    return 0;
  }
  char q[MG_QUOTESIZ];
  return mg_error(-ENOSYS, "a control node takes no command %s", mg_quote(q, m->cmdstr));
}

const mg_type_t mg__ctl_type = {
  .name = "ctl",
  .doc = "The endpoint a script, the REPL or a test talks through (\".\").\n"
         "Any hook name; data reaching it goes to the script.",
  .priv_size = sizeof(ctl_t),
  .flags = MG_TF_LOOP_ONLY,
  .newhook = ctl_newhook,
  .rcvdata = ctl_rcvdata,
  .rcvmsg = ctl_rcvmsg,
};

mg_node_t *mg_ctl_new(mg_engine_t *e, const char *name) {
  pthread_mutex_lock(&e->topo);
  mg_tent_t *te = mg__tent_find(e, "ctl");
  pthread_mutex_unlock(&e->topo);
  mg_node_t *n = mg__node_alloc(e, te);
  if (name && *name) {
    int rc = mg__set_name(n, name);
    if (rc) {
      mg_node_unref(n);
      return NULL;
    }
  }
  mg__node_publish(n);
  mg_node_ref(n); /* the caller's */
  return n;
}

void mg_ctl_on_data(mg_node_t *ctl, mg_ctl_data_cb cb, void *arg) {
  ctl_t *c = mg_node_priv(ctl);
  c->on_data = cb;
  c->data_arg = arg;
}

void mg_ctl_on_msg(mg_node_t *ctl, mg_ctl_msg_cb cb, void *arg) {
  ctl_t *c = mg_node_priv(ctl);
  c->on_msg = cb;
  c->msg_arg = arg;
}

/* generic: the generic command of that name, as the verbs below mean it
** (ngctl's connect is NGM_CONNECT even to a ksocket, whose own command
** of that name is what "msg ks: connect" sends). */
static int ctl_send(mg_node_t *ctl, const char *path, const char *cmd,
                    mg_value_t *args, mg_rec_t *rec, bool generic) {
  mg_node_t *to;
  mg_hook_t *last;
  int rc = mg_resolve(ctl, path, &to, &last);
  if (rc) {
    mg_value_free(args);
    return rc;
  }
  uint32_t cookie;
  const mg_cmd_t *c = mg_cmd_find(generic ? NULL : to->te->type, cmd ? cmd : "", &cookie);
  mg_cmd_t any = {cmd, 0, 0, NULL, NULL};
  if (!c && (to->te->type->flags & MG_TF_ANY_CMD) && cmd &&
      mg__check_name("command", cmd) == 0) {
    cookie = mg_type_cookie(to->te->type);
    c = &any;
  }
  if (!c) {
    char q[MG_QUOTESIZ];
    rc = mg__node_error(to, -ENOSYS, "has no command %s (try: help %s)",
                        mg_quote(q, cmd), to->te->type->name);
    mg_node_unref(to);
    if (last) mg__hook_unref(last);
    mg_value_free(args);
    return rc;
  }
  mg_msg_t *m = mg_msg_new(cookie, c->cmd, c->name, args);
  m->flags = MG_MSG_WANTREPLY |
             ((c->flags & MG_CMD_READONLY) ? MG_MSG_READONLY : 0);
  m->token = ++((ctl_t *)mg_node_priv(ctl))->token;
  rc = mg__send_msg(to, last, m, ctl->id, rec, 0);
  mg_node_unref(to);
  if (last) mg__hook_unref(last);
  return rc;
}

int mg_ctl_send(mg_node_t *ctl, const char *path, const char *cmd,
                mg_value_t *args, mg_rec_t *rec) {
  return ctl_send(ctl, path, cmd, args, rec, false);
}

static int ctl_call(mg_node_t *ctl, const char *path, const char *cmd,
                    mg_value_t *args, mg_value_t **reply, bool generic) {
  if (reply) *reply = NULL;
  mg_rec_t *r = mg_rec_new(ctl->eng, NULL, NULL);
  int rc = ctl_send(ctl, path, cmd, args, r, generic);
  if (mg__rec_attached(r)) {
    rc = mg_rec_wait(r);
    mg_value_t *v = mg_rec_take_reply(r);
    if (reply && !rc) *reply = v;
    else mg_value_free(v);
  }
  mg_rec_free(r);
  return rc;
}

int mg_ctl_call(mg_node_t *ctl, const char *path, const char *cmd,
                mg_value_t *args, mg_value_t **reply) {
  return ctl_call(ctl, path, cmd, args, reply, false);
}

int mg_ctl_call_text(mg_node_t *ctl, const char *path, const char *cmd,
                     const char *args, mg_value_t **reply) {
  mg_value_t *v = NULL;
  if (args && *args) {
    int rc = mg_value_parse(args, &v);
    if (rc) return rc;
  }
  return mg_ctl_call(ctl, path, cmd, v, reply);
}

/* Out of n's hook, under n's lock; b is consumed. */
static int send_data(mg_node_t *n, mg_buf_t *b, const char *hook) {
  mg_hook_t *h = mg_node_hook(n, hook);
  if (!h) {
    mg_buf_unref(b);
    char q[MG_QUOTESIZ];
    return mg__node_error(n, -ENOENT, "has no hook %s", mg_quote(q, hook));
  }
  return mg_forward(h, mg_data_new(n, b));
}

/* Queued: the item owns the buffer until it ends, run or dropped. */
static int send_data_fn(mg_node_t *n, mg_hook_t *u, void *arg, intptr_t hook) {
  (void)u;
  mg_buf_ref(arg);
  return send_data(n, arg, (const char *)hook);
}

static void send_data_rel(void *arg, intptr_t hook) {
  (void)hook;
  mg_buf_unref(arg);
}

int mg_node_send(mg_node_t *n, const char *hook, mg_buf_t *b) {
  if (!mg_node_valid(n)) {
    mg_buf_unref(b);
    return mg__node_error(n, -ENOENT, "is shut down");
  }
  if ((n->te->type->flags & MG_TF_LOOP_ONLY && !mg_on_loop_thread(n->eng)) ||
      !mg__enter(n, false)) {
    mg_buf_own(b);
    return mg_send_fn_rel(n, NULL, send_data_fn, send_data_rel, b,
                          (intptr_t)mg__intern(n->eng, hook),
                          MG_READER | MG_QUEUE);
  }
  int rc = send_data(n, b, hook);
  mg__leave(n, false);
  return rc;
}

static mg_value_t *fields(const char *k1, const char *v1, const char *k2,
                          const char *v2, const char *k3, const char *v3) {
  mg_value_t *m = mg_map();
  mg_map_set(m, k1, mg_str(v1 ? v1 : ""));
  if (k2) mg_map_set(m, k2, mg_str(v2 ? v2 : ""));
  if (k3) mg_map_set(m, k3, mg_str(v3 ? v3 : ""));
  return m;
}

int mg_mkpeer(mg_node_t *ctl, const char *path, const char *type,
              const char *hook, const char *peerhook) {
  return ctl_call(ctl, path ? path : ".", "mkpeer",
                  fields("type", type, "ourhook", hook, "peerhook", peerhook),
                  NULL, true);
}

int mg_connect(mg_node_t *ctl, const char *path, const char *relpath,
               const char *hook, const char *peerhook) {
  return ctl_call(ctl, path ? path : ".", "connect",
                  fields("path", relpath, "ourhook", hook, "peerhook",
                         peerhook),
                  NULL, true);
}

int mg_name(mg_node_t *ctl, const char *path, const char *name) {
  return ctl_call(ctl, path, "name", fields("name", name, 0, 0, 0, 0), NULL, true);
}

int mg_rmhook(mg_node_t *ctl, const char *path, const char *hook) {
  return ctl_call(ctl, path ? path : ".", "rmhook",
                  fields("hook", hook, 0, 0, 0, 0), NULL, true);
}

int mg_shutdown(mg_node_t *ctl, const char *path) {
  return ctl_call(ctl, path, "shutdown", NULL, NULL, true);
}
