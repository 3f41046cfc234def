/*
** hole.c -- discards everything it receives (netgraph's ng_hole).
**
** HOOKS     any name; each counts what it swallowed.
** MESSAGES  getstats { hook="h" } -> { frames octets }, clrstats, getclrstats.
** Shuts itself down when its last hook goes.
*/
#include <stdlib.h>

#include "builtin.h"

typedef struct {
  mg_counter_t frames, octets;
} hole_stats_t;

typedef struct {
  bool mt;
} hole_t;

enum { HOLE_GETSTATS = 1, HOLE_CLRSTATS, HOLE_GETCLRSTATS };

static int hole_constructor(mg_node_t *n) {
  ((hole_t *)mg_node_priv(n))->mt = mg_node_mt(n);
  return 0;
}

static int hole_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  (void)n; (void)name;
  mg_hook_set_priv(h, mg_calloc(1, sizeof(hole_stats_t)));
  return 0;
}

static int hole_rcvdata(mg_hook_t *h, mg_item_t *it) {
  hole_t *hl = mg_node_priv(mg_hook_node(h));
  hole_stats_t *s = mg_hook_priv(h);
  mg_counter_add(hl->mt, &s->frames, 1);
  mg_counter_add(hl->mt, &s->octets, mg_item_buf(it)->len);
  mg_consume(it);
  return 0;
}

static int hole_rcvburst(mg_hook_t *h, mg_item_t **v, unsigned n) {
  hole_t *hl = mg_node_priv(mg_hook_node(h));
  hole_stats_t *s = mg_hook_priv(h);
  uint64_t oct = mg_burst_octets(v, n);
  mg_counter_add(hl->mt, &s->frames, n);
  mg_counter_add(hl->mt, &s->octets, oct);
  mg_consume_burst(v, n);
  return 0;
}

static int hole_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last,
                       mg_value_t **reply) {
  (void)last;
  const char *name = NULL;
  static const char *const known[] = {"hook", NULL};
  int rc = mg_map_only(m->args, m->cmdstr, known, "{ hook=\"name\" }");
  if (rc) return rc;
  if (!mg_map_str(m->args, "hook", &name)) return -EINVAL;
  if (!name) return mg_error(-EINVAL, "%s needs { hook=\"name\" }", m->cmdstr);
  mg_hook_t *h = mg_node_hook(n, name);
  if (!h) return mg_error(-ENOENT, "hole has no hook '%s'", name);
  hole_stats_t *s = mg_hook_priv(h);
  if (m->cmd != HOLE_CLRSTATS) {
    *reply = mg_map();
    mg_map_set(*reply, "frames", mg_int((int64_t)mg_counter_get(&s->frames)));
    mg_map_set(*reply, "octets", mg_int((int64_t)mg_counter_get(&s->octets)));
  }
  if (m->cmd != HOLE_GETSTATS) {
    mg_counter_clear(&s->frames);
    mg_counter_clear(&s->octets);
  }
  return 0;
}

static void hole_disconnect(mg_hook_t *h) {
  free(mg_hook_priv(h));
  mg_hook_set_priv(h, NULL);
  mg_node_t *n = mg_hook_node(h);
  if (mg_node_numhooks(n) == 0 && mg_node_valid(n)) mg_node_rmself(n);
}

static const mg_cmd_t hole_cmds[] = {
  {"getstats", HOLE_GETSTATS, MG_CMD_READONLY, "{ hook=\"h\" }",
   "frames and octets swallowed by a hook"},
  {"clrstats", HOLE_CLRSTATS, 0, "{ hook=\"h\" }", "zero a hook's counters"},
  {"getclrstats", HOLE_GETCLRSTATS, 0, "{ hook=\"h\" }",
   "get a hook's counters, then zero them"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_hole = {
  .name = "hole",
  .doc = "Discards all data; counts frames and octets per hook.",
  .priv_size = sizeof(hole_t),
  .constructor = hole_constructor,
  .newhook = hole_newhook,
  .rcvdata = hole_rcvdata,
  .rcvburst = hole_rcvburst,
  .rcvmsg = hole_rcvmsg,
  .disconnect = hole_disconnect,
  .cmds = hole_cmds,
};
