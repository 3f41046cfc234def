/*
** patch.c -- rewrites bytes at fixed offsets (netgraph's ng_patch).
**
** HOOKS     in, out.  A packet from in is patched and leaves by out (back
**           out of in when out is not connected); one from out goes to in
**           as it is.
** MESSAGES  setconfig { count=1 csum_flags=1 relative_offset=1 ops=[
**             { offset=8 length=1 mode=3 value=1 } ] }; getconfig (the
**           same); getstats / clrstats / getclrstats -> { Received Patched
**           Dropped }; setdlt 1|12 / getdlt.
** An op reads length (1, 2, 4 or 8) bytes at offset as a big-endian
** unsigned number, does mode to it with value, and writes it back: 1 set,
** 2 add, 3 sub, 4 mul, 5 div, 6 neg (value unused), 7 and, 8 or, 9 xor,
** 10 shl, 11 shr (a mode may also be named: "add").  Arithmetic wraps at
** the op's width; a shift by the width or more gives 0; div by 0 is
** refused when set.  count, when given, must be the number of ops.
** relative_offset 1 counts offsets from the network header: past the
** Ethernet header and its 802.1Q/802.1ad/0x9100 tags for setdlt 1
** (DLT_EN10MB, the default), from the first byte for setdlt 12 (DLT_RAW).
** As in ng_patch, an op that does not fit in the packet (offset + length
** beyond the captured bytes) is skipped, the others still apply; a frame
** too short for its Ethernet header passes unpatched.  Patched counts the
** packets at least one op changed.
** csum_flags: where FreeBSD marks the mbuf for the stack to compute the
** checksums later, here they are computed at once, after the ops, over
** the packet as captured: 0x1 the IPv4 header's, 0x2 UDP and 0x4 TCP over
** IPv4, 0x200 UDP and 0x400 TCP over IPv6 (FreeBSD's CSUM_IP, CSUM_IP_UDP,
** CSUM_IP_TCP, CSUM_IP6_UDP, CSUM_IP6_TCP).  The SCTP bits (0x8, 0x800)
** are accepted, as ng_patch keeps them, and do nothing; others are
** refused.  The IP header is found by the packet's link type (Ethernet
** and its VLAN tags, or raw IP); a transport checksum needs the whole
** datagram captured and not a fragment, else it is left alone.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

enum { PATCH_SETCONFIG = 1, PATCH_GETCONFIG, PATCH_GETSTATS, PATCH_CLRSTATS,
       PATCH_GETCLRSTATS, PATCH_GETDLT, PATCH_SETDLT }; /* ng_patch's */
enum { M_SET = 1, M_ADD, M_SUB, M_MUL, M_DIV, M_NEG, M_AND, M_OR, M_XOR,
       M_SHL, M_SHR };
#define MAXOPS 64
#define MAXOFF 262143 /* the largest snap length a capture has */
#define CSUM_IP 0x1
#define CSUM_UDP 0x2
#define CSUM_TCP 0x4
#define CSUM_SCTP 0x8
#define CSUM_UDP6 0x200
#define CSUM_TCP6 0x400
#define CSUM_SCTP6 0x800
#define CSUM_ALL (CSUM_IP | CSUM_UDP | CSUM_TCP | CSUM_SCTP | CSUM_UDP6 | \
                  CSUM_TCP6 | CSUM_SCTP6)
#define DLT_EN10MB_ 1
#define DLT_RAW_ 12

static const char *const mode_names[] = {NULL, "set", "add", "sub", "mul", "div",
                                         "neg", "and", "or", "xor", "shl", "shr"};

typedef struct {
  uint64_t value;
  uint32_t offset;
  uint16_t length, mode;
} op_t;

typedef struct {
  uint32_t count, relative;
  uint64_t csum;
  op_t ops[];
} config_t;

typedef struct {
  bool mt;
  mg_hook_t *in, *out;
  config_t *conf; /* NULL until setconfig */
  uint8_t dlt;
  mg_counter_t received, patched, dropped;
} patch_t;

/* {====================================================== the data path */
static uint64_t get_be(const uint8_t *p, unsigned n) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n; i++) v = v << 8 | p[i];
  return v;
}

static void put_be(uint8_t *p, unsigned n, uint64_t v) {
  for (unsigned i = n; i-- > 0; v >>= 8) p[i] = (uint8_t)v;
}

static uint64_t apply(const op_t *o, uint64_t x) {
  unsigned bits = o->length * 8u;
  uint64_t mask = bits == 64 ? ~(uint64_t)0 : ((uint64_t)1 << bits) - 1, v = o->value;
  switch (o->mode) {
  case M_SET: x = v; break;
  case M_ADD: x += v; break;
  case M_SUB: x -= v; break;
  case M_MUL: x *= v; break;
  case M_DIV: x /= v; break; /* v != 0: setconfig saw to it */
  case M_NEG: x = 0 - x; break;
  case M_AND: x &= v; break;
  case M_OR: x |= v; break;
  case M_XOR: x ^= v; break;
  case M_SHL: x = v >= bits ? 0 : x << v; break;
  default: x = v >= bits ? 0 : x >> v; break; /* M_SHR */
  }
  return x & mask;
}

/* Past the Ethernet header and its VLAN tags: the network header's
** offset and ethertype, or -1 when the frame is too short. */
static long past_ethernet(const uint8_t *p, uint32_t len, uint16_t *type) {
  uint32_t off = 14;
  if (len < off) return -1;
  uint16_t t = (uint16_t)(p[12] << 8 | p[13]);
  while (t == 0x8100 || t == 0x88a8 || t == 0x9100) {
    if (len < off + 4) return -1;
    t = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
    off += 4;
  }
  *type = t;
  return off;
}

static uint32_t sum16(uint32_t s, const uint8_t *p, uint32_t n) {
  for (; n > 1; p += 2, n -= 2) s += (uint32_t)(p[0] << 8 | p[1]);
  if (n) s += (uint32_t)p[0] << 8;
  return s;
}

static uint16_t fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

/* The TCP or UDP checksum of the segment at l4 (n bytes), whose pseudo
** header sum is ps; for UDP a zero result is sent as 0xffff. */
static void l4_csum(uint8_t *l4, uint32_t n, int proto, uint32_t ps) {
  uint32_t at = proto == 6 ? 16 : 6;
  if (n < at + 2 || (proto == 6 && n < 20) || (proto == 17 && n < 8)) return;
  l4[at] = l4[at + 1] = 0;
  uint16_t c = fold(sum16(ps + (uint32_t)proto + n, l4, n));
  if (proto == 17 && c == 0) c = 0xffff;
  put_be(l4 + at, 2, c);
}

static void checksums(mg_buf_t *b, uint64_t flags) {
  uint8_t *p = b->data;
  uint32_t len = b->len;
  long off = 0;
  uint16_t type = 0;
  switch (b->linktype) {
  case 1: off = past_ethernet(p, len, &type); break;
  case 12: case 14: case 101: /* raw IP: the version says which */
    if (len < 1) return;
    type = (p[0] >> 4) == 4 ? 0x0800 : 0x86dd;
    break;
  case 228: type = 0x0800; break;
  case 229: type = 0x86dd; break;
  default: return;
  }
  if (off < 0) return;
  uint8_t *ip = p + off;
  uint32_t n = len - (uint32_t)off;
  if (type == 0x0800) {
    if (n < 20 || (ip[0] >> 4) != 4) return;
    uint32_t hl = (ip[0] & 15) * 4u, tl = (uint32_t)(ip[2] << 8 | ip[3]);
    if (hl < 20 || hl > n) return;
    if (flags & CSUM_IP) {
      ip[10] = ip[11] = 0;
      put_be(ip + 10, 2, fold(sum16(0, ip, hl)));
    }
    bool frag = (ip[6] & 0x3f) || ip[7]; /* MF or an offset */
    int proto = ip[9];
    if (frag || tl < hl || tl > n) return;
    if ((proto == 6 && (flags & CSUM_TCP)) || (proto == 17 && (flags & CSUM_UDP)))
      l4_csum(ip + hl, tl - hl, proto, sum16(0, ip + 12, 8));
  } else if (type == 0x86dd) {
    if (n < 40 || (ip[0] >> 4) != 6) return;
    uint32_t pl = (uint32_t)(ip[4] << 8 | ip[5]);
    int proto = ip[6];
    if (40 + pl > n) return;
    if ((proto == 6 && (flags & CSUM_TCP6)) || (proto == 17 && (flags & CSUM_UDP6)))
      l4_csum(ip + 40, pl, proto, sum16(0, ip + 8, 32));
  }
}

static void patch(patch_t *s, const config_t *c, mg_buf_t *b) {
  uint32_t base = 0;
  if (c->relative && s->dlt == DLT_EN10MB_) {
    uint16_t type;
    long off = past_ethernet(b->data, b->len, &type);
    if (off < 0) return; /* too short: passes unpatched */
    base = (uint32_t)off;
  }
  bool patched = false;
  for (uint32_t i = 0; i < c->count; i++) {
    const op_t *o = &c->ops[i];
    uint64_t at = (uint64_t)base + o->offset;
    if (at + o->length > b->len) continue; /* does not fit: skipped */
    uint8_t *p = b->data + at;
    put_be(p, o->length, apply(o, get_be(p, o->length)));
    patched = true;
  }
  if (patched) mg_counter_add(s->mt, &s->patched, 1);
  if (c->csum) checksums(b, c->csum);
}

static int patch_rcvdata(mg_hook_t *h, mg_item_t *it) {
  patch_t *s = mg_node_priv(mg_hook_node(h));
  mg_counter_add(s->mt, &s->received, 1);
  mg_hook_t *to = NULL;
  if (h == s->in) {
    if (s->conf) patch(s, s->conf, mg_item_writable(it));
    to = s->out ? s->out : s->in;
  } else if (h == s->out)
    to = s->in;
  if (!to) {
    mg_counter_add(s->mt, &s->dropped, 1);
    mg_drop(it, MG_DROP_NOPEER);
    return 0;
  }
  return mg_forward(to, it);
}
/* }====================================================== */

/* {====================================================== messages */
/* An integer field of m within [lo, hi]; absent leaves *out alone. */
static int field(const mg_value_t *m, const char *k, const char *name, double lo,
                 double hi, int64_t *out) {
  const mg_value_t *v = mg_map_get(m, k);
  if (!v || v->type == MG_NIL) return 0;
  if (v->type != MG_INT)
    return mg_error(-EINVAL, "%s: must be an integer from %.0f to %.0f", name, lo, hi);
  int rc = mg_check_num((double)v->u.i, name, lo, hi);
  if (!rc) *out = v->u.i;
  return rc;
}

static int parse_op(const mg_value_t *v, uint32_t i, op_t *o) {
  static const char *const known[] = {"offset", "length", "mode", "value", NULL};
  char name[48];
  if (!v || v->type != MG_MAP)
    return mg_error(-EINVAL, "setconfig: ops[%u] must be { offset= length= mode= value= }", i);
  snprintf(name, sizeof name, "setconfig ops[%u]", i);
  int rc = mg_map_only(v, name, known, "{ offset=0 length=1 mode=1 value=0 }");
  if (rc) return rc;
  int64_t off = -1, len = -1, mode = -1, val = 0;
  snprintf(name, sizeof name, "ops[%u].offset", i);
  if ((rc = field(v, "offset", name, 0, MAXOFF, &off))) return rc;
  snprintf(name, sizeof name, "ops[%u].length", i);
  if ((rc = field(v, "length", name, 1, 8, &len))) return rc;
  if (len != -1 && len != 1 && len != 2 && len != 4 && len != 8)
    return mg_error(-EINVAL, "ops[%u].length: must be 1, 2, 4 or 8, got %lld", i, (long long)len);
  const mg_value_t *mv = mg_map_get(v, "mode");
  if (mv && mv->type == MG_STR) {
    for (int k = M_SET; k <= M_SHR; k++)
      if (!strcmp(mv->u.s.p, mode_names[k])) mode = k;
    char q[MG_QUOTESIZ];
    if (mode < 0)
      return mg_error(-EINVAL, "ops[%u].mode: no mode %s (1 set, 2 add, 3 sub, 4 mul, "
                      "5 div, 6 neg, 7 and, 8 or, 9 xor, 10 shl, 11 shr)", i,
                      mg_quote(q, mv->u.s.p));
  } else {
    snprintf(name, sizeof name, "ops[%u].mode", i);
    if ((rc = field(v, "mode", name, M_SET, M_SHR, &mode))) return rc;
  }
  if (off < 0 || len < 0 || mode < 0)
    return mg_error(-EINVAL, "setconfig: ops[%u] needs offset, length and mode", i);
  const mg_value_t *vv = mg_map_get(v, "value");
  if (vv && vv->type != MG_NIL) {
    if (vv->type != MG_INT)
      return mg_error(-EINVAL, "ops[%u].value: must be an integer", i);
    val = vv->u.i;
    if (len < 8) { /* fits the width, as unsigned or as two's complement */
      int64_t top = ((int64_t)1 << (len * 8)) - 1, bot = -((int64_t)1 << (len * 8 - 1));
      if (val < bot || val > top)
        return mg_error(-EINVAL, "ops[%u].value: must be from %lld to %lld for length %lld, "
                        "got %lld", i, (long long)bot, (long long)top, (long long)len,
                        (long long)val);
    }
  }
  o->offset = (uint32_t)off;
  o->length = (uint16_t)len;
  o->mode = (uint16_t)mode;
  o->value = len == 8 ? (uint64_t)val : (uint64_t)val & (((uint64_t)1 << (len * 8)) - 1);
  if (mode == M_DIV && o->value == 0)
    return mg_error(-EINVAL, "ops[%u]: div by 0", i);
  return 0;
}

static int setconfig(patch_t *s, const mg_value_t *a) {
  static const char *const known[] = {"count", "csum_flags", "relative_offset", "ops", NULL};
  const char *form = "{ count=1 csum_flags=0 relative_offset=0 ops=[ { offset= length= "
                     "mode= value= } ] }";
  if (!a || a->type != MG_MAP)
    return mg_error(-EINVAL, "setconfig takes %s", form);
  int rc = mg_map_only(a, "setconfig", known, form);
  int64_t count = -1, csum = 0, rel = 0;
  if (rc || (rc = field(a, "count", "count", 0, MAXOPS, &count)) ||
      (rc = field(a, "csum_flags", "csum_flags", 0, 0xffffffff, &csum)) ||
      (rc = field(a, "relative_offset", "relative_offset", 0, 1, &rel)))
    return rc;
  if (csum & ~(int64_t)CSUM_ALL)
    return mg_error(-EINVAL, "csum_flags: 0x%llx is not among 0x1 IP, 0x2 UDP, 0x4 TCP, "
                    "0x8 SCTP, 0x200 UDP6, 0x400 TCP6, 0x800 SCTP6",
                    (long long)(csum & ~(int64_t)CSUM_ALL));
  const mg_value_t *ops = mg_map_get(a, "ops");
  if (ops && ops->type != MG_ARRAY && ops->type != MG_NIL)
    return mg_error(-EINVAL, "setconfig: ops must be an array of { offset= length= mode= value= }");
  uint32_t n = ops && ops->type == MG_ARRAY ? ops->u.a.n : 0;
  if (n > MAXOPS)
    return mg_error(-EINVAL, "setconfig: at most %d ops, got %u", MAXOPS, n);
  if (count >= 0 && (uint32_t)count != n)
    return mg_error(-EINVAL, "setconfig: count=%lld but %u ops", (long long)count, n);
  config_t *c = mg_calloc(1, sizeof *c + n * sizeof(op_t));
  c->count = n;
  c->csum = (uint64_t)csum;
  c->relative = (uint32_t)rel;
  for (uint32_t i = 0; i < n; i++)
    if ((rc = parse_op(ops->u.a.v[i], i, &c->ops[i]))) {
      free(c);
      return rc;
    }
  free(s->conf);
  s->conf = c;
  return 0;
}

static mg_value_t *getconfig(const patch_t *s) {
  mg_value_t *v = mg_map(), *a = mg_array();
  const config_t *c = s->conf;
  mg_map_set(v, "count", mg_int(c ? c->count : 0));
  mg_map_set(v, "csum_flags", mg_int(c ? (int64_t)c->csum : 0));
  mg_map_set(v, "relative_offset", mg_int(c ? c->relative : 0));
  for (uint32_t i = 0; c && i < c->count; i++) {
    mg_value_t *o = mg_map();
    mg_map_set(o, "offset", mg_int(c->ops[i].offset));
    mg_map_set(o, "length", mg_int(c->ops[i].length));
    mg_map_set(o, "mode", mg_int(c->ops[i].mode));
    mg_map_set(o, "value", mg_int((int64_t)c->ops[i].value));
    mg_array_push(a, o);
  }
  mg_map_set(v, "ops", a);
  return v;
}

static int patch_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last,
                        mg_value_t **reply) {
  (void)last;
  patch_t *s = mg_node_priv(n);
  switch (m->cmd) {
  case PATCH_SETCONFIG: return setconfig(s, m->args);
  case PATCH_GETCONFIG: *reply = getconfig(s); return 0;
  case PATCH_GETDLT: *reply = mg_int(s->dlt); return 0;
  case PATCH_SETDLT:
    if (!m->args || m->args->type != MG_INT ||
        (m->args->u.i != DLT_EN10MB_ && m->args->u.i != DLT_RAW_))
      return mg_error(-EINVAL, "setdlt takes 1 (DLT_EN10MB) or 12 (DLT_RAW)");
    s->dlt = (uint8_t)m->args->u.i;
    return 0;
  default:
    if (m->cmd != PATCH_CLRSTATS) {
      *reply = mg_map();
      mg_map_set(*reply, "Received", mg_int((int64_t)mg_counter_get(&s->received)));
      mg_map_set(*reply, "Patched", mg_int((int64_t)mg_counter_get(&s->patched)));
      mg_map_set(*reply, "Dropped", mg_int((int64_t)mg_counter_get(&s->dropped)));
    }
    if (m->cmd != PATCH_GETSTATS) {
      mg_counter_clear(&s->received);
      mg_counter_clear(&s->patched);
      mg_counter_clear(&s->dropped);
    }
    return 0;
  }
}
/* }====================================================== */

static int patch_constructor(mg_node_t *n) {
  patch_t *s = mg_node_priv(n);
  s->mt = mg_node_mt(n);
  s->dlt = DLT_EN10MB_;
  return 0;
}

static void patch_shutdown(mg_node_t *n) {
  patch_t *s = mg_node_priv(n);
  free(s->conf);
  s->conf = NULL;
}

static int patch_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  patch_t *s = mg_node_priv(n);
  char q[MG_QUOTESIZ];
  if (!strcmp(name, "in")) s->in = h;
  else if (!strcmp(name, "out")) s->out = h;
  else return mg_error(-EINVAL, "patch has hooks 'in' and 'out', not %s", mg_quote(q, name));
  return 0;
}

static void patch_disconnect(mg_hook_t *h) {
  mg_node_t *n = mg_hook_node(h);
  patch_t *s = mg_node_priv(n);
  if (h == s->in) s->in = NULL;
  if (h == s->out) s->out = NULL;
  if (mg_node_numhooks(n) == 0 && mg_node_valid(n)) mg_node_rmself(n);
}

static void patch_status(mg_node_t *n, mg_sbuf_t *out) {
  patch_t *s = mg_node_priv(n);
  const config_t *c = s->conf;
  if (!c) {
    mg_sbuf_printf(out, "not configured: packets pass unchanged\n");
    return;
  }
  mg_sbuf_printf(out, "%u ops, csum_flags 0x%llx, offsets from the %s\n", c->count,
                 (unsigned long long)c->csum,
                 c->relative ? "network header" : "first byte");
  for (uint32_t i = 0; i < c->count; i++)
    mg_sbuf_printf(out, "  %s %u bytes at %u, %llu\n", mode_names[c->ops[i].mode],
                   c->ops[i].length, c->ops[i].offset,
                   (unsigned long long)c->ops[i].value);
}

static const mg_cmd_t patch_cmds[] = {
  {"setconfig", PATCH_SETCONFIG, 0,
   "{ count=1 csum_flags=1 relative_offset=1 ops=[ { offset=8 length=1 mode=3 value=1 } ] }",
   "the ops to do on packets from in (mode 1 set .. 11 shr), checksums to fix"},
  {"getconfig", PATCH_GETCONFIG, MG_CMD_READONLY, "", "the ops, as setconfig takes them"},
  {"getstats", PATCH_GETSTATS, MG_CMD_READONLY, "", "{ Received Patched Dropped }"},
  {"clrstats", PATCH_CLRSTATS, 0, "", "zero the counters"},
  {"getclrstats", PATCH_GETCLRSTATS, 0, "", "the counters, then zero them"},
  {"getdlt", PATCH_GETDLT, MG_CMD_READONLY, "", "the link type relative offsets assume"},
  {"setdlt", PATCH_SETDLT, 0, "12", "1 (DLT_EN10MB, the default) or 12 (DLT_RAW)"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_patch = {
  .name = "patch",
  .doc = "Rewrites bytes at offsets of packets from in (set, add, sub, mul,\n"
         "div, neg, and, or, xor, shl, shr on 1, 2, 4 or 8 big-endian bytes),\n"
         "then fixes the IPv4 header, TCP and UDP checksums it is told to;\n"
         "they leave by out (back by in when out is not connected).",
  .priv_size = sizeof(patch_t),
  .constructor = patch_constructor,
  .shutdown = patch_shutdown,
  .newhook = patch_newhook,
  .rcvdata = patch_rcvdata,
  .rcvmsg = patch_rcvmsg,
  .disconnect = patch_disconnect,
  .status = patch_status,
  .cmds = patch_cmds,
};
