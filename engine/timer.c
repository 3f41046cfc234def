/*
** timer.c -- engine time and callouts.  A callout is netgraph's ng_callout:
** when due it is sent to its node as a writer function item, so it runs
** under the node's lock, in turn with the node's traffic (docs/design.md §2
** rule 12).  One heap serves both clocks: the wall clock arms a uv timer
** for the earliest entry; the virtual clock fires entries as a source
** moves time forward with packet timestamps.
*/
#include <stdlib.h>
#include <time.h>

#include "internal.h"

int64_t mg_now(mg_engine_t *e) {
  if (e->clock == MG_CLOCK_VIRTUAL) return atomic_load_explicit(&e->vnow, MG_ACQUIRE);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int mg_clock_mode(mg_engine_t *e) { return e->clock; }

/* {====================================================== heap */
static bool earlier(const mg_callout_s *a, const mg_callout_s *b) {
  return a->when < b->when;
}

static void heap_set(mg_engine_t *e, uint32_t i, mg_callout_s *c) {
  e->heap[i] = c;
  c->slot = (int32_t)i;
}

static void heap_up(mg_engine_t *e, uint32_t i) {
  mg_callout_s *c = e->heap[i];
  while (i > 0) {
    uint32_t p = (i - 1) / 2;
    if (!earlier(c, e->heap[p])) break;
    heap_set(e, i, e->heap[p]);
    i = p;
  }
  heap_set(e, i, c);
}

static void heap_down(mg_engine_t *e, uint32_t i) {
  mg_callout_s *c = e->heap[i];
  for (;;) {
    uint32_t l = 2 * i + 1, m = i;
    mg_callout_s *best = c;
    if (l < e->nheap && earlier(e->heap[l], best)) { m = l; best = e->heap[l]; }
    if (l + 1 < e->nheap && earlier(e->heap[l + 1], best)) m = l + 1;
    if (m == i) break;
    heap_set(e, i, e->heap[m]);
    i = m;
  }
  heap_set(e, i, c);
}

static void heap_remove(mg_engine_t *e, mg_callout_s *c) {
  uint32_t i = (uint32_t)c->slot;
  c->slot = -1;
  mg_callout_s *last = e->heap[--e->nheap];
  if (i == e->nheap) return;
  heap_set(e, i, last);
  heap_down(e, i);
  heap_up(e, (uint32_t)last->slot);
}

static void heap_insert(mg_engine_t *e, mg_callout_s *c) {
  if (e->nheap == e->heapcap) {
    e->heapcap = e->heapcap ? e->heapcap * 2 : 64;
    e->heap = mg_realloc(e->heap, e->heapcap * sizeof *e->heap);
  }
  heap_set(e, e->nheap++, c);
  heap_up(e, e->nheap - 1);
}

static void update_due(mg_engine_t *e) {
  atomic_store(&e->next_due, e->nheap ? e->heap[0]->when : INT64_MAX);
}
/* }====================================================== */

static void rearm_post(void *arg) { mg__timer_rearm(arg); }

static void wall_rearm(mg_engine_t *e) {
  if (e->clock != MG_CLOCK_WALL) return;
  if (mg_on_loop_thread(e)) mg__timer_rearm(e);
  else mg_engine_post(e, rearm_post, e);
}

#define FREED (1u << 31)

void mg_callout_init(mg_callout_t *pc) {
  mg_callout_s *c = (mg_callout_s *)(void *)pc;
  c->node = NULL;
  c->slot = -1;
  c->gen = 0;
  atomic_store(&c->inflight, 0);
  c->fin = NULL;
}

int mg_callout_reset(mg_callout_t *pc, mg_node_t *n, int64_t delay,
                     mg_fn_t fn, void *arg, intptr_t arg2) {
  mg_callout_s *c = (mg_callout_s *)(void *)pc;
  mg_engine_t *e = n->eng;
  if (!mg_node_valid(n)) return mg_error(-ENOENT, "callout on a node shut down");
  int64_t when = mg_now(e) + (delay > 0 ? delay : 0);
  mg_node_t *old = NULL;
  pthread_mutex_lock(&e->tm_mu);
  c->gen++;
  if (c->slot >= 0) {
    heap_remove(e, c);
    old = c->node;
  }
  mg_node_ref(n); /* the heap's */
  c->node = n;
  c->fn = fn;
  c->arg = arg;
  c->arg2 = arg2;
  c->when = when;
  heap_insert(e, c);
  update_due(e);
  bool first = e->heap[0] == c;
  pthread_mutex_unlock(&e->tm_mu);
  if (old) mg_node_unref(old);
  if (first) wall_rearm(e);
  return 0;
}

bool mg_callout_stop(mg_callout_t *pc) {
  mg_callout_s *c = (mg_callout_s *)(void *)pc;
  if (!c->node) return false;
  mg_engine_t *e = c->node->eng;
  mg_node_t *old = NULL;
  pthread_mutex_lock(&e->tm_mu);
  c->gen++;
  if (c->slot >= 0) {
    heap_remove(e, c);
    update_due(e);
    old = c->node;
  }
  pthread_mutex_unlock(&e->tm_mu);
  if (old) mg_node_unref(old);
  return old != NULL;
}

/* Runs under the node's writer lock.  A callout stopped or re-armed since
** it fired has a new generation: this firing is stale and does nothing. */
static int callout_tramp(mg_node_t *n, mg_hook_t *h, void *arg, intptr_t gen) {
  (void)h;
  mg_callout_s *c = arg;
  mg_engine_t *e = n->eng;
  pthread_mutex_lock(&e->tm_mu);
  bool live = c->gen == (uint64_t)gen && c->slot < 0;
  mg_fn_t fn = c->fn;
  void *a = c->arg;
  intptr_t a2 = c->arg2;
  pthread_mutex_unlock(&e->tm_mu);
  return live ? fn(n, NULL, a, a2) : 0;
}

/* A firing ended, run or dropped: the last one hands a freed callout
** back to its owner. */
static void callout_rel(void *arg, intptr_t gen) {
  (void)gen;
  mg_callout_s *c = arg;
  if (atomic_fetch_sub(&c->inflight, 1) == (FREED | 1))
    c->fin((mg_callout_t *)(void *)c);
}

void mg_callout_free(mg_callout_t *pc, void (*fin)(mg_callout_t *)) {
  mg_callout_s *c = (mg_callout_s *)(void *)pc;
  mg_callout_stop(pc); /* no firing is sent after this */
  c->fin = fin;
  if (atomic_fetch_or(&c->inflight, FREED) == 0) fin(pc);
}

void mg__timers_fire(mg_engine_t *e, int64_t now) {
  for (;;) {
    pthread_mutex_lock(&e->tm_mu);
    if (!e->nheap || e->heap[0]->when > now) {
      update_due(e);
      pthread_mutex_unlock(&e->tm_mu);
      return;
    }
    mg_callout_s *c = e->heap[0];
    heap_remove(e, c);
    mg_node_t *n = c->node;
    uint64_t gen = c->gen;
    atomic_fetch_add(&c->inflight, 1); /* c must outlive the firing */
    update_due(e);
    pthread_mutex_unlock(&e->tm_mu);
    mg_send_fn_rel(n, NULL, callout_tramp, callout_rel, c, (intptr_t)gen, 0);
    mg_node_unref(n); /* the heap's; a queued item holds its own */
  }
}

void mg_clock_advance(mg_engine_t *e, int64_t ts) {
  int64_t cur = atomic_load_explicit(&e->vnow, MG_RELAXED);
  while (ts > cur &&
         !atomic_compare_exchange_weak(&e->vnow, &cur, ts)) {
  }
  if (ts >= atomic_load_explicit(&e->next_due, MG_RELAXED))
    mg__timers_fire(e, atomic_load(&e->vnow));
}

void mg__timers_free(mg_engine_t *e) {
  pthread_mutex_lock(&e->tm_mu);
  while (e->nheap) {
    mg_callout_s *c = e->heap[0];
    heap_remove(e, c);
    mg_node_t *n = c->node;
    pthread_mutex_unlock(&e->tm_mu);
    mg_node_unref(n);
    pthread_mutex_lock(&e->tm_mu);
  }
  free(e->heap);
  e->heap = NULL;
  e->heapcap = 0;
  update_due(e);
  pthread_mutex_unlock(&e->tm_mu);
}
