/*
** dispatch.c -- inline-or-enqueue (docs/design.md §2).
**
** An item goes to a node.  If the node's lock can be had at once and its
** queue is empty, the sender runs the node's method right here on its own
** stack; otherwise the item joins the node's FIFO and whoever releases the
** lock next drains it, up to a budget, handing the rest to a work list.
**
** With no worker threads the engine lives on one thread, and the lock word
** and counters are updated with plain loads and stores; with workers the
** same code uses atomic read-modify-writes.  The rules are the same.
*/
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static MG_TLS uint32_t tl_depth;
static MG_TLS mg_item_t *tl_item; /* the item being applied */
/* The hops left to the data item whose rcvdata runs on this thread, or -1:
** an item made while handling one inherits them (mg_data_new), so that a
** node sending new items round a loop meets the hop limit as a forwarded
** item does (rule 7).  A value, not the item: the handler may have
** forwarded it, and it may be another's by now. */
static MG_TLS int64_t tl_ttl = -1;

uint32_t mg__depth(void) { return tl_depth; }
mg_item_t *mg__current_item(void) { return tl_item; }
mg_rec_t *mg__current_rec(void) { return tl_item ? tl_item->rec : NULL; }

#define mg_unlikely(x) __builtin_expect(!!(x), 0)

#define W MG_LW_WRITER
#define P MG_LW_PENDING
#define R MG_LW_READER

/*
** {======================================================
** The lock word
** =======================================================
*/
static inline uint32_t lw_load(mg_node_t *n) {
  return atomic_load_explicit(&n->word, MG_RELAXED);
}

/* Enter from outside the queue: a reader needs no writer and no backlog,
** a writer needs the word to be zero (rule 2). */
static inline bool try_enter(mg_node_t *n, bool w, bool mt) {
  uint32_t cur = lw_load(n);
  if (!mt) {
    if (w ? cur != 0 : (cur & (W | P)) != 0) return false;
    atomic_store_explicit(&n->word, cur + (w ? W : R), MG_RELAXED);
    return true;
  }
  if (w) {
    uint32_t zero = 0;
    return atomic_compare_exchange_strong_explicit(&n->word, &zero, W,
                                                   MG_ACQUIRE, MG_RELAXED);
  }
  do {
    if (cur & (W | P)) return false;
  } while (!atomic_compare_exchange_weak_explicit(&n->word, &cur, cur + R,
                                                  MG_ACQUIRE, MG_RELAXED));
  return true;
}

/* Enter for the head of the queue, which is first in line: the pending
** bit does not stop it.  A writer waits for readers inside to leave. */
static inline bool try_enter_head(mg_node_t *n, bool w, bool mt) {
  uint32_t cur = lw_load(n);
  for (;;) {
    if (w ? (cur & ~P) != 0 : (cur & W) != 0) return false;
    uint32_t nw = cur + (w ? W : R);
    if (!mt) {
      atomic_store_explicit(&n->word, nw, MG_RELAXED);
      return true;
    }
    if (atomic_compare_exchange_weak_explicit(&n->word, &cur, nw, MG_ACQUIRE,
                                              MG_RELAXED))
      return true;
  }
}

static inline uint32_t lw_leave(mg_node_t *n, bool w, bool mt) {
  uint32_t d = w ? W : R;
  if (mt) return atomic_fetch_sub_explicit(&n->word, d, MG_ACQREL) - d;
  uint32_t nw = lw_load(n) - d;
  atomic_store_explicit(&n->word, nw, MG_RELAXED);
  return nw;
}

static inline void lw_or(mg_node_t *n, uint32_t bits, bool mt) {
  if (mt) atomic_fetch_or_explicit(&n->word, bits, MG_ACQREL);
  else atomic_store_explicit(&n->word, lw_load(n) | bits, MG_RELAXED);
}

static inline void lw_clear(mg_node_t *n, uint32_t bits, bool mt) {
  if (mt) atomic_fetch_and_explicit(&n->word, ~bits, MG_ACQREL);
  else atomic_store_explicit(&n->word, lw_load(n) & ~bits, MG_RELAXED);
}

/* The queue lock: a byte, held for a handful of instructions. */
static inline void qlock(mg_node_t *n) {
  int spins = 0;
  while (atomic_exchange_explicit(&n->qlock, 1, MG_ACQUIRE))
    while (atomic_load_explicit(&n->qlock, MG_RELAXED))
      if (++spins > 100) { sched_yield(); spins = 0; }
}

static inline void qunlock(mg_node_t *n) {
  atomic_store_explicit(&n->qlock, 0, MG_RELEASE);
}

static inline bool loop_only(const mg_node_t *n) {
  return n->te->type->flags & MG_TF_LOOP_ONLY;
}

/* }====================================================== */

/*
** {======================================================
** Ending items
** =======================================================
*/
/* Lineage counters: plain with one thread, atomic with workers, whose
** copies of one packet may be anywhere. */
static void lineage_unref(mg_lineage_t *l, bool mt) {
  uint32_t left; /* the last one must know it is: not mg__count */
  if (mt) left = atomic_fetch_sub_explicit(&l->refs, 1, MG_ACQREL) - 1;
  else {
    left = atomic_load_explicit(&l->refs, MG_RELAXED) - 1;
    atomic_store_explicit(&l->refs, left, MG_RELAXED);
  }
  if (!left) mg__item_put((mg_item_t *)(void *)l);
}

/* Take one copy from the budget; false when none is left. */
static bool lineage_take(mg_lineage_t *l, bool mt) {
  uint32_t left = atomic_load_explicit(&l->left, MG_RELAXED);
  if (!mt) {
    if (left) atomic_store_explicit(&l->left, left - 1, MG_RELAXED);
  } else
    while (left && !atomic_compare_exchange_weak_explicit(
                       &l->left, &left, left - 1, MG_RELAXED, MG_RELAXED)) {
    }
  mg__count(mt, &l->refs, 1, MG_RELAXED);
  return left != 0;
}

/* Return an item to its pool, dropping whatever references it holds. */
void mg__item_end(mg_item_t *it) {
  if (it->flags & MG_IF_REFS) {
    if (it->hook) mg__hook_unref(it->hook);
    mg_node_unref(it->node);
  }
  switch (it->kind) {
  case MG_ITEM_DATA:
    if (it->u.buf) mg_buf_unref(it->u.buf);
    if (it->lin) lineage_unref(it->lin, it->node->eng->mt);
    break;
  case MG_ITEM_MSG:
    mg_msg_free(it->u.m.msg);
    break;
  case MG_ITEM_FN:
    if (it->u.f.rel) it->u.f.rel(it->u.f.arg, it->u.f.arg2);
    break;
  }
  if (it->rec) mg__rec_finish(it, 0);
  mg__item_put(it);
}

void mg_consume(mg_item_t *it) {
  mg__add(it->node->eng, &mg__xs(it->node)->consumed, 1);
  mg__item_end(it);
}

void mg_drop(mg_item_t *it, mg_drop_t why) {
  mg__count_drop(it->node, why);
  mg__item_end(it);
}

/* A message or function item that cannot run: its waiter learns why. */
static void fail_item(mg_item_t *it, int err, const char *what) {
  if (it->rec) {
    mg__node_error(it->node, err, "%s", what);
    mg__rec_finish(it, err);
  }
  mg__item_end(it);
}

static void drop_undeliverable(mg_item_t *it, mg_drop_t why) {
  if (it->kind == MG_ITEM_DATA) mg_drop(it, why);
  else fail_item(it, -ENOENT, "is shut down");
}
/* }====================================================== */

/*
** {======================================================
** Applying an item under the lock
** =======================================================
*/
static int apply(mg_node_t *n, mg_hook_t *h, mg_item_t *it) {
  MG_ASSERT((lw_load(n) & ~P) ||
                (atomic_load(&n->flags) & MG_NF_FLUSHED && it->flags & MG_IF_STEP),
            "an item applied with nobody holding its node");
  mg_item_t *saved = tl_item;
  int err = 0;
  mg_engine_t *e = n->eng;
  /* Queued items hold references; keep them to the end of the call, as
  ** forwarding re-uses the item. */
  bool refs = it->flags & MG_IF_REFS;
  it->flags &= (uint8_t)~MG_IF_REFS;
  it->node = n;
  it->hook = h;
  tl_item = it;
  int64_t saved_ttl = tl_ttl;
  /* a function sent while a data item was handled carries its hops + 1 */
  tl_ttl = it->kind == MG_ITEM_DATA ? (int64_t)it->ttl
           : it->kind == MG_ITEM_FN && it->ttl ? (int64_t)it->ttl - 1 : -1;
  tl_depth++;
  switch (it->kind) {
  case MG_ITEM_DATA: {
    const mg_type_t *t = n->te->type;
    if (!mg_node_valid(n) || (h && (atomic_load_explicit(&h->flags, MG_RELAXED) & MG_HF_INVALID)))
      mg_drop(it, MG_DROP_DEAD);
    else if (!t->rcvdata)
      mg_drop(it, MG_DROP_POLICY);
    else if ((err = t->rcvdata(h, it)) != 0)
      mg__add(e, &mg__xs(n)->errors, 1);
    break;
  }
  case MG_ITEM_MSG:
    mg__count(e->mt, &n->msgs, 1, MG_RELAXED);
    err = mg__apply_msg(n, h, it);
    break;
  case MG_ITEM_FN: {
    mg__count(e->mt, &n->fns, 1, MG_RELAXED);
    if (!mg_node_valid(n) && !(it->flags & MG_IF_STEP)) {
      fail_item(it, err = -ENOENT, "is shut down");
      break;
    }
    mg_clearerr();
    err = it->u.f.fn(n, h, it->u.f.arg, it->u.f.arg2);
    if (err) mg__add(e, &mg__xs(n)->errors, 1);
    if (it->rec) mg__rec_finish(it, err);
    mg__item_end(it);
    break;
  }
  }
  tl_depth--;
  tl_item = saved;
  tl_ttl = saved_ttl;
  if (refs) {
    if (h) mg__hook_unref(h);
    mg_node_unref(n);
  }
  return err;
}
/* }====================================================== */

/*
** {======================================================
** Queue, drain, work lists
** =======================================================
*/
/* Whether it needs n's writer lock at this hop: a message or function
** that changes n, or a type or hook that asks for one item at a time.
** Decided at every hop and kept nowhere: a packet that once crossed a
** writer-only node is a plain reader at the next. */
static inline bool needs_writer(const mg_node_t *n, const mg_hook_t *h,
                                const mg_item_t *it) {
  return (it->flags & MG_IF_WRITER) || (n->te->type->flags & MG_TF_FORCE_WRITER) ||
         (h && (atomic_load_explicit(&h->flags, MG_RELAXED) & MG_HF_FORCE_WRITER));
}

/* Queue it; *runnable says whether its node could run it now, and the
** caller then drains or schedules the node. */
static int enqueue(mg_node_t *n, mg_hook_t *h, mg_item_t *it, bool *runnable) {
  mg_engine_t *e = n->eng;
  *runnable = false;
  bool mt = e->mt;
  it->node = n;
  it->hook = h;
  if (it->kind == MG_ITEM_DATA) {
    if ((uint64_t)atomic_load_explicit(&e->qdata, MG_RELAXED) >= e->queue_limit) {
      mg_drop(it, MG_DROP_QFULL);
      return mg_error(-ENOBUFS, "queue limit of %u data items reached",
                      e->queue_limit);
    }
    mg_buf_own(it->u.buf); /* a lent buffer must outlive its lender */
  }
  if (!(it->flags & MG_IF_REFS)) {
    mg_node_ref(n);
    if (h) mg__hook_ref(h);
    it->flags |= MG_IF_REFS;
  }
  bool data = it->kind == MG_ITEM_DATA;
  mg_xstats_t *x = mg__xs(n);
  qlock(n);
  if (atomic_load_explicit(&n->flags, MG_RELAXED) & MG_NF_FLUSHED) {
    qunlock(n);
    if (it->flags & MG_IF_STEP) { /* a dead node still runs its topology steps */
      apply(n, h, it);
      return 0;
    }
    drop_undeliverable(it, MG_DROP_DEAD);
    return 0;
  }
  /* Count before the item is visible: once the lock is dropped another
  ** thread may run it, end it and reuse its memory. */
  mg__count(e->mt, &e->pending, 1, MG_ACQREL);
  mg__add(e, &x->queued, 1);
  if (data) {
    mg__count(e->mt, &e->qdata, 1, MG_ACQREL);
    mg__count(mt, &x->qdata, 1, MG_RELAXED);
  }
  if (n->qtail) {
    it->next = n->qtail->next;
    n->qtail->next = it;
  } else
    it->next = it;
  n->qtail = it;
  n->qlen++;
  lw_or(n, P, mt);
  mg_item_t *head = n->qtail->next;
  uint32_t cur = lw_load(n);
  *runnable = needs_writer(n, head->hook, head) ? (cur & ~P) == 0 : !(cur & W);
  /* Once the queue lock is dropped, another thread may run the item, then
  ** a shutdown behind it, and free n: the caller, who still has to drain
  ** or schedule n, keeps it alive until then. */
  if (*runnable) mg_node_ref(n);
  qunlock(n);
  return 0;
}

static void ring_push(mg_ring_t *r, mg_node_t *n) {
  if (r->n == r->cap) {
    uint32_t cap = r->cap ? r->cap * 2 : 256;
    mg_node_t **v = mg_alloc(cap * sizeof *v);
    for (uint32_t i = 0; i < r->n; i++) v[i] = r->v[(r->head + i) % r->cap];
    free(r->v);
    r->v = v;
    r->head = 0;
    r->cap = cap;
  }
  r->v[(r->head + r->n++) % r->cap] = n;
}

mg_node_t *mg__ring_pop(mg_ring_t *r) {
  if (!r->n) return NULL;
  mg_node_t *n = r->v[r->head];
  r->head = (r->head + 1) % r->cap;
  r->n--;
  return n;
}

/* The queue's length now, for counters read while workers run. */
uint32_t mg__qlen(mg_node_t *n) {
  qlock(n);
  uint32_t len = n->qlen;
  qunlock(n);
  return len;
}

/* Put n on a work list, once; the list holds a reference. */
void mg__schedule(mg_node_t *n) {
  mg_engine_t *e = n->eng;
  qlock(n);
  if (n->sched) {
    qunlock(n);
    return;
  }
  n->sched = 1;
  qunlock(n);
  mg_node_ref(n);
  if (!e->mt) {
    ring_push(&e->loopwork, n);
    mg__loop_kick(e);
    return;
  }
  pthread_mutex_lock(&e->wl_mu);
  if (loop_only(n)) {
    ring_push(&e->loopwork, n);
    pthread_mutex_unlock(&e->wl_mu);
    mg__loop_kick(e);
    return;
  }
  ring_push(&e->work, n);
  pthread_cond_signal(&e->wl_cv);
  pthread_mutex_unlock(&e->wl_mu);
}

/* Run queued items of n while the head can enter, up to budget. */
void mg__drain(mg_node_t *n, uint32_t budget) {
  mg_engine_t *e = n->eng;
  bool mt = e->mt;
  mg_node_ref(n); /* a shutdown among the items must not free n under us */
  while (budget) {
    qlock(n);
    mg_item_t *t = n->qtail;
    if (!t) {
      qunlock(n);
      break;
    }
    mg_item_t *it = t->next;
    bool w = needs_writer(n, it->hook, it);
    if (!try_enter_head(n, w, mt)) {
      qunlock(n); /* the holder drains when it leaves */
      break;
    }
    if (it == t) n->qtail = NULL;
    else t->next = it->next;
    n->qlen--;
    if (!n->qtail) lw_clear(n, P, mt);
    qunlock(n);
    mg__count(e->mt, &e->pending, -1, MG_ACQREL);
    if (it->kind == MG_ITEM_DATA) {
      mg__count(e->mt, &e->qdata, -1, MG_ACQREL);
      mg__count(mt, &mg__xs(n)->qdata, -1, MG_RELAXED);
    }
    apply(n, it->hook, it);
    lw_leave(n, w, mt);
    budget--;
  }
  if (!budget) {
    qlock(n);
    bool more = n->qtail != NULL;
    qunlock(n);
    if (more) mg__schedule(n);
  }
  mg_node_unref(n);
}

/* After leaving a node whose queue is not empty. */
static void after_leave(mg_node_t *n) {
  mg_engine_t *e = n->eng;
  if (tl_depth >= e->max_depth || (loop_only(n) && !mg_on_loop_thread(e)))
    mg__schedule(n);
  else
    mg__drain(n, e->budget);
}

void mg__unsched(mg_node_t *n) {
  qlock(n);
  n->sched = 0;
  qunlock(n);
}

bool mg__loop_drain(mg_engine_t *e, uint32_t budget) {
  bool ran = false;
  while (budget) {
    if (e->mt) pthread_mutex_lock(&e->wl_mu);
    mg_node_t *n = mg__ring_pop(&e->loopwork);
    if (e->mt) pthread_mutex_unlock(&e->wl_mu);
    if (!n) break;
    mg__unsched(n);
    mg__drain(n, e->budget);
    mg_node_unref(n);
    ran = true;
    budget--;
  }
  return ran;
}

/* Shutdown: nothing more may join the queue; what is in it ends now. */
void mg__flush_queue(mg_node_t *n) {
  mg_engine_t *e = n->eng;
  qlock(n);
  atomic_fetch_or(&n->flags, MG_NF_FLUSHED);
  mg_item_t *t = n->qtail;
  n->qtail = NULL;
  n->qlen = 0;
  lw_clear(n, P, e->mt);
  qunlock(n);
  if (!t) return;
  mg_item_t *it = t->next;
  t->next = NULL;
  while (it) {
    mg_item_t *next = it->next;
    mg__count(e->mt, &e->pending, -1, MG_ACQREL);
    if (it->kind == MG_ITEM_DATA) {
      mg__count(e->mt, &e->qdata, -1, MG_ACQREL);
      mg__count(e->mt, &mg__xs(n)->qdata, -1, MG_RELAXED);
    }
    if (it->flags & MG_IF_STEP) apply(n, it->hook, it); /* topology steps clean up */
    else drop_undeliverable(it, MG_DROP_DEAD);
    it = next;
  }
}
/* }====================================================== */

/*
** {======================================================
** Delivery
** =======================================================
*/
bool mg__enter(mg_node_t *n, bool w) { return try_enter(n, w, n->eng->mt); }

void mg__leave(mg_node_t *n, bool w) {
  if (lw_leave(n, w, n->eng->mt) & P) after_leave(n);
}

int mg__deliver(mg_node_t *n, mg_hook_t *h, mg_item_t *it) {
  mg_engine_t *e = n->eng;
  const mg_type_t *t = n->te->type;
  it->node = n;
  if (it->kind == MG_ITEM_DATA) {
    if (h) mg__add(e, &h->in, 1);
    else mg__add(e, &mg__xs(n)->in_direct, 1);
    if (it->ttl == 0) {
      mg_drop(it, MG_DROP_TTL);
      return mg_error(-ELOOP, "hop limit reached (a loop in the graph?)");
    }
    it->ttl--;
  }
  uint16_t nf = atomic_load_explicit(&n->flags, MG_RELAXED);
  if ((nf & MG_NF_INVALID) && !(it->flags & MG_IF_STEP)) {
    it->hook = h;
    drop_undeliverable(it, MG_DROP_DEAD);
    return -ENOENT;
  }
  bool w = needs_writer(n, h, it);
  bool mt = e->mt;
  bool could = !(it->flags & MG_IF_QUEUE) && tl_depth < e->max_depth &&
               !(h && (atomic_load_explicit(&h->flags, MG_RELAXED) & MG_HF_QUEUE)) &&
               (!(t->flags & MG_TF_LOOP_ONLY) || mg_on_loop_thread(e));
  if (could && try_enter(n, w, mt)) {
    if (w) mg_node_ref(n); /* a writer may shut n down */
    int err = apply(n, h, it);
    if (lw_leave(n, w, mt) & P) after_leave(n);
    if (w) mg_node_unref(n);
    return err;
  }
  /* It could have run here but for items queued before it (or a holder):
  ** it goes behind them, and if nobody holds the node the sender drains
  ** the queue now, as it would have run the item.  Left to the work list,
  ** a consumer behind a fast producer (a file source's bursts) would never
  ** catch up and every packet after the first would be copied. */
  bool runnable;
  int err = enqueue(n, h, it, &runnable);
  if (runnable) {
    if (could) {
      tl_depth++;
      mg__drain(n, e->budget); /* schedules n if it leaves some behind */
      tl_depth--;
    } else
      mg__schedule(n);
    mg_node_unref(n); /* enqueue's */
  }
  return err;
}

/* The data path, one hop: what a packet costs.  Anything out of the
** ordinary (a flag on the hook or type, a node going away, the depth or
** hop limit) takes the general road through mg__deliver.  It is written
** once and made twice, for one thread and for many, so that neither pays
** for the other's tests. */
static inline __attribute__((always_inline)) int
forward(mg_hook_t *out, mg_item_t *it, mg_hook_t *p, uint32_t hf,
        mg_engine_t *e, const bool mt) {
  mg_node_t *n = p->node;
  mg__count(mt, &out->out, 1, MG_RELAXED);
  if ((hf & (MG_HF_QUEUE | MG_HF_FORCE_WRITER | MG_HF_SLOW)) ||
      it->ttl == 0 || tl_depth >= e->max_depth ||
      (atomic_load_explicit(&n->flags, MG_RELAXED) & MG_NF_INVALID) ||
      (it->flags & MG_IF_QUEUE) || !try_enter(n, false, mt))
    return mg__deliver(n, p, it);
  mg__count(mt, &p->in, 1, MG_RELAXED);
  it->ttl--;
  it->node = n;
  it->hook = p;
  int err;
  /* Entered.  With other threads about, a writer that removed the hook
  ** just before we got in has left its mark. */
  if (mt && mg_unlikely(atomic_load_explicit(&p->flags, MG_RELAXED) & MG_HF_INVALID)) {
    mg_drop(it, MG_DROP_DEAD);
    err = -ENOTCONN;
  } else {
    int64_t saved_ttl = tl_ttl;
    tl_ttl = it->ttl;
    tl_depth++;
    err = n->te->type->rcvdata(p, it);
    tl_depth--;
    tl_ttl = saved_ttl;
    if (mg_unlikely(err)) mg__count(mt, &mg__xs(n)->errors, 1, MG_RELAXED);
  }
  if (lw_leave(n, false, mt) & P) after_leave(n);
  return err;
}

int mg_forward(mg_hook_t *out, mg_item_t *it) {
  mg_hook_t *p = out->peer;
  uint32_t hf = atomic_load_explicit(&p->flags, MG_RELAXED);
  if (mg_unlikely(hf & MG_HF_INVALID)) {
    it->node = out->node;
    mg_drop(it, MG_DROP_NOPEER);
    return mg_error(-ENOTCONN, "hook '%s' is not connected", out->name);
  }
  mg_engine_t *e = p->node->eng;
  return e->mt ? forward(out, it, p, hf, e, true)
               : forward(out, it, p, hf, e, false);
}

/* {====================================================== bursts */
/* Each item the general way, in order: what a burst is when it cannot
** enter as one. */
static unsigned deliver_each(mg_hook_t *out, mg_item_t **v, unsigned k,
                             mg_hook_t *p, bool mt) {
  unsigned failed = 0;
  mg__count(mt, &out->out, k, MG_RELAXED);
  for (unsigned i = 0; i < k; i++) failed += mg__deliver(p->node, p, v[i]) != 0;
  return failed;
}

/* The default for a type without rcvburst; a writer may shut its node
** down or cut the hook between two items, after which the rest are dead
** as each would have been at its own hop. */
static unsigned each_rcvdata(mg_node_t *n, mg_hook_t *p, mg_item_t **v,
                             unsigned k, bool w) {
  unsigned failed = 0;
  int (*rcvdata)(mg_hook_t *, mg_item_t *) = n->te->type->rcvdata;
  for (unsigned i = 0; i < k; i++) {
    if (w && (!mg_node_valid(n) ||
              (atomic_load_explicit(&p->flags, MG_RELAXED) & MG_HF_INVALID))) {
      mg_drop(v[i], MG_DROP_DEAD);
      failed++;
      continue;
    }
    tl_ttl = v[i]->ttl;
    failed += rcvdata(p, v[i]) != 0;
  }
  return failed;
}

/* At most MG_BURST items over one edge: entered once when every item
** could have entered inline by itself, else each on its own. */
static inline __attribute__((always_inline)) unsigned
forward_burst(mg_hook_t *out, mg_item_t **v, unsigned k,
              mg_hook_t *p, uint32_t hf, mg_engine_t *e, const bool mt) {
  mg_node_t *n = p->node;
  const mg_type_t *t = n->te->type;
  uint32_t minttl = UINT32_MAX;
  uint8_t iflags = 0;
  for (unsigned i = 0; i < k; i++) {
    if (v[i]->ttl < minttl) minttl = v[i]->ttl;
    iflags |= v[i]->flags;
  }
  bool w = (t->flags & MG_TF_FORCE_WRITER) || (hf & MG_HF_FORCE_WRITER);
  if ((hf & MG_HF_QUEUE) || minttl == 0 || (iflags & MG_IF_QUEUE) || !t->rcvdata ||
      tl_depth >= e->max_depth ||
      (atomic_load_explicit(&n->flags, MG_RELAXED) & MG_NF_INVALID) ||
      ((t->flags & MG_TF_LOOP_ONLY) && !mg_on_loop_thread(e)) || !try_enter(n, w, mt))
    return deliver_each(out, v, k, p, mt);
  mg__count(mt, &out->out, k, MG_RELAXED);
  mg__count(mt, &p->in, k, MG_RELAXED);
  for (unsigned i = 0; i < k; i++) {
    v[i]->ttl--;
    v[i]->node = n;
    v[i]->hook = p;
  }
  if (w) mg_node_ref(n); /* a writer may shut n down */
  unsigned failed;
  if (mt && mg_unlikely(atomic_load_explicit(&p->flags, MG_RELAXED) & MG_HF_INVALID)) {
    for (unsigned i = 0; i < k; i++) mg_drop(v[i], MG_DROP_DEAD);
    mg_error(-ENOTCONN, "hook '%s' is not connected", p->name);
    failed = k;
  } else {
    int64_t saved_ttl = tl_ttl;
    tl_depth++;
    if (t->rcvburst) {
      tl_ttl = minttl - 1; /* new items inherit the fewest hops of the burst */
      int r = t->rcvburst(p, v, k);
      failed = r > 0 ? (unsigned)r : 0;
    } else
      failed = each_rcvdata(n, p, v, k, w);
    tl_depth--;
    tl_ttl = saved_ttl;
    if (mg_unlikely(failed)) mg__count(mt, &mg__xs(n)->errors, failed, MG_RELAXED);
  }
  if (lw_leave(n, w, mt) & P) after_leave(n);
  if (w) mg_node_unref(n);
  return failed;
}

int mg_forward_burst(mg_hook_t *out, mg_item_t **v, unsigned n) {
  mg_hook_t *p = out->peer;
  uint32_t hf = atomic_load_explicit(&p->flags, MG_RELAXED);
  if (mg_unlikely(hf & MG_HF_INVALID)) {
    for (unsigned i = 0; i < n; i++) {
      v[i]->node = out->node;
      mg_drop(v[i], MG_DROP_NOPEER);
    }
    if (n) mg_error(-ENOTCONN, "hook '%s' is not connected", out->name);
    return (int)n;
  }
  mg_engine_t *e = p->node->eng;
  unsigned failed = 0;
  for (unsigned i = 0; i < n; i += MG_BURST) {
    unsigned k = n - i < MG_BURST ? n - i : MG_BURST;
    failed += e->mt ? forward_burst(out, v + i, k, p, hf, e, true)
                    : forward_burst(out, v + i, k, p, hf, e, false);
  }
  return (int)failed;
}

void mg_consume_burst(mg_item_t **v, unsigned n) {
  if (!n) return;
  mg__add(v[0]->node->eng, &mg__xs(v[0]->node)->consumed, n);
  for (unsigned i = 0; i < n; i++) mg__item_end(v[i]);
}
/* }====================================================== */

mg_item_t *mg_data_new(mg_node_t *n, mg_buf_t *b) {
  mg_item_t *it = mg__item_get();
  it->kind = MG_ITEM_DATA;
  it->node = n;
  it->ttl = tl_ttl >= 0 ? (uint32_t)tl_ttl : n->eng->ttl;
  it->u.buf = b;
  mg__add(n->eng, &mg__xs(n)->made, 1);
  return it;
}

/* A copy shares the packet and its lineage's budget of copies; past the
** budget the copy is born with no hops left and dies at its first hop,
** counted as a loop. */
mg_item_t *mg_item_dup(mg_item_t *it) {
  mg_engine_t *e = it->node->eng;
  mg_lineage_t *l = it->lin;
  if (!l) { /* the first copy: an item's slot, from the same pool */
    _Static_assert(sizeof(mg_lineage_t) <= sizeof(mg_item_t), "lineage");
    l = (mg_lineage_t *)(void *)mg__item_get();
    atomic_store_explicit(&l->refs, 1, MG_RELAXED);
    atomic_store_explicit(&l->left, e->fanout, MG_RELAXED);
    it->lin = l;
  }
  bool ok = lineage_take(l, e->mt);
  mg_buf_ref(it->u.buf);
  mg_item_t *c = mg_data_new(it->node, it->u.buf);
  c->lin = l;
  c->ttl = ok ? it->ttl : 0;
  c->tag = it->tag;
  return c;
}

mg_buf_t *mg_item_buf(mg_item_t *it) {
  return it->kind == MG_ITEM_DATA ? it->u.buf : NULL;
}
mg_node_t *mg_item_node(const mg_item_t *it) { return it->node; }
uint32_t mg_item_tag(const mg_item_t *it) { return it->tag; }
void mg_item_settag(mg_item_t *it, uint32_t tag) { it->tag = tag; }
mg_hook_t *mg_item_hook(const mg_item_t *it) { return it->hook; }

mg_buf_t *mg_item_writable(mg_item_t *it) {
  mg_buf_t *b = it->u.buf;
  if (atomic_load_explicit(&b->refs, MG_ACQUIRE) > 1) {
    mg_buf_t *c = mg_buf_copy(b);
    mg_buf_unref(b);
    it->u.buf = b = c;
  } else
    mg_buf_own(b);
  return b;
}

int mg__send_fn_full(mg_node_t *n, mg_hook_t *h, mg_fn_t fn, mg_rel_t rel,
                     void *arg, intptr_t arg2, unsigned flags, mg_rec_t *rec) {
  mg_item_t *it = mg__item_get();
  it->kind = MG_ITEM_FN;
  it->ttl = tl_ttl >= 0 ? (uint32_t)tl_ttl + 1 : 0; /* see tl_ttl */
  it->u.f.fn = fn;
  it->u.f.rel = rel;
  it->u.f.arg = arg;
  it->u.f.arg2 = arg2;
  if (!(flags & MG_READER)) it->flags |= MG_IF_WRITER;
  if (flags & MG_QUEUE) it->flags |= MG_IF_QUEUE;
  if (flags & MG__STEP) it->flags |= MG_IF_STEP;
  if (rec) mg__rec_attach(rec, it);
  return mg__deliver(n, h, it);
}

int mg__send_fn_rec(mg_node_t *n, mg_hook_t *h, mg_fn_t fn, void *arg,
                    intptr_t arg2, unsigned flags, mg_rec_t *rec) {
  return mg__send_fn_full(n, h, fn, NULL, arg, arg2, flags, rec);
}

int mg_send_fn(mg_node_t *n, mg_hook_t *h, mg_fn_t fn, void *arg,
               intptr_t arg2, unsigned flags) {
  return mg__send_fn_full(n, h, fn, NULL, arg, arg2, flags, NULL);
}

int mg_send_fn_rel(mg_node_t *n, mg_hook_t *h, mg_fn_t fn, mg_rel_t rel,
                   void *arg, intptr_t arg2, unsigned flags) {
  return mg__send_fn_full(n, h, fn, rel, arg, arg2, flags, NULL);
}
/* }====================================================== */
