/*
** pcapout.c -- packets to a capture file, or onto a live interface.
**
** HOOKS     any name: whatever arrives is written (or sent).
** MESSAGES  open { file="out.pcap", format="pcap"|"pcapng", linktype=N,
**                  snaplen=N, precision="micro"|"nano" } or { iface="eth0" },
**           flush, close; getstats -> { packets bytes drops errors }.
** The file is made at open (file="-" is standard output); its header is
** written then when told the link type and precision (pcapng: the link
** type), else at the first packet, which tells them, else at close, so
** that a file that got nothing is still a valid capture (Ethernet unless
** told).  pcap files hold one link type, so a packet of another is dropped
** and counted.  Writes are buffered and flushed on flush, close and
** shutdown, so the file is whole when the graph goes (SIGINT included);
** a write that fails is logged once and counted, and flush and close
** return it.
** An interface is written without blocking: when its socket is full the
** packet is dropped and counted, and the loop never stalls.
*/
#define _GNU_SOURCE /* fwrite_unlocked */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"

enum { OUT_OPEN = 1, OUT_FLUSH, OUT_CLOSE, OUT_GETSTATS };
enum { FMT_PCAP, FMT_PCAPNG };

typedef struct {
  char *file, *iface;
  int format, linktype, prec; /* linktype, prec: -1 from the data */
  uint32_t snaplen;
  FILE *fp;                            /* pcapng, or the pcap dumper's */
  char *iobuf;                         /* fp's: one write a MiB */
  pcap_t *dead, *live;
  pcap_dumper_t *dump;
  bool started, warned;
  uint64_t packets, bytes, drops, errors;
  char err[PCAP_ERRBUF_SIZE];
  char werr[PCAP_ERRBUF_SIZE + 64]; /* the first write that failed */
} out_t;

#define NAME(o) (strcmp((o)->file, "-") ? (o)->file : "standard output")

/* A write failed (stdio keeps the error until the file is closed): the
** first is logged and kept for flush, close and getstats. */
static int write_failed(out_t *o, mg_node_t *n, int err) {
  if (!o->werr[0]) {
    snprintf(o->werr, sizeof o->werr, "writing '%s': %s", NAME(o), strerror(err));
    if (n) mg_log(mg_node_engine(n), MG_LOG_ERR, "pcapout [%x]: %s", mg_node_id(n), o->werr);
  }
  return mg_error(-err, "%s", o->werr);
}

/* {====================================================== pcapng */
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

static int ng_header(out_t *o) {
  uint8_t shb[28] = {0};
  put32(shb, 0x0a0d0d0a);
  put32(shb + 4, 28);
  put32(shb + 8, 0x1a2b3c4d);
  put16(shb + 12, 1);
  put16(shb + 14, 0);
  memset(shb + 16, 0xff, 8); /* section length unknown */
  put32(shb + 24, 28);
  /* one interface, timestamps in nanoseconds (if_tsresol = 9) */
  uint8_t idb[32] = {0};
  put32(idb, 1);
  put32(idb + 4, 32);
  put16(idb + 8, (uint16_t)o->linktype);
  put32(idb + 12, o->snaplen);
  put16(idb + 16, 9);
  put16(idb + 18, 1);
  idb[20] = 9;
  put32(idb + 28, 32); /* opt_endofopt is the zero word at 24 */
  if (fwrite(shb, sizeof shb, 1, o->fp) != 1 || fwrite(idb, sizeof idb, 1, o->fp) != 1)
    return write_failed(o, NULL, errno);
  return 0;
}

static int ng_packet(out_t *o, const mg_buf_t *b) {
  uint32_t pad = (4 - (b->len & 3)) & 3, total = 32 + b->len + pad;
  uint8_t h[28];
  uint64_t ts = (uint64_t)b->ts;
  put32(h, 6);
  put32(h + 4, total);
  put32(h + 8, 0);
  put32(h + 12, (uint32_t)(ts >> 32));
  put32(h + 16, (uint32_t)ts);
  put32(h + 20, b->len);
  put32(h + 24, b->wirelen);
  static const uint8_t zero[4];
  uint8_t tail[4];
  put32(tail, total);
  if (fwrite(h, sizeof h, 1, o->fp) != 1 ||
      (b->len && fwrite(b->data, b->len, 1, o->fp) != 1) ||
      (pad && fwrite(zero, pad, 1, o->fp) != 1) || fwrite(tail, 4, 1, o->fp) != 1)
    return -EIO;
  return 0;
}
/* }====================================================== */

/* The header, into the file made at open; b (the first packet) tells
** what was not told. */
static int out_start(out_t *o, const mg_buf_t *b) {
  if (o->linktype < 0) o->linktype = b->linktype;
  int prec = o->prec >= 0 ? o->prec : (b->flags & MG_BUF_NSEC) ? 1 : 0;
  if (o->format == FMT_PCAPNG) {
    o->started = true;
    return ng_header(o);
  }
  /* libpcap's int snaplen: the header's 32 bits go through it unchanged */
  o->dead = pcap_open_dead_with_tstamp_precision(
      o->linktype, (int)o->snaplen,
      prec ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
  o->dump = o->dead ? pcap_dump_fopen(o->dead, o->fp) : NULL;
  if (!o->dump) {
    int rc = mg_error(-EINVAL, "cannot write '%s': %s", NAME(o),
                      o->dead ? pcap_geterr(o->dead) : "no memory");
    if (o->dead) pcap_close(o->dead);
    o->dead = NULL;
    return rc;
  }
  o->prec = prec;
  o->started = true;
  return 0;
}

static int out_close(out_t *o, mg_node_t *n) {
  int rc = 0;
  /* given no packet: still a valid, empty file */
  if (o->fp && !o->started) {
    mg_buf_t none = {.linktype = (uint16_t)(o->linktype >= 0 ? o->linktype : DLT_EN10MB),
                     .flags = o->prec == 1 ? MG_BUF_NSEC : 0};
    rc = out_start(o, &none);
  }
  if (o->fp) {
    if ((o->dump ? pcap_dump_flush(o->dump) : fflush(o->fp)) != 0 || ferror(o->fp))
      rc = write_failed(o, n, errno ? errno : EIO);
    if (o->dump) pcap_dump_close(o->dump); /* closes o->fp */
    else if (fclose(o->fp) != 0 && !rc)
      rc = write_failed(o, n, errno);
  }
  if (o->dead) pcap_close(o->dead);
  if (o->live) pcap_close(o->live);
  free(o->iobuf); /* after fp's last flush */
  o->iobuf = NULL;
  o->dump = NULL;
  o->fp = NULL;
  o->dead = o->live = NULL;
  o->started = false;
  free(o->file); /* closed is closed: a later packet is dropped */
  free(o->iface);
  o->file = o->iface = NULL;
  if (!rc && o->werr[0]) rc = mg_error(-EIO, "%s", o->werr);
  return rc;
}

static int out_rcvdata(mg_hook_t *h, mg_item_t *it) {
  out_t *o = mg_node_priv(mg_hook_node(h));
  mg_buf_t *b = mg_item_buf(it);
  mg_node_t *n = mg_hook_node(h);
  if (o->live) {
    if (pcap_inject(o->live, b->data, b->len) < 0) {
      o->drops++; /* socket full (non-blocking) or refused */
      mg_drop(it, MG_DROP_QFULL);
      return 0;
    }
  } else if (o->file) {
    if (o->werr[0]) { /* the file is broken: it takes no more */
      o->errors++;
      mg_drop(it, MG_DROP_ERROR);
      return 0;
    }
    if (!o->started) {
      int rc = out_start(o, b);
      if (rc) {
        if (!o->warned)
          mg_log(mg_node_engine(n), MG_LOG_ERR, "pcapout [%x]: %s", mg_node_id(n), mg_errmsg());
        o->warned = true;
        o->errors++;
        mg_drop(it, MG_DROP_ERROR);
        return rc;
      }
    }
    if (b->linktype != o->linktype) {
      if (!o->warned)
        mg_log(mg_node_engine(n), MG_LOG_WARN,
               "pcapout [%x]: '%s' holds link type %d; dropping packets of type %d",
               mg_node_id(n), o->file, o->linktype, b->linktype);
      o->warned = true;
      o->drops++;
      mg_drop(it, MG_DROP_POLICY);
      return 0;
    }
    if (o->format == FMT_PCAPNG) {
      if (ng_packet(o, b)) {
        o->errors++;
        mg_drop(it, MG_DROP_ERROR);
        return write_failed(o, n, errno);
      }
    } else {
      struct pcap_pkthdr ph;
      ph.caplen = b->len;
      ph.len = b->wirelen;
      ph.ts.tv_sec = (time_t)(b->ts / 1000000000);
      int64_t frac = b->ts % 1000000000;
      if (frac < 0) { frac += 1000000000; ph.ts.tv_sec--; }
      ph.ts.tv_usec = (suseconds_t)(o->prec ? frac : frac / 1000);
      /* keep an odd stamp odd, when its unit is the file's */
      uint32_t rs, rf;
      if (!(b->flags & MG_BUF_NSEC) == !o->prec && mg_buf_rawts(b, &rs, &rf)) {
        ph.ts.tv_sec = (time_t)rs;
        ph.ts.tv_usec = (suseconds_t)rf;
      }
      /* pcap_dump's record, host order, written past fwrite's lock: the
      ** locked fwrite was a third of a replay to a file */
      uint32_t rec[4] = {(uint32_t)ph.ts.tv_sec, (uint32_t)ph.ts.tv_usec, ph.caplen, ph.len};
      fwrite_unlocked(rec, sizeof rec, 1, o->fp);
      if (b->len) fwrite_unlocked(b->data, b->len, 1, o->fp);
      if (ferror(o->fp)) { /* a buffer went out and failed */
        o->errors++;
        mg_drop(it, MG_DROP_ERROR);
        return write_failed(o, n, errno);
      }
    }
  } else {
    mg_drop(it, MG_DROP_POLICY); /* nothing open */
    return 0;
  }
  o->packets++;
  o->bytes += b->len;
  mg_consume(it);
  return 0;
}

static int out_open(out_t *o, const mg_value_t *a) {
  static const char *const known[] = {"file", "iface", "format", "precision",
                                      "linktype", "snaplen", NULL};
  int rc = mg_map_only(a, "open", known, "{ file=\"out.pcap\" ... } or { iface=\"eth0\" }");
  if (rc) return rc;
  const char *file = NULL, *iface = NULL, *format = NULL, *prec = NULL;
  double linktype = -1, snaplen = 262144;
  mg_value_t *lt = mg_map_get(a, "linktype");
  if (lt && lt->type == MG_STR) { /* a name: "EN10MB", "RAW" */
    linktype = pcap_datalink_name_to_val(lt->u.s.p);
    if (linktype < 0)
      return mg_error(-EINVAL, "open: unknown link type '%s'", lt->u.s.p);
  } else if ((rc = mg_map_num(a, "linktype", 0, 0xffff, &linktype)))
    return rc;
  if (linktype == 101) linktype = DLT_RAW; /* the file's number for it */
  /* a file header's 32 bits, 0 included, so that a capture comes back as it was */
  if ((rc = mg_map_num(a, "snaplen", 0, 0xffffffff, &snaplen))) return rc;
  if (!mg_map_str(a, "file", &file) || !mg_map_str(a, "iface", &iface) ||
      !mg_map_str(a, "format", &format) || !mg_map_str(a, "precision", &prec))
    return -EINVAL;
  if (!file == !iface) return mg_error(-EINVAL, "open takes either a file or an iface");
  int fmt = FMT_PCAP;
  if (format) {
    if (!strcmp(format, "pcapng")) fmt = FMT_PCAPNG;
    else if (strcmp(format, "pcap"))
      return mg_error(-EINVAL, "open: format is \"pcap\" or \"pcapng\", not \"%s\"", format);
  } else if (file && strlen(file) > 7 && !strcmp(file + strlen(file) - 7, ".pcapng"))
    fmt = FMT_PCAPNG;
  int p = -1;
  if (prec) {
    if (!strcmp(prec, "nano")) p = 1;
    else if (!strcmp(prec, "micro")) p = 0;
    else return mg_error(-EINVAL, "open: precision is \"micro\" or \"nano\"");
  }
  out_close(o, NULL);
  o->warned = false;
  o->werr[0] = '\0';
  o->format = fmt;
  o->linktype = (int)linktype;
  o->snaplen = (uint32_t)snaplen;
  o->prec = p;
  if (file) {
    /* made now, empty: what was there goes, as with tcpdump -w */
    bool std = !strcmp(file, "-");
    int fd = std ? dup(1) : -1;
    FILE *fp = std ? (fd >= 0 ? fdopen(fd, "wb") : NULL) : fopen(file, "wb");
    if (!fp) {
      int e = errno;
      if (fd >= 0) close(fd);
      return mg_error(-e, "cannot write '%s': %s", std ? "standard output" : file, strerror(e));
    }
    /* glibc takes the size only with a buffer: given NULL it makes one of
    ** st_blksize, and a 100 MB capture took 23,000 writes */
    o->iobuf = mg_alloc(1 << 20);
    setvbuf(fp, o->iobuf, _IOFBF, 1 << 20);
    o->fp = fp;
    o->file = mg_strdup(file);
    /* told enough for the header: write it now, and refuse now what a
    ** pcap file cannot hold */
    if (o->linktype >= 0 && (o->prec >= 0 || fmt == FMT_PCAPNG)) {
      mg_buf_t none = {.linktype = (uint16_t)o->linktype, .flags = o->prec == 1 ? MG_BUF_NSEC : 0};
      if ((rc = out_start(o, &none))) {
        fclose(o->fp);
        o->fp = NULL;
        if (!std) remove(file); /* not a capture: leave nothing */
        free(o->file);
        o->file = NULL;
        return mg_error(rc, "cannot write '%s': a pcap file cannot hold link type %d", file,
                        (int)linktype);
      }
    }
    return 0;
  }
  o->live = pcap_create(iface, o->err);
  if (!o->live) return mg_error(-ENODEV, "cannot send on '%s': %s", iface, o->err);
  rc = pcap_activate(o->live);
  if (rc < 0) {
    mg_error(rc == PCAP_ERROR_PERM_DENIED ? -EPERM : -ENODEV,
             "cannot send on '%s': %s (%s)", iface,
             rc == PCAP_ERROR_NO_SUCH_DEVICE ? "no such interface" : pcap_statustostr(rc),
             pcap_geterr(o->live));
    pcap_close(o->live);
    o->live = NULL;
    return rc == PCAP_ERROR_PERM_DENIED ? -EPERM : -ENODEV;
  }
  pcap_setnonblock(o->live, 1, o->err);
  o->iface = mg_strdup(iface);
  return 0;
}

static int out_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last,
                      mg_value_t **reply) {
  (void)last;
  out_t *o = mg_node_priv(n);
  switch (m->cmd) {
  case OUT_OPEN: return out_open(o, m->args);
  case OUT_FLUSH:
    if (o->werr[0]) return mg_error(-EIO, "%s", o->werr);
    if (o->fp && ((o->dump ? pcap_dump_flush(o->dump) : fflush(o->fp)) != 0 || ferror(o->fp)))
      return write_failed(o, n, errno ? errno : EIO);
    return 0;
  case OUT_CLOSE:
    return out_close(o, n);
  case OUT_GETSTATS: {
    mg_value_t *v = mg_map();
    mg_map_set(v, "packets", mg_int((int64_t)o->packets));
    mg_map_set(v, "bytes", mg_int((int64_t)o->bytes));
    mg_map_set(v, "drops", mg_int((int64_t)o->drops));
    mg_map_set(v, "errors", mg_int((int64_t)o->errors));
    if (o->werr[0]) mg_map_set(v, "error", mg_str(o->werr));
    *reply = v;
    return 0;
  }
  }
  return mg_error(-ENOSYS, "pcapout: unknown command '%s'", m->cmdstr);
}

static int out_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  (void)n; (void)h; (void)name;
  return 0;
}

static void out_shutdown(mg_node_t *n) { out_close(mg_node_priv(n), n); }

static void out_status(mg_node_t *n, mg_sbuf_t *out) {
  out_t *o = mg_node_priv(n);
  mg_sbuf_printf(out, "%s %s: %llu packets, %llu drops", o->iface ? "interface" : "file",
                 o->iface ? o->iface : o->file ? o->file : "(none)",
                 (unsigned long long)o->packets, (unsigned long long)o->drops);
}

static const mg_cmd_t out_cmds[] = {
  {"open", OUT_OPEN, 0,
   "{ file=\"out.pcap\" format=\"pcap\" precision=\"nano\" } | { iface=\"eth0\" }",
   "write to a capture file (\"-\": standard output), or send on an interface"},
  {"flush", OUT_FLUSH, 0, "", "write buffered packets out now"},
  {"close", OUT_CLOSE, 0, "", "finish the file (a failed write is returned)"},
  {"getstats", OUT_GETSTATS, MG_CMD_READONLY, "", "packets, bytes, drops, errors, error"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_pcapout = {
  .name = "pcapout",
  .doc = "Writes what it receives to a pcap or pcapng file, or sends it\n"
         "on a live interface without blocking (drops counted).",
  .priv_size = sizeof(out_t),
  .flags = MG_TF_FORCE_WRITER,
  .newhook = out_newhook,
  .rcvdata = out_rcvdata,
  .rcvmsg = out_rcvmsg,
  .shutdown = out_shutdown,
  .status = out_status,
  .cmds = out_cmds,
};
