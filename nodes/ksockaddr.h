/*
** ksockaddr.h -- what a ksocket node reads from outside: netgraph's ASCII
** socket addresses, its family/type/proto hook names, and the frames of a
** stream socket.  Apart from ksocket.c so that a fuzzer can reach each.
*/
#ifndef MG_KSOCKADDR_H
#define MG_KSOCKADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct mg_ksaddr {
  struct sockaddr_storage ss;
  socklen_t len;
} mg_ksaddr_t;

/* netgraph's ASCII forms: inet/A.B.C.D[:PORT], inet6/[ADDR]:PORT or
** inet6/ADDR (no port), local/"PATH" (C escapes) or local/PATH; a family
** may be its number too (Linux's: 2, 10, 1).  Numeric only: a host name is
** refused, as resolving it would block the loop.  0 or -EINVAL with
** mg_error saying what was wrong. */
int mg_ksaddr_parse(const char *s, size_t n, mg_ksaddr_t *out);
/* The same forms back (a port of 0 left out, as netgraph does); buf holds
** at least MG_KSADDR_TEXT bytes. */
#define MG_KSADDR_TEXT 512
const char *mg_ksaddr_print(const struct sockaddr *sa, socklen_t len, char *buf);

/* A hook name family/type/proto, each an alias or a decimal number. */
int mg_ks_hookname(const char *name, int *family, int *type, int *proto);

/* Frames of a stream socket: a 4-byte big-endian length, then that many
** bytes of packet.  A length of 0 is a frame with no packet (a keepalive);
** one over max ends the stream (-EPROTO).  Bytes arrive in any pieces. */
#define MG_KS_FRAME_MAX 262144
typedef struct mg_ksdeframe {
  uint8_t hdr[4];
  uint32_t nhdr;  /* header bytes held */
  uint32_t need;  /* the frame's length, once the header is whole */
  uint32_t have;  /* its bytes held in buf */
  uint32_t max;
  uint8_t *buf;   /* a frame that came in pieces */
} mg_ksdeframe_t;
typedef void (*mg_ksframe_fn)(void *arg, const uint8_t *p, uint32_t n);
/* Feed n bytes; each whole frame goes to fn (p is good during the call).
** 0, or -EPROTO with mg_error naming the length. */
int mg_ksdeframe(mg_ksdeframe_t *d, const uint8_t *p, size_t n, mg_ksframe_fn fn, void *arg);
/* Bytes of a frame begun and not finished (lost if the stream ends). */
uint32_t mg_ksdeframe_partial(const mg_ksdeframe_t *d);
void mg_ksdeframe_free(mg_ksdeframe_t *d);

#endif
