/*
** tee.c -- like tee(1), for snooping (netgraph's ng_tee).
**
** HOOKS     left, right, left2right, right2left.
**           left -> right, with a copy to left2right;
**           right -> left, with a copy to right2left;
**           left2right -> right and right2left -> left (taps may inject).
**           With only one of a pair connected, the tap takes its place.
** MESSAGES  getstats -> { left={...} right={...} left2right={...}
**           right2left={...} }, each { inOctets inFrames outOctets
**           outFrames }; clrstats; getclrstats.
** On shutdown with left and right both connected the tee splices itself
** out, leaving their peers joined.  It goes when its last hook goes.
*/
#include <string.h>

#include "builtin.h"

/* Frames in and out are the engine's own hook counters; octets are ours. */
typedef struct route {
  mg_hook_t *hook;
  struct route *dest, *dup; /* where data arriving here goes */
  mg_counter_t in_oct, out_oct;
  uint64_t in_base, out_base; /* engine counts at the last clrstats */
} route_t;

typedef struct {
  route_t left, right, left2right, right2left;
  bool mt;
} tee_t;

enum { TEE_GETSTATS = 1, TEE_CLRSTATS, TEE_GETCLRSTATS };

static int tee_constructor(mg_node_t *n) {
  ((tee_t *)mg_node_priv(n))->mt = mg_node_mt(n);
  return 0;
}

/* Work out the paths again from whatever hooks are present. */
static void tee_reroute(tee_t *t) {
  route_t *l = t->left.hook ? &t->left : NULL, *r = t->right.hook ? &t->right : NULL;
  route_t *l2r = t->left2right.hook ? &t->left2right : NULL;
  route_t *r2l = t->right2left.hook ? &t->right2left : NULL;
  t->left.dest = r ? r : l2r;
  t->left.dup = r ? l2r : NULL;
  t->right.dest = l ? l : r2l;
  t->right.dup = l ? r2l : NULL;
  t->left2right.dest = r;
  t->left2right.dup = NULL;
  t->right2left.dest = l;
  t->right2left.dup = NULL;
}

static int tee_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  tee_t *t = mg_node_priv(n);
  route_t *ri;
  if (!strcmp(name, "left")) ri = &t->left;
  else if (!strcmp(name, "right")) ri = &t->right;
  else if (!strcmp(name, "left2right")) ri = &t->left2right;
  else if (!strcmp(name, "right2left")) ri = &t->right2left;
  else
    return mg_error(-EINVAL, "tee has no hook '%s' (left, right, left2right, "
                             "right2left)", name);
  ri->hook = h;
  mg_counter_clear(&ri->in_oct);
  mg_counter_clear(&ri->out_oct);
  ri->in_base = ri->out_base = 0;
  mg_hook_set_priv(h, ri);
  tee_reroute(t);
  return 0;
}

static int tee_rcvdata(mg_hook_t *h, mg_item_t *it) {
  tee_t *t = mg_node_priv(mg_hook_node(h));
  route_t *ri = mg_hook_priv(h);
  uint32_t len = mg_item_buf(it)->len;
  mg_counter_add(t->mt, &ri->in_oct, len);
  if (ri->dup) { /* the copy shares the bytes: nothing is written */
    mg_counter_add(t->mt, &ri->dup->out_oct, len);
    mg_forward(ri->dup->hook, mg_item_dup(it));
  }
  if (!ri->dest) {
    mg_drop(it, MG_DROP_POLICY);
    return 0;
  }
  mg_counter_add(t->mt, &ri->dest->out_oct, len);
  return mg_forward(ri->dest->hook, it);
}

static mg_hook_stats_t frames(route_t *r) {
  mg_hook_stats_t s = {0, 0};
  if (r->hook) mg_hook_stats(r->hook, &s);
  return s;
}

static mg_value_t *route_stats(route_t *r) {
  mg_hook_stats_t s = frames(r);
  mg_value_t *v = mg_map();
  mg_map_set(v, "inOctets", mg_int((int64_t)mg_counter_get(&r->in_oct)));
  mg_map_set(v, "inFrames", mg_int((int64_t)(s.in - r->in_base)));
  mg_map_set(v, "outOctets", mg_int((int64_t)mg_counter_get(&r->out_oct)));
  mg_map_set(v, "outFrames", mg_int((int64_t)(s.out - r->out_base)));
  return v;
}

static void route_clear(route_t *r) {
  mg_hook_stats_t s = frames(r);
  mg_counter_clear(&r->in_oct);
  mg_counter_clear(&r->out_oct);
  r->in_base = s.in;
  r->out_base = s.out;
}

/* A burst: the copies go out as one burst, then the originals as
** another; each hook sees its packets in order. */
static int tee_rcvburst(mg_hook_t *h, mg_item_t **v, unsigned n) {
  tee_t *t = mg_node_priv(mg_hook_node(h));
  route_t *ri = mg_hook_priv(h);
  uint64_t oct = mg_burst_octets(v, n);
  mg_counter_add(t->mt, &ri->in_oct, oct);
  if (ri->dup) {
    mg_item_t *c[MG_BURST];
    for (unsigned i = 0; i < n; i++) c[i] = mg_item_dup(v[i]);
    mg_counter_add(t->mt, &ri->dup->out_oct, oct);
    mg_forward_burst(ri->dup->hook, c, n);
  }
  if (!ri->dest) {
    for (unsigned i = 0; i < n; i++) mg_drop(v[i], MG_DROP_POLICY);
    return 0;
  }
  mg_counter_add(t->mt, &ri->dest->out_oct, oct);
  return mg_forward_burst(ri->dest->hook, v, n);
}

static int tee_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last,
                      mg_value_t **reply) {
  (void)last;
  tee_t *t = mg_node_priv(n);
  if (m->cmd != TEE_CLRSTATS) {
    *reply = mg_map();
    mg_map_set(*reply, "right", route_stats(&t->right));
    mg_map_set(*reply, "left", route_stats(&t->left));
    mg_map_set(*reply, "right2left", route_stats(&t->right2left));
    mg_map_set(*reply, "left2right", route_stats(&t->left2right));
  }
  if (m->cmd != TEE_GETSTATS) {
    route_clear(&t->right);
    route_clear(&t->left);
    route_clear(&t->right2left);
    route_clear(&t->left2right);
  }
  return 0;
}

/* Leaving: join our two neighbours so the path stays whole. */
static void tee_close(mg_node_t *n) {
  tee_t *t = mg_node_priv(n);
  if (t->left.hook && t->right.hook &&
      mg_hook_connected(t->left.hook) && mg_hook_connected(t->right.hook))
    mg_hook_bypass(t->left.hook, t->right.hook);
}

static void tee_disconnect(mg_hook_t *h) {
  mg_node_t *n = mg_hook_node(h);
  tee_t *t = mg_node_priv(n);
  route_t *ri = mg_hook_priv(h);
  ri->hook = NULL;
  tee_reroute(t);
  if (mg_node_numhooks(n) == 0 && mg_node_valid(n)) mg_node_rmself(n);
}

static void tee_status(mg_node_t *n, mg_sbuf_t *out) {
  tee_t *t = mg_node_priv(n);
  route_t *rs[] = {&t->left, &t->right, &t->left2right, &t->right2left};
  const char *names[] = {"left", "right", "left2right", "right2left"};
  for (int i = 0; i < 4; i++)
  {
    mg_hook_stats_t s = frames(rs[i]);
    mg_sbuf_printf(out, "%-10s %s in %llu frames, out %llu frames\n", names[i],
                   rs[i]->hook ? "up  " : "down",
                   (unsigned long long)(s.in - rs[i]->in_base),
                   (unsigned long long)(s.out - rs[i]->out_base));
  }
}

static const mg_cmd_t tee_cmds[] = {
  {"getstats", TEE_GETSTATS, MG_CMD_READONLY, "",
   "octets and frames in and out of each hook"},
  {"clrstats", TEE_CLRSTATS, 0, "", "zero the counters"},
  {"getclrstats", TEE_GETCLRSTATS, 0, "", "get the counters, then zero them"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_tee = {
  .name = "tee",
  .doc = "left <-> right, copying each direction to left2right / right2left.",
  .priv_size = sizeof(tee_t),
  .constructor = tee_constructor,
  .newhook = tee_newhook,
  .rcvdata = tee_rcvdata,
  .rcvburst = tee_rcvburst,
  .rcvmsg = tee_rcvmsg,
  .close = tee_close,
  .disconnect = tee_disconnect,
  .status = tee_status,
  .cmds = tee_cmds,
};
