/*
** fuzz_ctl.c -- addresses and control messages (engine/addr.c, ctl.c,
** msg.c, generic.c and the node types' commands) on a small graph:
**
**   . t -- left tee right -- a hub b -- one o2m many0 -- e echo
**   . tap -- left2right tee           hub c -- in bpf yes -- h hole
**                                     hub d -- ether macfilter default
**                                                  -- original vlan_rotate
**
** The first byte chooses the workers (even: none, odd: two).  Each line
** after it is "PATH CMD ARGS" with ARGS in text form, or "> HOOK BYTES"
** to send the bytes as a packet out of a hook of ".".  Errors are fine;
** crashes, leaks, hangs and sanitizer reports are not.  Only types that
** touch no file or interface exist here: an input cannot make a pcap node.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *arg, int level, const char *line) {
  (void)arg; (void)level; (void)line;
}

static mg_engine_t *graph(int workers, mg_node_t **ctl) {
  mg_engine_opts_t o = {.workers = workers};
  mg_engine_t *e = mg_engine_new(&o);
  mg_set_log(e, quiet, NULL);
  const mg_type_t *types[] = {&mg_type_tee, &mg_type_hub, &mg_type_one2many,
                              &mg_type_echo, &mg_type_bpf, &mg_type_hole,
                              &mg_type_macfilter, &mg_type_vlan_rotate};
  for (size_t i = 0; i < sizeof types / sizeof *types; i++)
    mg_type_register(e, types[i]);
  mg_node_t *c = *ctl = mg_ctl_new(e, "ctl");
  int rc = mg_mkpeer(c, ".", "tee", "t", "left") || mg_name(c, ".:t", "tee") ||
           mg_mkpeer(c, "tee:", "hub", "right", "a") || mg_name(c, "tee:right", "hub") ||
           mg_mkpeer(c, "hub:", "one2many", "b", "one") || mg_name(c, "hub:b", "o2m") ||
           mg_mkpeer(c, "o2m:", "echo", "many0", "e") || mg_name(c, "o2m:many0", "echo") ||
           mg_mkpeer(c, "hub:", "bpf", "c", "in") || mg_name(c, "hub:c", "bpf") ||
           mg_mkpeer(c, "bpf:", "hole", "yes", "h") || mg_name(c, "bpf:yes", "hole") ||
           mg_mkpeer(c, "hub:", "macfilter", "d", "ether") || mg_name(c, "hub:d", "mf") ||
           mg_mkpeer(c, "mf:", "vlan_rotate", "default", "original") ||
           mg_name(c, "mf:default", "vr") ||
           mg_connect(c, ".", "tee:", "tap", "left2right") ||
           mg_ctl_call_text(c, "bpf:", "setprogram",
                            "{ thisHook=\"in\" ifMatch=\"yes\" ifNotMatch=\"no\" expr=\"udp\" }",
                            NULL);
  if (rc) {
    fprintf(stderr, "fuzz_ctl: cannot build the graph: %s\n", mg_errmsg());
    abort();
  }
  return e;
}

static void line(mg_node_t *ctl, char *s) {
  char *sp = NULL;
  char *first = strtok_r(s, " \t", &sp);
  if (!first) return;
  char *second = strtok_r(NULL, " \t", &sp);
  char *rest = sp; /* the remainder, as given */
  if (!strcmp(first, ">")) {
    if (!second) return;
    size_t n = rest ? strlen(rest) : 0;
    mg_buf_t *b = mg_buf_new((uint32_t)n);
    if (n) memcpy(b->data, rest, n);
    mg_node_send(ctl, second, b);
    return;
  }
  mg_value_t *reply = NULL;
  if (mg_ctl_call_text(ctl, first, second, rest, &reply) == 0 && reply)
    free(mg_value_text(reply));
  mg_value_free(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  mg_node_t *ctl;
  mg_engine_t *e = graph(data[0] & 1 ? 2 : 0, &ctl);
  char *text = malloc(size);
  memcpy(text, data + 1, size - 1);
  text[size - 1] = '\0';
  char *sp = NULL;
  for (char *l = strtok_r(text, "\n", &sp); l; l = strtok_r(NULL, "\n", &sp)) {
    line(ctl, l);
    mg_engine_run(e, MG_RUN_NOWAIT, 0);
  }
  free(text);
  mg_engine_run(e, MG_RUN_IDLE, 0);
  mg_node_unref(ctl);
  mg_engine_free(e);
  int64_t items, bufs;
  mg_pool_outstanding(&items, &bufs);
  if (items || bufs) {
    fprintf(stderr, "fuzz_ctl: %lld item(s), %lld buffer(s) not returned\n",
            (long long)items, (long long)bufs);
    abort();
  }
  return 0;
}
