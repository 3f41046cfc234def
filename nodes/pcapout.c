/*
** pcapout.c -- packets to a capture file, or onto a live interface.
**
** HOOKS     any name: whatever arrives is written (or sent).
** MESSAGES  open { file="out.pcap", format="pcap"|"pcapng", linktype=N,
**                  snaplen=N, precision="micro"|"nano" } or { iface="eth0" },
**           flush, close; getstats -> { packets bytes drops errors }.
** A file takes its link type and precision from the first packet unless
** told; pcap files hold one link type, so a packet of another is dropped
** and counted.  Writes are buffered and flushed on flush, close and
** shutdown, so the file is whole when the graph goes (SIGINT included).
** An interface is written without blocking: when its socket is full the
** packet is dropped and counted, and the loop never stalls.
*/
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

enum { OUT_OPEN = 1, OUT_FLUSH, OUT_CLOSE, OUT_GETSTATS };
enum { FMT_PCAP, FMT_PCAPNG };

typedef struct {
  char *file, *iface;
  int format, linktype, snaplen, prec; /* prec: -1 from the data */
  FILE *fp;                            /* pcapng, or the pcap dumper's */
  pcap_t *dead, *live;
  pcap_dumper_t *dump;
  bool started, warned;
  uint64_t packets, bytes, drops, errors;
  char err[PCAP_ERRBUF_SIZE];
} out_t;

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
  put32(idb + 12, (uint32_t)o->snaplen);
  put16(idb + 16, 9);
  put16(idb + 18, 1);
  idb[20] = 9;
  put32(idb + 28, 32); /* opt_endofopt is the zero word at 24 */
  if (fwrite(shb, sizeof shb, 1, o->fp) != 1 || fwrite(idb, sizeof idb, 1, o->fp) != 1)
    return mg_error(-EIO, "writing '%s': %s", o->file, strerror(errno));
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

static int out_start(out_t *o, const mg_buf_t *b);

static void out_close(out_t *o) {
  /* told its link type but given no packet: still a valid, empty file */
  if (o->file && !o->started && o->linktype >= 0) {
    mg_buf_t none = {.linktype = (uint16_t)o->linktype,
                     .flags = o->prec == 1 ? MG_BUF_NSEC : 0};
    out_start(o, &none); /* the link type was checked at open */
  }
  if (o->dump) {
    pcap_dump_flush(o->dump);
    pcap_dump_close(o->dump); /* closes o->fp */
  } else if (o->fp)
    fclose(o->fp);
  if (o->dead) pcap_close(o->dead);
  if (o->live) pcap_close(o->live);
  o->dump = NULL;
  o->fp = NULL;
  o->dead = o->live = NULL;
  o->started = false;
  free(o->file); /* closed is closed: a later packet is dropped */
  free(o->iface);
  o->file = o->iface = NULL;
}

/* The file is made at the first packet, which may tell what it holds. */
static int out_start(out_t *o, const mg_buf_t *b) {
  if (o->linktype < 0) o->linktype = b->linktype;
  int prec = o->prec >= 0 ? o->prec : (b->flags & MG_BUF_NSEC) ? 1 : 0;
  FILE *fp = fopen(o->file, "wb");
  if (!fp) return mg_error(-errno, "cannot write '%s': %s", o->file, strerror(errno));
  setvbuf(fp, NULL, _IOFBF, 1 << 20);
  o->fp = fp;
  if (o->format == FMT_PCAPNG) {
    o->started = true;
    return ng_header(o);
  }
  o->dead = pcap_open_dead_with_tstamp_precision(
      o->linktype, o->snaplen,
      prec ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
  o->dump = o->dead ? pcap_dump_fopen(o->dead, fp) : NULL;
  if (!o->dump) {
    fclose(fp);
    o->fp = NULL;
    return mg_error(-EIO, "cannot write '%s': %s", o->file,
                    o->dead ? pcap_geterr(o->dead) : "no memory");
  }
  o->prec = prec;
  o->started = true;
  return 0;
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
        return mg_error(-EIO, "writing '%s': %s", o->file, strerror(errno));
      }
    } else {
      struct pcap_pkthdr ph;
      ph.caplen = b->len;
      ph.len = b->wirelen;
      ph.ts.tv_sec = (time_t)(b->ts / 1000000000);
      int64_t frac = b->ts % 1000000000;
      if (frac < 0) { frac += 1000000000; ph.ts.tv_sec--; }
      ph.ts.tv_usec = (suseconds_t)(o->prec ? frac : frac / 1000);
      if ((b->flags & MG_BUF_RAWTS) && o->prec) { /* keep an odd stamp odd */
        ph.ts.tv_sec = (time_t)b->raw_sec;
        ph.ts.tv_usec = (suseconds_t)b->raw_frac;
      }
      pcap_dump((u_char *)o->dump, &ph, b->data);
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
  if (!a || a->type != MG_MAP)
    return mg_error(-EINVAL, "open takes { file=\"out.pcap\" } or { iface=\"eth0\" }");
  const char *file = NULL, *iface = NULL, *format = NULL, *prec = NULL;
  int64_t linktype = -1, snaplen = 262144;
  mg_value_t *lt = mg_map_get(a, "linktype");
  if (lt && lt->type == MG_STR) { /* a name: "EN10MB", "RAW" */
    linktype = pcap_datalink_name_to_val(lt->u.s.p);
    if (linktype < 0)
      return mg_error(-EINVAL, "open: unknown link type '%s'", lt->u.s.p);
  } else if (!mg_map_int(a, "linktype", &linktype))
    return -EINVAL;
  if (linktype == 101) linktype = DLT_RAW; /* the file's number for it */
  if (linktype > 0xffff) return mg_error(-EINVAL, "open: bad link type %lld", (long long)linktype);
  if (!mg_map_str(a, "file", &file) || !mg_map_str(a, "iface", &iface) ||
      !mg_map_str(a, "format", &format) || !mg_map_str(a, "precision", &prec) ||
      !mg_map_int(a, "snaplen", &snaplen))
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
  if (snaplen <= 0 || snaplen > 0x7fffffff) return mg_error(-EINVAL, "open: bad snaplen");
  out_close(o);
  o->warned = false;
  o->format = fmt;
  o->linktype = (int)linktype;
  o->snaplen = (int)snaplen;
  o->prec = p;
  if (file) {
    /* fail now, not at the first packet, if the place is not writable */
    FILE *t = fopen(file, "ab");
    if (!t) return mg_error(-errno, "cannot write '%s': %s", file, strerror(errno));
    fclose(t);
    o->file = mg_strdup(file);
    return 0;
  }
  o->live = pcap_create(iface, o->err);
  if (!o->live) return mg_error(-ENODEV, "cannot send on '%s': %s", iface, o->err);
  int rc = pcap_activate(o->live);
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
    if (o->dump) pcap_dump_flush(o->dump);
    else if (o->fp) fflush(o->fp);
    return 0;
  case OUT_CLOSE:
    out_close(o);
    return 0;
  case OUT_GETSTATS: {
    mg_value_t *v = mg_map();
    mg_map_set(v, "packets", mg_int((int64_t)o->packets));
    mg_map_set(v, "bytes", mg_int((int64_t)o->bytes));
    mg_map_set(v, "drops", mg_int((int64_t)o->drops));
    mg_map_set(v, "errors", mg_int((int64_t)o->errors));
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

static void out_shutdown(mg_node_t *n) { out_close(mg_node_priv(n)); }

static void out_status(mg_node_t *n, mg_sbuf_t *out) {
  out_t *o = mg_node_priv(n);
  mg_sbuf_printf(out, "%s %s: %llu packets, %llu drops", o->iface ? "interface" : "file",
                 o->iface ? o->iface : o->file ? o->file : "(none)",
                 (unsigned long long)o->packets, (unsigned long long)o->drops);
}

static const mg_cmd_t out_cmds[] = {
  {"open", OUT_OPEN, 0,
   "{ file=\"out.pcap\" format=\"pcap\" precision=\"nano\" } | { iface=\"eth0\" }",
   "write to a capture file, or send on an interface"},
  {"flush", OUT_FLUSH, 0, "", "write buffered packets out now"},
  {"close", OUT_CLOSE, 0, "", "finish the file"},
  {"getstats", OUT_GETSTATS, MG_CMD_READONLY, "", "packets, bytes, drops, errors"},
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
