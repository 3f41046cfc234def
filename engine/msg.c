/*
** msg.c -- control messages: delivery, and replies routed back to the
** sender's node id, always through its queue (docs/design.md §2 rule 8).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

mg_msg_t *mg_msg_new(uint32_t cookie, uint32_t cmd, const char *cmdstr,
                     mg_value_t *args) {
  mg_msg_t *m = mg_calloc(1, sizeof *m);
  m->cookie = cookie;
  m->cmd = cmd;
  snprintf(m->cmdstr, sizeof m->cmdstr, "%s", cmdstr ? cmdstr : "");
  m->args = args;
  return m;
}

void mg_msg_free(mg_msg_t *m) {
  if (!m) return;
  mg_value_free(m->args);
  free(m->errmsg);
  free(m);
}

int mg__send_msg(mg_node_t *to, mg_hook_t *lasthook, mg_msg_t *m,
                 uint32_t from, mg_rec_t *rec, unsigned flags) {
  mg_item_t *it = mg__item_get();
  it->kind = MG_ITEM_MSG;
  m->from = from;
  it->u.m.msg = m;
  it->u.m.from = from;
  if (!(m->flags & MG_MSG_READONLY)) it->flags |= MG_IF_WRITER;
  if (flags & MG_QUEUE) it->flags |= MG_IF_QUEUE;
  if (rec) mg__rec_attach(rec, it);
  return mg__deliver(to, lasthook, it);
}

/* A reply goes to the asker's node, always through its queue (rule 8).
** An asker waiting on a completion record gets it there instead: the
** record is the waiter, and no handler of the asking node would run for
** it anyway -- routing it through that node's queue would only make a
** caller that holds the node's lock (a timer on ".") wait on itself. */
static void send_reply(mg_node_t *n, mg_item_t *it, int err,
                       const char *errmsg, mg_value_t *reply) {
  mg_msg_t *m = it->u.m.msg;
  if (it->rec) {
    mg__rec_set_reply(it->rec, reply);
    (void)err;
    (void)errmsg; /* the request's own finish records the error */
    return;
  }
  mg_node_t *dest = mg_node_byid(n->eng, it->u.m.from);
  if (!dest) { /* the asker is gone; so is the point of answering */
    mg_value_free(reply);
    return;
  }
  mg_msg_t *r = mg_msg_new(m->cookie, m->cmd, m->cmdstr, reply);
  r->token = m->token;
  r->flags = MG_MSG_RESP;
  r->error = err;
  if (err) r->errmsg = mg_strdup(errmsg);
  mg__send_msg(dest, NULL, r, n->id, it->rec, MG_QUEUE);
  mg_node_unref(dest);
}

/* A command of a type whose synopsis is empty takes no argument: a field
** given to it would be silently ignored, so it is refused by name. */
static int no_args(const mg_type_t *t, const mg_msg_t *m) {
  const mg_value_t *a = m->args;
  if (!a || a->type == MG_NIL || (a->type == MG_MAP && a->u.m.n == 0) || !t->cmds)
    return 0;
  for (const mg_cmd_t *c = t->cmds; c->name; c++) {
    if (c->cmd != m->cmd || strcmp(c->name, m->cmdstr)) continue;
    if ((c->flags & MG_CMD_ANYARGS) || !c->args || *c->args) return 0;
    if (a->type == MG_MAP)
      return mg_error(-EINVAL, "%s: unknown field '%s' (it takes no arguments)", m->cmdstr,
                      a->u.m.kv[0].key);
    return mg_error(-EINVAL, "%s takes no arguments", m->cmdstr);
  }
  return 0;
}

int mg__apply_msg(mg_node_t *n, mg_hook_t *h, mg_item_t *it) {
  mg_msg_t *m = it->u.m.msg;
  const mg_type_t *t = n->te->type;
  if (m->flags & MG_MSG_RESP) {
    int err = m->error;
    if (it->rec) { /* a waiter's answer: hand it over */
      mg__rec_set_reply(it->rec, m->args);
      m->args = NULL;
      if (err) mg_error(err, "%s", m->errmsg ? m->errmsg : "");
      mg__rec_finish(it, err);
    } else if (t->rcvmsg) {
      mg_value_t *ignored = NULL;
      t->rcvmsg(n, m, h, &ignored);
      mg_value_free(ignored);
    }
    mg__item_end(it);
    return 0;
  }
  mg_value_t *reply = NULL;
  int err;
  mg_clearerr();
  if (!mg_node_valid(n))
    err = mg__node_error(n, -ENOENT, "is shut down");
  else if (m->cookie == MG_COOKIE_GENERIC)
    err = mg__generic(n, m, h, &reply);
  else if (t->rcvmsg) {
    err = no_args(t, m);
    if (!err) err = t->rcvmsg(n, m, h, &reply);
  }
  else
    err = mg__node_error(n, -ENOSYS, "takes no messages");
  char msg[256] = "";
  if (err) {
    if (!*mg_errmsg())
      mg__node_error(n, err, "%s: %s", m->cmdstr, strerror(-err));
    snprintf(msg, sizeof msg, "%s", mg_errmsg());
  }
  if ((m->flags & MG_MSG_WANTREPLY) && it->u.m.from)
    send_reply(n, it, err, msg, reply);
  else
    mg_value_free(reply);
  if (it->rec) {
    if (err) mg_error(err, "%s", msg);
    mg__rec_finish(it, err);
  }
  mg__item_end(it);
  return err;
}

int mg_node_reply(mg_node_t *n, uint32_t to, uint32_t cmd, const char *cmdstr, int err,
                  const char *errmsg, mg_value_t *v) {
  mg_node_t *dest = mg_node_byid(n->eng, to);
  if (!dest) { /* the asker is gone */
    mg_value_free(v);
    return -ENOENT;
  }
  mg_msg_t *r = mg_msg_new(mg_type_cookie(n->te->type), cmd, cmdstr, v);
  r->flags = MG_MSG_RESP;
  r->error = err;
  if (err) r->errmsg = mg_strdup(errmsg ? errmsg : strerror(-err));
  int rc = mg__send_msg(dest, NULL, r, n->id, NULL, MG_QUEUE);
  mg_node_unref(dest);
  return rc;
}
