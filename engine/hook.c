/*
** hook.c -- hooks and the topology steps that join and part them.
**
** A hook's peer pointer is changed only by its own node, under that node's
** writer lock (and topo, so that address walks may read it).  A sender that
** holds its node's lock can therefore follow h->peer without taking any
** reference: the peer link itself holds one on the peer hook, which holds
** one on its node.  Every change that touches two nodes is a chain of
** function items, one writer step per node, never two locks at once
** (docs/design.md §2 rule 8); each step copes with its node having died meanwhile.
*/
#include <stdlib.h>
#include <string.h>

#include "internal.h"

mg_node_t mg__deadnode = {.flags = MG_NF_INVALID | MG_NF_CLOSING,
                          .refs = 1u << 30};
mg_hook_t mg__deadhook = {.node = &mg__deadnode, .peer = &mg__deadhook,
                          .name = "(dead)", .refs = 1u << 30,
                          .flags = MG_HF_INVALID | MG_HF_DEAD};

#define DEAD (&mg__deadhook)

/*
** {======================================================
** Allocation and interned names
** =======================================================
*/
static mg_hook_t *hook_alloc(mg_engine_t *e) {
  pthread_mutex_lock(&e->hk_mu);
  if (!e->hk_free) {
    enum { PER = 64 };
    mg_hook_t *slab = mg_alloc(PER * sizeof *slab);
    if (e->hk_nslabs == e->hk_cap) {
      e->hk_cap = e->hk_cap ? e->hk_cap * 2 : 64;
      e->hk_slabs = mg_realloc(e->hk_slabs, e->hk_cap * sizeof(void *));
    }
    e->hk_slabs[e->hk_nslabs++] = slab;
    for (int i = PER; i-- > 0;) {
      *(void **)&slab[i] = e->hk_free;
      e->hk_free = &slab[i];
    }
  }
  mg_hook_t *h = e->hk_free;
  e->hk_free = *(void **)h;
  pthread_mutex_unlock(&e->hk_mu);
  memset(h, 0, sizeof *h);
  return h;
}

static void hook_release(mg_engine_t *e, mg_hook_t *h) {
  pthread_mutex_lock(&e->hk_mu);
  *(void **)h = e->hk_free;
  e->hk_free = h;
  pthread_mutex_unlock(&e->hk_mu);
}

void mg__hooks_free(mg_engine_t *e) {
  for (size_t i = 0; i < e->hk_nslabs; i++) free(e->hk_slabs[i]);
  free(e->hk_slabs);
  e->hk_slabs = NULL;
  e->hk_free = NULL;
  e->hk_nslabs = e->hk_cap = 0;
}

/* Hook names repeat (left, right, in, out): one copy each per engine. */
const char *mg__intern(mg_engine_t *e, const char *s) {
  pthread_mutex_lock(&e->topo);
  if (e->ninterned * 2 >= e->imask) {
    uint32_t size = e->interned ? (e->imask + 1) * 2 : 64;
    char **t = mg_calloc(size, sizeof *t);
    for (uint32_t i = 0; e->interned && i <= e->imask; i++)
      if (e->interned[i]) {
        uint32_t j = mg__hashstr(e->interned[i]) & (size - 1);
        while (t[j]) j = (j + 1) & (size - 1);
        t[j] = e->interned[i];
      }
    free(e->interned);
    e->interned = t;
    e->imask = size - 1;
  }
  uint32_t j = mg__hashstr(s) & e->imask;
  while (e->interned[j] && strcmp(e->interned[j], s) != 0)
    j = (j + 1) & e->imask;
  if (!e->interned[j]) {
    e->interned[j] = mg_strdup(s);
    e->ninterned++;
  }
  const char *r = e->interned[j];
  pthread_mutex_unlock(&e->topo);
  return r;
}

void mg__intern_free(mg_engine_t *e) {
  for (uint32_t i = 0; e->interned && i <= e->imask; i++) free(e->interned[i]);
  free(e->interned);
  e->interned = NULL;
}
/* }====================================================== */

/*
** {======================================================
** Hooks
** =======================================================
*/
mg_hook_t *mg__hook_new(mg_node_t *n, const char *name) {
  mg_hook_t *h = hook_alloc(n->eng);
  h->node = n;
  mg_node_ref(n);
  h->peer = DEAD;
  h->name = mg__intern(n->eng, name);
  atomic_store(&h->refs, 1); /* its node's list */
  const mg_type_t *t = n->te->type;
  bool slow = (t->flags & (MG_TF_FORCE_WRITER | MG_TF_LOOP_ONLY)) || !t->rcvdata;
  atomic_store(&h->flags, MG_HF_INVALID | (slow ? MG_HF_SLOW : 0));
  return h;
}

void mg__hook_ref(mg_hook_t *h) {
  if (h == DEAD) return;
  if (h->node->eng->mt) atomic_fetch_add_explicit(&h->refs, 1, MG_RELAXED);
  else atomic_store_explicit(&h->refs, atomic_load_explicit(&h->refs, MG_RELAXED) + 1, MG_RELAXED);
}

/* The last reference folds the hook's counters into its node, so that
** nothing counted on it is lost (items in flight hold references). */
void mg__hook_unref(mg_hook_t *h) {
  if (h == DEAD) return;
  mg_node_t *n = h->node;
  if (n->eng->mt) {
    if (atomic_fetch_sub_explicit(&h->refs, 1, MG_ACQREL) != 1) return;
  } else {
    uint32_t left = atomic_load_explicit(&h->refs, MG_RELAXED) - 1;
    atomic_store_explicit(&h->refs, left, MG_RELAXED);
    if (left) return;
  }
  mg_xstats_t *x = mg__xs(n);
  atomic_fetch_add(&x->gone_in, atomic_load(&h->in));
  atomic_fetch_add(&x->gone_out, atomic_load(&h->out));
  hook_release(n->eng, h);
  mg_node_unref(n);
}

void mg_hook_ref(mg_hook_t *h) { mg__hook_ref(h); }
void mg_hook_unref(mg_hook_t *h) { mg__hook_unref(h); }

void mg__hook_link(mg_node_t *n, mg_hook_t *h) {
  pthread_mutex_lock(&n->eng->topo);
  mg_hook_t **pp = &n->hooks;
  while (*pp) pp = &(*pp)->next;
  *pp = h;
  h->next = NULL;
  n->nhooks++;
  atomic_fetch_or(&h->flags, MG_HF_LINKED);
  pthread_mutex_unlock(&n->eng->topo);
}

static void set_peer(mg_hook_t *h, mg_hook_t *p) {
  pthread_mutex_lock(&h->node->eng->topo);
  h->peer = p;
  pthread_mutex_unlock(&h->node->eng->topo);
}

/* A name the node may take for a new hook. */
int mg__hook_addcheck(mg_node_t *n, const char *name) {
  int rc = mg__check_name("hook name", name);
  if (rc) return rc;
  if (mg_node_hook(n, name))
    return mg__node_error(n, -EEXIST, "already has a hook '%s'", name);
  return 0;
}

mg_hook_t *mg_node_hook(mg_node_t *n, const char *name) {
  for (mg_hook_t *h = n->hooks; h; h = h->next)
    if (strcmp(h->name, name) == 0) return h;
  return NULL;
}

mg_hook_t *mg_node_hooks(mg_node_t *n) { return n->hooks; }
mg_hook_t *mg_hook_next(mg_hook_t *h) { return h->next; }
const char *mg_hook_name(const mg_hook_t *h) { return h->name; }
mg_node_t *mg_hook_node(const mg_hook_t *h) { return h->node; }
mg_hook_t *mg_hook_peer(const mg_hook_t *h) { return h->peer; }
void *mg_hook_priv(const mg_hook_t *h) { return h->priv; }
void mg_hook_set_priv(mg_hook_t *h, void *p) { h->priv = p; }
bool mg_hook_connected(const mg_hook_t *h) {
  return h->peer != DEAD && !(atomic_load(&h->flags) & MG_HF_INVALID);
}
void mg_hook_set_flags(mg_hook_t *h, unsigned f) {
  atomic_fetch_or(&h->flags, f & (MG_HF_QUEUE | MG_HF_FORCE_WRITER));
}

static int unlink_peer_fn(mg_node_t *n, mg_hook_t *unused, void *arg,
                          intptr_t arg2);

/* Remove h from its node (under that node's writer lock).  With notify,
** the peer's node is told to remove its half in a step of its own. */
void mg__hook_destroy(mg_hook_t *h, bool notify) {
  uint32_t f = atomic_fetch_or(&h->flags, MG_HF_INVALID);
  if (!(f & MG_HF_LINKED)) return;
  mg_node_t *n = h->node;
  mg_engine_t *e = n->eng;
  MG_ASSERT(atomic_load(&n->word) & MG_LW_WRITER,
            "a hook removed without its node's writer lock");
  pthread_mutex_lock(&e->topo);
  mg_hook_t **pp = &n->hooks;
  while (*pp != h) pp = &(*pp)->next;
  *pp = h->next;
  n->nhooks--;
  atomic_fetch_and(&h->flags, ~(uint32_t)MG_HF_LINKED);
  mg_hook_t *p = h->peer;
  h->peer = DEAD;
  pthread_mutex_unlock(&e->topo);
  if (p != DEAD) {
    if (notify && !(f & MG_HF_BYPASS)) { /* p's link ref moves to the item */
      mg__hook_ref(h);
      /* on the asker's record, as connect's steps are: rmhook and shutdown
      ** answer once the peer's half is gone too, so a list made next
      ** shows the peer's hooks as they are */
      mg__send_fn_rec(p->node, NULL, unlink_peer_fn, p, (intptr_t)h,
                      MG_QUEUE | MG__STEP, mg__current_rec());
    } else
      mg__hook_unref(p);
  }
  const mg_type_t *t = n->te->type;
  if (t->disconnect) t->disconnect(h);
  mg__hook_unref(h);
}

/* On p's node: remove p if it still points at h. */
static int unlink_peer_fn(mg_node_t *n, mg_hook_t *unused, void *arg,
                          intptr_t arg2) {
  (void)n; (void)unused;
  mg_hook_t *p = arg, *h = (mg_hook_t *)arg2;
  if ((atomic_load(&p->flags) & MG_HF_LINKED) && p->peer == h)
    mg__hook_destroy(p, false);
  mg__hook_unref(p);
  mg__hook_unref(h);
  return 0;
}
/* }====================================================== */

/*
** {======================================================
** Connect: three steps, A then B then A (netgraph's ng_con_nodes).
** =======================================================
*/
static int connect_abort_fn(mg_node_t *a, mg_hook_t *u, void *arg,
                            intptr_t arg2) {
  (void)a; (void)u; (void)arg2;
  mg_hook_t *ha = arg;
  if ((atomic_load(&ha->flags) & MG_HF_LINKED) && ha->peer == DEAD)
    mg__hook_destroy(ha, false);
  mg__hook_unref(ha);
  return 0;
}

static int connect_step3_fn(mg_node_t *a, mg_hook_t *u, void *arg,
                            intptr_t arg2) {
  (void)u;
  mg_hook_t *ha = arg, *hb = (mg_hook_t *)arg2;
  if (!(atomic_load(&ha->flags) & MG_HF_LINKED) || !mg_node_valid(a)) {
    /* A left while B joined: B must not keep pointing at us */
    mg__send_fn_rec(hb->node, NULL, unlink_peer_fn, hb, (intptr_t)ha,
                    MG_QUEUE | MG__STEP, NULL);
    return mg__node_error(a, -ENOENT, "shut down during connect");
  }
  set_peer(ha, hb); /* the item's reference on hb becomes the link's */
  const mg_type_t *t = a->te->type;
  int rc = t->connect ? t->connect(ha) : 0;
  if (rc) {
    mg__hook_destroy(ha, true);
  } else
    atomic_fetch_and(&ha->flags, ~(uint32_t)MG_HF_INVALID);
  mg__hook_unref(ha);
  return rc;
}

static int connect_step2_fn(mg_node_t *b, mg_hook_t *u, void *arg,
                            intptr_t arg2) {
  (void)u;
  mg_hook_t *ha = arg;
  const char *hbname = (const char *)arg2;
  mg_rec_t *rec = mg__current_rec();
  int rc;
  if (!(atomic_load(&ha->flags) & MG_HF_LINKED)) { /* A gave up */
    mg__hook_unref(ha);
    return mg_error(-ENOENT, "connect: the first node shut down meanwhile");
  }
  if (!mg_node_valid(b)) {
    rc = mg__node_error(b, -ENOENT, "shut down during connect");
    goto abort;
  }
  if ((rc = mg__hook_addcheck(b, hbname))) goto abort;
  mg_hook_t *hb = mg__hook_new(b, hbname);
  const mg_type_t *t = b->te->type;
  if (t->newhook && (rc = t->newhook(b, hb, hbname))) {
    mg__hook_unref(hb);
    goto abort;
  }
  mg__hook_link(b, hb);
  mg__hook_ref(ha);
  set_peer(hb, ha);
  if (t->connect && (rc = t->connect(hb))) {
    mg__hook_destroy(hb, false);
    goto abort;
  }
  atomic_fetch_and(&hb->flags, ~(uint32_t)MG_HF_INVALID);
  mg__hook_ref(hb);
  /* ha's item reference travels on to step 3 */
  mg__send_fn_rec(ha->node, NULL, connect_step3_fn, ha, (intptr_t)hb,
                  MG_QUEUE | MG__STEP, rec);
  return 0;
abort:
  mg__send_fn_rec(ha->node, NULL, connect_abort_fn, ha, 0,
                  MG_QUEUE | MG__STEP, NULL);
  return rc;
}

int mg__connect_start(mg_node_t *a, mg_node_t *b, const char *ha,
                      const char *hb) {
  int rc;
  /* EEXIST, as netgraph finds the hook made at one end already there at
  ** the other */
  if (a == b && strcmp(ha, hb) == 0)
    return mg__node_error(a, -EEXIST, "cannot connect a hook to itself");
  if ((rc = mg__check_name("peer hook name", hb))) return rc;
  if (!mg_node_valid(b)) return mg__node_error(b, -ENOENT, "is shut down");
  if ((rc = mg__hook_addcheck(a, ha))) return rc;
  mg_hook_t *h = mg__hook_new(a, ha);
  const mg_type_t *t = a->te->type;
  if (t->newhook && (rc = t->newhook(a, h, ha))) {
    mg__hook_unref(h);
    return rc;
  }
  mg__hook_link(a, h);
  mg__hook_ref(h);
  return mg__send_fn_rec(b, NULL, connect_step2_fn, h,
                         (intptr_t)mg__intern(a->eng, hb),
                         MG_QUEUE | MG__STEP, mg__current_rec());
}
/* }====================================================== */

/*
** {======================================================
** Mkpeer: synchronous, inside A's writer lock.  The new node is nobody
** else's yet; it is published only once joined, and its lock is ours
** meanwhile so that a callout armed by its constructor waits.
** =======================================================
*/
int mg__mkpeer(mg_node_t *a, const char *type, const char *ha,
               const char *hb) {
  mg_engine_t *e = a->eng;
  int rc;
  pthread_mutex_lock(&e->topo);
  mg_tent_t *te = mg__tent_find(e, type);
  pthread_mutex_unlock(&e->topo);
  if (!te) return mg_error(-ENOENT, "unknown node type '%s'", type ? type : "");
  if ((rc = mg__hook_addcheck(a, ha))) return rc;
  if ((rc = mg__check_name("peer hook name", hb))) return rc;
  mg_node_t *n = mg__node_alloc(e, te);
  atomic_store(&n->word, MG_LW_WRITER);
  const mg_type_t *ta = a->te->type, *tn = te->type;
  if (tn->constructor && (rc = tn->constructor(n))) {
    /* What the constructor queued on n (a send, a function) ends here, as
    ** on the kill path below, but n never was: no close, no shutdown. */
    atomic_fetch_or(&n->flags, MG_NF_INVALID | MG_NF_CLOSING);
    mg__flush_queue(n);
    mg__leave(n, true);
    mg_node_unref(n);
    return rc;
  }
  mg_node_ref(n); /* ours, across its possible shutdown below */
  mg_hook_t *h1 = mg__hook_new(a, ha), *h2 = NULL;
  if (ta->newhook && (rc = ta->newhook(a, h1, ha))) {
    mg__hook_unref(h1);
    goto kill;
  }
  mg__hook_link(a, h1);
  h2 = mg__hook_new(n, hb);
  if (tn->newhook && (rc = tn->newhook(n, h2, hb))) {
    mg__hook_unref(h2);
    mg__hook_destroy(h1, false);
    goto kill;
  }
  mg__hook_link(n, h2);
  mg__hook_ref(h1);
  mg__hook_ref(h2);
  set_peer(h1, h2);
  set_peer(h2, h1);
  if ((ta->connect && (rc = ta->connect(h1))) ||
      (tn->connect && (rc = tn->connect(h2)))) {
    mg__hook_destroy(h1, false);
    mg__hook_destroy(h2, false);
    goto kill;
  }
  atomic_fetch_and(&h1->flags, ~(uint32_t)MG_HF_INVALID);
  atomic_fetch_and(&h2->flags, ~(uint32_t)MG_HF_INVALID);
  mg__node_publish(n);
  mg__leave(n, true);
  mg_node_unref(n);
  return 0;
kill:
  mg__rmnode(n);
  mg__leave(n, true);
  mg_node_unref(n);
  return rc;
}
/* }====================================================== */

/*
** {======================================================
** Bypass: splice a's peer to b's peer, one step on each side.
** =======================================================
*/
typedef struct splice {
  mg_hook_t *pa, *a, *pb, *b; /* each referenced by the splice */
} splice_t;

static void splice_free(splice_t *s) {
  mg__hook_unref(s->pa);
  mg__hook_unref(s->a);
  mg__hook_unref(s->pb);
  mg__hook_unref(s->b);
  free(s);
}

static int splice2_fn(mg_node_t *n, mg_hook_t *u, void *arg, intptr_t x) {
  (void)n; (void)u; (void)x;
  splice_t *s = arg;
  if ((atomic_load(&s->pb->flags) & MG_HF_LINKED) && s->pb->peer == s->b) {
    mg__hook_ref(s->pa);
    set_peer(s->pb, s->pa);
    mg__hook_unref(s->b);
  } else { /* pb went away: pa must not point at it */
    mg__hook_ref(s->pa);
    mg__hook_ref(s->pb);
    mg__send_fn_rec(s->pa->node, NULL, unlink_peer_fn, s->pa,
                    (intptr_t)s->pb, MG_QUEUE | MG__STEP, NULL);
  }
  splice_free(s);
  return 0;
}

static int splice1_fn(mg_node_t *n, mg_hook_t *u, void *arg, intptr_t x) {
  (void)n; (void)u; (void)x;
  splice_t *s = arg;
  if ((atomic_load(&s->pa->flags) & MG_HF_LINKED) && s->pa->peer == s->a) {
    mg__hook_ref(s->pb);
    set_peer(s->pa, s->pb);
    mg__hook_unref(s->a);
    mg__send_fn_rec(s->pb->node, NULL, splice2_fn, s, 0,
                    MG_QUEUE | MG__STEP, NULL);
    return 0;
  }
  /* pa went away: pb must let go of b */
  mg__hook_ref(s->pb);
  mg__hook_ref(s->b);
  mg__send_fn_rec(s->pb->node, NULL, unlink_peer_fn, s->pb, (intptr_t)s->b,
                  MG_QUEUE | MG__STEP, NULL);
  splice_free(s);
  return 0;
}

int mg_hook_bypass(mg_hook_t *a, mg_hook_t *b) {
  if (a->node != b->node || a == b)
    return mg_error(-EINVAL, "bypass needs two hooks of one node");
  if (!mg_hook_connected(a) || !mg_hook_connected(b))
    return mg_error(-ENOTCONN, "bypass needs both hooks connected");
  splice_t *s = mg_alloc(sizeof *s);
  *s = (splice_t){a->peer, a, b->peer, b};
  mg__hook_ref(s->pa);
  mg__hook_ref(s->a);
  mg__hook_ref(s->pb);
  mg__hook_ref(s->b);
  atomic_fetch_or(&a->flags, MG_HF_BYPASS);
  atomic_fetch_or(&b->flags, MG_HF_BYPASS);
  return mg__send_fn_rec(s->pa->node, NULL, splice1_fn, s, 0,
                         MG_QUEUE | MG__STEP, NULL);
}
/* }====================================================== */
