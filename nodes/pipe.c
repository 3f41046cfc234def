/*
** pipe.c -- a link with bandwidth, delay, loss and duplication (netgraph's
** ng_pipe).
**
** HOOKS     upper, lower.  Frames from upper go down ("downstream") and
**           leave by lower; frames from lower go up ("upstream").
** MESSAGES  setcfg { bandwidth delay overhead header_offset seed
**           downstream={ bandwidth BER plr queuelen delaylen duplicate
**           fifo drr wfq droptail drophead } upstream={ ... } };
**           getcfg; getstats, clrstats, getclrstats -> { downstream={
**           FwdOctets FwdFrames queueDropOctets queueDropFrames
**           delayDropOctets delayDropFrames } upstream={ ... } };
**           getrun (and getrunstats) -> { downstream={ queues
**           queuedOctets queuedFrames delayedOctets delayedFrames } ... }.
**
** Each direction has a bandwidth queue (one FIFO, or one queue per flow
** served by deficit round robin or fair queueing) and a delay line.  A
** frame waits in the queue until the link is free, takes (bytes +
** overhead) * 8 / bandwidth seconds to send, and then `delay` more to
** arrive.  Link time is kept in nanoseconds with the remainder of every
** division carried to the next frame, so the times are exact: a frame
** leaves with its timestamp moved on by the time it spent here.  Time is
** the engine's clock; under a virtual clock a capture replayed at top
** speed gives the same output on every run, and frames still in the pipe
** at its end leave when the clock is moved on (g:advance).
**
** As ng_pipe, a field absent or 0 in setcfg leaves the setting as it is,
** and -1 turns it off (back to its default).  Ours besides FreeBSD's:
** plr (a packet loss rate, 0..1), seed (loss and duplication drawn from a
** generator seeded with it), and bandwidths up to 10^12 bit/s.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

enum { PIPE_GETSTATS = 1, PIPE_CLRSTATS, PIPE_GETCLRSTATS, PIPE_GETRUN,
       PIPE_GETCFG, PIPE_SETCFG }; /* ng_pipe's numbers */
enum { DOWN, UP };
enum { S_FIFO, S_DRR, S_WFQ };

#define NFLOW 1024         /* flow queues per direction (hashed) */
#define QLEN_DEFAULT 50
#define QLEN_MAX 1000000
#define DLEN_MAX 4000000  /* the delay line, when delaylen is 0 */
#define DRR_QUANTUM 2048
#define NEVER INT64_MAX

typedef struct {
  mg_item_t *it;
  int64_t t;    /* arrival (in a queue); when it leaves (delay line) */
  uint64_t seq; /* arrival order */
} pkt_t;

typedef struct {
  pkt_t *v;
  uint32_t head, n, cap; /* cap a power of two */
} ring_t;

typedef struct flow {
  ring_t q;
  int64_t deficit;   /* DRR, bytes */
  uint64_t finish;   /* WFQ: virtual finish of its head */
  struct flow *next, *prev; /* the active list */
  bool active;
} flow_t;

typedef struct {
  uint64_t bandwidth, ber; /* bit/s; one bit in ber wrong */
  double plr;              /* packet loss rate */
  uint32_t queuelen, delaylen, duplicate, drr;
  int sched;
  bool drophead;
} dcfg_t;

typedef struct {
  uint64_t fwd_octets, fwd_frames, qdrop_octets, qdrop_frames, ddrop_octets,
      ddrop_frames;
} dstats_t;

typedef struct {
  dcfg_t cfg;
  dstats_t st;
  flow_t *flows;          /* NFLOW, made with the first frame */
  flow_t *active;         /* circular list of flows with frames */
  uint32_t nactive, qframes, dframes;
  uint64_t qoctets, doctets, seq, vtime;
  int64_t link;           /* ns: when the link is free */
  uint64_t frac;          /* the link time's remainder, in 1/bandwidth ns */
  ring_t delay;           /* frames on their way, in order */
  uint64_t rng;
  mg_callout_t co;
  int64_t armed;          /* when co is due, or NEVER */
  mg_hook_t *out;
} dir_t;

typedef struct {
  mg_node_t *node;
  mg_hook_t *upper, *lower;
  uint64_t delay;         /* us */
  uint32_t overhead, header_offset;
  int64_t seed;
  bool held;
  dir_t d[2];
} pipe_t;

/* {====================================================== rings */
static void ring_push(ring_t *r, pkt_t p) {
  if (r->n == r->cap) {
    uint32_t cap = r->cap ? r->cap * 2 : 8;
    pkt_t *v = mg_alloc(cap * sizeof *v);
    for (uint32_t i = 0; i < r->n; i++) v[i] = r->v[(r->head + i) & (r->cap - 1)];
    free(r->v);
    r->v = v, r->cap = cap, r->head = 0;
  }
  r->v[(r->head + r->n++) & (r->cap - 1)] = p;
}

static pkt_t *ring_front(ring_t *r) { return &r->v[r->head]; }

static pkt_t ring_pop(ring_t *r) {
  pkt_t p = r->v[r->head];
  r->head = (r->head + 1) & (r->cap - 1);
  r->n--;
  return p;
}

static pkt_t ring_pop_tail(ring_t *r) { return r->v[(r->head + --r->n) & (r->cap - 1)]; }
/* }====================================================== */

/* splitmix64: small, and the same on every machine */
static uint64_t rnd(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}
static double uniform(uint64_t *s) { return (double)(rnd(s) >> 11) * 0x1p-53; }

static uint32_t plen(mg_item_t *it) { return mg_item_buf(it)->wirelen; }

/* The flow a frame belongs to: its IP addresses (ng_pipe hashes IPv4
** only), from header_offset, past an Ethernet header on link type 1. */
static uint32_t flow_of(const pipe_t *p, const mg_buf_t *b) {
  uint32_t off = p->header_offset + (b->linktype == 1 ? 14 : 0);
  if (b->len < off + 20) return 0;
  const uint8_t *ip = b->data + off;
  uint64_t h = 0xcbf29ce484222325u;
  uint32_t from, n;
  if (ip[0] >> 4 == 4) from = 12, n = 8;
  else if (ip[0] >> 4 == 6 && b->len >= off + 40) from = 8, n = 32;
  else return 0;
  for (uint32_t i = 0; i < n; i++) h = (h ^ ip[from + i]) * 0x100000001b3u;
  return (uint32_t)(h ^ h >> 32) % NFLOW;
}

/* {====================================================== scheduling */
static void activate(dir_t *d, flow_t *f) {
  f->active = true;
  if (!d->active) f->next = f->prev = f, d->active = f;
  else {
    f->prev = d->active->prev, f->next = d->active;
    f->prev->next = f, d->active->prev = f;
  }
  d->nactive++;
  f->deficit = d->cfg.drr ? d->cfg.drr : DRR_QUANTUM;
  uint64_t start = f->finish > d->vtime ? f->finish : d->vtime;
  f->finish = start + plen(ring_front(&f->q)->it);
}

static void deactivate(dir_t *d, flow_t *f) {
  f->active = false;
  if (f->next == f) d->active = NULL;
  else {
    f->prev->next = f->next, f->next->prev = f->prev;
    if (d->active == f) d->active = f->next;
  }
  d->nactive--;
}

/* The flow whose head goes next. */
static flow_t *pick(dir_t *d) {
  flow_t *f = d->active, *best = f;
  switch (d->cfg.sched) {
  case S_DRR:
    for (;;) { /* a flow is served while its deficit covers its head */
      uint32_t len = plen(ring_front(&f->q)->it);
      if (f->deficit >= len) {
        f->deficit -= len;
        d->active = f;
        return f;
      }
      f->deficit += d->cfg.drr ? d->cfg.drr : DRR_QUANTUM;
      f = f->next;
    }
  case S_WFQ:
    for (f = f->next; f != d->active; f = f->next)
      if (f->finish < best->finish) best = f;
    d->vtime = best->finish;
    return best;
  default: /* the oldest head (flows are many only after a change of scheduler) */
    for (f = f->next; f != d->active; f = f->next)
      if (ring_front(&f->q)->seq < ring_front(&best->q)->seq) best = f;
    return best;
  }
}

static pkt_t take(dir_t *d, flow_t *f) {
  pkt_t p = ring_pop(&f->q);
  d->qframes--;
  d->qoctets -= plen(p.it);
  if (!f->q.n) {
    if (d->active == f && d->cfg.sched == S_DRR) d->active = f->next;
    deactivate(d, f);
  } else
    f->finish += plen(ring_front(&f->q)->it);
  return p;
}
/* }====================================================== */

static void drop(dir_t *d, mg_item_t *it, bool queue, mg_drop_t why) {
  uint32_t len = plen(it);
  if (queue) d->st.qdrop_frames++, d->st.qdrop_octets += len;
  else d->st.ddrop_frames++, d->st.ddrop_octets += len;
  mg_drop(it, why);
}

static bool lost(pipe_t *p, dir_t *d, uint32_t len) {
  if (d->cfg.plr > 0 && uniform(&d->rng) < d->cfg.plr) return true;
  if (d->cfg.ber) { /* clean with probability (1 - 1/ber)^bits */
    double bits = ((double)len + p->overhead) * 8;
    double ok = exp(bits * log1p(-1.0 / (double)d->cfg.ber));
    if (uniform(&d->rng) >= ok) return true;
  }
  return false;
}

/* The link sends the frame from `link` on: the time it takes, exact. */
static void serialise(pipe_t *p, dir_t *d, uint32_t len) {
  if (!d->cfg.bandwidth) return;
  unsigned __int128 num = (unsigned __int128)((uint64_t)len + p->overhead) * 8 *
                              1000000000u + d->frac;
  d->link += (int64_t)(num / d->cfg.bandwidth);
  d->frac = (uint64_t)(num % d->cfg.bandwidth);
}

static int tick(mg_node_t *n, mg_hook_t *h, void *arg, intptr_t x);

static void hold(pipe_t *p) {
  bool busy = false;
  for (int i = 0; i < 2; i++) busy |= p->d[i].qframes || p->d[i].delay.n;
  mg_engine_t *e = mg_node_engine(p->node);
  if (mg_clock_mode(e) == MG_CLOCK_VIRTUAL) busy = false; /* nothing would move it */
  if (busy != p->held) mg_engine_hold(e, busy ? 1 : -1);
  p->held = busy;
}

/* Everything due by now: frames onto the link in the order the scheduler
** says, and out of the delay line. */
static void service(pipe_t *p, dir_t *d, int64_t now) {
  while (d->qframes && d->link <= now) {
    flow_t *f = pick(d);
    pkt_t *head = ring_front(&f->q);
    pkt_t k;
    if (d->cfg.duplicate && uniform(&d->rng) * 100 < d->cfg.duplicate) {
      k = *head; /* the copy goes; the frame stays for its turn */
      k.it = mg_item_dup(head->it);
      if (d->cfg.sched == S_DRR) f->deficit += plen(k.it); /* not its turn's */
    } else
      k = take(d, f);
    uint32_t len = plen(k.it);
    serialise(p, d, len);
    if (lost(p, d, len)) {
      drop(d, k.it, false, MG_DROP_POLICY);
      continue;
    }
    if (d->delay.n >= (d->cfg.delaylen ? d->cfg.delaylen : DLEN_MAX)) {
      drop(d, k.it, false, MG_DROP_QFULL);
      continue;
    }
    /* k.t is the arrival; its lateness, from link time, is the shift */
    int64_t out = d->link + (int64_t)p->delay * 1000;
    mg_buf_t *b = mg_item_buf(k.it);
    k.t = b->ts + (out - k.t); /* the timestamp it will leave with */
    k.seq = (uint64_t)out;
    ring_push(&d->delay, k);
    d->dframes++;
    d->doctets += len;
  }
  while (d->delay.n && (int64_t)ring_front(&d->delay)->seq <= now) {
    pkt_t k = ring_pop(&d->delay);
    uint32_t len = plen(k.it);
    d->dframes--;
    d->doctets -= len;
    if (!d->out) {
      drop(d, k.it, false, MG_DROP_NOPEER);
      continue;
    }
    mg_item_writable(k.it)->ts = k.t;
    d->st.fwd_frames++;
    d->st.fwd_octets += len;
    mg_forward(d->out, k.it);
  }
  int64_t due = d->qframes ? d->link : NEVER;
  if (d->delay.n && (int64_t)ring_front(&d->delay)->seq < due)
    due = (int64_t)ring_front(&d->delay)->seq;
  if (due == NEVER) {
    if (d->armed != NEVER) mg_callout_stop(&d->co);
  } else if (due != d->armed)
    mg_callout_reset(&d->co, p->node, due - now, tick, d, 0);
  d->armed = due;
  hold(p);
}

static int tick(mg_node_t *n, mg_hook_t *h, void *arg, intptr_t x) {
  (void)h, (void)x;
  dir_t *d = arg;
  d->armed = NEVER; /* fired */
  service(mg_node_priv(n), d, mg_now(mg_node_engine(n)));
  return 0;
}

static int pipe_rcvdata(mg_hook_t *h, mg_item_t *it) {
  mg_node_t *n = mg_hook_node(h);
  pipe_t *p = mg_node_priv(n);
  dir_t *d = &p->d[h == p->upper ? DOWN : UP];
  int64_t now = mg_now(mg_node_engine(n));
  service(p, d, now); /* what was due before this frame came */
  mg_buf_t *b = mg_item_writable(it); /* kept past this call, its ts moved */
  if (!d->flows) d->flows = mg_calloc(NFLOW, sizeof *d->flows);
  if (!d->qframes && d->link < now) d->link = now, d->frac = 0;
  flow_t *f = &d->flows[d->cfg.sched == S_FIFO ? 0 : flow_of(p, b)];
  ring_push(&f->q, (pkt_t){it, now, d->seq++});
  d->qframes++;
  d->qoctets += b->wirelen;
  if (!f->active) activate(d, f);
  if (d->qframes > d->cfg.queuelen) { /* from the longest queue */
    flow_t *l = d->active;
    for (flow_t *g = l->next; g != d->active; g = g->next)
      if (g->q.n > l->q.n) l = g;
    pkt_t k = d->cfg.drophead ? take(d, l) : ring_pop_tail(&l->q);
    if (!d->cfg.drophead) {
      d->qframes--;
      d->qoctets -= plen(k.it);
      if (!l->q.n) deactivate(d, l);
    }
    drop(d, k.it, true, MG_DROP_QFULL);
  }
  service(p, d, now);
  return 0;
}

static void flush(pipe_t *p, dir_t *d) {
  if (d->flows)
    while (d->active) {
      flow_t *f = d->active;
      while (f->q.n) drop(d, take(d, f).it, true, MG_DROP_DEAD);
    }
  while (d->delay.n) {
    pkt_t k = ring_pop(&d->delay);
    d->dframes--;
    d->doctets -= plen(k.it);
    drop(d, k.it, false, MG_DROP_DEAD);
  }
  mg_callout_stop(&d->co);
  d->armed = NEVER;
  hold(p);
}

/* {====================================================== configuration */
/* A number of a setcfg, named with its map: "downstream.queuelen". */
static int field(const mg_value_t *m, const char *pre, const char *k, double min,
                 double max, double *out) {
  mg_value_t *v = mg_map_get(m, k);
  if (!v || v->type == MG_NIL) return 0;
  char name[64];
  snprintf(name, sizeof name, "%s%s%s", pre ? pre : "", pre ? "." : "", k);
  if (v->type != MG_INT && v->type != MG_NUM)
    return mg_error(-EINVAL, "setcfg: %s must be a number", name);
  double x = v->type == MG_INT ? (double)v->u.i : v->u.n;
  if (x == -1 || x == 0) { /* off; as it is */
    *out = x;
    return 0;
  }
  if (x != floor(x) && max > 1)
    return mg_error(-EINVAL, "setcfg: %s must be a whole number, got %g", name, x);
  return mg_check_num(x, name, min, max) ? -EINVAL : (*out = x, 0);
}

/* Apply x, which field() checked: -1 off (def), 0 as it is. */
#define SETF(var, x, def) \
  do { if ((x) == -1) (var) = (def); else if ((x) != 0) (var) = (x); } while (0)

static const char *const dir_known[] = {"bandwidth", "BER", "ber", "plr", "queuelen",
  "delaylen", "duplicate", "fifo", "drr", "wfq", "droptail", "drophead", NULL};
static const char *const top_known[] = {"bandwidth", "delay", "overhead", "header_offset",
  "seed", "downstream", "upstream", NULL};
#define CFG_FORM "{ bandwidth=10000000 delay=40000 downstream={ queuelen=50 BER=0 " \
  "plr=0.001 duplicate=0 fifo=1 drr=0 wfq=0 droptail=1 drophead=0 } upstream={ ... } }"

static int parse_dir(const mg_value_t *m, const char *pre, dcfg_t *c) {
  char cmd[32];
  snprintf(cmd, sizeof cmd, "setcfg %s", pre);
  int rc = mg_map_only(m, cmd, dir_known, "{ bandwidth BER plr queuelen delaylen "
                       "duplicate fifo drr wfq droptail drophead }");
  if (rc) return rc;
  double bw = 0, ber = 0, ber2 = 0, plr = 0, ql = 0, dl = 0, dup = 0, fifo = 0, drr = 0,
         wfq = 0, tail = 0, head = 0;
  if ((rc = field(m, pre, "bandwidth", 100, 1e12, &bw)) ||
      (rc = field(m, pre, "BER", 1, 1e12, &ber)) ||
      (rc = field(m, pre, "ber", 1, 1e12, &ber2)) ||
      (rc = field(m, pre, "plr", 0, 1, &plr)) ||
      (rc = field(m, pre, "queuelen", 5, QLEN_MAX, &ql)) ||
      (rc = field(m, pre, "delaylen", 5, DLEN_MAX, &dl)) ||
      (rc = field(m, pre, "duplicate", 1, 50, &dup)) ||
      (rc = field(m, pre, "fifo", 1, 1, &fifo)) ||
      (rc = field(m, pre, "drr", 1, 1 << 20, &drr)) ||
      (rc = field(m, pre, "wfq", 1, 1, &wfq)) ||
      (rc = field(m, pre, "droptail", 1, 1, &tail)) ||
      (rc = field(m, pre, "drophead", 1, 1, &head)))
    return rc;
  if (ber2) ber = ber2;
  if (fifo + (drr > 0) + wfq > 1 || (tail > 0 && head > 0))
    return mg_error(-EINVAL, "setcfg: %s: name one of fifo, drr and wfq, and one of "
                    "droptail and drophead", pre);
  SETF(c->bandwidth, bw, 0);
  SETF(c->ber, ber, 0);
  if (plr == -1) c->plr = 0;
  else if (plr > 0) c->plr = plr;
  SETF(c->queuelen, ql, QLEN_DEFAULT);
  SETF(c->delaylen, dl, 0);
  SETF(c->duplicate, dup, 0);
  if (fifo > 0 || bw == -1) c->sched = S_FIFO, c->drr = 0;
  if (wfq > 0) c->sched = S_WFQ, c->drr = 0;
  if (drr > 0) c->sched = S_DRR, c->drr = drr >= 32 ? (uint32_t)drr : DRR_QUANTUM;
  if (tail > 0) c->drophead = false;
  if (head > 0) c->drophead = true;
  return 0;
}

static void reseed(pipe_t *p) {
  uint64_t s = p->seed ? (uint64_t)p->seed
                       : (uint64_t)mg_now(mg_node_engine(p->node)) ^ (uintptr_t)p;
  for (int i = 0; i < 2; i++) p->d[i].rng = s * 2 + (uint64_t)i;
}

static int setcfg(pipe_t *p, const mg_value_t *a) {
  int rc = mg_map_only(a, "setcfg", top_known, CFG_FORM);
  double bw = 0, delay = 0, oh = 0, ho = 0, seed = 0;
  if (rc || (rc = field(a, NULL, "bandwidth", 100, 1e12, &bw)) ||
      (rc = field(a, NULL, "delay", 1, 1e7, &delay)) ||
      (rc = field(a, NULL, "overhead", 1, 255, &oh)) ||
      (rc = field(a, NULL, "header_offset", 1, 63, &ho)) ||
      (rc = field(a, NULL, "seed", 1, 9007199254740991.0, &seed)))
    return rc;
  dcfg_t c[2] = {p->d[DOWN].cfg, p->d[UP].cfg};
  uint32_t overhead = p->overhead;
  if (bw == -1) {
    c[0].bandwidth = c[1].bandwidth = 0, overhead = 0;
    c[0].sched = c[1].sched = S_FIFO;
  } else if (bw > 0) {
    c[0].bandwidth = c[1].bandwidth = (uint64_t)bw;
    overhead = bw >= 1e7 ? 8 + 4 + 12 : 10; /* Ethernet's, or HDLC's */
  }
  SETF(overhead, oh, 0);
  static const char *const names[2] = {"downstream", "upstream"};
  for (int i = 0; i < 2; i++) {
    const mg_value_t *m = mg_map_get(a, names[i]);
    if (m && m->type != MG_NIL && (rc = parse_dir(m, names[i], &c[i]))) return rc;
  }
  /* all good: now it changes */
  SETF(p->delay, delay, 0);
  SETF(p->header_offset, ho, 0);
  p->overhead = overhead;
  if (seed > 0) p->seed = (int64_t)seed, reseed(p);
  for (int i = 0; i < 2; i++) {
    dir_t *d = &p->d[i];
    bool resched = d->cfg.sched != c[i].sched;
    d->cfg = c[i];
    if (resched && d->active) { /* the flows with frames start afresh */
      flow_t *f = d->active;
      do {
        f->deficit = d->cfg.drr ? d->cfg.drr : DRR_QUANTUM;
        f->finish = d->vtime + plen(ring_front(&f->q)->it);
        f = f->next;
      } while (f != d->active);
    }
  }
  return 0;
}

static mg_value_t *getcfg(pipe_t *p) {
  mg_value_t *r = mg_map();
  bool same = p->d[DOWN].cfg.bandwidth == p->d[UP].cfg.bandwidth;
  mg_map_set(r, "bandwidth", mg_int(same ? (int64_t)p->d[DOWN].cfg.bandwidth : 0));
  mg_map_set(r, "delay", mg_int((int64_t)p->delay));
  mg_map_set(r, "header_offset", mg_int(p->header_offset));
  mg_map_set(r, "overhead", mg_int(p->overhead));
  mg_map_set(r, "seed", mg_int(p->seed));
  static const char *const names[2] = {"downstream", "upstream"};
  for (int i = 0; i < 2; i++) {
    const dcfg_t *c = &p->d[i].cfg;
    mg_value_t *m = mg_map();
    mg_map_set(m, "bandwidth", mg_int(same ? 0 : (int64_t)c->bandwidth));
    mg_map_set(m, "BER", mg_int((int64_t)c->ber));
    mg_map_set(m, "plr", mg_num(c->plr));
    mg_map_set(m, "queuelen", mg_int(c->queuelen));
    mg_map_set(m, "delaylen", mg_int(c->delaylen));
    mg_map_set(m, "duplicate", mg_int(c->duplicate));
    mg_map_set(m, "fifo", mg_int(c->sched == S_FIFO));
    mg_map_set(m, "drr", mg_int(c->sched == S_DRR ? c->drr : 0));
    mg_map_set(m, "wfq", mg_int(c->sched == S_WFQ));
    mg_map_set(m, "droptail", mg_int(!c->drophead));
    mg_map_set(m, "drophead", mg_int(c->drophead));
    mg_map_set(r, names[i], m);
  }
  return r;
}
/* }====================================================== */

static mg_value_t *both(pipe_t *p, mg_value_t *(*one)(dir_t *)) {
  mg_value_t *r = mg_map();
  mg_map_set(r, "downstream", one(&p->d[DOWN]));
  mg_map_set(r, "upstream", one(&p->d[UP]));
  return r;
}

static mg_value_t *stats_of(dir_t *d) {
  mg_value_t *m = mg_map();
  mg_map_set(m, "FwdOctets", mg_int((int64_t)d->st.fwd_octets));
  mg_map_set(m, "FwdFrames", mg_int((int64_t)d->st.fwd_frames));
  mg_map_set(m, "queueDropOctets", mg_int((int64_t)d->st.qdrop_octets));
  mg_map_set(m, "queueDropFrames", mg_int((int64_t)d->st.qdrop_frames));
  mg_map_set(m, "delayDropOctets", mg_int((int64_t)d->st.ddrop_octets));
  mg_map_set(m, "delayDropFrames", mg_int((int64_t)d->st.ddrop_frames));
  return m;
}

static mg_value_t *run_of(dir_t *d) {
  mg_value_t *m = mg_map();
  mg_map_set(m, "queues", mg_int(d->nactive));
  mg_map_set(m, "queuedOctets", mg_int((int64_t)d->qoctets));
  mg_map_set(m, "queuedFrames", mg_int(d->qframes));
  mg_map_set(m, "delayedOctets", mg_int((int64_t)d->doctets));
  mg_map_set(m, "delayedFrames", mg_int(d->dframes));
  return m;
}

static int pipe_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last, mg_value_t **reply) {
  (void)last;
  pipe_t *p = mg_node_priv(n);
  switch (m->cmd) {
  case PIPE_GETSTATS: *reply = both(p, stats_of); return 0;
  case PIPE_GETCLRSTATS: *reply = both(p, stats_of); /* fall through */
  case PIPE_CLRSTATS:
    memset(&p->d[DOWN].st, 0, sizeof p->d[DOWN].st);
    memset(&p->d[UP].st, 0, sizeof p->d[UP].st);
    return 0;
  case PIPE_GETRUN: *reply = both(p, run_of); return 0;
  case PIPE_GETCFG: *reply = getcfg(p); return 0;
  default: return setcfg(p, m->args);
  }
}

static int pipe_constructor(mg_node_t *n) {
  pipe_t *p = mg_node_priv(n);
  p->node = n;
  for (int i = 0; i < 2; i++) {
    p->d[i].cfg.queuelen = QLEN_DEFAULT;
    p->d[i].armed = NEVER;
    mg_callout_init(&p->d[i].co);
  }
  reseed(p);
  return 0;
}

static int pipe_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  pipe_t *p = mg_node_priv(n);
  if (!strcmp(name, "upper")) p->upper = p->d[UP].out = h;
  else if (!strcmp(name, "lower")) p->lower = p->d[DOWN].out = h;
  else return mg_error(-EINVAL, "pipe has hooks 'upper' and 'lower', not '%s'", name);
  return 0;
}

/* Frames on their way to a hook that went have nowhere to go. */
static void pipe_disconnect(mg_hook_t *h) {
  mg_node_t *n = mg_hook_node(h);
  pipe_t *p = mg_node_priv(n);
  dir_t *d = &p->d[h == p->upper ? UP : DOWN];
  if (h == p->upper) p->upper = NULL;
  else p->lower = NULL;
  d->out = NULL;
  flush(p, d);
  if (mg_node_numhooks(n) == 0 && mg_node_valid(n)) mg_node_rmself(n);
}

static void pipe_close(mg_node_t *n) {
  pipe_t *p = mg_node_priv(n);
  flush(p, &p->d[DOWN]);
  flush(p, &p->d[UP]);
}

static void pipe_shutdown(mg_node_t *n) {
  pipe_t *p = mg_node_priv(n);
  for (int i = 0; i < 2; i++) {
    dir_t *d = &p->d[i];
    flush(p, d);
    if (d->flows)
      for (int j = 0; j < NFLOW; j++) free(d->flows[j].q.v);
    free(d->flows);
    free(d->delay.v);
  }
}

static void pipe_status(mg_node_t *n, mg_sbuf_t *out) {
  pipe_t *p = mg_node_priv(n);
  static const char *const names[2] = {"downstream", "upstream"};
  mg_sbuf_printf(out, "delay %llu us, overhead %u bytes\n", (unsigned long long)p->delay,
                 p->overhead);
  for (int i = 0; i < 2; i++) {
    dir_t *d = &p->d[i];
    mg_sbuf_printf(out, "%s: %llu bit/s, %u queued, %u delayed, %llu sent, %llu "
                   "dropped in the queue, %llu lost\n", names[i],
                   (unsigned long long)d->cfg.bandwidth, d->qframes, d->dframes,
                   (unsigned long long)d->st.fwd_frames,
                   (unsigned long long)d->st.qdrop_frames,
                   (unsigned long long)d->st.ddrop_frames);
  }
}

static const mg_cmd_t pipe_cmds[] = {
  {"getstats", PIPE_GETSTATS, MG_CMD_READONLY, "",
   "{ downstream={ FwdOctets FwdFrames queueDropOctets queueDropFrames "
   "delayDropOctets delayDropFrames } upstream={ ... } }"},
  {"clrstats", PIPE_CLRSTATS, 0, "", "zero the counters"},
  {"getclrstats", PIPE_GETCLRSTATS, 0, "", "the counters, then zero them"},
  {"getrun", PIPE_GETRUN, MG_CMD_READONLY, "",
   "{ downstream={ queues queuedOctets queuedFrames delayedOctets delayedFrames } "
   "upstream={ ... } }"},
  {"getrunstats", PIPE_GETRUN, MG_CMD_READONLY, "", "getrun's other name"},
  {"getcfg", PIPE_GETCFG, MG_CMD_READONLY, "", "the settings, as setcfg takes them"},
  {"setcfg", PIPE_SETCFG, 0, CFG_FORM,
   "bandwidth bit/s, delay us, BER 1 in n bits, plr 0..1, duplicate %, queuelen "
   "frames; 0 or absent: as it is, -1: off"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_pipe = {
  .name = "pipe",
  .doc = "A link between upper and lower, each way (downstream: upper to\n"
         "lower; upstream: lower to upper) with its bandwidth queue (FIFO,\n"
         "DRR or WFQ per flow; drop-tail or drop-head), bit errors, a\n"
         "packet loss rate, duplication and a delay.  Frames leave with\n"
         "their timestamps moved on by the exact time they spent inside, on\n"
         "the engine clock: under a virtual clock the same on every run\n"
         "(seed= makes loss repeat too); frames still inside when a capture\n"
         "ends leave when the clock moves on (g:advance).",
  .priv_size = sizeof(pipe_t),
  .flags = MG_TF_FORCE_WRITER,
  .constructor = pipe_constructor,
  .newhook = pipe_newhook,
  .rcvdata = pipe_rcvdata,
  .rcvmsg = pipe_rcvmsg,
  .disconnect = pipe_disconnect,
  .close = pipe_close,
  .shutdown = pipe_shutdown,
  .status = pipe_status,
  .cmds = pipe_cmds,
};
