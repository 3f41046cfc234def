/*
** echo.c -- sends back whatever it receives (netgraph's ng_echo).
**
** HOOKS     any name; data goes back out of the hook it came in on.
** MESSAGES  any command that is not generic comes back as a reply whose
**           value is the request's arguments.
** Shuts itself down when its last hook goes.
*/
#include "builtin.h"

static int echo_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  (void)n; (void)h; (void)name;
  return 0;
}

static int echo_rcvdata(mg_hook_t *h, mg_item_t *it) {
  return mg_forward(h, it);
}

static int echo_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last,
                       mg_value_t **reply) {
  (void)n; (void)last;
  if (!(m->flags & MG_MSG_RESP)) *reply = mg_value_copy(m->args);
  return 0;
}

static void echo_disconnect(mg_hook_t *h) {
  mg_node_t *n = mg_hook_node(h);
  if (mg_node_numhooks(n) == 0 && mg_node_valid(n)) mg_node_rmself(n);
}

static const mg_cmd_t echo_cmds[] = {
  {"echo", 1, MG_CMD_READONLY, "any value", "reply with the arguments"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_echo = {
  .name = "echo",
  .flags = MG_TF_ANY_CMD,
  .doc = "Reflects data back out of the hook it arrived on, and messages\n"
         "back to their sender.",
  .newhook = echo_newhook,
  .rcvdata = echo_rcvdata,
  .rcvmsg = echo_rcvmsg,
  .disconnect = echo_disconnect,
  .cmds = echo_cmds,
};
