/*
** netflow.c -- flow accounting and export (netgraph's ng_netflow), with
** NetFlow v5, NetFlow v9 and IPFIX.
**
** HOOKS     iface0..iface65535: packets in, accounted, then passed on
**           unchanged out of outN when it is connected; packets arriving
**           on outN go out of ifaceN (accounted only with conf 2,
**           egress).  export (NetFlow v5), export9 (NetFlow v9), ipfix
**           (IPFIX, RFC 7011): each datagram is a data item, for a
**           ksocket node (UDP to a collector), a pcapout or Lua.
** MESSAGES  info, ifinfo N, setdlt { iface dlt }, setifindex { iface
**           index }, settimeouts { inactive active }, setconfig { iface
**           conf }, settemplate { time packets }, setmtu { mtu }, v9info,
**           show (ng_netflow's); setcachesize { size }, flush (ours).
**
** A flow is keyed as ng_netflow keys it: addresses, ports, protocol, ToS
** and the input hook's number (netflow_parse.c), with IPv6 besides IPv4
** (v9 and IPFIX only: v5 cannot carry it).  It ends when it has been
** idle past the inactive timeout, when it has lasted past the active
** timeout, and with a TCP FIN or RST (the packet counted first).  Time
** is the engine's clock: under clock="virtual" a capture replayed at top
** speed gives the flows, and the times, a replay at original speed
** would.  Both timeouts are also checked exactly on each packet, so the
** once-a-second sweep (a callout) decides only when an idle flow leaves,
** never what it holds.  The cache holds at most `size` flows (262144, as
** ng_netflow's); a packet that would start one more is not accounted
** ("Failed allocations", "IPv4/IPv6 skipped packets").  Frames with no IP
** and frames cut short are counted ("Non-IP packets", "Malformed
** packets") and passed on.
*/
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "netflow.h"

enum { /* ng_netflow's numbers */
  NF_INFO = 1, NF_IFINFO, NF_SHOW, NF_SETDLT, NF_SETIFINDEX, NF_SETTIMEOUTS,
  NF_SETCONFIG, NF_SETTEMPLATE, NF_SETMTU, NF_V9INFO,
  NF_SETCACHESIZE = 100, NF_FLUSH
};
enum { K_IFACE = 1, K_OUT, K_EXPORT }; /* hook kinds, in the hook's private word */
enum { CONF_INGRESS = 1, CONF_EGRESS = 2, CONF_ONCE = 4, CONF_THISONCE = 8 };
enum { X_V5, X_V9, X_IPFIX, NX };

#define MAXIFACES 65536
#define CACHE_DEFAULT (65536 * 4)
#define CACHE_MAX 10000000u
#define MTAG_NETFLOW 1221656444u
#define SWEEP_NS 1000000000 /* the expiry sweep, once a second */
#define MS 1000000

typedef struct {
  mg_hook_t *in, *out;
  uint64_t packets;
  int dlt;        /* -1: each packet's own link type */
  uint16_t index; /* setifindex */
  uint32_t conf;
} iface_t;

typedef struct {
  mg_nf_key_t k;
  uint64_t packets, bytes;
  int64_t first, last; /* engine time, ns */
  uint32_t hnext;      /* hash chain; the free list */
  uint32_t lprev, lnext; /* by last packet, oldest first */
  uint32_t aprev, anext; /* by first packet, oldest first */
  uint8_t tcp_flags;
} flow_t;

typedef struct { uint32_t head, tail; } list_t;

typedef struct {
  mg_node_t *node;
  iface_t *ifs;
  uint32_t nifs;
  mg_hook_t *xh[NX];
  mg_nf_exp_t x[NX];
  mg_nf_tmplcfg_t tc;
  bool booted, armed;
  flow_t *f;          /* f[0] is nil */
  uint32_t fcap, nflows, nflows6, maxflows, freelist;
  uint32_t *bucket, bmask;
  list_t lru, act;
  uint32_t inact_s, act_s;
  mg_callout_t co;
  uint64_t bytes4, pkts4, bytes6, pkts6, sbytes4, spkts4, sbytes6, spkts6;
  uint64_t act_exp, inact_exp, fin_exp, nonip, malformed, alloc_failed;
  uint32_t xfailed[NX];
} nf_t;

/* {====================================================== the cache */
static uint32_t hash(const mg_nf_key_t *k) {
  uint32_t w[sizeof *k / 4];
  memcpy(w, k, sizeof w);
  uint64_t h = 0x9e3779b97f4a7c15u;
  for (size_t i = 0; i < sizeof w / 4; i++) h = (h ^ w[i]) * 0xff51afd7ed558ccdu;
  return (uint32_t)(h ^ h >> 29);
}

#define LINK(F, L, P, N, i) do {                                        \
    (F)[i].N = 0, (F)[i].P = (L).tail;                                  \
    if ((L).tail) (F)[(L).tail].N = (i); else (L).head = (i);           \
    (L).tail = (i);                                                     \
  } while (0)
#define UNLINK(F, L, P, N, i) do {                                      \
    if ((F)[i].P) (F)[(F)[i].P].N = (F)[i].N; else (L).head = (F)[i].N; \
    if ((F)[i].N) (F)[(F)[i].N].P = (F)[i].P; else (L).tail = (F)[i].P; \
  } while (0)

static void rehash(nf_t *nf, uint32_t nb) {
  free(nf->bucket);
  nf->bucket = mg_calloc(nb, sizeof *nf->bucket);
  nf->bmask = nb - 1;
  for (uint32_t i = nf->act.head; i; i = nf->f[i].anext) {
    uint32_t b = hash(&nf->f[i].k) & nf->bmask;
    nf->f[i].hnext = nf->bucket[b], nf->bucket[b] = i;
  }
}

static uint32_t lookup(nf_t *nf, const mg_nf_key_t *k, uint32_t h) {
  if (!nf->bucket) return 0;
  for (uint32_t i = nf->bucket[h & nf->bmask]; i; i = nf->f[i].hnext)
    if (!memcmp(&nf->f[i].k, k, sizeof *k)) return i;
  return 0;
}

/* A slot for a new flow: from the free list, or the array grown (twice
** as big, no more than the cache's size, the buckets with it). */
static uint32_t alloc_flow(nf_t *nf) {
  if (nf->freelist) {
    uint32_t i = nf->freelist;
    nf->freelist = nf->f[i].hnext;
    return i;
  }
  if (nf->nflows + 1 >= nf->fcap) {
    uint32_t cap = nf->fcap ? nf->fcap * 2 : 1024;
    if (cap > nf->maxflows + 1) cap = nf->maxflows + 1;
    nf->f = mg_realloc(nf->f, (size_t)cap * sizeof *nf->f);
    nf->fcap = cap;
    uint32_t nb = 1;
    while (nb < cap) nb <<= 1;
    if (nb - 1 != nf->bmask || !nf->bucket) rehash(nf, nb);
  }
  return nf->nflows + 1; /* slots 1..nflows are all in use */
}

static void free_flow(nf_t *nf, uint32_t i) {
  flow_t *f = &nf->f[i];
  uint32_t *pp = &nf->bucket[hash(&f->k) & nf->bmask];
  while (*pp != i) pp = &nf->f[*pp].hnext;
  *pp = f->hnext;
  UNLINK(nf->f, nf->lru, lprev, lnext, i);
  UNLINK(nf->f, nf->act, aprev, anext, i);
  nf->nflows--;
  if (f->k.v6) nf->nflows6--;
  f->hnext = nf->freelist, nf->freelist = i;
}

static void free_cache(nf_t *nf) {
  free(nf->f), free(nf->bucket);
  nf->f = NULL, nf->bucket = NULL;
  nf->fcap = nf->nflows = nf->nflows6 = nf->freelist = nf->bmask = 0;
  nf->lru = nf->act = (list_t){0, 0};
}
/* }====================================================== */

/* {====================================================== export */
static int64_t now_ms(nf_t *nf) { return mg_now(mg_node_engine(nf->node)) / MS; }

static void send_dgram(nf_t *nf, int v, int which) {
  uint32_t len;
  uint8_t *p = mg_nf_take(&nf->x[v], &nf->tc, which, now_ms(nf), &len);
  if (!p) return;
  mg_buf_t *b = mg_buf_new(len);
  if (!b) {
    nf->xfailed[v]++;
    free(p);
    return;
  }
  mg_buf_set(b, p, len);
  free(p);
  b->ts = mg_now(mg_node_engine(nf->node));
  if (!nf->xh[v] || mg_forward(nf->xh[v], mg_data_new(nf->node, b)) < 0) nf->xfailed[v]++;
}

static void send_all(nf_t *nf) {
  for (int v = 0; v < NX; v++)
    for (int w = 0; w < 2; w++) send_dgram(nf, v, w);
}

static void export_flow(nf_t *nf, uint32_t i) {
  flow_t *f = &nf->f[i];
  mg_nf_rec_t r = {&f->k, f->packets, f->bytes, f->first / MS, f->last / MS,
                   f->k.iface < nf->nifs && nf->ifs[f->k.iface].index
                       ? nf->ifs[f->k.iface].index : f->k.iface,
                   f->tcp_flags};
  for (int v = 0; v < NX; v++) {
    if (!nf->xh[v]) continue;
    int w = mg_nf_slot(&nf->x[v], &r);
    if (w < 0) continue;
    if (!mg_nf_room(&nf->x[v], &nf->tc, w)) send_dgram(nf, v, w);
    mg_nf_put(&nf->x[v], &nf->tc, w, &r);
    if (!mg_nf_room(&nf->x[v], &nf->tc, w)) send_dgram(nf, v, w);
  }
  free_flow(nf, i);
}

/* Every flow idle or old past its timeout, as of now. */
static void expire(nf_t *nf, int64_t now) {
  int64_t inact = (int64_t)nf->inact_s * 1000000000, act = (int64_t)nf->act_s * 1000000000;
  while (nf->lru.head && now - nf->f[nf->lru.head].last > inact) {
    export_flow(nf, nf->lru.head);
    nf->inact_exp++;
  }
  while (nf->act.head && now - nf->f[nf->act.head].first > act) {
    export_flow(nf, nf->act.head);
    nf->act_exp++;
  }
}

static void flush_all(nf_t *nf) {
  while (nf->act.head) export_flow(nf, nf->act.head);
  send_all(nf);
}

static int sweep(mg_node_t *n, mg_hook_t *h, void *arg, intptr_t x);

static void arm(nf_t *nf) {
  if (nf->armed) return;
  nf->armed = true;
  mg_callout_reset(&nf->co, nf->node, SWEEP_NS, sweep, nf, 0);
}

static int sweep(mg_node_t *n, mg_hook_t *h, void *arg, intptr_t x) {
  (void)h, (void)arg, (void)x;
  nf_t *nf = mg_node_priv(n);
  nf->armed = false;
  expire(nf, mg_now(mg_node_engine(n)));
  send_all(nf); /* what is left waits no longer than a sweep */
  if (nf->nflows) arm(nf);
  return 0;
}
/* }====================================================== */

/* {====================================================== accounting */
/* ONCE and THISONCE: a tag on the packet says it was counted here (or
** anywhere); it is put on a copy of the packet when shared. */
static bool counted_before(nf_t *nf, mg_item_t *it, uint32_t conf) {
  uint32_t id = (conf & CONF_THISONCE) ? mg_node_id(nf->node) : 0;
  uint64_t v;
  if (mg_buf_tag_get(mg_item_buf(it), MTAG_NETFLOW, id, &v)) return true;
  mg_buf_t *b = mg_item_writable(it);
  if (b) mg_buf_tag_set(b, MTAG_NETFLOW, id, 1);
  return false;
}

static void account(nf_t *nf, uint16_t idx, mg_item_t *it) {
  iface_t *ifc = &nf->ifs[idx];
  if ((ifc->conf & (CONF_ONCE | CONF_THISONCE)) && counted_before(nf, it, ifc->conf)) return;
  const mg_buf_t *b = mg_item_buf(it);
  mg_nf_pkt_t p;
  ifc->packets++;
  int rc = mg_nf_parse(b->data, b->len, ifc->dlt >= 0 ? ifc->dlt : b->linktype, idx, &p);
  if (rc == MG_NF_NOTIP) { nf->nonip++; return; }
  if (rc != MG_NF_OK) { nf->malformed++; return; }
  int64_t now = mg_now(mg_node_engine(nf->node));
  if (!nf->booted) {
    /* uptime's 0: a whole second, so that v9's header (whole seconds) says
    ** it exactly, and one before the first packet, as collectors take an
    ** uptime of 0 for none */
    nf->booted = true;
    nf->tc.boot_ms = (now / MS / 1000 - 1) * 1000;
  }
  uint32_t h = hash(&p.k), i = lookup(nf, &p.k, h);
  if (i && (now - nf->f[i].last > (int64_t)nf->inact_s * 1000000000 ||
            now - nf->f[i].first > (int64_t)nf->act_s * 1000000000)) {
    if (now - nf->f[i].last > (int64_t)nf->inact_s * 1000000000) nf->inact_exp++;
    else nf->act_exp++;
    export_flow(nf, i);
    i = 0;
  }
  if (!i) {
    if (nf->nflows >= nf->maxflows) {
      nf->alloc_failed++;
      if (p.k.v6) nf->spkts6++, nf->sbytes6 += p.bytes;
      else nf->spkts4++, nf->sbytes4 += p.bytes;
      return;
    }
    i = alloc_flow(nf);
    flow_t *f = &nf->f[i];
    memset(f, 0, sizeof *f);
    f->k = p.k;
    f->first = now;
    uint32_t bk = h & nf->bmask;
    f->hnext = nf->bucket[bk], nf->bucket[bk] = i;
    LINK(nf->f, nf->act, aprev, anext, i);
    LINK(nf->f, nf->lru, lprev, lnext, i);
    nf->nflows++;
    if (p.k.v6) nf->nflows6++;
    arm(nf);
  } else if (nf->lru.tail != i) {
    UNLINK(nf->f, nf->lru, lprev, lnext, i);
    LINK(nf->f, nf->lru, lprev, lnext, i);
  }
  flow_t *f = &nf->f[i];
  f->packets++, f->bytes += p.bytes, f->last = now, f->tcp_flags |= p.tcp_flags;
  if (p.k.v6) nf->pkts6++, nf->bytes6 += p.bytes;
  else nf->pkts4++, nf->bytes4 += p.bytes;
  if (p.k.proto == 6 && (p.tcp_flags & 0x05)) { /* FIN or RST */
    nf->fin_exp++;
    export_flow(nf, i);
  }
}

static int nf_rcvdata(mg_hook_t *h, mg_item_t *it) {
  nf_t *nf = mg_node_priv(mg_hook_node(h));
  uintptr_t w = (uintptr_t)mg_hook_priv(h);
  int kind = (int)(w >> 20);
  uint16_t idx = (uint16_t)(w & 0xffff);
  if (kind == K_EXPORT) {
    mg_drop(it, MG_DROP_POLICY);
    return 0;
  }
  iface_t *ifc = &nf->ifs[idx];
  if (ifc->conf & (kind == K_IFACE ? CONF_INGRESS : CONF_EGRESS)) account(nf, idx, it);
  mg_hook_t *out = kind == K_IFACE ? ifc->out : ifc->in;
  if (!out) {
    mg_consume(it);
    return 0;
  }
  return mg_forward(out, it);
}
/* }====================================================== */

/* {====================================================== hooks */
static const char *const xnames[NX] = {"export", "export9", "ipfix"};

static int nf_constructor(mg_node_t *n) {
  nf_t *nf = mg_node_priv(n);
  nf->node = n;
  nf->maxflows = CACHE_DEFAULT;
  nf->inact_s = 15, nf->act_s = 1800;
  nf->tc = (mg_nf_tmplcfg_t){.packets = 500, .secs = 600, .mtu = 1500};
  static const int ver[NX] = {5, 9, 10};
  for (int v = 0; v < NX; v++) nf->x[v].version = ver[v], nf->x[v].tmpl_ms = -1;
  mg_callout_init(&nf->co);
  return 0;
}

/* "iface12" -> 12; -1 when name is not prefix followed by a number. */
static long hook_num(const char *name, const char *prefix) {
  size_t l = strlen(prefix);
  if (strncmp(name, prefix, l) || !name[l]) return -1;
  long v = 0;
  for (const char *p = name + l; *p; p++) {
    if (*p < '0' || *p > '9' || v >= MAXIFACES) return -1;
    v = v * 10 + (*p - '0');
  }
  if (name[l] == '0' && name[l + 1]) return -1; /* one spelling per number */
  return v < MAXIFACES ? v : -1;
}

static int nf_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  nf_t *nf = mg_node_priv(n);
  for (int v = 0; v < NX; v++)
    if (!strcmp(name, xnames[v])) {
      nf->xh[v] = h;
      mg_hook_set_priv(h, (void *)(((uintptr_t)K_EXPORT << 20) | (uintptr_t)v));
      return 0;
    }
  long i = hook_num(name, "iface");
  int kind = K_IFACE;
  if (i < 0) i = hook_num(name, "out"), kind = K_OUT;
  if (i < 0)
    return mg_error(-EINVAL, "netflow has hooks iface0..iface%d, out0..out%d, export, "
                    "export9 and ipfix, not '%s'", MAXIFACES - 1, MAXIFACES - 1, name);
  if ((uint32_t)i >= nf->nifs) {
    uint32_t cap = (uint32_t)i + 1;
    nf->ifs = mg_realloc(nf->ifs, cap * sizeof *nf->ifs);
    for (uint32_t j = nf->nifs; j < cap; j++)
      nf->ifs[j] = (iface_t){.dlt = -1, .conf = CONF_INGRESS};
    nf->nifs = cap;
  }
  if (kind == K_IFACE) nf->ifs[i].in = h;
  else nf->ifs[i].out = h;
  mg_hook_set_priv(h, (void *)(((uintptr_t)kind << 20) | (uintptr_t)i));
  return 0;
}

static void nf_disconnect(mg_hook_t *h) {
  nf_t *nf = mg_node_priv(mg_hook_node(h));
  uintptr_t w = (uintptr_t)mg_hook_priv(h);
  int kind = (int)(w >> 20);
  uint32_t idx = (uint32_t)(w & 0xffff);
  if (kind == K_EXPORT) { /* its datagrams being filled have nowhere to go */
    nf->xh[idx] = NULL;
    mg_nf_exp_free(&nf->x[idx]);
    nf->x[idx].tmpl_ms = -1; /* a new collector gets the templates first */
  } else if (kind == K_IFACE) nf->ifs[idx].in = NULL;
  else nf->ifs[idx].out = NULL;
  mg_node_t *n = mg_hook_node(h);
  if (mg_node_numhooks(n) == 0 && mg_node_valid(n)) mg_node_rmself(n);
}

/* Shutting down exports what the cache holds, as ng_netflow does. */
static void nf_close(mg_node_t *n) {
  nf_t *nf = mg_node_priv(n);
  mg_callout_stop(&nf->co);
  nf->armed = false;
  flush_all(nf);
}

static void nf_shutdown(mg_node_t *n) {
  nf_t *nf = mg_node_priv(n);
  mg_callout_stop(&nf->co);
  free_cache(nf);
  for (int v = 0; v < NX; v++) mg_nf_exp_free(&nf->x[v]);
  free(nf->ifs);
}
/* }====================================================== */

/* {====================================================== messages */
static const mg_argdoc_t nf_args[] = {
  {"setdlt", "iface", MG_ARG_NUM, 0, MAXIFACES - 1, 0, NULL, NULL, "the ifaceN hook's N (connected)"},
  {"setdlt", "dlt", MG_ARG_NUM, 0, 65535, 1, NULL, "each packet's own",
   "its link type: 1 Ethernet, 12 or 101 raw IP, 113 Linux cooked, 276 cooked v2, 0/108 loopback"},
  {"setifindex", "iface", MG_ARG_NUM, 0, MAXIFACES - 1, 0, NULL, NULL, "the ifaceN hook's N (connected)"},
  {"setifindex", "index", MG_ARG_NUM, 0, 65535, 0, NULL, "N", "the input interface exported for it"},
  {"settimeouts", "inactive", MG_ARG_NUM, 1, 1e9, 15, NULL, NULL, "seconds a flow may be idle"},
  {"settimeouts", "active", MG_ARG_NUM, 1, 1e9, 1800, NULL, NULL, "seconds a flow may last"},
  {"setconfig", "iface", MG_ARG_NUM, 0, MAXIFACES - 1, 0, NULL, NULL, "the ifaceN hook's N (connected)"},
  {"setconfig", "conf", MG_ARG_NUM, 0, 15, 1, NULL, NULL,
   "1 ingress (iface), 2 egress (out), 4 once, 8 once in this node"},
  {"settemplate", "time", MG_ARG_NUM, 1, 86400, 600, NULL, NULL, "seconds between v9/IPFIX templates"},
  {"settemplate", "packets", MG_ARG_NUM, 1, 1e6, 500, NULL, NULL, "datagrams between templates"},
  {"setmtu", "mtu", MG_ARG_NUM, 512, 65535, 1500, NULL, NULL, "v9/IPFIX datagrams fit in it (with IP and UDP)"},
  {"setcachesize", "size", MG_ARG_NUM, 1, CACHE_MAX, CACHE_DEFAULT, NULL, NULL,
   "flows the cache may hold; the flows in it are exported first"},
  {NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL}};

/* Every field of a message: present, whole and within its range. */
static int args(const mg_value_t *a, const char *cmd, const char *form, int nf_, uint64_t *out) {
  const char *known[4] = {NULL, NULL, NULL, NULL};
  const mg_argdoc_t *d[3];
  int k = 0;
  for (const mg_argdoc_t *x = nf_args; x->cmd; x++)
    if (!strcmp(x->cmd, cmd)) d[k] = x, known[k] = x->name, k++;
  int rc = mg_map_only(a, cmd, known, form);
  if (rc) return rc;
  for (int i = 0; i < k; i++) {
    double v = -1;
    if ((rc = mg_map_num(a, d[i]->name, d[i]->min, d[i]->max, &v))) return rc;
    if (v < 0) {
      if (i < nf_) return mg_error(-EINVAL, "%s needs %s (it takes %s)", cmd, d[i]->name, form);
      out[i] = UINT64_MAX; /* absent: unchanged */
      continue;
    }
    if (v != (double)(uint64_t)v) return mg_error(-EINVAL, "%s: %s must be a whole number", cmd, d[i]->name);
    out[i] = (uint64_t)v;
  }
  return 0;
}

static int connected_iface(nf_t *nf, const char *cmd, uint64_t i) {
  if (i >= nf->nifs || !nf->ifs[i].in)
    return mg_error(-EINVAL, "%s: hook iface%u is not connected", cmd, (unsigned)i);
  return 0;
}

static void seti(mg_value_t *m, const char *k, uint64_t v) { mg_map_set(m, k, mg_int((int64_t)v)); }

static mg_value_t *info(nf_t *nf) {
  mg_value_t *r = mg_map();
  seti(r, "IPv4 bytes", nf->bytes4); seti(r, "IPv4 packets", nf->pkts4);
  seti(r, "IPv6 bytes", nf->bytes6); seti(r, "IPv6 packets", nf->pkts6);
  seti(r, "IPv4 skipped bytes", nf->sbytes4); seti(r, "IPv4 skipped packets", nf->spkts4);
  seti(r, "IPv6 skipped bytes", nf->sbytes6); seti(r, "IPv6 skipped packets", nf->spkts6);
  seti(r, "Active expiries", nf->act_exp); seti(r, "Inactive expiries", nf->inact_exp);
  seti(r, "IPv4 records used", nf->nflows - nf->nflows6);
  seti(r, "IPv6 records used", nf->nflows6);
  seti(r, "Failed allocations", nf->alloc_failed);
  seti(r, "V5 failed exports", nf->xfailed[X_V5]);
  seti(r, "V9 failed exports", nf->xfailed[X_V9]);
  seti(r, "IPFIX failed exports", nf->xfailed[X_IPFIX]);
  seti(r, "TCP FIN/RST expiries", nf->fin_exp);
  seti(r, "Non-IP packets", nf->nonip);
  seti(r, "Malformed packets", nf->malformed);
  seti(r, "Cache size", nf->maxflows);
  seti(r, "Inactive timeout", nf->inact_s); seti(r, "Active timeout", nf->act_s);
  return r;
}

static mg_value_t *show(nf_t *nf) {
  mg_value_t *r = mg_array();
  for (uint32_t i = nf->act.head; i; i = nf->f[i].anext) {
    const flow_t *f = &nf->f[i];
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
    inet_ntop(f->k.v6 ? AF_INET6 : AF_INET, f->k.src, s, sizeof s);
    inet_ntop(f->k.v6 ? AF_INET6 : AF_INET, f->k.dst, d, sizeof d);
    mg_value_t *m = mg_map();
    mg_map_set(m, "src", mg_str(s));
    mg_map_set(m, "dst", mg_str(d));
    seti(m, "sport", f->k.sport); seti(m, "dport", f->k.dport);
    seti(m, "proto", f->k.proto); seti(m, "tos", f->k.tos);
    seti(m, "iface", f->k.iface); seti(m, "tcp_flags", f->tcp_flags);
    seti(m, "packets", f->packets); seti(m, "bytes", f->bytes);
    mg_map_set(m, "first_ms", mg_int(f->first / MS));
    mg_map_set(m, "last_ms", mg_int(f->last / MS));
    mg_array_push(r, m);
  }
  return r;
}

static int nf_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last, mg_value_t **reply) {
  (void)last;
  nf_t *nf = mg_node_priv(n);
  uint64_t v[3];
  int rc;
  switch (m->cmd) {
  case NF_INFO: *reply = info(nf); return 0;
  case NF_SHOW: *reply = show(nf); return 0;
  case NF_IFINFO: {
    const mg_value_t *a = m->args;
    if (a && a->type == MG_MAP) a = mg_map_get(a, "iface");
    if (!a || a->type != MG_INT || a->u.i < 0 || a->u.i >= MAXIFACES)
      return mg_error(-EINVAL, "ifinfo takes the ifaceN hook's N, 0 to %d", MAXIFACES - 1);
    if ((rc = connected_iface(nf, "ifinfo", (uint64_t)a->u.i))) return rc;
    const iface_t *f = &nf->ifs[a->u.i];
    *reply = mg_map();
    seti(*reply, "packets", f->packets);
    mg_map_set(*reply, "data link type", mg_int(f->dlt >= 0 ? f->dlt : 1));
    seti(*reply, "index", f->index);
    seti(*reply, "conf", f->conf);
    return 0;
  }
  case NF_SETDLT:
    if ((rc = args(m->args, "setdlt", "{ iface=N dlt=N }", 2, v))) return rc;
    if ((rc = connected_iface(nf, "setdlt", v[0]))) return rc;
    if (!mg_nf_dlt_known((int)v[1]))
      return mg_error(-EINVAL, "setdlt: link type %u is not one netflow reads (1 Ethernet, "
                      "12 or 101 raw IP, 113 or 276 Linux cooked, 0 or 108 loopback)", (unsigned)v[1]);
    nf->ifs[v[0]].dlt = (int)v[1];
    return 0;
  case NF_SETIFINDEX:
    if ((rc = args(m->args, "setifindex", "{ iface=N index=N }", 2, v))) return rc;
    if ((rc = connected_iface(nf, "setifindex", v[0]))) return rc;
    nf->ifs[v[0]].index = (uint16_t)v[1];
    return 0;
  case NF_SETCONFIG:
    if ((rc = args(m->args, "setconfig", "{ iface=N conf=N }", 2, v))) return rc;
    if ((rc = connected_iface(nf, "setconfig", v[0]))) return rc;
    nf->ifs[v[0]].conf = (uint32_t)v[1];
    return 0;
  case NF_SETTIMEOUTS:
    if ((rc = args(m->args, "settimeouts", "{ inactive=S active=S }", 0, v))) return rc;
    if (v[0] != UINT64_MAX) nf->inact_s = (uint32_t)v[0];
    if (v[1] != UINT64_MAX) nf->act_s = (uint32_t)v[1];
    return 0;
  case NF_SETTEMPLATE:
    if ((rc = args(m->args, "settemplate", "{ time=S packets=N }", 0, v))) return rc;
    if (v[0] != UINT64_MAX) nf->tc.secs = (uint32_t)v[0];
    if (v[1] != UINT64_MAX) nf->tc.packets = (uint32_t)v[1];
    return 0;
  case NF_SETMTU:
    if ((rc = args(m->args, "setmtu", "{ mtu=N }", 1, v))) return rc;
    send_all(nf); /* datagrams being filled were sized for the old one */
    nf->tc.mtu = (uint32_t)v[0];
    return 0;
  case NF_V9INFO:
    *reply = mg_map();
    seti(*reply, "v9 template packets", nf->tc.packets);
    seti(*reply, "v9 template time", nf->tc.secs);
    seti(*reply, "v9 MTU", nf->tc.mtu);
    return 0;
  case NF_SETCACHESIZE:
    if ((rc = args(m->args, "setcachesize", "{ size=N }", 1, v))) return rc;
    flush_all(nf);
    free_cache(nf);
    nf->maxflows = (uint32_t)v[0];
    return 0;
  case NF_FLUSH:
    flush_all(nf);
    return 0;
  default:
    return mg_error(-ENOSYS, "netflow: no command '%s'", m->cmdstr);
  }
}

static void nf_status(mg_node_t *n, mg_sbuf_t *out) {
  nf_t *nf = mg_node_priv(n);
  mg_sbuf_printf(out, "flows %u of %u (%u IPv6), timeouts %us inactive %us active, "
                 "%llu packets accounted, %llu not (%llu malformed, %llu cache full)",
                 nf->nflows, nf->maxflows, nf->nflows6, nf->inact_s, nf->act_s,
                 (unsigned long long)(nf->pkts4 + nf->pkts6),
                 (unsigned long long)(nf->malformed + nf->spkts4 + nf->spkts6),
                 (unsigned long long)nf->malformed,
                 (unsigned long long)(nf->spkts4 + nf->spkts6));
}

static const mg_cmd_t nf_cmds[] = {
  {"info", NF_INFO, MG_CMD_READONLY, "", "counters, flows in the cache, timeouts"},
  {"ifinfo", NF_IFINFO, MG_CMD_READONLY | MG_CMD_ANYARGS, "N",
   "ifaceN's packets, link type, index and conf"},
  {"show", NF_SHOW, MG_CMD_READONLY, "", "the flows in the cache, oldest first"},
  {"setdlt", NF_SETDLT, 0, "{ iface=N dlt=N }", "ifaceN's link type (default: each packet's)"},
  {"setifindex", NF_SETIFINDEX, 0, "{ iface=N index=N }",
   "the input interface exported for ifaceN (default N)"},
  {"settimeouts", NF_SETTIMEOUTS, 0, "{ inactive=S active=S }",
   "seconds idle and seconds in all before a flow is exported (15, 1800)"},
  {"setconfig", NF_SETCONFIG, 0, "{ iface=N conf=N }",
   "what is accounted on ifaceN: 1 ingress, 2 egress, 4 once, 8 once here"},
  {"settemplate", NF_SETTEMPLATE, 0, "{ time=S packets=N }",
   "v9/IPFIX templates sent again after S seconds or N datagrams (600, 500)"},
  {"setmtu", NF_SETMTU, 0, "{ mtu=N }", "v9/IPFIX datagrams fit in N bytes with IP and UDP (1500)"},
  {"v9info", NF_V9INFO, MG_CMD_READONLY, "", "template interval and MTU"},
  {"setcachesize", NF_SETCACHESIZE, 0, "{ size=N }",
   "the most flows the cache holds (262144); exports those in it"},
  {"flush", NF_FLUSH, 0, "", "export every flow in the cache now"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_netflow = {
  .name = "netflow",
  .doc = "Flow accounting and export (ng_netflow): packets on ifaceN are keyed by\n"
         "addresses, ports, protocol, ToS and N, passed on out of outN, and\n"
         "their flows leave, when idle (settimeouts inactive), old (active), or\n"
         "ended by TCP FIN/RST, as NetFlow v5 datagrams out of export, v9 out\n"
         "of export9 and IPFIX out of ipfix (IPv6 flows: v9 and IPFIX). Time\n"
         "is the engine clock: under a virtual clock a capture replayed at top\n"
         "speed exports what a real-time replay would, with the capture's times.\n"
         "A full cache (setcachesize) counts new flows as failed allocations;\n"
         "frames with no IP, or cut short, are counted and passed on.",
  .priv_size = sizeof(nf_t),
  .flags = MG_TF_FORCE_WRITER, /* one cache, changed by every packet */
  .constructor = nf_constructor,
  .close = nf_close,
  .shutdown = nf_shutdown,
  .newhook = nf_newhook,
  .rcvdata = nf_rcvdata,
  .rcvmsg = nf_rcvmsg,
  .disconnect = nf_disconnect,
  .status = nf_status,
  .cmds = nf_cmds,
  .argdocs = nf_args,
};
