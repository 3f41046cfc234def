/*
** fuzz_netflow.c -- the netflow node's packet parser (nodes/netflow_parse.c)
** and its encoders (nodes/netflow_export.c).  The first byte picks the
** link type, the rest is the frame.  A frame parses or is refused; one
** that parses gives a key with nothing past its address family set, and
** its flow, encoded as NetFlow v5, v9 and IPFIX, makes datagrams whose
** headers and sets add up to their lengths.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moongraph.h"
#include "netflow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int dlts[] = {1, 12, 101, 113, 276, 0, 108, 228, 229, 14, 147};

static uint32_t rd16(const uint8_t *p) { return (uint32_t)(p[0] << 8 | p[1]); }

/* v9 and IPFIX: the sets after the header fill the datagram exactly. */
static void check_sets(const uint8_t *p, uint32_t len, uint32_t hdr) {
  uint32_t o = hdr;
  while (o < len) {
    if (o + 4 > len) abort();
    uint32_t sl = rd16(p + o + 2);
    if (sl < 4 || o + sl > len) abort();
    o += sl;
  }
  if (o != len) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int dlt = dlts[data[0] % (sizeof dlts / sizeof dlts[0])];
  const uint8_t *frame = data + 1;
  uint32_t len = (uint32_t)(size - 1);
  uint8_t *exact = malloc(len ? len : 1); /* ASan sees a read past the frame */
  memcpy(exact, frame, len);
  mg_nf_pkt_t p;
  int rc = mg_nf_parse(exact, len, dlt, 3, &p);
  free(exact);
  if (rc != MG_NF_OK) {
    if (rc != MG_NF_NOTIP && rc != MG_NF_MALFORMED) abort();
    return 0;
  }
  if (p.k.iface != 3 || p.k.v6 > 1) abort();
  if (!p.k.v6) /* an IPv4 key has nothing past its 4 bytes */
    for (int i = 4; i < 16; i++)
      if (p.k.src[i] || p.k.dst[i]) abort();
  mg_nf_rec_t r = {&p.k, 1, p.bytes, 1700000000123, 1700000000456, 3, p.tcp_flags};
  mg_nf_tmplcfg_t c = {.packets = 1, .secs = 600, .mtu = 512, .boot_ms = 1699999999000};
  static const int versions[] = {5, 9, 10};
  for (int v = 0; v < 3; v++) {
    mg_nf_exp_t x = {.version = versions[v], .tmpl_ms = -1};
    int w = mg_nf_slot(&x, &r);
    if (w < 0) {
      if (versions[v] != 5 || !p.k.v6) abort();
      continue;
    }
    int n = 0;
    for (int k = 0; k < 40; k++) { /* past one datagram's worth */
      if (!mg_nf_room(&x, &c, w)) {
        uint32_t dl;
        uint8_t *d = mg_nf_take(&x, &c, w, 1700000001000, &dl);
        if (!d || rd16(d) != (uint32_t)versions[v]) abort();
        if (versions[v] == 5 && dl != 24 + 48 * rd16(d + 2)) abort();
        if (versions[v] == 9) check_sets(d, dl, 20);
        if (versions[v] == 10 && (rd16(d + 2) != dl || (check_sets(d, dl, 16), 0))) abort();
        if (dl > 512 - 28 && versions[v] != 5) abort();
        free(d);
        n++;
      }
      mg_nf_put(&x, &c, w, &r);
    }
    uint32_t dl;
    uint8_t *d = mg_nf_take(&x, &c, w, 1700000001000, &dl);
    if (!d) abort();
    free(d);
    if (!n) abort(); /* 40 records never fit one datagram */
    mg_nf_exp_free(&x);
  }
  return 0;
}
