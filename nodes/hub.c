/*
** hub.c -- every packet goes out of every other hook (netgraph's ng_hub).
**
** HOOKS     any name.
** MESSAGES  setpersistent: stay when the last hook goes.
** Otherwise it shuts itself down when its last hook goes.
*/
#include "builtin.h"

enum { HUB_SETPERSISTENT = 1 };
enum { HUB_PERSISTENT = 0 }; /* node flag bit: a hub has no private state */

static int hub_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  (void)n; (void)h; (void)name;
  return 0;
}

/* Copies share the bytes; the last hook gets the original. */
static int hub_rcvdata(mg_hook_t *in, mg_item_t *it) {
  mg_hook_t *last = NULL;
  for (mg_hook_t *h = mg_node_hooks(mg_hook_node(in)); h; h = mg_hook_next(h)) {
    if (h == in || !mg_hook_connected(h)) continue;
    if (last) mg_forward(last, mg_item_dup(it));
    last = h;
  }
  if (!last) {
    mg_drop(it, MG_DROP_POLICY);
    return 0;
  }
  return mg_forward(last, it);
}

static int hub_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last,
                      mg_value_t **reply) {
  (void)m; (void)last; (void)reply;
  mg_node_flag_set(n, HUB_PERSISTENT, true);
  return 0;
}

static void hub_disconnect(mg_hook_t *h) {
  mg_node_t *n = mg_hook_node(h);
  if (mg_node_numhooks(n) == 0 && mg_node_valid(n) &&
      !mg_node_flag(n, HUB_PERSISTENT))
    mg_node_rmself(n);
}

static const mg_cmd_t hub_cmds[] = {
  {"setpersistent", HUB_SETPERSISTENT, 0, "",
   "do not shut down when the last hook goes"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_hub = {
  .name = "hub",
  .doc = "Sends each packet out of every other connected hook.",
  .newhook = hub_newhook,
  .rcvdata = hub_rcvdata,
  .rcvmsg = hub_rcvmsg,
  .disconnect = hub_disconnect,
  .cmds = hub_cmds,
};
