/*
** split.c -- a two-way hook split into one-way halves (netgraph's
** ng_split).
**
** HOOKS     in, out, mixed.
**           in -> mixed and mixed -> out; nothing arrives on out (a frame
**           that does is dropped and counted as an error), nothing else
**           moves.
** MESSAGES  none of its own.
** It shuts down when its last hook goes.
*/
#include <string.h>

#include "builtin.h"

typedef struct {
  mg_hook_t *in, *out, *mixed;
} split_t;

static int split_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  split_t *s = mg_node_priv(n);
  mg_hook_t **slot;
  if (!strcmp(name, "in")) slot = &s->in;
  else if (!strcmp(name, "out")) slot = &s->out;
  else if (!strcmp(name, "mixed")) slot = &s->mixed;
  else return mg_error(-EINVAL, "split has no hook '%s' (in, out, mixed)", name);
  *slot = h;
  mg_hook_set_priv(h, slot);
  return 0;
}

static int split_rcvdata(mg_hook_t *h, mg_item_t *it) {
  split_t *s = mg_node_priv(mg_hook_node(h));
  if (h == s->out) { /* a wiring mistake, as ng_split says */
    mg_drop(it, MG_DROP_ERROR);
    return mg_error(-EINVAL, "split: data arrived on 'out', which only sends");
  }
  mg_hook_t *dest = h == s->in ? s->mixed : s->out;
  if (!dest) {
    mg_drop(it, MG_DROP_POLICY);
    return 0;
  }
  return mg_forward(dest, it);
}

static void split_disconnect(mg_hook_t *h) {
  mg_node_t *n = mg_hook_node(h);
  *(mg_hook_t **)mg_hook_priv(h) = NULL;
  if (mg_node_numhooks(n) == 0 && mg_node_valid(n)) mg_node_rmself(n);
}

const mg_type_t mg_type_split = {
  .name = "split",
  .doc = "Splits a two-way hook (mixed) into one-way halves: in -> mixed,\n"
         "mixed -> out.  Data arriving on out is dropped as an error.",
  .priv_size = sizeof(split_t),
  .newhook = split_newhook,
  .rcvdata = split_rcvdata,
  .disconnect = split_disconnect,
};
