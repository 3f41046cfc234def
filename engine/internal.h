/*
** internal.h -- the engine's private structures, shared by the engine's own files only.
*/
#ifndef MG_INTERNAL_H
#define MG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <uv.h>

#include "moongraph.h"

/* Thread-locals on the data path: the initial-exec model is a plain
** %fs-relative load, where the default for PIC code is a function call. */
#define MG_TLS _Thread_local __attribute__((tls_model("initial-exec")))

#define MG_RELAXED memory_order_relaxed
#define MG_ACQUIRE memory_order_acquire
#define MG_RELEASE memory_order_release
#define MG_ACQREL memory_order_acq_rel

/* Preconditions on lock words and reference counts, checked in debug and
** sanitizer builds (Lua's api_check, netgraph's KASSERT). */
#ifdef MG_ASSERTS
#include <stdio.h>
#include <stdlib.h>
#define MG_ASSERT(c, msg)                                                  \
  do {                                                                     \
    if (!(c)) {                                                            \
      fprintf(stderr, "%s:%d: assertion failed: %s (%s)\n", __FILE__,      \
              __LINE__, msg, #c);                                          \
      abort();                                                             \
    }                                                                      \
  } while (0)
#else
#define MG_ASSERT(c, msg) ((void)0)
#endif

/*
** {======================================================
** The lock word (docs/design.md §2 rule 2): bit 0 a writer is inside, bit 1 the
** queue is not empty, the rest counts readers inside.
** =======================================================
*/
#define MG_LW_WRITER 1u
#define MG_LW_PENDING 2u
#define MG_LW_READER 4u

enum { /* node flags */
  MG_NF_INVALID = 1, /* shutting down or gone: lookups skip it */
  MG_NF_CLOSING = 2, /* shutdown sequence running */
  MG_NF_FLUSHED = 4, /* queue flushed: nothing may be queued any more */
  MG_NF_PUBLIC = 8,  /* in the id table */
  MG_NF_TYPE0 = 0x100 /* 0x100..0x800: the node type's own (public) */
};

enum { /* hook flags: the engine's half of the word (MG_HF_QUEUE and
       ** MG_HF_FORCE_WRITER, the node types' half, are in moongraph.h) */
  MG_HF_INVALID = 0x100,
  MG_HF_DEAD = 0x200,    /* the sentinel */
  MG_HF_LINKED = 0x400,  /* on its node's list */
  MG_HF_BYPASS = 0x800,  /* being spliced out: its peer is not told */
  MG_HF_SLOW = 0x1000    /* its node's type needs the general road */
};

enum { MG__STEP = 0x100 }; /* send flag: a topology step (hook.c), see MG_IF_STEP */

typedef struct mg_tent { /* a registered type */
  const mg_type_t *type;
  _Atomic uint32_t count; /* live nodes */
  struct mg_tent *next;
} mg_tent_t;

typedef struct mg_xstats { /* counters a node allocates on first use */
  _Atomic uint64_t in_direct, made, consumed;
  _Atomic uint64_t drops[MG_DROP_MAX];
  _Atomic uint64_t queued, errors;
  _Atomic uint64_t gone_in, gone_out; /* from hooks already removed */
  _Atomic uint32_t qdata;
} mg_xstats_t;

struct mg_node {
  _Atomic uint32_t word;
  _Atomic uint32_t refs;
  uint32_t id;
  _Atomic uint16_t flags;
  _Atomic uint8_t qlock; /* spin lock over the queue and sched */
  uint8_t sched;         /* on a work list */
  mg_item_t *qtail;      /* circular FIFO: qtail->next is the head */
  mg_tent_t *te;
  mg_engine_t *eng;
  char *name;
  mg_hook_t *hooks;
  mg_node_t *idnext;
  _Atomic(mg_xstats_t *) xs;
  uint32_t nhooks, qlen;
  /* control items run here; in the node itself so that an idle node that
  ** was only configured needs no counter block */
  _Atomic uint32_t msgs, fns;
  _Alignas(16) unsigned char priv[];
};

struct mg_hook {
  mg_node_t *node;
  mg_hook_t *peer; /* changed only under node's writer lock */
  mg_hook_t *next;
  const char *name; /* interned by the engine */
  _Atomic uint32_t refs;
  _Atomic uint32_t flags;
  void *priv;
  _Atomic uint64_t in, out;
};

/* What a mg_callout_t holds; the public type is as large, and opaque. */
typedef struct mg_callout_s {
  mg_node_t *node;
  mg_fn_t fn;
  void *arg;
  intptr_t arg2;
  int64_t when;
  uint64_t gen;
  int32_t slot;              /* heap index, -1 when not armed */
  _Atomic uint32_t inflight; /* firings not yet ended, | 1<<31 once freed */
  void (*fin)(mg_callout_t *); /* set by mg_callout_free */
} mg_callout_s;
_Static_assert(sizeof(mg_callout_s) <= sizeof(mg_callout_t), "mg_callout_t");

extern mg_node_t mg__deadnode;
extern mg_hook_t mg__deadhook;
/* }====================================================== */

/*
** {======================================================
** Items.
** =======================================================
*/
enum { MG_ITEM_DATA, MG_ITEM_MSG, MG_ITEM_FN };
enum { /* item flags */
  MG_IF_WRITER = 1,  /* a message or function that changes its node */
  MG_IF_QUEUE = 2,
  MG_IF_REFS = 4,    /* holds references on node and hook */
  MG_IF_STEP = 8     /* a topology step: runs even on a node shut down */
};

/* The copies made from one data item share one of these, so that a graph
** that multiplies items (hubs in a ring) stops at a bound of copies, not
** of hops only: 2^ttl is no bound. */
typedef struct mg_lineage {
  _Atomic uint32_t refs; /* items carrying it */
  _Atomic uint32_t left; /* copies it may still make */
} mg_lineage_t;

struct mg_item {
  mg_item_t *next;
  mg_node_t *node; /* where it is (destination, then current) */
  mg_hook_t *hook; /* arrival hook or NULL */
  mg_rec_t *rec;
  mg_lineage_t *lin; /* data: shared with its copies, from the first one */
  uint32_t ttl;
  uint32_t tag; /* data: mg_item_tag, 0 when none */
  uint8_t kind, flags;
  union {
    mg_buf_t *buf;
    struct { mg_msg_t *msg; uint32_t from; } m;
    struct { mg_fn_t fn; mg_rel_t rel; void *arg; intptr_t arg2; } f;
  } u;
};

mg_item_t *mg__item_get(void);
void mg__item_put(mg_item_t *it);
void mg__buf_put(mg_buf_t *b);
/* }====================================================== */

/*
** {======================================================
** Completion records.
** =======================================================
*/
struct mg_rec {
  _Atomic int refs; /* memory: creator + one while ops > 0 */
  _Atomic int ops;  /* items still carrying it */
  _Atomic int done;
  _Atomic int attached; /* some item carried it: it will complete */
  int err;
  char msg[256];
  mg_value_t *reply;
  mg_engine_t *eng;
  mg_rec_cb cb;
  void *cbarg;
  pthread_mutex_t mu; /* err/msg/reply */
};
void mg__rec_attach(mg_rec_t *r, mg_item_t *it);
/* The item is finished with err (0 = ok); detaches the record. */
void mg__rec_finish(mg_item_t *it, int err);
void mg__rec_set_reply(mg_rec_t *r, mg_value_t *v);
bool mg__rec_attached(const mg_rec_t *r);
/* }====================================================== */

/*
** {======================================================
** The engine.
** =======================================================
*/
typedef struct mg_post { /* a closure posted to the loop thread */
  void (*fn)(void *);
  void *arg;
  struct mg_post *next;
} mg_post_t;

typedef struct mg_ring { /* a FIFO of nodes */
  mg_node_t **v;
  uint32_t head, n, cap;
} mg_ring_t;

struct mg_engine {
  bool mt; /* workers exist: atomics on the hot path */
  int nworkers;
  uint32_t ttl, max_depth, budget, queue_limit, fanout;
  int clock;
  pthread_t loop_tid;

  /* topology: id and name tables, hook lists, hook name interning */
  pthread_mutex_t topo;
  mg_node_t **idtab;
  uint32_t idmask, nnodes, next_id;
  struct mg_name **ntab;
  uint32_t nmask, nnamed;
  char **interned;
  uint32_t imask, ninterned;
  mg_tent_t *types;

  /* hooks come from slabs of their own: no malloc overhead per hook */
  pthread_mutex_t hk_mu;
  void *hk_free;
  void **hk_slabs;
  size_t hk_nslabs, hk_cap;

  /* work lists */
  pthread_mutex_t wl_mu;
  pthread_cond_t wl_cv;
  mg_ring_t work;      /* for workers */
  mg_ring_t loopwork;  /* for the loop thread */
  pthread_t *workers;
  bool wl_stop;
  _Atomic int64_t pending; /* queued items + drains running on workers */
  _Atomic int active;      /* drains running on workers */
  _Atomic int64_t qdata;   /* queued data items, for queue_limit */
  pthread_mutex_t wake_mu; /* loop-thread waiters (mg_rec_wait) */
  pthread_cond_t wake_cv;
  uint64_t wake_gen;

  /* the loop */
  uv_loop_t *loop, own_loop;
  uv_async_t async;
  uv_idle_t idle;
  uv_timer_t timer;    /* the earliest wall-clock callout */
  uv_timer_t runtimer; /* MG_RUN_FOR */
  bool idle_on, running;
  _Atomic int stop;
  _Atomic int holds;
  struct sig *sigs;
  pthread_mutex_t post_mu;
  mg_post_t *posts, **posttail;

  /* time */
  _Atomic int64_t vnow;     /* the virtual clock */
  _Atomic int64_t next_due; /* earliest callout, INT64_MAX when none */
  pthread_mutex_t tm_mu;
  mg_callout_s **heap;
  uint32_t nheap, heapcap;

  mg_log_fn logfn;
  void *logarg;
  _Atomic uint64_t drops[MG_DROP_MAX]; /* drops with no node to count on */
  bool freeing;
};

/* Counters, of any width: plain loads and stores with one thread, atomic
** read-modify-writes with workers.  order is MG_RELAXED for statistics,
** MG_ACQREL for the counts that decide whether the engine is idle. */
#define mg__count(mt, c, v, order)                                         \
  do {                                                                     \
    if (mt) atomic_fetch_add_explicit((c), (v), (order));                  \
    else atomic_store_explicit((c), atomic_load_explicit((c), MG_RELAXED) + (v), \
                               MG_RELAXED);                                \
  } while (0)

static inline void mg__add(const mg_engine_t *e, _Atomic uint64_t *c,
                           uint64_t v) {
  mg__count(e->mt, c, v, MG_RELAXED);
}

mg_xstats_t *mg__xs_alloc(mg_node_t *n);
static inline mg_xstats_t *mg__xs(mg_node_t *n) {
  mg_xstats_t *x = atomic_load_explicit(&n->xs, MG_ACQUIRE);
  return x ? x : mg__xs_alloc(n);
}
void mg__count_drop(mg_node_t *n, mg_drop_t why);

/* dispatch.c */
int mg__deliver(mg_node_t *n, mg_hook_t *h, mg_item_t *it);
void mg__drain(mg_node_t *n, uint32_t budget);
void mg__schedule(mg_node_t *n);
uint32_t mg__qlen(mg_node_t *n);
bool mg__loop_drain(mg_engine_t *e, uint32_t budget);
mg_node_t *mg__ring_pop(mg_ring_t *r);
void mg__unsched(mg_node_t *n); /* taken off a work list: may go on again */
void mg__flush_queue(mg_node_t *n);
void mg__item_end(mg_item_t *it); /* release refs and return to pool */
uint32_t mg__depth(void);
mg_rec_t *mg__current_rec(void);
mg_item_t *mg__current_item(void);

/* worker.c */
int mg__workers_start(mg_engine_t *e);
void mg__workers_stop(mg_engine_t *e);
void mg__wake_waiters(mg_engine_t *e);

/* loop.c */
int mg__loop_init(mg_engine_t *e, void *loop);
void mg__loop_close(mg_engine_t *e);
void mg__loop_kick(mg_engine_t *e); /* loop work was added */
void mg__timer_rearm(mg_engine_t *e);

/* node.c, hook.c */
mg_node_t *mg__node_alloc(mg_engine_t *e, mg_tent_t *te);
void mg__node_publish(mg_node_t *n);
void mg__node_free(mg_node_t *n);
int mg__rmnode(mg_node_t *n);
int mg__set_name(mg_node_t *n, const char *name);
int mg__check_name(const char *what, const char *name);
bool mg__is_idname(const char *name); /* "[1f]": an id, not a name */
mg_tent_t *mg__tent_find(mg_engine_t *e, const char *name);
mg_hook_t *mg__hook_new(mg_node_t *n, const char *name);
void mg__hook_link(mg_node_t *n, mg_hook_t *h);
void mg__hook_ref(mg_hook_t *h);
void mg__hook_unref(mg_hook_t *h);
void mg__hook_destroy(mg_hook_t *h, bool notify);
int mg__hook_addcheck(mg_node_t *n, const char *name);
int mg__connect_start(mg_node_t *a, mg_node_t *b, const char *ha,
                      const char *hb);
int mg__send_fn_rec(mg_node_t *n, mg_hook_t *h, mg_fn_t fn, void *arg,
                    intptr_t arg2, unsigned flags, mg_rec_t *rec);
int mg__send_fn_full(mg_node_t *n, mg_hook_t *h, mg_fn_t fn, mg_rel_t rel,
                     void *arg, intptr_t arg2, unsigned flags, mg_rec_t *rec);
bool mg__enter(mg_node_t *n, bool writer);
void mg__leave(mg_node_t *n, bool writer);
int mg__mkpeer(mg_node_t *a, const char *type, const char *ha,
               const char *hb);
void mg__hooks_free(mg_engine_t *e);
const char *mg__intern(mg_engine_t *e, const char *s);
void mg__intern_free(mg_engine_t *e);
void mg__node_describe(mg_node_t *n, char *buf, size_t len); /* 'x' [5] (tee) */
/* mg_error with the message "node 'x' [5] (tee) " + fmt. */
int mg__node_error(mg_node_t *n, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int mg__rmnode_fn(mg_node_t *n, mg_hook_t *h, void *a, intptr_t b);
mg_node_t *mg__id_lookup(mg_engine_t *e, uint32_t id); /* caller holds topo */

/* FNV-1a, for the engine's name tables. */
static inline uint32_t mg__hashstr(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

/* generic.c */
int mg__generic(mg_node_t *n, mg_msg_t *m, mg_hook_t *lasthook,
                mg_value_t **reply);
mg_value_t *mg__nodeinfo(mg_node_t *n);

/* msg path: deliver a message item and route its reply */
int mg__send_msg(mg_node_t *to, mg_hook_t *lasthook, mg_msg_t *m,
                 uint32_t from, mg_rec_t *rec, unsigned flags);
int mg__apply_msg(mg_node_t *n, mg_hook_t *h, mg_item_t *it);

/* timer.c */
void mg__timers_fire(mg_engine_t *e, int64_t now);
void mg__timers_free(mg_engine_t *e);

/* ctl.c */
extern const mg_type_t mg__ctl_type;

/* addr.c */
int mg__addr_check(const char *path);
/* }====================================================== */

#endif
