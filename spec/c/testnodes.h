/*
** testnodes.h -- node types that only tests use: a probe that records
** what it sees and who is inside it, and a generator that emits bursts
** from function items, as a source does.
*/
#ifndef MG_TESTNODES_H
#define MG_TESTNODES_H

#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "moongraph.h"

/* {====================================================== probe */
#define PROBE_MAXSEQ (1 << 20)

typedef struct {
  _Atomic int readers, writers;   /* inside now */
  _Atomic int max_readers;        /* most readers seen inside at once */
  _Atomic int overlap;            /* a writer saw company: must stay 0 */
  _Atomic uint64_t seen;          /* data items */
  _Atomic uint64_t fns;
  uint32_t *seq;                  /* sequence numbers, in arrival order */
  _Atomic uint32_t nseq;
  int spin;                       /* busy work per item, to widen races */
  bool record;
  mg_hook_t *out;
} probe_t;

static int probe_constructor(mg_node_t *n) {
  probe_t *p = mg_node_priv(n);
  p->seq = calloc(PROBE_MAXSEQ, sizeof *p->seq);
  return 0;
}

static void probe_shutdown(mg_node_t *n) {
  probe_t *p = mg_node_priv(n);
  free(p->seq);
  p->seq = NULL;
}

static int probe_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  if (!strcmp(name, "out")) ((probe_t *)mg_node_priv(n))->out = h;
  return 0;
}

static void probe_disconnect(mg_hook_t *h) {
  probe_t *p = mg_node_priv(mg_hook_node(h));
  if (p->out == h) p->out = NULL;
}

/* volatile keeps the loop; the read at the end keeps clang from calling
** x set but unused */
static void probe_busy(int spin) {
  volatile uint64_t x = 0;
  for (int i = 0; i < spin; i++) x += (uint64_t)i * 2654435761u;
  (void)x;
}

/* What the probe notes of each item it is handed. */
static void probe_see(probe_t *p, mg_item_t *it) {
  int r = atomic_fetch_add(&p->readers, 1) + 1;
  if (atomic_load(&p->writers)) atomic_fetch_add(&p->overlap, 1);
  int m = atomic_load(&p->max_readers);
  while (r > m && !atomic_compare_exchange_weak(&p->max_readers, &m, r)) {
  }
  if (p->record) {
    uint32_t s;
    memcpy(&s, mg_item_buf(it)->data, 4);
    uint32_t i = atomic_fetch_add(&p->nseq, 1);
    if (i < PROBE_MAXSEQ) p->seq[i] = s;
  }
  probe_busy(p->spin);
  atomic_fetch_add(&p->seen, 1);
  atomic_fetch_sub(&p->readers, 1);
}

static int probe_rcvdata(mg_hook_t *h, mg_item_t *it) {
  probe_t *p = mg_node_priv(mg_hook_node(h));
  probe_see(p, it);
  if (p->out) return mg_forward(p->out, it);
  mg_consume(it);
  return 0;
}

/* A burst stays one on its way out. */
static int probe_rcvburst(mg_hook_t *h, mg_item_t **v, unsigned n) {
  probe_t *p = mg_node_priv(mg_hook_node(h));
  for (unsigned i = 0; i < n; i++) probe_see(p, v[i]);
  if (p->out) return mg_forward_burst(p->out, v, n);
  mg_consume_burst(v, n);
  return 0;
}

/* A writer step: nobody else may be inside meanwhile. */
static int probe_writer_fn(mg_node_t *n, mg_hook_t *h, void *a, intptr_t b) {
  (void)h; (void)a; (void)b;
  probe_t *p = mg_node_priv(n);
  atomic_fetch_add(&p->writers, 1);
  if (atomic_load(&p->readers) || atomic_load(&p->writers) > 1)
    atomic_fetch_add(&p->overlap, 1);
  probe_busy(p->spin);
  atomic_fetch_add(&p->fns, 1);
  atomic_fetch_sub(&p->writers, 1);
  return 0;
}

static const mg_type_t probe_type = {
  .name = "probe",
  .doc = "test probe",
  .priv_size = sizeof(probe_t),
  .constructor = probe_constructor,
  .shutdown = probe_shutdown,
  .newhook = probe_newhook,
  .rcvdata = probe_rcvdata,
  .rcvburst = probe_rcvburst,
  .disconnect = probe_disconnect,
};
/* The same, but one item at a time: its processing order is observable. */
static const mg_type_t wprobe_type = {
  .name = "wprobe",
  .doc = "test probe, exclusive",
  .priv_size = sizeof(probe_t),
  .flags = MG_TF_FORCE_WRITER,
  .constructor = probe_constructor,
  .shutdown = probe_shutdown,
  .newhook = probe_newhook,
  .rcvdata = probe_rcvdata,
  .disconnect = probe_disconnect,
};
/* }====================================================== */

/* {====================================================== gen */
typedef struct {
  mg_hook_t *out;
  uint32_t left, burst, next;
  _Atomic uint64_t sent;
} gen_t;

static int gen_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  (void)name;
  ((gen_t *)mg_node_priv(n))->out = h;
  return 0;
}

static void gen_disconnect(mg_hook_t *h) {
  ((gen_t *)mg_node_priv(mg_hook_node(h)))->out = NULL;
}

/* Whether generators hand their items over as one burst
** (mg_forward_burst) rather than one by one: tests run both ways. */
static bool gen_bursts;

/* One burst, then again later: a continuation, not a thread. */
static int gen_burst_fn(mg_node_t *n, mg_hook_t *h, void *a, intptr_t b) {
  (void)h; (void)a; (void)b;
  gen_t *g = mg_node_priv(n);
  mg_item_t *v[256];
  unsigned k = 0;
  for (uint32_t i = 0; i < g->burst && g->left && g->out; i++, g->left--) {
    mg_buf_t *buf = mg_buf_new(64);
    uint32_t s = g->next++;
    memcpy(buf->data, &s, 4);
    mg_item_t *it = mg_data_new(n, buf);
    if (gen_bursts) v[k++] = it;
    else mg_forward(g->out, it);
    if (k == 256) {
      mg_forward_burst(g->out, v, k);
      k = 0;
    }
    atomic_fetch_add(&g->sent, 1);
  }
  if (k) mg_forward_burst(g->out, v, k);
  if (g->left && g->out) mg_send_fn(n, NULL, gen_burst_fn, NULL, 0, MG_QUEUE);
  return 0;
}

static const mg_type_t gen_type = {
  .name = "gen",
  .doc = "test generator",
  .priv_size = sizeof(gen_t),
  .newhook = gen_newhook,
  .rcvdata = NULL,
  .disconnect = gen_disconnect,
};

static inline int gen_stop_fn(mg_node_t *n, mg_hook_t *h, void *a, intptr_t b) {
  (void)h; (void)a; (void)b;
  ((gen_t *)mg_node_priv(n))->left = 0;
  return 0;
}

static inline void gen_start(mg_node_t *g, uint32_t count, uint32_t burst) {
  gen_t *p = mg_node_priv(g);
  p->left = count;
  p->burst = burst;
  mg_send_fn(g, NULL, gen_burst_fn, NULL, 0, MG_QUEUE);
}
/* }====================================================== */

static inline mg_buf_t *seqbuf(uint32_t s, uint32_t len) {
  mg_buf_t *b = mg_buf_new(len);
  memset(b->data, 0, len);
  memcpy(b->data, &s, 4);
  return b;
}

#endif
