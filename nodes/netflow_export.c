/*
** netflow_export.c -- flow records into NetFlow v5, NetFlow v9 (RFC
** 3954) and IPFIX (RFC 7011) datagrams, for the netflow node.
**
** Times: v5 and v9 carry a flow's first and last packet as milliseconds
** of the exporter's uptime, which a collector turns back into wall time
** with the header's clock.  Our "boot" (boot_ms) is a whole second, and
** v9's header, which has whole seconds only, gives the uptime as of that
** whole second, so that a collector gets every time back to the
** millisecond.  IPFIX carries them as milliseconds since the epoch.
** v9 and IPFIX datagrams carry either IPv4 or IPv6 flows, one template
** each (256 and 257, as ng_netflow's), and begin with both templates
** when they are due (settemplate).
*/
#include <stdlib.h>
#include <string.h>

#include "moongraph.h"
#include "netflow.h"

#define V5_HDR 24
#define V5_REC 48
#define V5_MAX 30
#define V9_HDR 20
#define IPFIX_HDR 16
#define UDPIP_HDR 28 /* what the MTU leaves room for besides the datagram */

typedef struct { uint16_t id, len; } field_t;

/* The fields of a record, in order; the times differ by version. */
/* ICMP's type and code (32; IPFIX's for ICMPv6 is 139, v9's is 32 for
** both) besides the destination port, as collectors take them from there
** for ICMP flows */
static const field_t f_v4[] = {{8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}, {5, 1},
                               {6, 1}, {10, 2}, {2, 8}, {1, 8}, {32, 2}};
static const field_t f_v6[] = {{27, 16}, {28, 16}, {7, 2}, {11, 2}, {4, 1}, {5, 1},
                               {6, 1}, {10, 2}, {2, 8}, {1, 8}, {139, 2}};
#define NF_COMMON 11
static const field_t t_v9[] = {{22, 4}, {21, 4}};     /* FIRST/LAST_SWITCHED */
static const field_t t_ipfix[] = {{152, 8}, {153, 8}}; /* flowStart/EndMilliseconds */

static uint8_t *put16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
  return p + 2;
}
static uint8_t *put32(uint8_t *p, uint32_t v) {
  return put16(put16(p, v >> 16), v & 0xffff);
}
static uint8_t *put64(uint8_t *p, uint64_t v) {
  return put32(put32(p, (uint32_t)(v >> 32)), (uint32_t)v);
}

static uint32_t rec_len(int version, bool v6) {
  if (version == 5) return V5_REC;
  uint32_t n = v6 ? 16 + 16 : 4 + 4;
  n += 2 + 2 + 1 + 1 + 1 + 2 + 8 + 8 + 2;
  return n + (version == 9 ? 8 : 16);
}

static uint32_t hdr_len(int version) {
  return version == 5 ? V5_HDR : version == 9 ? V9_HDR : IPFIX_HDR;
}

static uint32_t max_len(int version, const mg_nf_tmplcfg_t *c) {
  return version == 5 ? V5_HDR + V5_MAX * V5_REC : c->mtu - UDPIP_HDR;
}

int mg_nf_slot(const mg_nf_exp_t *x, const mg_nf_rec_t *r) {
  if (x->version == 5) return r->k->v6 ? -1 : 0;
  return r->k->v6;
}

bool mg_nf_room(const mg_nf_exp_t *x, const mg_nf_tmplcfg_t *c, int which) {
  const mg_nf_dgram_t *d = &x->d[which];
  if (!d->nrec) return true; /* an empty one opens with room for one at least */
  uint32_t pad = x->version == 5 ? 0 : 3; /* a data set ends on 4 bytes */
  return d->len + rec_len(x->version, which) + pad <= max_len(x->version, c);
}

/* The template set: both templates, IPv4's and IPv6's. */
static uint8_t *templates(const mg_nf_exp_t *x, uint8_t *p) {
  const field_t *times = x->version == 9 ? t_v9 : t_ipfix;
  uint8_t *set = p;
  p = put16(p, x->version == 9 ? 0 : 2);
  p += 2; /* its length, below */
  for (int v6 = 0; v6 < 2; v6++) {
    const field_t *f = v6 ? f_v6 : f_v4;
    p = put16(p, 256u + (uint32_t)v6);
    p = put16(p, NF_COMMON + 2);
    for (int i = 0; i < NF_COMMON; i++)
      p = put16(put16(p, f[i].id == 139 && x->version == 9 ? 32 : f[i].id), f[i].len);
    for (int i = 0; i < 2; i++) p = put16(put16(p, times[i].id), times[i].len);
  }
  put16(set + 2, (uint32_t)(p - set));
  return p;
}

/* The template set's size: both templates. */
#define TSET (4 + 2 * (4 + 4 * (NF_COMMON + 2)))

/* A datagram is filled with room for the templates kept after its header:
** whether they go in is decided when it is sent, as the first datagram
** sent must carry them whichever slot was opened first. */
static void open_dgram(mg_nf_exp_t *x, const mg_nf_tmplcfg_t *c, int which) {
  mg_nf_dgram_t *d = &x->d[which];
  uint32_t cap = max_len(x->version, c);
  if (d->cap < cap) {
    free(d->buf);
    d->buf = mg_alloc(cap), d->cap = cap;
  }
  d->len = hdr_len(x->version);
  d->nrec = d->count = 0;
  d->v6 = which;
  if (x->version == 5) return;
  d->len += TSET;
  d->set = d->len;
  put16(d->buf + d->len, 256u + (uint32_t)which);
  d->len += 4;
}

/* The templates in their room when they are due; else the room goes. */
static void place_templates(mg_nf_exp_t *x, const mg_nf_tmplcfg_t *c, mg_nf_dgram_t *d,
                            int64_t now_ms) {
  uint32_t h = hdr_len(x->version);
  if (x->tmpl_ms < 0 || x->tmpl_pkts >= c->packets ||
      now_ms - x->tmpl_ms >= (int64_t)c->secs * 1000) {
    templates(x, d->buf + h);
    d->count += 2;
    x->tmpl_ms = now_ms, x->tmpl_pkts = 0;
    return;
  }
  memmove(d->buf + h, d->buf + h + TSET, d->len - h - TSET);
  d->len -= TSET, d->set -= TSET;
}

void mg_nf_put(mg_nf_exp_t *x, const mg_nf_tmplcfg_t *c, int which, const mg_nf_rec_t *r) {
  mg_nf_dgram_t *d = &x->d[which];
  if (!d->nrec) open_dgram(x, c, which);
  uint8_t *p = d->buf + d->len, *start = p;
  const mg_nf_key_t *k = r->k;
  uint32_t first = (uint32_t)(r->first_ms - c->boot_ms), last = (uint32_t)(r->last_ms - c->boot_ms);
  if (x->version == 5) {
    memcpy(p, k->src, 4), memcpy(p + 4, k->dst, 4);
    p = put32(p + 8, 0); /* next hop */
    p = put16(put16(p, r->ifindex), 0);
    /* v5's counters are 32 bits: a flow past them says as much as it can */
    p = put32(p, r->packets > UINT32_MAX ? UINT32_MAX : (uint32_t)r->packets);
    p = put32(p, r->bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)r->bytes);
    p = put32(put32(p, first), last);
    p = put16(put16(p, k->sport), k->dport);
    *p++ = 0, *p++ = r->tcp_flags, *p++ = k->proto, *p++ = k->tos;
    memset(p, 0, 8); /* AS numbers, masks, padding */
    p += 8;
  } else {
    uint32_t al = k->v6 ? 16 : 4;
    memcpy(p, k->src, al), memcpy(p + al, k->dst, al);
    p = put16(put16(p + 2 * al, k->sport), k->dport);
    *p++ = k->proto, *p++ = k->tos, *p++ = r->tcp_flags;
    p = put16(p, r->ifindex);
    p = put64(put64(p, r->packets), r->bytes);
    p = put16(p, k->proto == (k->v6 ? 58 : 1) ? k->dport : 0);
    if (x->version == 9) p = put32(put32(p, first), last);
    else p = put64(put64(p, (uint64_t)r->first_ms), (uint64_t)r->last_ms);
  }
  d->len += (uint32_t)(p - start);
  d->nrec++, d->count++;
}

uint8_t *mg_nf_take(mg_nf_exp_t *x, const mg_nf_tmplcfg_t *c, int which, int64_t now_ms,
                    uint32_t *len) {
  mg_nf_dgram_t *d = &x->d[which];
  if (!d->nrec) return NULL;
  uint8_t *p = d->buf;
  int64_t secs = now_ms / 1000;
  if (x->version == 5) {
    p = put16(put16(p, 5), d->nrec);
    p = put32(p, (uint32_t)(now_ms - c->boot_ms));
    p = put32(put32(p, (uint32_t)secs), (uint32_t)(now_ms % 1000) * 1000000u);
    p = put32(p, x->seq);
    memset(p, 0, 4); /* engine type and id, sampling */
    x->seq += d->nrec;
  } else {
    place_templates(x, c, d, now_ms);
    while (d->len % 4) d->buf[d->len++] = 0; /* the data set ends on 4 bytes */
    put16(d->buf + d->set + 2, d->len - d->set);
    if (x->version == 9) {
      p = put16(put16(p, 9), d->count);
      p = put32(p, (uint32_t)(secs * 1000 - c->boot_ms));
      p = put32(put32(p, (uint32_t)secs), x->seq++);
      put32(p, 0); /* source id */
    } else {
      p = put16(put16(p, 10), d->len);
      p = put32(put32(p, (uint32_t)secs), x->seq);
      put32(p, 0); /* observation domain */
      x->seq += d->nrec;
    }
    x->tmpl_pkts++;
  }
  *len = d->len;
  uint8_t *out = d->buf;
  d->buf = NULL, d->cap = 0, d->nrec = d->count = d->len = 0;
  return out;
}

void mg_nf_exp_free(mg_nf_exp_t *x) {
  for (int i = 0; i < 2; i++) {
    free(x->d[i].buf);
    x->d[i].buf = NULL, x->d[i].cap = 0, x->d[i].nrec = 0;
  }
}
