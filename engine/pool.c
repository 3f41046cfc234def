/*
** pool.c -- items and packet buffers come from process-wide pools with a
** small cache per thread, so the data path does no malloc per packet once
** the pools are warm.  Memory is kept for reuse until the process exits;
** every slab stays reachable from the pool, so leak checkers see none.
*/
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define CACHE_MAX 128 /* objects a thread keeps before giving back */
#define CACHE_MOVE 64 /* objects moved per refill or flush */

typedef struct pool {
  pthread_mutex_t mu;
  void *free;     /* objects linked through their first word */
  void **slabs;   /* every slab ever allocated */
  size_t nslabs, capslabs;
  size_t objsize, perslab;
  int64_t out;    /* handed to thread caches and not given back */
} pool_t;

typedef struct tcache {
  void *head;
  uint32_t n;
} tcache_t;

#define BUFSIZE (sizeof(mg_buf_t) + MG_BUF_HEADROOM + MG_BUF_POOLSIZE)

static pool_t items = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0, 0,
                       sizeof(mg_item_t), 512, 0};
static pool_t bufs = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0, 0,
                      (BUFSIZE + 15) & ~(size_t)15, 64, 0};

static MG_TLS tcache_t tc_items, tc_bufs;
static MG_TLS bool tc_registered;
static pthread_key_t tc_key;
static pthread_once_t tc_once = PTHREAD_ONCE_INIT;

static void give_back(pool_t *p, tcache_t *c, uint32_t n) {
  if (!n) return;
  void *first = c->head, *last = first;
  for (uint32_t i = 1; i < n; i++) last = *(void **)last;
  c->head = *(void **)last;
  c->n -= n;
  pthread_mutex_lock(&p->mu);
  *(void **)last = p->free;
  p->free = first;
  p->out -= n;
  pthread_mutex_unlock(&p->mu);
}

static void tc_exit(void *unused) {
  (void)unused;
  give_back(&items, &tc_items, tc_items.n);
  give_back(&bufs, &tc_bufs, tc_bufs.n);
}

static void tc_makekey(void) { pthread_key_create(&tc_key, tc_exit); }

/* So that a finished thread returns its cache: a thread that only ever
** gives objects back (a worker ending items others made) needs it as much
** as one that takes them. */
static void tc_register(void) {
  pthread_once(&tc_once, tc_makekey);
  pthread_setspecific(tc_key, &tc_key);
  tc_registered = true;
}

static void refill(pool_t *p, tcache_t *c) {
  if (!tc_registered) tc_register();
  pthread_mutex_lock(&p->mu);
  if (!p->free) {
    char *slab = mg_alloc(p->objsize * p->perslab);
    if (p->nslabs == p->capslabs) {
      p->capslabs = p->capslabs ? p->capslabs * 2 : 16;
      p->slabs = mg_realloc(p->slabs, p->capslabs * sizeof *p->slabs);
    }
    p->slabs[p->nslabs++] = slab;
    for (size_t i = p->perslab; i-- > 0;) {
      void *o = slab + i * p->objsize;
      *(void **)o = p->free;
      p->free = o;
    }
  }
  uint32_t n = 0;
  while (p->free && n < CACHE_MOVE) {
    void *o = p->free;
    p->free = *(void **)o;
    *(void **)o = c->head;
    c->head = o;
    n++;
  }
  p->out += n;
  c->n += n;
  pthread_mutex_unlock(&p->mu);
}

static inline void *get(pool_t *p, tcache_t *c) {
  if (!c->head) refill(p, c);
  void *o = c->head;
  c->head = *(void **)o;
  c->n--;
  return o;
}

static inline void put(pool_t *p, tcache_t *c, void *o) {
  if (__builtin_expect(!tc_registered, 0)) tc_register();
  *(void **)o = c->head;
  c->head = o;
  if (++c->n > CACHE_MAX) give_back(p, c, CACHE_MOVE);
}

mg_item_t *mg__item_get(void) {
  mg_item_t *it = get(&items, &tc_items);
  memset(it, 0, sizeof *it);
  return it;
}

void mg__item_put(mg_item_t *it) { put(&items, &tc_items, it); }

/* When the module is unloaded (lua_close dlcloses it) the pools go with
** it: nothing can hold an item by then. */
__attribute__((destructor)) static void pools_release(void) {
  pool_t *ps[] = {&items, &bufs};
  for (int i = 0; i < 2; i++) {
    for (size_t k = 0; k < ps[i]->nslabs; k++) free(ps[i]->slabs[k]);
    free(ps[i]->slabs);
    ps[i]->slabs = NULL;
    ps[i]->free = NULL;
    ps[i]->nslabs = ps[i]->capslabs = 0;
  }
  tc_items.head = tc_bufs.head = NULL;
  tc_items.n = tc_bufs.n = 0;
}

void mg_pool_outstanding(int64_t *ni, int64_t *nb) {
  pthread_mutex_lock(&items.mu);
  *ni = items.out - tc_items.n;
  pthread_mutex_unlock(&items.mu);
  pthread_mutex_lock(&bufs.mu);
  *nb = bufs.out - tc_bufs.n;
  pthread_mutex_unlock(&bufs.mu);
}

/*
** {======================================================
** Buffers.  A pooled buffer carries MG_BUF_POOLSIZE bytes after its
** headroom; a larger packet gets storage of its own, freed with it.
** =======================================================
*/
static uint8_t *inline_store(mg_buf_t *b) { return (uint8_t *)(b + 1); }

static mg_buf_t *buf_get(uint32_t len) {
  mg_buf_t *b = get(&bufs, &tc_bufs);
  b->ts = 0;
  b->linktype = 1; /* DLT_EN10MB */
  b->port = 0;
  b->ntags = 0;
  b->flags = MG_BUF_POOLED;
  atomic_store_explicit(&b->refs, 1, MG_RELAXED);
  if (len <= MG_BUF_POOLSIZE) {
    b->head = inline_store(b);
    b->cap = MG_BUF_HEADROOM + MG_BUF_POOLSIZE;
  } else {
    b->cap = MG_BUF_HEADROOM + len;
    b->head = mg_alloc(b->cap);
  }
  b->data = b->head + MG_BUF_HEADROOM;
  b->len = b->wirelen = len;
  return b;
}

mg_buf_t *mg_buf_new(uint32_t len) { return buf_get(len); }

void mg__buf_put(mg_buf_t *b) {
  if (b->head != inline_store(b)) free(b->head);
  put(&bufs, &tc_bufs, b);
}

void mg_buf_lend(mg_buf_t *b, const uint8_t *p, uint32_t len) {
  if (b->head != inline_store(b)) {
    free(b->head);
    b->head = inline_store(b);
    b->cap = MG_BUF_HEADROOM + MG_BUF_POOLSIZE;
  }
  b->data = (uint8_t *)p;
  b->len = len;
  b->flags |= MG_BUF_LENT;
}


/* Copy lent bytes into the buffer's own storage so it can outlive the
** lender's call. */
int mg_buf_own(mg_buf_t *b) {
  if (!(b->flags & MG_BUF_LENT)) return 0;
  const uint8_t *src = b->data;
  if (b->len > MG_BUF_POOLSIZE) {
    b->cap = MG_BUF_HEADROOM + b->len;
    b->head = mg_alloc(b->cap);
  }
  b->data = b->head + MG_BUF_HEADROOM;
  memcpy(b->data, src, b->len);
  b->flags &= (uint8_t)~MG_BUF_LENT;
  return 0;
}

void mg_buf_set(mg_buf_t *b, const void *p, uint32_t len) {
  uint32_t cut = b->wirelen > b->len ? b->wirelen - b->len : 0;
  b->flags &= (uint8_t)~MG_BUF_LENT; /* the lender's bytes are not ours to keep */
  if (MG_BUF_HEADROOM + len > b->cap) {
    if (b->head != inline_store(b)) free(b->head);
    b->cap = MG_BUF_HEADROOM + len;
    b->head = mg_alloc(b->cap);
  }
  b->data = b->head + MG_BUF_HEADROOM;
  memcpy(b->data, p, len);
  b->len = len;
  b->wirelen = len + cut;
}

void mg_buf_ref(mg_buf_t *b) {
  atomic_fetch_add_explicit(&b->refs, 1, MG_RELAXED);
}

void mg_buf_unref(mg_buf_t *b) {
  /* The sole owner needs no atomic: nobody else can take a reference. */
  if (atomic_load_explicit(&b->refs, MG_ACQUIRE) == 1 ||
      atomic_fetch_sub_explicit(&b->refs, 1, MG_ACQREL) == 1)
    mg__buf_put(b);
}

void mg_buf_rawts_set(mg_buf_t *b, uint32_t sec, uint32_t frac) {
  b->flags |= MG_BUF_RAWTS;
  b->rawts = (uint64_t)sec << 32 | frac;
}

bool mg_buf_rawts(const mg_buf_t *b, uint32_t *sec, uint32_t *frac) {
  if (!(b->flags & MG_BUF_RAWTS)) return false;
  *sec = (uint32_t)(b->rawts >> 32);
  *frac = (uint32_t)b->rawts;
  return true;
}

mg_buf_t *mg_buf_copy(const mg_buf_t *b) {
  mg_buf_t *c = buf_get(b->len);
  memcpy(c->data, b->data, b->len);
  c->wirelen = b->wirelen;
  c->ts = b->ts;
  c->linktype = b->linktype;
  c->port = b->port;
  c->ntags = b->ntags;
  c->flags |= b->flags & (MG_BUF_NSEC | MG_BUF_SWAPPED | MG_BUF_RAWTS);
  c->rawts = b->rawts;
  memcpy(c->tags, b->tags, sizeof c->tags);
  return c;
}

uint8_t *mg_buf_prepend(mg_buf_t *b, uint32_t n) {
  if (b->flags & MG_BUF_LENT) mg_buf_own(b);
  if ((uint32_t)(b->data - b->head) < n) return NULL;
  b->data -= n;
  b->len += n;
  b->wirelen += n;
  return b->data;
}

uint8_t *mg_buf_strip(mg_buf_t *b, uint32_t n) {
  if (b->len < n) return NULL;
  b->data += n;
  b->len -= n;
  b->wirelen = b->wirelen >= n ? b->wirelen - n : 0;
  return b->data;
}

int mg_buf_tag_set(mg_buf_t *b, uint32_t cookie, uint32_t id, uint64_t v) {
  for (uint8_t i = 0; i < b->ntags; i++)
    if (b->tags[i].cookie == cookie && b->tags[i].id == id) {
      b->tags[i].value = v;
      return 0;
    }
  if (b->ntags == MG_BUF_MAXTAGS)
    return mg_error(-ENOSPC, "buffer already has %d tags", MG_BUF_MAXTAGS);
  b->tags[b->ntags++] = (mg_tag_t){cookie, id, v};
  return 0;
}

bool mg_buf_tag_get(const mg_buf_t *b, uint32_t cookie, uint32_t id,
                    uint64_t *v) {
  for (uint8_t i = 0; i < b->ntags; i++)
    if (b->tags[i].cookie == cookie && b->tags[i].id == id) {
      if (v) *v = b->tags[i].value;
      return true;
    }
  return false;
}
/* }====================================================== */
