/*
** pcapfile.c -- classic pcap files read at the speed of the page cache:
** see pcapfile.h.  The reader keeps one block of the file; a record that
** runs past the block's end moves to its front before the next read.
** libpcap's stream is unbuffered and served from the same block, so both
** readers always stand at the same place in the file.
*/
#define _GNU_SOURCE /* fopencookie */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <errno.h>
#include <unistd.h>

#include "pcapfile.h"

#define CHUNK (256u << 10)     /* a read of a regular file: fits in L2 */
#define PLAIN_MAX 262144u      /* libpcap's MAXIMUM_SNAPLEN: no DLT has less */
#define CAP (CHUNK + PLAIN_MAX + 16) /* a chunk beside a record's remainder */

struct mg_pcapfile {
  FILE *in;
  bool stream;           /* a pipe: read no more than a record needs */
  int fd;                /* a regular file: read past stdio, -1 for a pipe */
  uint8_t *buf;
  size_t lo, hi;         /* buf[lo..hi) is read and not yet handed out */
  long base;             /* the file offset of buf[0] */
  pcap_t *p;
  uint32_t snap;         /* the longest plain record */
  struct pcap_pkthdr h;
};

mg_pcapfile_t *mg_pcapfile_new(FILE *fp, long at, const uint8_t *head, size_t n) {
  if (n < 24 || n > CAP) return NULL;
  uint32_t magic;
  uint16_t major, minor;
  memcpy(&magic, head, 4);
  memcpy(&major, head + 4, 2);
  memcpy(&minor, head + 6, 2);
  /* this machine's byte order (no pseudo-header to swap), 16-byte record
  ** headers, and lengths libpcap never swaps (version 2.4) */
  if ((magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) || major != 2 || minor != 4)
    return NULL;
  mg_pcapfile_t *f = calloc(1, sizeof *f);
  uint8_t *buf = malloc(CAP);
  if (!f || !buf) {
    free(f);
    free(buf);
    return NULL;
  }
  f->in = fp;
  f->stream = at < 0;
  /* A regular file is read with read(), past stdio: copying through its
  ** buffer cost 8%; only fclose touches fp again. */
  long past = at + (long)n;
  f->fd = !f->stream && lseek(fileno(fp), past, SEEK_SET) == past ? fileno(fp) : -1;
  f->base = f->stream ? 0 : at;
  f->buf = buf;
  memcpy(buf, head, n);
  f->hi = n;
  return f;
}

/* Up to size bytes from the file (a pipe: all of them, unless it ends);
** -1 an error. */
static size_t get(mg_pcapfile_t *f, void *dst, size_t size) {
  if (f->fd < 0) {
    size_t k = fread(dst, 1, size, f->in);
    return k == 0 && ferror(f->in) ? (size_t)-1 : k;
  }
  if (size > CHUNK) size = CHUNK;
  for (;;) {
    ssize_t k = read(f->fd, dst, size);
    if (k >= 0) return (size_t)k;
    if (errno != EINTR) return (size_t)-1;
  }
}

/* At least need bytes in hand from buf[0], unless the file ends first. */
static bool fill(mg_pcapfile_t *f, size_t need) {
  if (f->lo) {
    memmove(f->buf, f->buf + f->lo, f->hi - f->lo);
    f->base += (long)f->lo;
    f->hi -= f->lo;
    f->lo = 0;
  }
  while (f->hi < need) {
    size_t k = get(f, f->buf + f->hi, f->fd >= 0 ? CAP - f->hi : need - f->hi);
    if (k == 0 || k == (size_t)-1) return false; /* libpcap meets it again */
    f->hi += k;
  }
  return true;
}

static ssize_t serve(void *c, char *dst, size_t size) {
  mg_pcapfile_t *f = c;
  if (f->lo < f->hi) {
    size_t k = f->hi - f->lo < size ? f->hi - f->lo : size;
    memcpy(dst, f->buf + f->lo, k);
    f->lo += k;
    return (ssize_t)k;
  }
  size_t k = get(f, dst, size);
  if (k == (size_t)-1) return -1;
  f->base += (long)k; /* buf is empty: its offset moves with the file */
  return (ssize_t)k;
}

static int done(void *c) {
  mg_pcapfile_t *f = c;
  int rc = fclose(f->in);
  free(f->buf);
  free(f);
  return rc;
}

FILE *mg_pcapfile_stream(mg_pcapfile_t *f) {
  FILE *s = fopencookie(f, "rb", (cookie_io_functions_t){.read = serve, .close = done});
  if (!s) {
    done(f);
    return NULL;
  }
  setvbuf(s, NULL, _IONBF, 0); /* libpcap's reads take exactly what they ask */
  return s;
}

void mg_pcapfile_bind(mg_pcapfile_t *f, pcap_t *p) {
  f->p = p;
  int snap = pcap_snapshot(p);
  f->snap = snap > 0 && (unsigned)snap < PLAIN_MAX ? (uint32_t)snap : PLAIN_MAX;
}

/* The next record, if it is plain and whole in hand (or after a read). */
static const uint8_t *plain(mg_pcapfile_t *f) {
  if (f->hi - f->lo < 16 && !fill(f, 16)) return NULL;
  uint32_t w[4]; /* ts.sec ts.frac caplen len */
  memcpy(w, f->buf + f->lo, 16);
  if (w[2] > f->snap) return NULL; /* libpcap cuts it, or refuses it */
  if (f->hi - f->lo < 16 + (size_t)w[2] && !fill(f, 16 + (size_t)w[2])) return NULL;
  const uint8_t *r = f->buf + f->lo + 16;
  f->lo += 16 + (size_t)w[2];
  /* libpcap's record header holds signed 32-bit seconds and fraction */
  f->h.ts.tv_sec = (int32_t)w[0];
  f->h.ts.tv_usec = (int32_t)w[1];
  f->h.caplen = w[2];
  f->h.len = w[3];
  return r;
}

int mg_pcapfile_next(mg_pcapfile_t *f, struct pcap_pkthdr **h, const u_char **d) {
  const uint8_t *r = plain(f);
  if (!r) return pcap_next_ex(f->p, h, d); /* from the same place, whatever it holds */
  *h = &f->h;
  *d = r;
  return 1;
}

bool mg_pcapfile_holds_next(const mg_pcapfile_t *f) {
  if (!f || f->hi - f->lo < 16) return false;
  uint32_t caplen;
  memcpy(&caplen, f->buf + f->lo + 8, 4);
  return caplen <= f->snap && f->hi - f->lo >= 16 + (size_t)caplen;
}

long mg_pcapfile_tell(const mg_pcapfile_t *f) { return f->base + (long)f->lo; }
