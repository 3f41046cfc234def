/*
** node.c -- nodes: creation, the id and name tables, the type registry,
** reference counts, counters and the shutdown sequence (docs/design.md §2 rule 11).
*/
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct mg_name {
  struct mg_name *next;
  mg_node_t *node;
  char name[];
};

#define NAME_ENTRY(p) ((struct mg_name *)((p) - offsetof(struct mg_name, name)))

static uint32_t hashid(uint32_t id) { return id * 2654435761u; }

/*
** {======================================================
** Types
** =======================================================
*/
mg_tent_t *mg__tent_find(mg_engine_t *e, const char *name) {
  for (mg_tent_t *t = e->types; t; t = t->next)
    if (strcmp(t->type->name, name) == 0) return t;
  return NULL;
}

int mg_type_register(mg_engine_t *e, const mg_type_t *t) {
  int rc = mg__check_name("type name", t->name);
  if (rc) return rc;
  pthread_mutex_lock(&e->topo);
  if (mg__tent_find(e, t->name)) {
    pthread_mutex_unlock(&e->topo);
    return mg_error(-EEXIST, "node type '%s' is already registered", t->name);
  }
  mg_tent_t *te = mg_calloc(1, sizeof *te), **tail = &e->types;
  te->type = t;
  while (*tail) tail = &(*tail)->next; /* keep registration order */
  *tail = te;
  pthread_mutex_unlock(&e->topo);
  return 0;
}

const mg_type_t *mg_type_find(mg_engine_t *e, const char *name) {
  pthread_mutex_lock(&e->topo);
  mg_tent_t *te = mg__tent_find(e, name);
  pthread_mutex_unlock(&e->topo);
  return te ? te->type : NULL;
}

void mg_type_foreach(mg_engine_t *e,
                     void (*fn)(const mg_type_t *, uint32_t, void *),
                     void *arg) {
  pthread_mutex_lock(&e->topo);
  for (mg_tent_t *t = e->types; t; t = t->next)
    fn(t->type, atomic_load(&t->count), arg);
  pthread_mutex_unlock(&e->topo);
}

uint32_t mg_type_cookie(const mg_type_t *t) {
  return mg__hashstr(t->name) | 1u; /* never the generic cookie's parity */
}

const mg_cmd_t *mg_cmd_find(const mg_type_t *t, const char *name,
                            uint32_t *cookie) {
  if (t && t->cmds)
    for (const mg_cmd_t *c = t->cmds; c->name; c++)
      if (strcmp(c->name, name) == 0) {
        if (cookie) *cookie = mg_type_cookie(t);
        return c;
      }
  for (const mg_cmd_t *c = mg_generic_cmds(); c->name; c++)
    if (strcmp(c->name, name) == 0) {
      if (cookie) *cookie = MG_COOKIE_GENERIC;
      return c;
    }
  return NULL;
}
/* }====================================================== */

/*
** {======================================================
** Names
** =======================================================
*/
int mg__check_name(const char *what, const char *name) {
  if (!name || !*name) return mg_error(-EINVAL, "%s is empty", what);
  char q[MG_QUOTESIZ], c[MG_QUOTESIZ];
  size_t n = strlen(name);
  if (n >= MG_NAMESIZ)
    return mg_error(-ENAMETOOLONG, "%s %s is longer than %d characters",
                    what, mg_quote(q, name), MG_NAMESIZ - 1);
  for (const char *p = name; *p; p++)
    if (*p == '.' || *p == ':' || *p == '[' || *p == ']' ||
        isspace((unsigned char)*p) || !isprint((unsigned char)*p))
      return mg_error(-EINVAL, "%s %s may not contain %s", what,
                      mg_quote(q, name), mg_quote(c, (char[]){*p, 0}));
  return 0;
}

/* Caller holds topo. */
static mg_node_t *name_lookup(mg_engine_t *e, const char *name) {
  if (!e->ntab) return NULL;
  for (struct mg_name *x = e->ntab[mg__hashstr(name) & e->nmask]; x; x = x->next)
    if (strcmp(x->name, name) == 0) return x->node;
  return NULL;
}

static void name_unlink(mg_engine_t *e, mg_node_t *n) {
  struct mg_name **pp = &e->ntab[mg__hashstr(n->name) & e->nmask];
  while (*pp && (*pp)->node != n) pp = &(*pp)->next;
  if (*pp) {
    *pp = (*pp)->next;
    e->nnamed--;
  }
}

static void name_grow(mg_engine_t *e) {
  uint32_t size = e->ntab ? (e->nmask + 1) * 2 : 64;
  struct mg_name **t = mg_calloc(size, sizeof *t);
  for (uint32_t i = 0; e->ntab && i <= e->nmask; i++)
    for (struct mg_name *x = e->ntab[i], *nx; x; x = nx) {
      nx = x->next;
      uint32_t b = mg__hashstr(x->name) & (size - 1);
      x->next = t[b];
      t[b] = x;
    }
  free(e->ntab);
  e->ntab = t;
  e->nmask = size - 1;
}

/* Runs under n's writer lock (the name message) and topo. */
int mg__set_name(mg_node_t *n, const char *name) {
  int rc = mg__check_name("node name", name);
  if (rc) return rc;
  mg_engine_t *e = n->eng;
  pthread_mutex_lock(&e->topo);
  mg_node_t *other = name_lookup(e, name);
  if (other && other != n) {
    pthread_mutex_unlock(&e->topo);
    return mg_error(-EADDRINUSE, "node name '%s' is already in use by [%x]",
                    name, other->id);
  }
  if (other == n) {
    pthread_mutex_unlock(&e->topo);
    return 0;
  }
  if (!e->ntab || e->nnamed >= e->nmask) name_grow(e);
  if (n->name) name_unlink(e, n);
  size_t len = strlen(name) + 1;
  struct mg_name *x = mg_alloc(sizeof *x + len);
  memcpy(x->name, name, len);
  x->node = n;
  uint32_t b = mg__hashstr(name) & e->nmask;
  x->next = e->ntab[b];
  e->ntab[b] = x;
  e->nnamed++;
  /* Readers of a name hold topo or the node's lock, as this does. */
  if (n->name) free(NAME_ENTRY(n->name));
  n->name = x->name;
  pthread_mutex_unlock(&e->topo);
  return 0;
}
/* }====================================================== */

/*
** {======================================================
** Ids
** =======================================================
*/
static void id_grow(mg_engine_t *e) {
  uint32_t size = e->idtab ? (e->idmask + 1) * 2 : 1024;
  mg_node_t **t = mg_calloc(size, sizeof *t);
  for (uint32_t i = 0; e->idtab && i <= e->idmask; i++)
    for (mg_node_t *n = e->idtab[i], *nx; n; n = nx) {
      nx = n->idnext;
      uint32_t b = hashid(n->id) & (size - 1);
      n->idnext = t[b];
      t[b] = n;
    }
  free(e->idtab);
  e->idtab = t;
  e->idmask = size - 1;
}

mg_node_t *mg__id_lookup(mg_engine_t *e, uint32_t id) {
  if (!e->idtab) return NULL;
  for (mg_node_t *n = e->idtab[hashid(id) & e->idmask]; n; n = n->idnext)
    if (n->id == id) return n;
  return NULL;
}

/* Caller holds topo.  Ids count up and skip 0 and ids in use on wrap. */
static uint32_t id_next(mg_engine_t *e) {
  for (;;) {
    uint32_t id = e->next_id++;
    if (id && !mg__id_lookup(e, id)) return id;
  }
}

void mg__node_publish(mg_node_t *n) {
  mg_engine_t *e = n->eng;
  pthread_mutex_lock(&e->topo);
  if (!e->idtab || e->nnodes > e->idmask) id_grow(e);
  uint32_t b = hashid(n->id) & e->idmask;
  n->idnext = e->idtab[b];
  e->idtab[b] = n;
  e->nnodes++;
  atomic_fetch_or(&n->flags, MG_NF_PUBLIC);
  pthread_mutex_unlock(&e->topo);
}

static void unpublish(mg_node_t *n) {
  mg_engine_t *e = n->eng;
  pthread_mutex_lock(&e->topo);
  if (atomic_load(&n->flags) & MG_NF_PUBLIC) {
    mg_node_t **pp = &e->idtab[hashid(n->id) & e->idmask];
    while (*pp != n) pp = &(*pp)->idnext;
    *pp = n->idnext;
    e->nnodes--;
    atomic_fetch_and(&n->flags, (uint16_t)~MG_NF_PUBLIC);
  }
  if (n->name) name_unlink(e, n);
  pthread_mutex_unlock(&e->topo);
}

mg_node_t *mg_node_byid(mg_engine_t *e, uint32_t id) {
  pthread_mutex_lock(&e->topo);
  mg_node_t *n = mg__id_lookup(e, id);
  if (n && (atomic_load(&n->flags) & MG_NF_INVALID)) n = NULL;
  if (n) mg_node_ref(n);
  pthread_mutex_unlock(&e->topo);
  return n;
}

mg_node_t *mg_node_byname(mg_engine_t *e, const char *name) {
  pthread_mutex_lock(&e->topo);
  mg_node_t *n = name_lookup(e, name);
  if (n && (atomic_load(&n->flags) & MG_NF_INVALID)) n = NULL;
  if (n) mg_node_ref(n);
  pthread_mutex_unlock(&e->topo);
  return n;
}
/* }====================================================== */

/*
** {======================================================
** Life of a node
** =======================================================
*/
mg_node_t *mg__node_alloc(mg_engine_t *e, mg_tent_t *te) {
  mg_node_t *n = mg_calloc(1, sizeof *n + te->type->priv_size);
  n->eng = e;
  n->te = te;
  atomic_store(&n->refs, 1); /* the graph's own, dropped by shutdown */
  pthread_mutex_lock(&e->topo);
  n->id = id_next(e);
  pthread_mutex_unlock(&e->topo);
  atomic_fetch_add(&te->count, 1);
  return n;
}

void mg_node_ref(mg_node_t *n) {
  if (n->eng->mt)
    atomic_fetch_add_explicit(&n->refs, 1, MG_RELAXED);
  else
    atomic_store_explicit(&n->refs, atomic_load_explicit(&n->refs, MG_RELAXED) + 1, MG_RELAXED);
}

void mg_node_unref(mg_node_t *n) {
  if (n == &mg__deadnode) return;
  MG_ASSERT(atomic_load(&n->refs) > 0, "a node unreferenced once too often");
  uint32_t left;
  if (n->eng->mt)
    left = atomic_fetch_sub_explicit(&n->refs, 1, MG_ACQREL) - 1;
  else {
    left = atomic_load_explicit(&n->refs, MG_RELAXED) - 1;
    atomic_store_explicit(&n->refs, left, MG_RELAXED);
  }
  if (left == 0) mg__node_free(n);
}

void mg__node_free(mg_node_t *n) {
  MG_ASSERT(!n->qtail && !n->qlen, "a node freed with items in its queue");
  MG_ASSERT(atomic_load(&n->word) == 0, "a node freed while held");
  atomic_fetch_sub(&n->te->count, 1);
  if (n->name) free(NAME_ENTRY(n->name));
  free(atomic_load(&n->xs));
  free(n);
}

int mg__rmnode_fn(mg_node_t *n, mg_hook_t *h, void *a, intptr_t b) {
  (void)h; (void)a; (void)b;
  return mg__rmnode(n);
}

void mg_node_rmself(mg_node_t *n) {
  atomic_fetch_or(&n->flags, MG_NF_INVALID); /* lookups skip it now */
  mg__send_fn_rec(n, NULL, mg__rmnode_fn, NULL, 0, MG_QUEUE | MG__STEP, NULL);
}

/* The shutdown sequence; runs under n's writer lock with a reference held
** by whoever delivered the item. */
int mg__rmnode(mg_node_t *n) {
  uint16_t f = atomic_fetch_or(&n->flags, MG_NF_INVALID | MG_NF_CLOSING);
  if (f & MG_NF_CLOSING) return 0;
  MG_ASSERT(atomic_load(&n->word) & MG_LW_WRITER,
            "a node shut down without its writer lock");
  const mg_type_t *t = n->te->type;
  if (t->close) t->close(n);
  while (n->hooks) mg__hook_destroy(n->hooks, true);
  mg__flush_queue(n);
  if (t->shutdown) t->shutdown(n);
  unpublish(n);
  mg_node_unref(n);
  return 0;
}

/* As mkpeer's new node (engine/hook.c), without the join: held as a writer
** while made, so that what its constructor or init queue waits, and seen
** by lookups only once whole. */
int mg_node_make(mg_node_t *n, const mg_type_t *t, int (*init)(mg_node_t *nn, void *arg),
                 void *arg, uint32_t *id) {
  mg_engine_t *e = n->eng;
  pthread_mutex_lock(&e->topo);
  mg_tent_t *te = mg__tent_find(e, t->name);
  pthread_mutex_unlock(&e->topo);
  if (!te || te->type != t) return mg_error(-ENOENT, "unknown node type '%s'", t->name);
  mg_node_t *nn = mg__node_alloc(e, te);
  atomic_store(&nn->word, MG_LW_WRITER);
  int rc = t->constructor ? t->constructor(nn) : 0;
  if (rc) { /* never was: no close, no shutdown */
    atomic_fetch_or(&nn->flags, MG_NF_INVALID | MG_NF_CLOSING);
    mg__flush_queue(nn);
    mg__leave(nn, true);
    mg_node_unref(nn);
    return rc;
  }
  mg_node_ref(nn); /* ours, across its possible shutdown */
  if (init && (rc = init(nn, arg)))
    mg__rmnode(nn);
  else {
    *id = nn->id;
    mg__node_publish(nn);
  }
  mg__leave(nn, true);
  mg_node_unref(nn);
  return rc;
}

void *mg_node_priv(mg_node_t *n) { return n->priv; }
uint32_t mg_node_id(const mg_node_t *n) { return n->id; }
void mg_node_name_copy(mg_node_t *n, char *buf, size_t len) {
  pthread_mutex_lock(&n->eng->topo);
  snprintf(buf, len, "%s", n->name ? n->name : "");
  pthread_mutex_unlock(&n->eng->topo);
}
const mg_type_t *mg_node_type(const mg_node_t *n) { return n->te->type; }
mg_engine_t *mg_node_engine(const mg_node_t *n) { return n->eng; }
uint32_t mg_node_numhooks(const mg_node_t *n) { return n->nhooks; }
bool mg_node_mt(const mg_node_t *n) { return n->eng->mt; }
void mg_node_flag_set(mg_node_t *n, unsigned bit, bool on) {
  uint16_t b = (uint16_t)(MG_NF_TYPE0 << (bit & 3));
  if (on) atomic_fetch_or(&n->flags, b);
  else atomic_fetch_and(&n->flags, (uint16_t)~b);
}

bool mg_node_flag(const mg_node_t *n, unsigned bit) {
  return atomic_load(&n->flags) & (MG_NF_TYPE0 << (bit & 3));
}

bool mg_node_valid(const mg_node_t *n) {
  return !(atomic_load_explicit(&n->flags, MG_RELAXED) & MG_NF_INVALID);
}

/* Any thread: a rename frees the old name under topo, so read it there. */
void mg__node_describe(mg_node_t *n, char *buf, size_t len) {
  pthread_mutex_lock(&n->eng->topo);
  if (n->name)
    snprintf(buf, len, "'%s' [%x] (%s)", n->name, n->id, n->te->type->name);
  else
    snprintf(buf, len, "[%x] (%s)", n->id, n->te->type->name);
  pthread_mutex_unlock(&n->eng->topo);
}

int mg__node_error(mg_node_t *n, int code, const char *fmt, ...) {
  char d[96], what[384];
  mg__node_describe(n, d, sizeof d);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return mg_error(code, "node %s %s", d, what);
}
/* }====================================================== */

/*
** {======================================================
** Counters
** =======================================================
*/
mg_xstats_t *mg__xs_alloc(mg_node_t *n) {
  mg_xstats_t *x = NULL;
  mg_xstats_t *fresh = mg_calloc(1, sizeof *fresh);
  if (atomic_compare_exchange_strong(&n->xs, &x, fresh)) return fresh;
  free(fresh); /* another thread was first */
  return x;
}

void mg__count_drop(mg_node_t *n, mg_drop_t why) {
  if (n == &mg__deadnode) return;
  mg__add(n->eng, &mg__xs(n)->drops[why], 1);
}

const char *mg_drop_name(mg_drop_t r) {
  static const char *names[MG_DROP_MAX] = {"nopeer", "qfull", "dead",
                                           "ttl", "error", "policy"};
  return (unsigned)r < MG_DROP_MAX ? names[r] : "?";
}

void mg_hook_stats(mg_hook_t *h, mg_hook_stats_t *s) {
  s->in = atomic_load_explicit(&h->in, MG_RELAXED);
  s->out = atomic_load_explicit(&h->out, MG_RELAXED);
}

#define LD(x) atomic_load_explicit(&(x), MG_RELAXED)

void mg_node_stats(mg_node_t *n, mg_node_stats_t *s) {
  memset(s, 0, sizeof *s);
  mg_engine_t *e = n->eng;
  pthread_mutex_lock(&e->topo);
  for (mg_hook_t *h = n->hooks; h; h = h->next) {
    s->in += LD(h->in);
    s->out += LD(h->out);
  }
  pthread_mutex_unlock(&e->topo);
  mg_xstats_t *x = atomic_load_explicit(&n->xs, MG_ACQUIRE);
  if (x) {
    s->in += LD(x->in_direct) + LD(x->gone_in);
    s->out += LD(x->gone_out);
    s->made = LD(x->made);
    s->consumed = LD(x->consumed);
    for (int i = 0; i < MG_DROP_MAX; i++) {
      s->drops[i] = LD(x->drops[i]);
      s->dropped += s->drops[i];
    }
    s->queued = LD(x->queued);
    s->errors = LD(x->errors);
    s->qdata = LD(x->qdata);
  }
  s->qlen = mg__qlen(n);
  s->msgs = LD(n->msgs);
  s->fns = LD(n->fns);
  /* Whatever arrived and did not go through the queue ran inline, but for
  ** what was dropped on arrival (nowhere to run) -- those never ran. */
  uint64_t ran = s->in + s->msgs + s->fns;
  uint64_t notrun = s->queued + (x ? LD(x->drops[MG_DROP_TTL]) +
                                         LD(x->drops[MG_DROP_QFULL]) : 0);
  s->inlined = ran > notrun ? ran - notrun : 0;
}

void mg_node_stats_value(mg_node_t *n, mg_value_t *m) {
  mg_node_stats_t s;
  mg_node_stats(n, &s);
  mg_map_set(m, "in", mg_int((int64_t)s.in));
  mg_map_set(m, "out", mg_int((int64_t)s.out));
  mg_map_set(m, "made", mg_int((int64_t)s.made));
  mg_map_set(m, "consumed", mg_int((int64_t)s.consumed));
  mg_map_set(m, "dropped", mg_int((int64_t)s.dropped));
  mg_value_t *d = mg_map();
  for (int i = 0; i < MG_DROP_MAX; i++)
    mg_map_set(d, mg_drop_name((mg_drop_t)i), mg_int((int64_t)s.drops[i]));
  mg_map_set(m, "drops", d);
  mg_map_set(m, "inlined", mg_int((int64_t)s.inlined));
  mg_map_set(m, "queued", mg_int((int64_t)s.queued));
  mg_map_set(m, "msgs", mg_int((int64_t)s.msgs));
  mg_map_set(m, "fns", mg_int((int64_t)s.fns));
  mg_map_set(m, "errors", mg_int((int64_t)s.errors));
  mg_map_set(m, "qlen", mg_int(s.qlen));
}
/* }====================================================== */
