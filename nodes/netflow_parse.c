/*
** netflow_parse.c -- a frame to the netflow node's flow key.
**
** Outside bytes come in here, so every read is checked against the
** captured length first (spec/fuzz/fuzz_netflow.c runs it under
** libFuzzer).  As ng_netflow: the byte count is what the IP header says
** (ip_len, or 40 + ip6_plen), a fragment but the first has no ports, and
** ToS is the whole byte.  Besides it: ICMP's and ICMPv6's type and code
** go in the destination port (type << 8 | code), as Cisco's exporters and
** softflowd put them, and IPv6 extension headers are walked to the
** transport.
*/
#include <string.h>

#include "netflow.h"

enum {
  DLT_NULL_ = 0, DLT_EN10MB_ = 1, DLT_RAW_ = 12, DLT_RAW14_ = 14, DLT_LOOP_ = 108,
  LT_RAW = 101, LT_SLL = 113, LT_IPV4 = 228, LT_IPV6 = 229, LT_SLL2 = 276
};

bool mg_nf_dlt_known(int dlt) {
  switch (dlt) {
  case DLT_NULL_: case DLT_EN10MB_: case DLT_RAW_: case DLT_RAW14_: case DLT_LOOP_:
  case LT_RAW: case LT_SLL: case LT_IPV4: case LT_IPV6: case LT_SLL2:
    return true;
  default:
    return false;
  }
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* The offset of the IP header in the frame and its version, from the
** link header: 0 when the frame carries no IP, -1 when it is cut short. */
static int link_ip(const uint8_t *d, uint32_t len, int dlt, uint32_t *off) {
  uint16_t type;
  switch (dlt) {
  case DLT_EN10MB_: {
    uint32_t o = 12;
    if (len < 14) return -1;
    type = rd16(d + o);
    /* up to two 802.1Q / 802.1ad tags */
    for (int i = 0; i < 2 && (type == 0x8100 || type == 0x88a8 || type == 0x9100); i++) {
      o += 4;
      if (len < o + 2) return -1;
      type = rd16(d + o);
    }
    *off = o + 2;
    break;
  }
  case LT_SLL:
    if (len < 16) return -1;
    type = rd16(d + 14), *off = 16;
    break;
  case LT_SLL2:
    if (len < 20) return -1;
    type = rd16(d), *off = 20;
    break;
  case DLT_NULL_: case DLT_LOOP_: {
    if (len < 4) return -1;
    uint32_t fam;
    if (dlt == DLT_LOOP_) fam = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | rd16(d + 2);
    else memcpy(&fam, d, 4); /* the writer's byte order: either works below */
    if (fam > 0xffff) fam = __builtin_bswap32(fam);
    *off = 4;
    if (fam == 2) return 4;
    if (fam == 24 || fam == 28 || fam == 30) return 6;
    return 0;
  }
  case DLT_RAW_: case DLT_RAW14_: case LT_RAW: case LT_IPV4: case LT_IPV6:
    *off = 0;
    if (len < 1) return -1;
    return d[0] >> 4 == 4 ? 4 : d[0] >> 4 == 6 ? 6 : -1;
  default:
    return 0;
  }
  return type == 0x0800 ? 4 : type == 0x86dd ? 6 : 0;
}

/* Ports and TCP flags from the transport header at t (n bytes there). */
static int transport(const uint8_t *t, uint32_t n, mg_nf_pkt_t *p) {
  switch (p->k.proto) {
  case 6:
    if (n < 14) return MG_NF_MALFORMED;
    p->tcp_flags = t[13];
    /* fall through */
  case 17: case 132: case 136:
    if (n < 4) return MG_NF_MALFORMED;
    p->k.sport = rd16(t), p->k.dport = rd16(t + 2);
    return MG_NF_OK;
  case 1: case 58:
    if (n < 2) return MG_NF_MALFORMED;
    p->k.dport = rd16(t);
    return MG_NF_OK;
  default:
    return MG_NF_OK;
  }
}

static int ipv4(const uint8_t *ip, uint32_t n, mg_nf_pkt_t *p) {
  if (n < 20 || ip[0] >> 4 != 4) return MG_NF_MALFORMED;
  uint32_t hl = (uint32_t)(ip[0] & 15) * 4, total = rd16(ip + 2);
  if (hl < 20 || hl > n || total < hl) return MG_NF_MALFORMED;
  p->bytes = total;
  p->k.tos = ip[1];
  p->k.proto = ip[9];
  memcpy(p->k.src, ip + 12, 4);
  memcpy(p->k.dst, ip + 16, 4);
  if (rd16(ip + 6) & 0x1fff) return MG_NF_OK; /* not the first fragment */
  return transport(ip + hl, n - hl, p);
}

static int ipv6(const uint8_t *ip, uint32_t n, mg_nf_pkt_t *p) {
  if (n < 40 || ip[0] >> 4 != 6) return MG_NF_MALFORMED;
  p->k.v6 = 1;
  p->bytes = 40u + rd16(ip + 4);
  p->k.tos = (uint8_t)((ip[0] & 15) << 4 | ip[1] >> 4);
  memcpy(p->k.src, ip + 8, 16);
  memcpy(p->k.dst, ip + 24, 16);
  uint8_t next = ip[6];
  uint32_t o = 40;
  for (int i = 0; i < 8; i++) { /* a bounded walk of the extension headers */
    uint32_t el;
    if (next == 0 || next == 43 || next == 60) {
      if (n < o + 2) return MG_NF_MALFORMED;
      el = ((uint32_t)ip[o + 1] + 1) * 8;
    } else if (next == 51) { /* AH */
      if (n < o + 2) return MG_NF_MALFORMED;
      el = ((uint32_t)ip[o + 1] + 2) * 4;
    } else if (next == 44) { /* fragment */
      if (n < o + 8) return MG_NF_MALFORMED;
      if (rd16(ip + o + 2) & 0xfff8) { /* not the first: no ports */
        p->k.proto = ip[o];
        return MG_NF_OK;
      }
      el = 8;
    } else
      break;
    if (n < o + el) return MG_NF_MALFORMED;
    next = ip[o];
    o += el;
  }
  p->k.proto = next;
  return transport(ip + o, n - o, p);
}

int mg_nf_parse(const uint8_t *d, uint32_t len, int dlt, uint16_t iface, mg_nf_pkt_t *p) {
  memset(p, 0, sizeof *p);
  p->k.iface = iface;
  uint32_t off = 0;
  int v = link_ip(d, len, dlt, &off);
  if (v < 0) return MG_NF_MALFORMED;
  if (v == 0) return MG_NF_NOTIP;
  if (off > len) return MG_NF_MALFORMED;
  return v == 4 ? ipv4(d + off, len - off, p) : ipv6(d + off, len - off, p);
}
