/*
** fuzz_ctlsock.c -- the control socket's frame reader (bindings/frame.c),
** the bytes a client of a served engine sends.  The input arrives in
** pieces whose sizes the input's first bytes choose, as reads would cut
** it; every frame taken must lie within what was fed, a data frame's
** parts within the frame, and a frame written back from what was read
** must read the same.  Past an oversized header the reader must refuse,
** as the server does before dropping the client.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_ctlsock: %s\n", what);
    abort();
  }
}

/* A data frame read back after writing it again. */
static void roundtrip(const mgf_data_t *d) {
  static uint8_t buf[MGF_HDR + MGF_MAX + 512];
  size_t hl = mgf_data_head(buf + MGF_HDR, d->ts, d->wirelen, d->linktype, d->hook);
  check(hl + d->caplen <= MGF_MAX + 256, "head too long");
  memcpy(buf + MGF_HDR + hl, d->bytes, d->caplen);
  mgf_header(buf, MGF_DATA, (uint32_t)(hl + d->caplen));
  mgf_rx_t rx = {0};
  check(mgf_feed(&rx, buf, MGF_HDR + hl + d->caplen) == 0, "feed refused a frame");
  uint8_t type;
  const uint8_t *p;
  uint32_t len;
  char err[160];
  check(mgf_next(&rx, &type, &p, &len, err, sizeof err) == 1, "frame not read back");
  mgf_data_t e;
  check(mgf_data_parse(p, len, &e, err, sizeof err) == 0, "data not read back");
  check(e.ts == d->ts && e.wirelen == d->wirelen && e.linktype == d->linktype &&
        !strcmp(e.hook, d->hook) && e.caplen == d->caplen &&
        !memcmp(e.bytes, d->bytes, d->caplen), "data read back differs");
  mgf_rx_free(&rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  unsigned step = (unsigned)data[0] << 8 | data[1]; /* the size of a read */
  step = step % 9000 + 1;
  data += 2, size -= 2;
  mgf_rx_t rx = {0};
  size_t off = 0;
  char err[160];
  while (off < size) {
    size_t n = size - off < step ? size - off : step;
    check(mgf_feed(&rx, data + off, n) == 0, "feed refused a read after frames were taken");
    off += n;
    uint8_t type;
    const uint8_t *p;
    uint32_t len;
    int r;
    while ((r = mgf_next(&rx, &type, &p, &len, err, sizeof err)) == 1) {
      check(len <= MGF_MAX, "frame over the limit");
      check(p >= rx.buf && p + len <= rx.buf + rx.len, "frame outside the buffer");
      mgf_data_t d;
      if (type == MGF_DATA && mgf_data_parse(p, len, &d, err, sizeof err) == 0) {
        check(d.bytes + d.caplen == p + len, "data outside its frame");
        check(strlen(d.hook) > 0 && strlen(d.hook) < 256, "hook name");
        roundtrip(&d);
      }
    }
    if (r < 0) { /* refused: the server drops the client here */
      check(strstr(err, "over the limit") != NULL, "refusal without its reason");
      break;
    }
  }
  mgf_rx_free(&rx);
  return 0;
}
