/*
** frame.c -- reading and writing the control socket's frames (frame.h).
** Every length comes from the other end: each is checked against the
** bound before anything is kept or allocated for it.
*/
#include "frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* The frame handed out last is dropped from the front only now: its
** payload stayed valid until this call. */
static void drop_taken(mgf_rx_t *rx) {
  if (!rx->skip) return;
  memmove(rx->buf, rx->buf + rx->skip, rx->len - rx->skip);
  rx->len -= rx->skip;
  rx->skip = 0;
}

int mgf_feed(mgf_rx_t *rx, const void *p, size_t n) {
  const size_t bound = 2 * (MGF_HDR + MGF_MAX);
  drop_taken(rx);
  if (n > bound - rx->len) return -1;
  if (rx->len + n > rx->cap) {
    size_t cap = rx->cap ? rx->cap : 4096;
    while (cap < rx->len + n) cap *= 2;
    if (cap > bound) cap = bound;
    uint8_t *b = realloc(rx->buf, cap);
    if (!b) return -1;
    rx->buf = b;
    rx->cap = cap;
  }
  memcpy(rx->buf + rx->len, p, n);
  rx->len += n;
  return 0;
}

int mgf_next(mgf_rx_t *rx, uint8_t *type, const uint8_t **payload,
             uint32_t *len, char *err, size_t errsz) {
  drop_taken(rx);
  if (rx->len < MGF_HDR) return 0;
  uint32_t n = be32(rx->buf);
  if (n > MGF_MAX) {
    snprintf(err, errsz, "a frame of %u bytes is over the limit of %u bytes", n,
             MGF_MAX);
    return -1;
  }
  if (rx->len - MGF_HDR < n) return 0;
  *type = rx->buf[4];
  *payload = rx->buf + MGF_HDR;
  *len = n;
  rx->skip = MGF_HDR + n;
  return 1;
}

void mgf_rx_free(mgf_rx_t *rx) {
  free(rx->buf);
  memset(rx, 0, sizeof *rx);
}

void mgf_header(uint8_t hdr[MGF_HDR], uint8_t type, uint32_t len) {
  put32(hdr, len);
  hdr[4] = type;
}

int mgf_data_parse(const uint8_t *p, uint32_t len, mgf_data_t *d, char *err,
                   size_t errsz) {
  if (len < MGF_DATA_HEAD) {
    snprintf(err, errsz, "a data frame of %u bytes is shorter than its %u-byte head",
             len, MGF_DATA_HEAD);
    return -1;
  }
  d->ts = (uint64_t)be32(p) << 32 | be32(p + 4);
  d->wirelen = be32(p + 8);
  d->linktype = (uint16_t)(p[12] << 8 | p[13]);
  uint8_t hl = p[14];
  if (hl == 0 || hl > len - MGF_DATA_HEAD) {
    snprintf(err, errsz, "a data frame's hook name of %u bytes %s", hl,
             hl ? "runs past the frame" : "is empty");
    return -1;
  }
  if (memchr(p + MGF_DATA_HEAD, 0, hl)) {
    snprintf(err, errsz, "a data frame's hook name holds a NUL byte");
    return -1;
  }
  memcpy(d->hook, p + MGF_DATA_HEAD, hl);
  d->hook[hl] = '\0';
  d->bytes = p + MGF_DATA_HEAD + hl;
  d->caplen = len - MGF_DATA_HEAD - hl;
  if (d->wirelen && d->wirelen < d->caplen) {
    snprintf(err, errsz, "a data frame's length on the wire (%u) is below its %u bytes",
             d->wirelen, d->caplen);
    return -1;
  }
  return 0;
}

size_t mgf_data_head(uint8_t *out, uint64_t ts, uint32_t wirelen,
                     uint16_t linktype, const char *hook) {
  size_t hl = strlen(hook);
  if (hl > 255) hl = 255;
  put32(out, (uint32_t)(ts >> 32));
  put32(out + 4, (uint32_t)ts);
  put32(out + 8, wirelen);
  out[12] = (uint8_t)(linktype >> 8);
  out[13] = (uint8_t)linktype;
  out[14] = (uint8_t)hl;
  memcpy(out + MGF_DATA_HEAD, hook, hl);
  return MGF_DATA_HEAD + hl;
}
