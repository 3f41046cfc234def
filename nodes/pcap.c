/*
** pcap.c -- packets from a capture file or a live interface, by libpcap.
**
** HOOKS     out: every packet read.
** MESSAGES  open { file="x.pcap"|"-" | iface="eth0", filter="udp", snaplen=N,
**                  promisc=true, speed="top"|"original", multiplier=X,
**                  pps=N, mbps=M, loop=N, loopdelay=S, count=N,
**                  duration=S, burst=N, bufsize=BYTES, reader="block",
**                  fanout=GROUP, fanout_mode="hash" }
**             -> { linktype linkname snaplen precision reader }
**           start, stop, close; getstats -> { packets bytes drops ifdrops
**           loops running done error deviation={ n mean_ns max_ns } };
**           clrstats.  Every number has a range (mg_map_num); the reply's
**           snaplen is what the file's header says.  A stream (a pipe, "-")
**           is read exactly once: its head, read to learn its precision, is
**           served to libpcap again.  A read that stops early (a file cut
**           short, corrupt) is logged and kept in getstats' error.
**           reader="libpcap" reads every record with libpcap; by default
**           a classic pcap file in this machine's byte order is walked in
**           256 KiB reads (pcapfile.c), and the reply says which was used.
**           fanout joins the interface's PACKET_FANOUT group GROUP (mode
**           hash, lb, cpu, rollover, random or qm, as packet(7)): sources
**           in one group, in one process or several, share its packets.
**
** A file is read in bursts: each burst is a function item the node sends
** itself, a continuation rather than a thread.  Packets are lent to the
** items that run at once (libpcap's buffer is good until the next read)
** and copied only when one must be queued.  At top speed the node drives
** the engine's virtual clock, if it has one, from packet timestamps;
** paced timing is scheduled against one origin per loop so that long
** replays do not drift.  A live interface is non-blocking and read when
** libuv finds its descriptor readable.  Methods run on the loop thread
** (uv handles live there).
*/
#define _GNU_SOURCE /* fopencookie: a stream's first bytes, read twice */
#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "builtin.h"
#include "pcapfile.h"

enum { SPEED_TOP, SPEED_ORIGINAL, SPEED_PPS, SPEED_MBPS };
enum { PCAP_OPEN = 1, PCAP_START, PCAP_STOP, PCAP_CLOSE, PCAP_GETSTATS,
       PCAP_CLRSTATS };

typedef struct src {
  mg_node_t *node;
  mg_hook_t *out;
  pcap_t *p;
  FILE *fp;
  mg_pcapfile_t *pf;      /* a classic pcap file walked in large blocks */
  char *iobuf;            /* fp's buffer, when libpcap reads the file */
  char *file, *iface, *filter;
  bool live, running, done, nsec, held, promisc;
  bool stream;            /* a pipe or FIFO: read once, no seeking */
  bool by_libpcap;        /* asked to: every record read by libpcap */
  int scale;              /* ns in a unit of libpcap's tv_usec: 1 or 1000 */
  int64_t hsnap;          /* the snaplen a pcap file's header says */
  long fsize;
  uint8_t bflags; /* MG_BUF_NSEC, MG_BUF_SWAPPED for every packet */
  int linktype, snaplen;
  /* timing */
  int speed;
  double mult, pps, mbps;
  int64_t origin;         /* monotonic ns at the start of this loop */
  int64_t first_ts;       /* timestamp of this loop's first packet */
  uint64_t n_loop;        /* packets sent in this loop */
  uint64_t bits_loop;
  struct pcap_pkthdr *hdr;
  const u_char *data;
  bool pending;           /* hdr/data read, waiting for its time */
  /* Packets emitted and not yet sent, lending the block reader's buffer,
  ** which stays put while the next record is whole in hand. */
  mg_item_t *bv[MG_BURST];
  unsigned bn;
  /* limits */
  uint32_t loops, loop_no;
  int64_t loopdelay, duration, started, ended;
  uint64_t count;
  uint32_t burst;
  int bufsize;
  int fanout, fanout_mode; /* a PACKET_FANOUT group (-1: none) and its mode */
  mg_callout_t co;
  uv_poll_t *poll;
  /* a file's filter, run here so that what it drops is counted */
  struct bpf_program prog;
  bool has_prog;
  /* the capture's time: its span (first to last stamp the filter passes,
  ** at original timing), and the stamp of the last packet sent */
  int64_t span, last_ts;
  /* counters */
  uint64_t packets, bytes, dev_n, filtered;
  int64_t dev_sum, dev_max;
  char err[PCAP_ERRBUF_SIZE];
  char rerr[PCAP_ERRBUF_SIZE + 256]; /* why reading stopped early */
  mg_pcap_done_fn done_fn; /* told when a running source finishes */
  void *done_arg;
} src_t;

/* Far enough ahead to mean never, near enough to add any clock to. */
#define FAR_NS ((int64_t)1000000000000000000)
/* Seconds whose nanoseconds int64 holds with room (2^62 ns, year 2116):
** a pcapng stamp may say 2^64 microseconds. */
#define TS_SEC_MAX ((int64_t)4611686018)

#define NAME(s) (strcmp((s)->file, "-") ? (s)->file : "standard input")

static int64_t mono(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* {====================================================== opening */
/* The file's own precision: a nanosecond pcap says so in its magic; a
** pcapng, in if_tsresol of its first interface. */
static bool head_is_nsec(const uint8_t *b, size_t n) {
  if (n < 4) return false;
  uint32_t m = (uint32_t)b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
  if (m == 0xa1b23c4d || m == 0x4d3cb2a1) return true;
  if (m != 0x0a0d0d0a || n < 28) return false;
  bool le = b[8] == 0x4d; /* byte-order magic 0x1a2b3c4d */
#define U32(p) (le ? (uint32_t)(p)[0] | (p)[1] << 8 | (p)[2] << 16 | (uint32_t)(p)[3] << 24 \
                   : (uint32_t)(p)[0] << 24 | (p)[1] << 16 | (p)[2] << 8 | (p)[3])
#define U16(p) (le ? (uint16_t)((p)[0] | (p)[1] << 8) : (uint16_t)((p)[0] << 8 | (p)[1]))
  size_t off = 0;
  while (off + 12 <= n) {
    uint32_t type = U32(b + off), len = U32(b + off + 4);
    if (len < 12 || off + len > n) return false;
    if (type == 1) { /* interface description: options after 8 bytes */
      size_t o = off + 16, end = off + len - 4;
      while (o + 4 <= end) {
        uint16_t code = U16(b + o), olen = U16(b + o + 2);
        if (code == 0) break;
        if (code == 9 && olen >= 1) {
          uint8_t r = b[o + 4];
          return (r & 0x80) ? (r & 0x7f) > 19 : r > 6;
        }
        o += 4 + ((olen + 3u) & ~3u);
      }
      return false;
    }
    off += len;
  }
  return false;
#undef U32
#undef U16
}

static void flush(src_t *s) {
  if (!s->bn) return;
  unsigned n = s->bn;
  s->bn = 0;
  mg_forward_burst(s->out, s->bv, n);
}

static void src_close(src_t *s) {
  flush(s);
  if (s->poll) {
    uv_poll_stop(s->poll);
    uv_close((uv_handle_t *)s->poll, (uv_close_cb)free);
    s->poll = NULL;
  }
  if (s->p) pcap_close(s->p); /* closes s->fp too */
  s->p = NULL;
  if (s->has_prog) pcap_freecode(&s->prog);
  s->has_prog = false;
  s->fp = NULL;
  s->pf = NULL; /* freed with its stream */
  free(s->iobuf); /* its FILE is closed */
  s->iobuf = NULL;
  s->pending = false;
}

/* On an interface the kernel filters; on a file the node does, so that
** getstats can say how many packets the filter dropped. */
static int apply_filter(src_t *s) {
  if (!s->filter || !*s->filter) return 0;
  struct bpf_program prog;
  if (pcap_compile(s->p, &prog, s->filter, 1, PCAP_NETMASK_UNKNOWN) < 0)
    return mg_error(-EINVAL, "bad filter '%s': %s", s->filter, pcap_geterr(s->p));
  if (!s->live) {
    s->prog = prog;
    s->has_prog = true;
    return 0;
  }
  int rc = pcap_setfilter(s->p, &prog);
  pcap_freecode(&prog);
  if (rc < 0)
    return mg_error(-EINVAL, "cannot set filter '%s': %s", s->filter, pcap_geterr(s->p));
  return 0;
}

/* A stream's head is read once, to learn its precision, and then served
** to libpcap again ahead of the rest. */
typedef struct {
  FILE *in;
  size_t n, off;
  uint8_t head[4096];
} peek_t;

static ssize_t peek_read(void *c, char *buf, size_t size) {
  peek_t *p = c;
  if (p->off < p->n) {
    size_t k = p->n - p->off < size ? p->n - p->off : size;
    memcpy(buf, p->head + p->off, k);
    p->off += k;
    return (ssize_t)k;
  }
  size_t k = fread(buf, 1, size, p->in);
  return k == 0 && ferror(p->in) ? -1 : (ssize_t)k;
}

static int peek_close(void *c) {
  peek_t *p = c;
  int rc = fclose(p->in);
  free(p);
  return rc;
}

/* Large reads for libpcap's freads: fp's buffer, given. */
static void use_iobuf(src_t *s, FILE *fp) {
  s->iobuf = mg_alloc(1 << 20);
  setvbuf(fp, s->iobuf, _IOFBF, 1 << 20);
}

static int open_file(src_t *s) {
  bool std = !strcmp(s->file, "-");
  int fd = std ? dup(0) : -1;
  FILE *fp = std ? (fd >= 0 ? fdopen(fd, "rb") : NULL) : fopen(s->file, "rb");
  if (!fp) {
    int e = errno;
    if (fd >= 0) close(fd);
    return mg_error(-e, "cannot open '%s': %s", NAME(s), strerror(e));
  }
  struct stat st;
  s->stream = !(fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode));
  s->fsize = s->stream ? 0 : (long)st.st_size;
  peek_t *pk = mg_alloc(sizeof *pk);
  pk->in = fp;
  pk->off = 0;
  /* A regular file's head is read where it stands without stdio, which
  ** the block reader then never uses (its 1 MiB would be read for
  ** nothing); a stream's through stdio, whose buffer is given before
  ** the first byte (glibc takes the size only with a buffer). */
  long at = s->stream ? -1 : lseek(fileno(fp), 0, SEEK_CUR);
  if (at < 0) {
    use_iobuf(s, fp);
    pk->n = fread(pk->head, 1, sizeof pk->head, fp);
  } else {
    ssize_t r = pread(fileno(fp), pk->head, sizeof pk->head, at);
    pk->n = r > 0 ? (size_t)r : 0; /* an error: libpcap meets it again */
  }
  const uint8_t *b = pk->head;
  s->nsec = head_is_nsec(b, pk->n);
  uint32_t magic = pk->n >= 4 ? (uint32_t)b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24 : 0;
  bool ng = magic == 0x0a0d0d0a;
  /* a pcap file is read in its own unit, so that a fraction out of range
  ** comes as the file had it; pcapng stamps are divided out by libpcap */
  s->scale = ng || s->nsec ? 1 : 1000;
  s->hsnap = -1;
  if (!ng && pk->n >= 24) {
    bool big = (magic & 0xffff0000) != 0xa1b20000; /* a1b2xxxx read little-endian */
    const uint8_t *q = b + 16;
    s->hsnap = big ? (int64_t)((uint32_t)q[0] << 24 | q[1] << 16 | q[2] << 8 | q[3])
                       : (int64_t)((uint32_t)q[0] | q[1] << 8 | q[2] << 16 | (uint32_t)q[3] << 24);
  }
  if (!ng && !s->by_libpcap && (s->pf = mg_pcapfile_new(fp, at, pk->head, pk->n))) {
    free(pk); /* its head is the reader's now */
    s->fp = mg_pcapfile_stream(s->pf);
    if (!s->fp) {
      s->pf = NULL;
      return mg_error(-ENOMEM, "cannot read '%s': %s", NAME(s), strerror(errno));
    }
  } else if (s->stream) {
    s->fp = fopencookie(pk, "rb", (cookie_io_functions_t){.read = peek_read,
                                                         .close = peek_close});
    if (!s->fp) {
      peek_close(pk);
      return mg_error(-ENOMEM, "cannot read '%s': %s", NAME(s), strerror(errno));
    }
    /* the stream under it has the large buffer: no second copy */
    setvbuf(s->fp, NULL, _IONBF, 0);
  } else { /* a file, where pread left it: libpcap reads the head again */
    free(pk);
    use_iobuf(s, fp);
    s->fp = fp;
  }
  s->p = pcap_fopen_offline_with_tstamp_precision(
      s->fp, s->scale == 1 ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO, s->err);
  if (!s->p) {
    fclose(s->fp);
    s->fp = NULL;
    s->pf = NULL;
    return mg_error(-EINVAL, "cannot read '%s': %s", NAME(s), s->err);
  }
  if (s->pf) mg_pcapfile_bind(s->pf, s->p);
  return apply_filter(s);
}

static int open_live(src_t *s) {
  s->p = pcap_create(s->iface, s->err);
  if (!s->p) return mg_error(-ENODEV, "cannot capture on '%s': %s", s->iface, s->err);
  pcap_set_snaplen(s->p, s->snaplen ? s->snaplen : 262144);
  pcap_set_promisc(s->p, s->promisc);
  /* Not immediate mode: libpcap then uses TPACKET_V2 with one ring frame
  ** per snaplen, and on an interface with offloads (veth) a 2 MB ring holds
  ** eight frames and drops the rest of any burst.  TPACKET_V3 packs frames
  ** into blocks the kernel hands over when full or after the timeout. */
  pcap_set_timeout(s->p, 5);
  pcap_set_tstamp_precision(s->p, PCAP_TSTAMP_PRECISION_NANO);
  pcap_set_buffer_size(s->p, s->bufsize ? s->bufsize : 8 << 20);
  int rc = pcap_activate(s->p);
  if (rc < 0) {
    const char *why = rc == PCAP_ERROR_NO_SUCH_DEVICE ? "no such interface"
                      : rc == PCAP_ERROR_PERM_DENIED  ? "permission denied"
                                                      : pcap_statustostr(rc);
    int code = rc == PCAP_ERROR_PERM_DENIED ? -EPERM : -ENODEV;
    mg_error(code, "cannot capture on '%s': %s (%s)", s->iface, why, pcap_geterr(s->p));
    pcap_close(s->p);
    s->p = NULL;
    return code;
  }
  if (pcap_setnonblock(s->p, 1, s->err) < 0) {
    mg_error(-EIO, "cannot capture on '%s': %s", s->iface, s->err);
    pcap_close(s->p);
    s->p = NULL;
    return -EIO;
  }
  if (s->fanout >= 0) { /* sources in one group share the interface's packets */
    int arg = s->fanout | s->fanout_mode << 16;
    if (setsockopt(pcap_fileno(s->p), SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) < 0) {
      int e = errno;
      mg_error(-e, "cannot join fanout group %d on '%s': %s", s->fanout, s->iface, strerror(e));
      pcap_close(s->p);
      s->p = NULL;
      return -e;
    }
  }
  s->nsec = pcap_get_tstamp_precision(s->p) == PCAP_TSTAMP_PRECISION_NANO;
  return apply_filter(s);
}
/* }====================================================== */

/* {====================================================== sending */
static void hold(src_t *s, bool on) {
  if (on == s->held) return;
  mg_engine_hold(mg_node_engine(s->node), on ? 1 : -1);
  s->held = on;
}

static void finish(src_t *s) {
  flush(s);
  if (s->running && s->done_fn) s->done_fn(s->done_arg, mg_node_id(s->node));
  if (s->running) s->ended = mono();
  s->running = false;
  s->done = true;
  hold(s, false);
  mg_callout_stop(&s->co);
  if (s->poll) uv_poll_stop(s->poll);
}

/* A packet's time in ns; seconds beyond what int64 ns hold are held at
** the edge (the fraction is below 2^32 units, so the sum cannot overflow). */
static inline int64_t stamp(const src_t *s, const struct pcap_pkthdr *h) {
  int64_t sec = h->ts.tv_sec;
  if (sec > TS_SEC_MAX) sec = TS_SEC_MAX;
  if (sec < -TS_SEC_MAX) sec = -TS_SEC_MAX;
  return sec * 1000000000 + (int64_t)h->ts.tv_usec * s->scale;
}

/* Does the file's filter drop this packet?  Counted when it does. */
static inline bool filtered(src_t *s, const struct pcap_pkthdr *h, const u_char *d) {
  if (!s->has_prog || pcap_offline_filter(&s->prog, h, d)) return false;
  s->filtered++;
  return true;
}

static inline void emit(src_t *s, const struct pcap_pkthdr *h, const u_char *d) {
  mg_node_t *n = s->node;
  int64_t ts = stamp(s, h);
  s->last_ts = ts;
  s->packets++;
  s->bytes += h->caplen;
  s->n_loop++;
  s->bits_loop += (uint64_t)h->len * 8;
  mg_engine_t *e = mg_node_engine(n);
  if (s->speed == SPEED_TOP && !s->live && mg_clock_mode(e) == MG_CLOCK_VIRTUAL) {
    flush(s); /* the packets before met the clock at their own time */
    mg_clock_advance(e, ts);
  }
  if (!s->out) return;
  mg_buf_t *b = mg_buf_new(0);
  mg_buf_lend(b, d, h->caplen);
  b->wirelen = h->len;
  b->ts = ts;
  b->linktype = (uint16_t)s->linktype;
  b->flags |= s->bflags;
  if (h->ts.tv_usec < 0 || h->ts.tv_usec >= 1000000000 / s->scale) { /* as the file said */
    mg_buf_rawts_set(b, (uint32_t)h->ts.tv_sec, (uint32_t)h->ts.tv_usec);
  }
  s->bv[s->bn++] = mg_data_new(n, b);
  if (s->bn == MG_BURST || !s->pf) flush(s); /* libpcap's data lasts one call */
}

static void dispatch_cb(u_char *arg, const struct pcap_pkthdr *h, const u_char *d) {
  src_t *s = (src_t *)arg;
  if (!filtered(s, h, d)) emit(s, h, d);
}

/* The next packet of a file, as pcap_next_ex. */
static inline int next(src_t *s) {
  return s->pf ? mg_pcapfile_next(s->pf, &s->hdr, &s->data)
               : pcap_next_ex(s->p, &s->hdr, &s->data);
}

static int burst_fn(mg_node_t *n, mg_hook_t *h, void *a, intptr_t b);

static void again(src_t *s, int64_t wait_ns) {
  if (wait_ns > 1500000) /* a callout, ms-grained: wake a little early */
    mg_callout_reset(&s->co, s->node, wait_ns - 1000000, burst_fn, s, 0);
  else /* near: go round the work list again */
    mg_send_fn(s->node, NULL, burst_fn, s, 0, MG_QUEUE);
}

/* When the packet in hand is due, by the chosen speed, in monotonic ns. */
/* origin + ns, where ns beyond FAR_NS (a slow rate, a stamp decades on)
** means never rather than an overflow */
static int64_t after_origin(const src_t *s, double ns) {
  return s->origin + (ns < (double)FAR_NS ? (int64_t)ns : FAR_NS);
}

static int64_t due(src_t *s) {
  int64_t ts = stamp(s, s->hdr); /* both within +-2^62: the difference fits */
  if (s->n_loop == 0) s->first_ts = ts;
  switch (s->speed) {
  case SPEED_ORIGINAL: {
    int64_t rel = ts - s->first_ts;
    if (rel < 0) rel = 0; /* a capture that goes back in time: at once */
    return after_origin(s, (double)rel / s->mult);
  }
  case SPEED_PPS:
    return after_origin(s, (double)s->n_loop * 1e9 / s->pps);
  case SPEED_MBPS:
    return after_origin(s, (double)s->bits_loop * 1e3 / s->mbps);
  default:
    return 0;
  }
}

static bool limits_reached(src_t *s) {
  if (s->count && s->packets >= s->count) return true;
  if (s->duration && mono() - s->started >= s->duration) return true;
  return false;
}

/* Reading stopped early: say so of the file, as a user would, in the log
** and in getstats.  libpcap says "truncated dump file; tried to ...". */
static void read_failed(src_t *s, const char *why) {
  const char *semi = strstr(why, "; ");
  if (!strncmp(why, "truncated", 9))
    snprintf(s->rerr, sizeof s->rerr, "'%s' is truncated%s%s", NAME(s), semi ? ": " : "",
             semi ? semi + 2 : "");
  else
    snprintf(s->rerr, sizeof s->rerr, "reading '%s': %s", NAME(s), why);
  mg_log(mg_node_engine(s->node), MG_LOG_ERR, "pcap [%x]: %s", mg_node_id(s->node), s->rerr);
  finish(s);
}

/* The end of the file: again from the start, or done. */
static void end_of_loop(src_t *s) {
  s->loop_no++;
  if (s->loops && s->loop_no >= s->loops) {
    finish(s);
    return;
  }
  src_close(s);
  if (open_file(s)) {
    read_failed(s, mg_errmsg());
    return;
  }
  s->n_loop = s->bits_loop = 0;
  s->origin = mono() + s->loopdelay;
  again(s, s->loopdelay);
}

/* The next packet into s->hdr, s->data; false at the end of the file
** (the next loop begins, or the source is done) or on a read error. */
static bool read_one(src_t *s) {
  if (s->bn && !mg_pcapfile_holds_next(s->pf)) flush(s); /* it moves the block */
  int rc = next(s);
  if (rc == PCAP_ERROR_BREAK) end_of_loop(s);
  else if (rc < 0) read_failed(s, pcap_geterr(s->p));
  return rc == 1;
}

static void read_burst(src_t *s);

static int burst_fn(mg_node_t *n, mg_hook_t *h, void *a, intptr_t x) {
  (void)h; (void)a; (void)x;
  src_t *s = mg_node_priv(n);
  read_burst(s);
  flush(s);
  return 0;
}

static void read_burst(src_t *s) {
  mg_node_t *n = s->node;
  if (!s->running || !s->p) return;
  mg_engine_t *e = mg_node_engine(n);
  /* back-pressure: let the queues drain before adding more */
  if (mg_engine_backlog(e) > mg_engine_queue_limit(e) / 2) {
    again(s, 0);
    return;
  }
  if (s->live) {
    int got = pcap_dispatch(s->p, (int)s->burst, dispatch_cb, (u_char *)s);
    if (got < 0) {
      snprintf(s->rerr, sizeof s->rerr, "capturing on '%s': %s", s->iface, pcap_geterr(s->p));
      mg_log(e, MG_LOG_ERR, "pcap [%x]: %s", mg_node_id(n), s->rerr);
      finish(s);
    } else if (limits_reached(s))
      finish(s);
    else if (got > 0)
      again(s, 0); /* libpcap reads a ring block at a time: read on until
                    ** it has nothing, the poll only says a block is ready */
    return;
  }
  if (s->speed == SPEED_TOP && !s->count) {
    for (uint32_t i = 0; i < s->burst; i++) {
      if (!read_one(s)) return;
      if (!filtered(s, s->hdr, s->data)) emit(s, s->hdr, s->data);
    }
    if (s->duration && limits_reached(s)) finish(s);
    else again(s, 0);
    return;
  }
  for (uint32_t i = 0; i < s->burst; i++) {
    if (limits_reached(s)) {
      finish(s);
      return;
    }
    if (!s->pending) {
      if (!read_one(s)) return;
      if (filtered(s, s->hdr, s->data)) continue;
      s->pending = true;
    }
    if (s->speed != SPEED_TOP) {
      int64_t when = due(s), now = mono();
      if (when > now) {
        again(s, when - now);
        return;
      }
      int64_t late = now - when;
      s->dev_n++;
      s->dev_sum += late;
      if (late > s->dev_max) s->dev_max = late;
    }
    s->pending = false;
    emit(s, s->hdr, s->data);
  }
  again(s, 0);
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  (void)events;
  src_t *s = poll->data;
  if (status < 0) {
    mg_log(mg_node_engine(s->node), MG_LOG_ERR, "pcap [%x] on %s: %s",
           mg_node_id(s->node), s->iface, uv_strerror(status));
    finish(s);
    return;
  }
  mg_send_fn(s->node, NULL, burst_fn, s, 0, 0);
}
/* }====================================================== */

/* {====================================================== messages */

/* The span of a file's stamps that the filter passes, first to last, read
** ahead once (at original timing: progress and time left follow it). */
static int64_t scan_span(src_t *s) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t *p = pcap_open_offline_with_tstamp_precision(
      s->file, s->scale == 1 ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO, err);
  if (!p) return 0;
  struct pcap_pkthdr *h;
  const u_char *d;
  bool any = false;
  int64_t first = 0, last = 0;
  while (pcap_next_ex(p, &h, &d) == 1) {
    if (s->has_prog && !pcap_offline_filter(&s->prog, h, d)) continue;
    int64_t t = stamp(s, h);
    if (!any) first = last = t, any = true;
    else if (t > last) last = t;
  }
  pcap_close(p);
  return any && last > first ? last - first : 0;
}

/* open's arguments, in the order the reference gives them; its numbers
** are parsed from this table, so that the reference says what the code does. */
enum { A_FILE, A_IFACE, A_FILTER, A_SPEED, A_MULT, A_PPS, A_MBPS, A_LOOP, A_LOOPDELAY,
       A_COUNT, A_DURATION, A_BURST, A_BUFSIZE, A_SNAPLEN, A_PROMISC, A_READER, A_FANOUT,
       A_FANOUT_MODE, A_N };
static const mg_argdoc_t src_args[] = {
  {"open", "file", MG_ARG_STR, 0, 0, 0, "a path, or \"-\" for standard input", NULL,
   "a pcap or pcapng file to read (file or iface: one of them)"},
  {"open", "iface", MG_ARG_STR, 0, 0, 0, "an interface's name", NULL,
   "capture on a live interface instead (no speed: packets as they come)"},
  {"open", "filter", MG_ARG_STR, 0, 0, 0, "a tcpdump expression", "none",
   "only the packets that match; on a file getstats counts the rest (filtered)"},
  {"open", "speed", MG_ARG_STR, 0, 0, 0, "\"top\" or \"original\"", "\"top\"",
   "as fast as the graph takes them, or at the file's own timing; moongraph replay "
   "asks for \"original\" (tcpreplay's default), a graph in a script usually wants "
   "all at once"},
  {"open", "multiplier", MG_ARG_NUM, 0, 1e6, 0, NULL, "0: none",
   "original timing, this many times faster (sets the speed)"},
  {"open", "pps", MG_ARG_NUM, 0, 1e9, 0, NULL, "0: none", "packets a second (sets the speed)"},
  {"open", "mbps", MG_ARG_NUM, 0, 1e6, 0, NULL, "0: none",
   "megabits a second, by each packet's length on the wire (sets the speed)"},
  {"open", "loop", MG_ARG_NUM, 0, 1e9, 1, NULL, NULL,
   "times through the file; 0: until stopped (a stream: 1 only)"},
  {"open", "loopdelay", MG_ARG_NUM, 0, MG_SECS_MAX, 0, NULL, NULL,
   "seconds of pause before each pass after the first"},
  {"open", "count", MG_ARG_NUM, 0, 1e15, 0, NULL, "0: no limit",
   "packets in all, then done (counted since the last clrstats)"},
  {"open", "duration", MG_ARG_NUM, 0, MG_SECS_MAX, 0, NULL, "0: no limit",
   "seconds of sending (or capturing), then done"},
  {"open", "burst", MG_ARG_NUM, 1, 65536, 64, NULL, NULL,
   "packets read in one turn of the loop before others get theirs"},
  {"open", "bufsize", MG_ARG_NUM, 0, 1e9, 0, NULL, "0: 8 MiB",
   "bytes of the kernel's capture buffer on an interface"},
  {"open", "snaplen", MG_ARG_NUM, 0, 262144, 0, NULL, "0: the file's own; 262144 live",
   "bytes kept of each packet captured on an interface"},
  {"open", "promisc", MG_ARG_BOOL, 0, 1, 1, NULL, NULL, "an interface in promiscuous mode"},
  {"open", "reader", MG_ARG_STR, 0, 0, 0, "\"block\" or \"libpcap\"", "\"block\"",
   "how a file is read: a classic pcap file in this machine's byte order in 256 KiB "
   "read() calls, its records handed on where they lie (any other file, and any record "
   "that is not plain, by libpcap), or every record by libpcap; open's reply says which"},
  {"open", "fanout", MG_ARG_NUM, 0, 65535, 0, NULL, "none",
   "join the interface's PACKET_FANOUT group of this number: the sources of one group, "
   "in one process or several, share its packets, each flow on one source"},
  {"open", "fanout_mode", MG_ARG_STR, 0, 0, 0,
   "\"hash\", \"lb\", \"cpu\", \"rollover\", \"random\" or \"qm\"", "\"hash\"",
   "how a fanout group shares packets, as packet(7)'s PACKET_FANOUT_* modes"},
  {NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL}};

static int src_open(src_t *s, const mg_value_t *a, mg_value_t **reply) {
  const char *known[A_N + 1]; /* the table's names: one list */
  for (int i = 0; i <= A_N; i++) known[i] = i < A_N ? src_args[i].name : NULL;
  int rc = mg_map_only(a, "open", known, "{ file=\"x.pcap\" ... } or { iface=\"eth0\" ... }");
  if (rc) return rc;
  const char *file = NULL, *iface = NULL, *filter = NULL, *speed = NULL, *reader = NULL,
             *fmode = NULL;
  if (!mg_map_str(a, "file", &file) || !mg_map_str(a, "iface", &iface) ||
      !mg_map_str(a, "filter", &filter) || !mg_map_str(a, "speed", &speed) ||
      !mg_map_str(a, "reader", &reader) || !mg_map_str(a, "fanout_mode", &fmode))
    return -EINVAL;
  /* Linux's PACKET_FANOUT_* modes, by the names of packet(7) */
  static const char *const fmodes[] = {"hash", "lb", "cpu", "rollover", "random", "qm", NULL};
  int fm = 0;
  if (fmode) {
    while (fmodes[fm] && strcmp(fmodes[fm], fmode)) fm++;
    if (!fmodes[fm])
      return mg_error(-EINVAL, "open: fanout_mode is one of hash, lb, cpu, rollover, random, "
                      "qm, not \"%s\"", fmode);
  }
  if (reader && strcmp(reader, "libpcap") && strcmp(reader, "block"))
    return mg_error(-EINVAL, "open: reader is \"block\" or \"libpcap\", not \"%s\"", reader);
  if (!file == !iface)
    return mg_error(-EINVAL, "open takes either a file or an iface");
  mg_value_t *pv = mg_map_get(a, "promisc");
  if (pv && pv->type != MG_NIL && pv->type != MG_BOOL)
    return mg_error(-EINVAL, "open: 'promisc' must be true or false");
  s->promisc = !pv || pv->type == MG_NIL || pv->u.b;
  double v[A_N];
  /* every limit keeps the casts below and the ns arithmetic defined */
  for (int i = 0; i < A_N; i++) {
    v[i] = src_args[i].dflt;
    if (src_args[i].kind == MG_ARG_NUM &&
        (rc = mg_map_num(a, src_args[i].name, src_args[i].min, src_args[i].max, &v[i])))
      return rc;
  }
  double snaplen = v[A_SNAPLEN], mult = v[A_MULT], pps = v[A_PPS], mbps = v[A_MBPS],
         loops = v[A_LOOP], delay = v[A_LOOPDELAY], count = v[A_COUNT],
         duration = v[A_DURATION], burst = v[A_BURST], bufsize = v[A_BUFSIZE],
         fanout = mg_map_get(a, "fanout") ? v[A_FANOUT] : -1;
  if (fanout != (double)(int)fanout)
    return mg_error(-EINVAL, "open: fanout is a group number from 0 to 65535, not %g", fanout);
  if ((fanout >= 0 || fmode) && !iface)
    return mg_error(-EINVAL, "open: fanout is for a live interface");
  int sp = SPEED_TOP, chosen = 0;
  if (speed) {
    if (!strcmp(speed, "original")) sp = SPEED_ORIGINAL;
    else if (strcmp(speed, "top"))
      return mg_error(-EINVAL, "open: speed is \"top\" or \"original\", not \"%s\"", speed);
    chosen++;
  }
  if (mult > 0) sp = SPEED_ORIGINAL, chosen++;
  if (pps > 0) sp = SPEED_PPS, chosen++;
  if (mbps > 0) sp = SPEED_MBPS, chosen++;
  if (chosen > 1)
    return mg_error(-EINVAL, "open: choose one of speed, multiplier, pps and mbps");
  if (iface && sp != SPEED_TOP)
    return mg_error(-EINVAL, "open: a live interface has no replay speed");
  src_close(s);
  finish(s);
  free(s->file);
  free(s->iface);
  free(s->filter);
  s->file = file ? mg_strdup(file) : NULL;
  s->iface = iface ? mg_strdup(iface) : NULL;
  s->filter = filter ? mg_strdup(filter) : NULL;
  s->live = iface != NULL;
  s->by_libpcap = reader && !strcmp(reader, "libpcap");
  s->snaplen = (int)snaplen;
  s->bufsize = (int)bufsize;
  s->fanout = (int)fanout;
  s->fanout_mode = fm;
  s->speed = sp;
  s->mult = mult > 0 ? mult : 1;
  s->pps = pps;
  s->mbps = mbps;
  s->loops = (uint32_t)loops;
  s->loopdelay = (int64_t)(delay * 1e9);
  s->count = (uint64_t)count;
  s->duration = (int64_t)(duration * 1e9);
  s->burst = (uint32_t)burst;
  s->done = false;
  s->rerr[0] = '\0';
  s->scale = 1;
  s->stream = false;
  s->hsnap = -1;
  rc = s->live ? open_live(s) : open_file(s);
  if (!rc && s->stream && s->loops != 1)
    rc = mg_error(-EINVAL, "loop: a stream is read once ('%s' cannot be read again)", NAME(s));
  if (rc) {
    src_close(s);
    return rc;
  }
  s->linktype = pcap_datalink(s->p);
  s->bflags = (uint8_t)((s->nsec ? MG_BUF_NSEC : 0) |
                        (!s->live && pcap_is_swapped(s->p) ? MG_BUF_SWAPPED : 0));
  if (!s->live) s->snaplen = pcap_snapshot(s->p);
  s->span = !s->live && !s->stream && s->speed == SPEED_ORIGINAL ? scan_span(s) : 0;
  mg_value_t *r = mg_map();
  mg_map_set(r, "linktype", mg_int(s->linktype));
  const char *ln = pcap_datalink_val_to_name(s->linktype);
  mg_map_set(r, "linkname", mg_str(ln ? ln : "?"));
  /* the file's own word, which libpcap may have changed (0, or huge) */
  mg_map_set(r, "snaplen", mg_int(!s->live && s->hsnap >= 0 ? s->hsnap : s->snaplen));
  mg_map_set(r, "precision", mg_str(s->nsec ? "nano" : "micro"));
  if (!s->live) mg_map_set(r, "reader", mg_str(s->pf ? "block" : "libpcap"));
  *reply = r;
  return 0;
}

static int src_start(src_t *s) {
  if (!s->p) return mg_error(-ENOTCONN, "start: nothing open (send open first)");
  if (s->running) return 0;
  s->running = true;
  s->done = false;
  s->loop_no = 0;
  s->n_loop = s->bits_loop = 0;
  s->started = s->origin = mono();
  if (s->live) {
    mg_engine_t *e = mg_node_engine(s->node);
    if (!s->poll) {
      int fd = pcap_get_selectable_fd(s->p);
      if (fd < 0) return mg_error(-EIO, "start: '%s' has no descriptor to poll", s->iface);
      s->poll = mg_calloc(1, sizeof *s->poll);
      uv_poll_init(mg_engine_loop(e), s->poll, fd);
      s->poll->data = s;
    }
    uv_poll_start(s->poll, UV_READABLE, on_readable);
    if (s->duration) /* a live capture with a time limit: a callout ends it */
      mg_callout_reset(&s->co, s->node, s->duration, burst_fn, s, 0);
    return 0;
  }
  hold(s, true); /* a replay waiting for its next packet is still work */
  mg_send_fn(s->node, NULL, burst_fn, s, 0, MG_QUEUE);
  return 0;
}

static mg_value_t *src_stats(src_t *s) {
  mg_value_t *v = mg_map();
  mg_map_set(v, "packets", mg_int((int64_t)s->packets));
  mg_map_set(v, "bytes", mg_int((int64_t)s->bytes));
  int64_t drops = 0, ifdrops = 0;
  struct pcap_stat ps;
  if (s->live && s->p && pcap_stats(s->p, &ps) == 0) {
    drops = ps.ps_drop;
    ifdrops = ps.ps_ifdrop;
  }
  mg_map_set(v, "drops", mg_int(drops));
  mg_map_set(v, "ifdrops", mg_int(ifdrops));
  mg_map_set(v, "loops", mg_int(s->loop_no));
  /* how far through the file, for progress bars */
  double progress = 0;
  if (!s->live && s->fp && s->fsize > 0) {
    long pos = s->pf ? mg_pcapfile_tell(s->pf) : ftell(s->fp);
    if (pos > 0) progress = (double)pos / (double)s->fsize;
    if (progress > 1) progress = 1;
  }
  if (s->done) progress = 1;
  mg_map_set(v, "progress", mg_num(progress));
  mg_map_set(v, "running", mg_bool(s->running));
  int64_t end = s->running ? mono() : s->ended;
  mg_map_set(v, "elapsed", mg_num(s->started && end > s->started
                                       ? (double)(end - s->started) / 1e9 : 0));
  mg_map_set(v, "done", mg_bool(s->done));
  mg_map_set(v, "filtered", mg_int((int64_t)s->filtered));
  /* capture time: the span of this file's stamps (original timing), and
  ** how far into it this loop has sent */
  mg_map_set(v, "span", mg_num((double)s->span / 1e9));
  mg_map_set(v, "at", mg_num(s->n_loop && s->speed == SPEED_ORIGINAL
                                 ? (double)(s->last_ts - s->first_ts) / 1e9 : 0));
  if (s->rerr[0]) mg_map_set(v, "error", mg_str(s->rerr));
  mg_value_t *d = mg_map();
  mg_map_set(d, "n", mg_int((int64_t)s->dev_n));
  mg_map_set(d, "mean_ns", mg_int(s->dev_n ? s->dev_sum / (int64_t)s->dev_n : 0));
  mg_map_set(d, "max_ns", mg_int(s->dev_max));
  mg_map_set(v, "deviation", d);
  return v;
}

static int src_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last,
                      mg_value_t **reply) {
  (void)last;
  src_t *s = mg_node_priv(n);
  switch (m->cmd) {
  case PCAP_OPEN: return src_open(s, m->args, reply);
  case PCAP_START: return src_start(s);
  case PCAP_STOP:
    if (s->running) {
      s->ended = mono();
      s->running = false;
      hold(s, false);
      mg_callout_stop(&s->co);
      if (s->poll) uv_poll_stop(s->poll);
    }
    return 0;
  case PCAP_CLOSE:
    finish(s);
    src_close(s);
    return 0;
  case PCAP_GETSTATS:
    *reply = src_stats(s);
    return 0;
  case PCAP_CLRSTATS:
    s->packets = s->bytes = s->dev_n = s->filtered = 0;
    s->dev_sum = s->dev_max = 0;
    return 0;
  }
  return mg_error(-ENOSYS, "pcap: unknown command '%s'", m->cmdstr);
}
/* }====================================================== */

int mg_pcap_on_done(mg_node_t *n, mg_pcap_done_fn fn, void *arg, bool *done) {
  if (mg_node_type(n) != &mg_type_pcap) return -EINVAL;
  src_t *s = mg_node_priv(n);
  s->done_fn = fn;
  s->done_arg = arg;
  *done = s->done && !s->running;
  return 0;
}

static int src_constructor(mg_node_t *n) {
  src_t *s = mg_node_priv(n);
  s->node = n;
  s->burst = 64;
  mg_callout_init(&s->co);
  return 0;
}

static int src_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  src_t *s = mg_node_priv(n);
  if (strcmp(name, "out"))
    return mg_error(-EINVAL, "pcap has one hook, 'out', not '%s'", name);
  s->out = h;
  return 0;
}

static void src_disconnect(mg_hook_t *h) {
  src_t *s = mg_node_priv(mg_hook_node(h));
  if (s->out == h) s->out = NULL;
}

static void src_shutdown(mg_node_t *n) {
  src_t *s = mg_node_priv(n);
  s->done_fn = NULL; /* going away is not finishing */
  finish(s);
  src_close(s);
  free(s->file);
  free(s->iface);
  free(s->filter);
}

static void src_status(mg_node_t *n, mg_sbuf_t *out) {
  src_t *s = mg_node_priv(n);
  mg_sbuf_printf(out, "%s %s: %s, %llu packets, %llu bytes",
                 s->live ? "interface" : "file",
                 s->live ? (s->iface ? s->iface : "-") : (s->file ? s->file : "-"),
                 s->running ? "running" : s->done ? "done" : s->p ? "open" : "closed",
                 (unsigned long long)s->packets, (unsigned long long)s->bytes);
}

static const mg_cmd_t src_cmds[] = {
  {"open", PCAP_OPEN, 0,
   "{ file=\"x.pcap\" | iface=\"eth0\" filter=\"udp\" speed=\"original\" ... }",
   "open a capture file (\"-\": standard input) or an interface; every argument, its "
   "range and default below (numbers out of range are refused)"},
  {"start", PCAP_START, 0, "", "start sending packets"},
  {"stop", PCAP_STOP, 0, "", "stop sending (start goes on from here)"},
  {"close", PCAP_CLOSE, 0, "", "close the file or interface"},
  {"getstats", PCAP_GETSTATS, MG_CMD_READONLY, "",
   "packets, bytes, drops, loops, timing deviation, filtered (dropped by a file's "
   "filter), span and at (seconds of capture time: the file's, and how far in)"},
  {"clrstats", PCAP_CLRSTATS, 0, "", "zero the counters"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_pcap = {
  .name = "pcap",
  .doc = "Packets from a capture file (pcap, pcapng) or a live interface,\n"
         "out of hook 'out'; replay at top speed, original timing, a\n"
         "multiplier, a packet or bit rate; loops; a BPF filter.",
  .priv_size = sizeof(src_t),
  .flags = MG_TF_LOOP_ONLY,
  .constructor = src_constructor,
  .newhook = src_newhook,
  .rcvmsg = src_rcvmsg,
  .disconnect = src_disconnect,
  .shutdown = src_shutdown,
  .status = src_status,
  .cmds = src_cmds,
  .argdocs = src_args,
};
