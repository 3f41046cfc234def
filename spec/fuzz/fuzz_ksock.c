/*
** fuzz_ksock.c -- what a ksocket node reads from outside (nodes/ksockaddr.c):
** the first byte picks which.
**   0 mod 3: an address in netgraph's text form.  What parses must print
**            as text that parses back to the same sockaddr; what does
**            not must say why.
**   1 mod 3: a hook name family/type/proto: parsed, or refused with a why.
**   2 mod 3: bytes from a stream's peer, split where the next byte says,
**            through the de-framer with a small limit.  Fed whole or in
**            pieces, the same frames come out, or the same error; every
**            byte is a header, a packet's or the unfinished frame's.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ksockaddr.h"
#include "moongraph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void addr(const uint8_t *p, size_t n) {
  mg_ksaddr_t a, b;
  mg_clearerr();
  if (mg_ksaddr_parse((const char *)p, n, &a)) {
    if (!*mg_errmsg()) abort();
    return;
  }
  char t[MG_KSADDR_TEXT];
  mg_ksaddr_print((struct sockaddr *)&a.ss, a.len, t);
  if (mg_ksaddr_parse(t, strlen(t), &b)) {
    fprintf(stderr, "'%.*s' printed as '%s', which does not parse: %s\n", (int)n, p, t, mg_errmsg());
    abort();
  }
  if (a.len != b.len || memcmp(&a.ss, &b.ss, a.len)) {
    fprintf(stderr, "'%.*s' printed as '%s', read back as another address\n", (int)n, p, t);
    abort();
  }
}

static void hook(const uint8_t *p, size_t n) {
  char name[64];
  if (n >= sizeof name) n = sizeof name - 1;
  memcpy(name, p, n);
  name[n] = '\0';
  int f = -1, t = -1, pr = -1;
  mg_clearerr();
  if (mg_ks_hookname(name, &f, &t, &pr)) {
    if (!*mg_errmsg() || f != -1) abort();
    return;
  }
  if (f < 0 || f > 65535 || t < 0 || t > 15 || pr < 0 || pr > 255) abort();
}

typedef struct {
  uint8_t out[4096]; /* the frames end to end, each with its length first */
  size_t n, frames, bytes;
} sink_t;

static void take(void *arg, const uint8_t *p, uint32_t n) {
  sink_t *s = arg;
  if (n == 0 || n > 1024) abort(); /* a keepalive carries nothing; max is 1024 */
  s->frames++;
  s->bytes += n;
  if (s->n + 4 + n <= sizeof s->out) {
    memcpy(s->out + s->n, &n, 4);
    memcpy(s->out + s->n + 4, p, n);
    s->n += 4 + n;
  }
}

static void frames(const uint8_t *p, size_t n) {
  if (n < 1) return;
  size_t piece = p[0] % 16 + 1;
  p++, n--;
  sink_t whole = {0}, parts = {0};
  mg_ksdeframe_t d1 = {.max = 1024}, d2 = {.max = 1024};
  int rc1 = mg_ksdeframe(&d1, p, n, take, &whole), rc2 = 0;
  size_t fed = 0;
  for (size_t off = 0; off < n && !rc2; off += piece) {
    size_t k = n - off < piece ? n - off : piece;
    rc2 = mg_ksdeframe(&d2, p + off, k, take, &parts);
    fed = off + k;
  }
  if (rc1 != rc2 || whole.frames != parts.frames || whole.n != parts.n ||
      memcmp(whole.out, parts.out, whole.n)) {
    fprintf(stderr, "whole: rc %d, %zu frames; in pieces of %zu: rc %d, %zu frames\n", rc1,
            whole.frames, piece, rc2, parts.frames);
    abort();
  }
  if (!rc1) { /* every byte accounted for: headers (keepalives too), packets, the rest */
    size_t hdrs = 0, off = 0;
    while (off + 4 <= n) {
      uint32_t len = (uint32_t)p[off] << 24 | (uint32_t)p[off + 1] << 16 |
                     (uint32_t)p[off + 2] << 8 | p[off + 3];
      if (off + 4 + len > n) break;
      hdrs += 4;
      off += 4 + len;
    }
    if (hdrs + whole.bytes + mg_ksdeframe_partial(&d1) != n || fed != n) abort();
  }
  mg_ksdeframe_free(&d1);
  mg_ksdeframe_free(&d2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  switch (data[0] % 3) {
  case 0: addr(data + 1, size - 1); break;
  case 1: hook(data + 1, size - 1); break;
  default: frames(data + 1, size - 1); break;
  }
  return 0;
}
