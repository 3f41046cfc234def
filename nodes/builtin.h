/*
** builtin.h -- the node types that come with moongraph.
*/
#ifndef MG_BUILTIN_H
#define MG_BUILTIN_H

#include "moongraph.h"

#define MG_NODE(x) extern const mg_type_t mg_type_##x;
#include "nodes.def"
#undef MG_NODE

/* [loop] A pcap node tells fn(arg, its id) when, running, it finishes (the
** end of the file, count, duration, an error, close); *done: finished
** already.  One listener per node; -EINVAL for a node of another type. */
typedef void (*mg_pcap_done_fn)(void *arg, uint32_t id);
int mg_pcap_on_done(mg_node_t *n, mg_pcap_done_fn fn, void *arg, bool *done);

/* The bytes of a burst's packets, for the types that count octets. */
static inline uint64_t mg_burst_octets(mg_item_t **v, unsigned n) {
  uint64_t oct = 0;
  for (unsigned i = 0; i < n; i++) oct += mg_item_buf(v[i])->len;
  return oct;
}

/* Register every built-in type with e. */
int mg_builtin_register(mg_engine_t *e);

#endif
