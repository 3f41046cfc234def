/*
** err.c -- error codes with a message per thread, and allocation that
** treats running out of memory on the control plane as fatal.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moongraph.h"

static _Thread_local char errbuf[512];

/* Formatted apart first: the arguments may be the last message itself
** (mg_error(rc, "...: %s", mg_errmsg()) is common).  A message too long
** for the buffer ends in "..." rather than mid-word. */
int mg_error(int code, const char *fmt, ...) {
  char tmp[sizeof errbuf];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) snprintf(tmp, sizeof tmp, "(unprintable error message)");
  else if ((size_t)n >= sizeof tmp) {
    size_t cut = sizeof tmp - 4;
    while (cut > 0 && ((unsigned char)tmp[cut] & 0xc0) == 0x80) cut--; /* UTF-8 */
    memcpy(tmp + cut, "...", 4);
  }
  memcpy(errbuf, tmp, sizeof errbuf);
  return code;
}

const char *mg_quote(char *buf, const char *s) {
  static const char hex[] = "0123456789abcdef";
  char *o = buf;
  *o++ = '\'';
  if (!s) s = "";
  size_t i = 0;
  for (; s[i] && i < MG_QUOTECUT; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\n') *o++ = '\\', *o++ = 'n';
    else if (c == '\t') *o++ = '\\', *o++ = 't';
    else if (c == '\r') *o++ = '\\', *o++ = 'r';
    else if (c == '\'' || c == '\\') *o++ = '\\', *o++ = (char)c;
    else if (c < 0x20 || c == 0x7f)
      *o++ = '\\', *o++ = 'x', *o++ = hex[c >> 4], *o++ = hex[c & 15];
    else *o++ = (char)c;
  }
  if (s[i]) {
    /* cut whole UTF-8 characters only */
    while (o > buf + 1 && ((unsigned char)o[-1] & 0xc0) == 0x80) o--;
    if (o > buf + 1 && ((unsigned char)o[-1] & 0xc0) == 0xc0) o--;
  }
  *o++ = '\'';
  if (s[i]) memcpy(o, "...", 3), o += 3;
  *o = '\0';
  return buf;
}

const char *mg_errmsg(void) { return errbuf; }
void mg_clearerr(void) { errbuf[0] = '\0'; }

const char *mg_errname(int code) {
  switch (-code) {
  case 0: return "OK";
#define E(x) case x: return #x;
  E(EINVAL) E(ENOENT) E(EEXIST) E(EADDRINUSE) E(ENOMEM) E(ENOSYS)
  E(ENOTCONN) E(EISCONN) E(EBUSY) E(EDEADLK) E(ENAMETOOLONG) E(EPERM)
  E(ESRCH) E(EIO) E(ENOBUFS) E(ETIMEDOUT) E(ECANCELED) E(EAGAIN)
  E(ENODEV) E(ERANGE) E(EPROTO) E(ENOTSUP) E(EBADF) E(ENOSPC) E(ELOOP)
  E(ENETDOWN) E(EADDRNOTAVAIL) E(EPFNOSUPPORT)
#undef E
  default: return "EUNKNOWN";
  }
}

static void oom(size_t n) {
  fprintf(stderr, "moongraph: out of memory allocating %zu bytes\n", n);
  abort();
}

void *mg_alloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) oom(n);
  return p;
}

void *mg_calloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) oom(n * size);
  return p;
}

void *mg_realloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) oom(n);
  return q;
}

char *mg_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(mg_alloc(n), s, n);
}

void mg_sbuf_add(mg_sbuf_t *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 64;
    while (cap < b->len + n + 1) cap *= 2;
    b->p = mg_realloc(b->p, cap);
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void mg_sbuf_printf(mg_sbuf_t *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) {
    mg_sbuf_add(b, tmp, (size_t)n);
    return;
  }
  char *big = mg_alloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  mg_sbuf_add(b, big, (size_t)n);
  free(big);
}

void mg_sbuf_free(mg_sbuf_t *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}
