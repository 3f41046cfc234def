/*
** testgraph.h -- what the C tests share: an engine with the test node
** types, "." as CTL, path lookup, and a teardown that checks every node's
** conservation and that the pools got everything back.
*/
#ifndef MG_TESTGRAPH_H
#define MG_TESTGRAPH_H

#include "builtin.h"
#include "check.h"
#include "testnodes.h"

static mg_engine_t *E;
static mg_node_t *CTL;

static void setup_opts(const mg_engine_opts_t *o) {
  E = mg_engine_new(o);
  CHECK(E != NULL);
  CHECK_OK(mg_builtin_register(E));
  CHECK_OK(mg_type_register(E, &probe_type));
  CHECK_OK(mg_type_register(E, &gen_type));
  CHECK_OK(mg_type_register(E, &wprobe_type));
  CTL = mg_ctl_new(E, "ctl");
}

static mg_node_t *node(const char *path) {
  mg_node_t *n = NULL;
  if (mg_resolve(CTL, path, &n, NULL)) {
    fprintf(stderr, "resolve %s: %s\n", path, mg_errmsg());
    check_failures++;
  }
  return n;
}

/* For every node: in + made = out + consumed + dropped + queued. */
static void check_conservation(void) {
  mg_value_t *r = NULL;
  CHECK_OK(mg_ctl_call(CTL, ".", "listnodes", NULL, &r));
  mg_value_t *a = mg_map_get(r, "nodes");
  for (uint32_t i = 0; a && i < a->u.a.n; i++) {
    mg_node_t *n = mg_node_byid(E, (uint32_t)mg_map_get(a->u.a.v[i], "id")->u.i);
    if (!n) continue;
    mg_node_stats_t s;
    mg_node_stats(n, &s);
    if (s.in + s.made != s.out + s.consumed + s.dropped + s.qdata) {
      fprintf(stderr, "conservation broken at [%x] %s: in %llu + made %llu != "
              "out %llu + consumed %llu + dropped %llu + queued %u\n",
              mg_node_id(n), mg_node_type(n)->name, (unsigned long long)s.in,
              (unsigned long long)s.made, (unsigned long long)s.out,
              (unsigned long long)s.consumed, (unsigned long long)s.dropped, s.qdata);
      check_failures++;
    }
    mg_node_unref(n);
  }
  mg_value_free(r);
}

static void teardown(void) {
  check_conservation();
  mg_node_unref(CTL);
  mg_engine_free(E);
  check_pools_empty("teardown");
}

#endif
