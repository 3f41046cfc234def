/*
** enaddr.h -- Ethernet addresses in netgraph's ASCII form (ng_parse's
** enaddr type: six hex bytes joined by colons, 08:00:27:92:eb:aa), for
** the node types whose messages carry one (macfilter, eiface).
*/
#ifndef MG_ENADDR_H
#define MG_ENADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

static inline int mg_hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Six groups of one or two hex digits, colons between, nothing else. */
static inline bool mg_enaddr_parse(const char *s, uint8_t a[6]) {
  for (int i = 0; i < 6; i++) {
    int hi = mg_hexval(*s), lo;
    if (hi < 0) return false;
    s++;
    if ((lo = mg_hexval(*s)) >= 0) hi = hi << 4 | lo, s++;
    a[i] = (uint8_t)hi;
    if (*s != (i < 5 ? ':' : '\0')) return false;
    s++;
  }
  return true;
}

/* buf: 18 bytes. */
static inline const char *mg_enaddr_format(const uint8_t a[6], char *buf) {
  snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4], a[5]);
  return buf;
}

#endif
