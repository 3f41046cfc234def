/*
** ksockaddr.c -- netgraph's socket address text, ksocket hook names and
** stream frames: every byte here comes from a user or a peer.
*/
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "ksockaddr.h"
#include "moongraph.h"

typedef struct alias {
  const char *name;
  int value, family; /* family: 0 for any */
} alias_t;

static const alias_t families[] = {
  {"local", AF_UNIX, 0}, {"unix", AF_UNIX, 0}, {"inet", AF_INET, 0},
  {"inet6", AF_INET6, 0}, {NULL, 0, 0}};

static const alias_t types[] = {
  {"stream", SOCK_STREAM, 0}, {"dgram", SOCK_DGRAM, 0}, {"raw", SOCK_RAW, 0},
  {"rdm", SOCK_RDM, 0}, {"seqpacket", SOCK_SEQPACKET, 0}, {NULL, 0, 0}};

/* netgraph names its protocols for inet; the same names serve inet6 here */
static const alias_t protos[] = {
  {"ip", IPPROTO_IP, AF_INET}, {"raw", IPPROTO_IP, AF_INET}, {"icmp", IPPROTO_ICMP, AF_INET},
  {"igmp", IPPROTO_IGMP, AF_INET}, {"tcp", IPPROTO_TCP, AF_INET}, {"udp", IPPROTO_UDP, AF_INET},
  {"gre", IPPROTO_GRE, AF_INET}, {"esp", IPPROTO_ESP, AF_INET}, {"ah", IPPROTO_AH, AF_INET},
  {"encap", IPPROTO_IPIP, AF_INET}, {"ip", IPPROTO_IP, AF_INET6},
  {"raw", IPPROTO_IP, AF_INET6}, {"tcp", IPPROTO_TCP, AF_INET6},
  {"udp", IPPROTO_UDP, AF_INET6}, {"gre", IPPROTO_GRE, AF_INET6},
  {"esp", IPPROTO_ESP, AF_INET6}, {"ah", IPPROTO_AH, AF_INET6},
  {"icmp6", IPPROTO_ICMPV6, AF_INET6}, {NULL, 0, 0}};

/* An alias or a decimal number up to max; -1 for neither. */
static int lookup(const alias_t *a, const char *s, size_t n, int family, long max) {
  for (; a->name; a++)
    if (strlen(a->name) == n && !memcmp(a->name, s, n) && (!a->family || a->family == family))
      return a->value;
  if (n == 0 || n > 5) return -1;
  long v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v <= max ? (int)v : -1;
}

int mg_ks_hookname(const char *name, int *family, int *type, int *proto) {
  char q[MG_QUOTESIZ];
  const char *s1 = strchr(name, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
  if (!s2)
    return mg_error(-EINVAL, "ksocket: hook %s is not family/type/proto "
                    "(inet/dgram/udp, inet/stream/tcp, local/stream/0 ...)", mg_quote(q, name));
  int f = lookup(families, name, (size_t)(s1 - name), 0, 65535);
  if (f < 0)
    return mg_error(-EINVAL, "ksocket: hook %s: no family '%.*s' (local, inet, inet6 or a "
                    "number)", mg_quote(q, name), (int)(s1 - name), name);
  int t = lookup(types, s1 + 1, (size_t)(s2 - s1 - 1), 0, 15);
  if (t < 0)
    return mg_error(-EINVAL, "ksocket: hook %s: no socket type '%.*s' (stream, dgram, raw, "
                    "seqpacket or a number)", mg_quote(q, name), (int)(s2 - s1 - 1), s1 + 1);
  int p = lookup(protos, s2 + 1, strlen(s2 + 1), f, 255);
  if (p < 0)
    return mg_error(-EINVAL, "ksocket: hook %s: no protocol '%s' for this family (tcp, udp, "
                    "0 ...)", mg_quote(q, name), s2 + 1);
  *family = f, *type = t, *proto = p;
  return 0;
}

/* {====================================================== addresses */
/* a decimal number of at most digits digits, up to max; advances *p */
static bool number(const char **p, const char *end, int digits, long max, long *out) {
  const char *s = *p;
  long v = 0;
  int k = 0;
  while (s < end && *s >= '0' && *s <= '9' && k < digits) v = v * 10 + (*s++ - '0'), k++;
  if (!k || v > max || (s < end && *s >= '0' && *s <= '9')) return false;
  *p = s;
  *out = v;
  return true;
}

static int bad(const char *s, size_t n, const char *why) {
  char t[MG_QUOTECUT + 1], q[MG_QUOTESIZ];
  size_t k = 0;
  for (; k < n && k < MG_QUOTECUT && s[k]; k++) t[k] = s[k];
  t[k] = '\0';
  return mg_error(-EINVAL, "bad socket address %s%s: %s", mg_quote(q, t),
                  n > MG_QUOTECUT ? "..." : "", why);
}

static int parse_inet(const char *all, size_t n, const char *p, const char *end,
                      mg_ksaddr_t *out) {
  struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
  uint8_t a[4];
  long v;
  for (int i = 0; i < 4; i++) {
    if (!number(&p, end, 3, 255, &v))
      return bad(all, n, "not a numeric IPv4 address A.B.C.D (names are not resolved)");
    a[i] = (uint8_t)v;
    if (i < 3 && (p >= end || *p++ != '.'))
      return bad(all, n, "not a numeric IPv4 address A.B.C.D (names are not resolved)");
  }
  long port = 0;
  if (p < end && *p == ':') {
    p++;
    if (!number(&p, end, 5, 65535, &port)) return bad(all, n, "a port is 0 to 65535");
  }
  if (p != end) return bad(all, n, "text after the address");
  sin->sin_family = AF_INET;
  memcpy(&sin->sin_addr, a, 4);
  sin->sin_port = htons((uint16_t)port);
  out->len = sizeof *sin;
  return 0;
}

static int parse_inet6(const char *all, size_t n, const char *p, const char *end,
                       mg_ksaddr_t *out) {
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
  const char *a = p, *aend = end;
  long port = 0;
  if (p < end && *p == '[') {
    a = p + 1;
    aend = memchr(a, ']', (size_t)(end - a));
    if (!aend) return bad(all, n, "no ']' after the IPv6 address");
    p = aend + 1;
    if (p < end && *p == ':') {
      p++;
      if (!number(&p, end, 5, 65535, &port)) return bad(all, n, "a port is 0 to 65535");
    }
    if (p != end) return bad(all, n, "text after the address");
  }
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  size_t k = (size_t)(aend - a);
  if (k == 0 || k >= sizeof buf) return bad(all, n, "not a numeric IPv6 address");
  memcpy(buf, a, k);
  buf[k] = '\0';
  if (memchr(buf, '\0', k)) return bad(all, n, "not a numeric IPv6 address");
  uint32_t scope = 0;
  char *pct = strchr(buf, '%');
  if (pct) { /* fe80::1%eth0: an interface's name or index */
    *pct++ = '\0';
    const char *q = pct;
    long idx;
    if (number(&q, pct + strlen(pct), 10, 0x7fffffff, &idx) && !*q) scope = (uint32_t)idx;
    else if (!(scope = if_nametoindex(pct))) return bad(all, n, "no such interface for the scope");
  }
  memset(sin6, 0, sizeof *sin6);
  if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1)
    return bad(all, n, "not a numeric IPv6 address (names are not resolved)");
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons((uint16_t)port);
  sin6->sin6_scope_id = scope;
  out->len = sizeof *sin6;
  return 0;
}

static int parse_local(const char *all, size_t n, const char *p, const char *end,
                       mg_ksaddr_t *out) {
  struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;
  char path[sizeof sun->sun_path + 1];
  size_t k = 0;
  if (p < end && *p == '"') { /* netgraph's form: a quoted string */
    p++;
    for (;;) {
      if (p >= end) return bad(all, n, "no closing '\"' after the path");
      char c = *p++;
      if (c == '"') break;
      if (c == '\\') {
        if (p >= end) return bad(all, n, "a '\\' at the end");
        c = *p++;
        if (c == 'n') c = '\n';
        else if (c == 't') c = '\t';
        else if (c != '\\' && c != '"') return bad(all, n, "only \\\\, \\\", \\n and \\t in a path");
      }
      if (k >= sizeof sun->sun_path - 1) return bad(all, n, "a path of at most 107 bytes");
      path[k++] = c;
    }
    if (p != end) return bad(all, n, "text after the path");
  } else {
    k = (size_t)(end - p);
    if (k >= sizeof sun->sun_path) return bad(all, n, "a path of at most 107 bytes");
    memcpy(path, p, k);
  }
  if (k == 0) return bad(all, n, "an empty path");
  if (memchr(path, '\0', k)) return bad(all, n, "a NUL in the path");
  memset(sun, 0, sizeof *sun);
  sun->sun_family = AF_UNIX;
  memcpy(sun->sun_path, path, k);
  out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + k + 1);
  return 0;
}

int mg_ksaddr_parse(const char *s, size_t n, mg_ksaddr_t *out) {
  memset(out, 0, sizeof *out);
  const char *end = s + n, *slash = memchr(s, '/', n);
  if (!slash) return bad(s, n, "not family/address (inet/127.0.0.1:5000, "
                         "inet6/[::1]:5000, local/\"/path\")");
  int f = lookup(families, s, (size_t)(slash - s), 0, 65535);
  switch (f) {
  case AF_INET: return parse_inet(s, n, slash + 1, end, out);
  case AF_INET6: return parse_inet6(s, n, slash + 1, end, out);
  case AF_UNIX: return parse_local(s, n, slash + 1, end, out);
  default: return bad(s, n, "the family is inet, inet6 or local");
  }
}

const char *mg_ksaddr_print(const struct sockaddr *sa, socklen_t len, char *buf) {
  char a[INET6_ADDRSTRLEN];
  if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *sin = (const void *)sa;
    const uint8_t *b = (const uint8_t *)&sin->sin_addr;
    int k = snprintf(buf, MG_KSADDR_TEXT, "inet/%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    if (sin->sin_port) snprintf(buf + k, MG_KSADDR_TEXT - (size_t)k, ":%u", ntohs(sin->sin_port));
  } else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *sin6 = (const void *)sa;
    inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof a);
    char scope[24] = "";
    if (sin6->sin6_scope_id) snprintf(scope, sizeof scope, "%%%u", sin6->sin6_scope_id);
    if (sin6->sin6_port) snprintf(buf, MG_KSADDR_TEXT, "inet6/[%s%s]:%u", a, scope, ntohs(sin6->sin6_port));
    else snprintf(buf, MG_KSADDR_TEXT, "inet6/%s%s", a, scope);
  } else if (sa->sa_family == AF_UNIX) {
    const struct sockaddr_un *sun = (const void *)sa;
    size_t off = offsetof(struct sockaddr_un, sun_path);
    size_t k = len > off ? len - off : 0;
    if (k > sizeof sun->sun_path) k = sizeof sun->sun_path;
    size_t o = (size_t)snprintf(buf, MG_KSADDR_TEXT, "local/\"");
    for (size_t i = 0; i < k && sun->sun_path[i]; i++) { /* 107 * 4 fits */
      unsigned char c = (unsigned char)sun->sun_path[i];
      if (c == '"' || c == '\\') o += (size_t)snprintf(buf + o, MG_KSADDR_TEXT - o, "\\%c", c);
      else if (c < 32 || c >= 127) o += (size_t)snprintf(buf + o, MG_KSADDR_TEXT - o, "\\x%02x", c);
      else buf[o++] = (char)c;
    }
    snprintf(buf + o, MG_KSADDR_TEXT - o, "\"");
  } else
    snprintf(buf, MG_KSADDR_TEXT, "%u/?", sa->sa_family);
  return buf;
}
/* }====================================================== */

/* {====================================================== frames */
int mg_ksdeframe(mg_ksdeframe_t *d, const uint8_t *p, size_t n, mg_ksframe_fn fn, void *arg) {
  uint32_t max = d->max ? d->max : MG_KS_FRAME_MAX;
  while (n > 0) {
    if (d->nhdr < 4) {
      size_t k = 4 - d->nhdr < n ? 4 - d->nhdr : n;
      memcpy(d->hdr + d->nhdr, p, k);
      d->nhdr += (uint32_t)k, p += k, n -= k;
      if (d->nhdr < 4) return 0;
      d->need = (uint32_t)d->hdr[0] << 24 | (uint32_t)d->hdr[1] << 16 |
                (uint32_t)d->hdr[2] << 8 | d->hdr[3];
      d->have = 0;
      if (d->need > max)
        return mg_error(-EPROTO, "a frame of %u bytes, over the limit of %u: not a "
                        "ksocket stream", d->need, max);
      if (d->need == 0) { /* a keepalive */
        d->nhdr = 0;
        continue;
      }
    }
    uint32_t left = d->need - d->have;
    if (d->have == 0 && n >= left) { /* whole, where it lies */
      fn(arg, p, left);
    } else {
      size_t k = n < left ? n : left;
      if (!d->buf) d->buf = mg_alloc(max);
      memcpy(d->buf + d->have, p, k);
      d->have += (uint32_t)k, p += k, n -= k;
      if (d->have < d->need) return 0;
      fn(arg, d->buf, d->need);
      d->nhdr = 0;
      continue;
    }
    p += left, n -= left;
    d->nhdr = 0;
  }
  return 0;
}

uint32_t mg_ksdeframe_partial(const mg_ksdeframe_t *d) {
  return d->nhdr < 4 ? d->nhdr : 4 + d->have;
}

void mg_ksdeframe_free(mg_ksdeframe_t *d) {
  free(d->buf);
  d->buf = NULL;
  d->nhdr = d->have = d->need = 0;
}
/* }====================================================== */
