/*
** eiface.c -- an Ethernet interface the kernel sees (netgraph's
** ng_eiface), made of a Linux TAP device.
**
** HOOKS     ether.  Frames the kernel sends out of the interface leave by
**           ether; frames arriving on ether are received by the kernel as
**           if from a wire.
** MESSAGES  getifname -> "ngeth0"; set 02:00:00:00:00:01 (the link-level
**           address); setifname "name" (the interface and the node take
**           the new name; older kernels want the interface down: EBUSY);
**           getstats -> { ipackets ibytes
**           iqdrops ierrors opackets obytes onohook }; clrstats.
** A new node takes the first name ngethN free both as an interface here
** and as a node name, and is named so (`shutdown ngeth0:`).  It stays when
** its hook goes; shutdown removes the interface, wherever it is: the TAP
** descriptor is the interface, so it also survives being moved to another
** network namespace and back (`ip link set ngeth0 netns X`), and setifname
** works only while the interface is in this process's namespace.
** Reads and writes are non-blocking on the engine's loop: up to 64 frames
** a turn; a frame the kernel cannot take yet waits in a queue of 256
** (iqdrops past it), one refused (the interface down: ENETDOWN, as
** FreeBSD) counts in ierrors.  The carrier comes up when ether is
** connected, as FreeBSD's link state does.  Needs CAP_NET_ADMIN.
*/
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "builtin.h"
#include "enaddr.h"

#define MAXUNIT 65535 /* FreeBSD's unit numbers: 0..0xffff */
#define QMAX 256      /* frames waiting for the kernel */
#define BURST 64      /* frames read in one turn */
#define FRAMEMAX (65536 + 64) /* a TAP's largest MTU and its header */
enum { EIF_GETIFNAME = 1, EIF_GETIFADDRS, EIF_SET, EIF_SETIFNAME = 0x100, EIF_GETSTATS,
       EIF_CLRSTATS };

typedef struct {
  mg_node_t *node;
  mg_hook_t *ether;
  int fd;
  uv_poll_t *poll;
  mg_buf_t *q[QMAX]; /* ring of frames the kernel has not taken yet */
  uint32_t qhead, qlen;
  uint64_t ipackets, ibytes, iqdrops, ierrors, opackets, obytes, onohook;
  uint8_t *rbuf;
  char err[128]; /* the last read error logged, to log each once */
} eif_t;

/* The interface's name now: it may have been renamed from outside. */
static const char *ifname(eif_t *s, char *buf) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (ioctl(s->fd, TUNGETIFF, &ifr) < 0) return strcpy(buf, "?");
  memcpy(buf, ifr.ifr_name, IFNAMSIZ);
  buf[IFNAMSIZ - 1] = 0;
  return buf;
}

static void carrier(eif_t *s, int on) { (void)ioctl(s->fd, TUNSETCARRIER, &on); }

/* {====================================================== the descriptor */
static void on_poll(uv_poll_t *p, int status, int events);

static void arm(eif_t *s) {
  if (s->poll)
    uv_poll_start(s->poll, UV_READABLE | (s->qlen ? UV_WRITABLE : 0), on_poll);
}

/* Frames the kernel sent, out of ether. */
static void read_burst(eif_t *s) {
  mg_engine_t *e = mg_node_engine(s->node);
  for (int i = 0; i < BURST; i++) {
    ssize_t r = read(s->fd, s->rbuf, FRAMEMAX);
    if (r < 0) {
      if (errno != EAGAIN && errno != EINTR) {
        char why[128];
        snprintf(why, sizeof why, "%s", strerror(errno));
        if (strcmp(why, s->err))
          mg_log(e, MG_LOG_WARN, "eiface [%x]: reading the interface: %s",
                 mg_node_id(s->node), why);
        strcpy(s->err, why);
      }
      return;
    }
    s->opackets++;
    s->obytes += (uint64_t)r;
    if (!s->ether) {
      s->onohook++;
      continue;
    }
    mg_buf_t *b = mg_buf_new(0);
    mg_buf_lend(b, s->rbuf, (uint32_t)r); /* copied only if it must wait */
    b->wirelen = (uint32_t)r;
    b->ts = mg_now(e);
    b->linktype = 1;
    mg_forward(s->ether, mg_data_new(s->node, b));
  }
}

/* Frames waiting for the kernel, in order, while it takes them. */
static void flush(eif_t *s) {
  while (s->qlen) {
    mg_buf_t *b = s->q[s->qhead];
    if (write(s->fd, b->data, b->len) < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      s->ierrors++;
    } else {
      s->ipackets++;
      s->ibytes += b->len;
    }
    mg_buf_unref(b);
    s->qhead = (s->qhead + 1) % QMAX;
    s->qlen--;
  }
}

static int io_fn(mg_node_t *n, mg_hook_t *h, void *a, intptr_t events) {
  (void)h; (void)a;
  eif_t *s = mg_node_priv(n);
  if (events & UV_WRITABLE) flush(s);
  if (events & UV_READABLE) read_burst(s);
  arm(s);
  return 0;
}

/* The poll rests until the node has had its turn: one io_fn at a time. */
static void on_poll(uv_poll_t *p, int status, int events) {
  eif_t *s = p->data;
  uv_poll_stop(p);
  if (status < 0) {
    mg_log(mg_node_engine(s->node), MG_LOG_ERR, "eiface [%x]: polling the interface: %s",
           mg_node_id(s->node), uv_strerror(status));
    return;
  }
  mg_send_fn(s->node, NULL, io_fn, NULL, events, 0);
}
/* }====================================================== */

static int eif_rcvdata(mg_hook_t *h, mg_item_t *it) {
  eif_t *s = mg_node_priv(mg_hook_node(h));
  mg_buf_t *b = mg_item_buf(it);
  if (b->len < 14) {
    s->ierrors++;
    mg_drop(it, MG_DROP_ERROR);
    return mg_error(-EINVAL, "eiface: a frame of %u bytes has no Ethernet header", b->len);
  }
  if (!s->qlen) {
    if (write(s->fd, b->data, b->len) >= 0) {
      s->ipackets++;
      s->ibytes += b->len;
      mg_consume(it);
      return 0;
    }
    if (errno != EAGAIN && errno != EINTR) {
      int e = errno;
      char name[IFNAMSIZ];
      s->ierrors++;
      mg_drop(it, MG_DROP_ERROR);
      if (e == EIO) /* what a TAP says while it is down */
        return mg_error(-ENETDOWN, "eiface: %s is down", ifname(s, name));
      return mg_error(-e, "eiface: %s refused a frame of %u bytes: %s", ifname(s, name),
                      b->len, strerror(e));
    }
  }
  if (s->qlen == QMAX) {
    s->iqdrops++;
    mg_drop(it, MG_DROP_QFULL);
    return 0;
  }
  s->q[(s->qhead + s->qlen++) % QMAX] = mg_buf_copy(b);
  mg_consume(it);
  if (s->qlen == 1) arm(s);
  return 0;
}

/* {====================================================== messages */
static int set_addr(eif_t *s, const mg_msg_t *m) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  uint8_t a[6];
  if (!m->args || m->args->type != MG_STR || !mg_enaddr_parse(m->args->u.s.p, a))
    return mg_error(-EINVAL, "set takes an Ethernet address: set 02:00:00:00:00:01");
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  memcpy(ifr.ifr_hwaddr.sa_data, a, 6);
  if (ioctl(s->fd, SIOCSIFHWADDR, &ifr) < 0) /* the TAP's own: any namespace */
    return mg_error(-errno, "set %s: %s", m->args->u.s.p,
                    errno == EADDRNOTAVAIL ? "not a unicast address" : strerror(errno));
  return 0;
}

/* Whether the interface is in this process's network namespace. */
static bool here(eif_t *s) {
  int nsfd = ioctl(s->fd, TUNGETDEVNETNS);
  if (nsfd < 0) return true; /* an older kernel cannot say */
  struct stat a, b;
  bool same = fstat(nsfd, &a) == 0 && stat("/proc/self/ns/net", &b) == 0 &&
              a.st_ino == b.st_ino && a.st_dev == b.st_dev;
  close(nsfd);
  return same;
}

static int set_ifname(mg_node_t *n, eif_t *s, const mg_msg_t *m) {
  const char *to = m->args && m->args->type == MG_STR ? m->args->u.s.p : NULL;
  char q[MG_QUOTESIZ], cur[IFNAMSIZ];
  if (!to) return mg_error(-EINVAL, "setifname takes a name: setifname \"wan0\"");
  if (!*to || strlen(to) >= IFNAMSIZ || strpbrk(to, "/: \t\n") || !strcmp(to, ".") ||
      !strcmp(to, ".."))
    return mg_error(-EINVAL, "setifname: %s is not an interface name (1 to %d characters, "
                    "no '/', ':' or blanks)", mg_quote(q, to), IFNAMSIZ - 1);
  mg_node_t *other = mg_node_byname(mg_node_engine(n), to);
  if (other) {
    uint32_t id = mg_node_id(other);
    mg_node_unref(other);
    if (other != n)
      return mg_error(-EADDRINUSE, "setifname: node name %s is in use by [%x]",
                      mg_quote(q, to), id);
  }
  if (!here(s))
    return mg_error(-ENODEV, "setifname: %s is in another network namespace",
                    ifname(s, cur));
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, ifname(s, cur), IFNAMSIZ);
  memcpy(ifr.ifr_newname, to, strlen(to) + 1);
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int rc = sock < 0 ? -1 : ioctl(sock, SIOCSIFNAME, &ifr);
  int e = errno;
  if (sock >= 0) close(sock);
  if (rc < 0)
    return mg_error(-e, "setifname %s: %s", mg_quote(q, to),
                    e == EBUSY ? "the interface is up (take it down first)" : strerror(e));
  return mg_node_setname(n, to);
}

static mg_value_t *stats(eif_t *s) {
  mg_value_t *r = mg_map();
  const struct { const char *k; uint64_t v; } f[] = {
    {"ipackets", s->ipackets}, {"ibytes", s->ibytes}, {"iqdrops", s->iqdrops},
    {"ierrors", s->ierrors}, {"opackets", s->opackets}, {"obytes", s->obytes},
    {"onohook", s->onohook}};
  for (size_t i = 0; i < sizeof f / sizeof *f; i++) mg_map_set(r, f[i].k, mg_int((int64_t)f[i].v));
  return r;
}

static int eif_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last, mg_value_t **reply) {
  (void)last;
  eif_t *s = mg_node_priv(n);
  char name[IFNAMSIZ];
  switch (m->cmd) {
  case EIF_GETIFNAME: *reply = mg_str(ifname(s, name)); return 0;
  case EIF_SET: return set_addr(s, m);
  case EIF_SETIFNAME: return set_ifname(n, s, m);
  case EIF_GETSTATS: *reply = stats(s); return 0;
  default: /* clrstats */
    s->ipackets = s->ibytes = s->iqdrops = s->ierrors = 0;
    s->opackets = s->obytes = s->onohook = 0;
    return 0;
  }
}
/* }====================================================== */

/* The first ngethN that is neither an interface here nor a node's name;
** the TAP made with it in s->fd.  Its name in buf. */
static int make_tap(mg_node_t *n, eif_t *s, char *buf) {
  for (unsigned unit = 0; unit <= MAXUNIT; unit++) {
    snprintf(buf, IFNAMSIZ, "ngeth%u", unit);
    mg_node_t *other = mg_node_byname(mg_node_engine(n), buf);
    if (other) {
      mg_node_unref(other);
      continue;
    }
    if (if_nametoindex(buf)) continue;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    memcpy(ifr.ifr_name, buf, strlen(buf) + 1);
    if (ioctl(s->fd, TUNSETIFF, &ifr) == 0) return 0;
    /* taken meanwhile (by another process), or by a device of another kind */
    if (errno != EBUSY && errno != EEXIST && errno != EINVAL)
      return mg_error(-errno, "eiface: cannot make TAP interface %s: %s", buf,
                      strerror(errno));
  }
  return mg_error(-ENOSPC, "eiface: ngeth0 to ngeth%u are all taken", MAXUNIT);
}

/* The poll is the loop's: made where the node's items run (a loop-only
** type), not where mkpeer ran, which may be a worker. */
static int poll_fn(mg_node_t *n, mg_hook_t *h, void *a, intptr_t b) {
  (void)h; (void)a; (void)b;
  eif_t *s = mg_node_priv(n);
  s->poll = mg_calloc(1, sizeof *s->poll);
  uv_poll_init(mg_engine_loop(mg_node_engine(n)), s->poll, s->fd);
  s->poll->data = s;
  arm(s);
  return 0;
}

static int eif_constructor(mg_node_t *n) {
  eif_t *s = mg_node_priv(n);
  char name[IFNAMSIZ];
  s->node = n;
  s->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (s->fd < 0)
    return mg_error(-errno, "eiface: cannot open /dev/net/tun: %s%s", strerror(errno),
                    errno == EPERM || errno == EACCES ? " (CAP_NET_ADMIN is needed)" : "");
  int rc = make_tap(n, s, name);
  if (rc) {
    close(s->fd);
    return rc;
  }
  carrier(s, 0); /* up when ether is connected */
  s->rbuf = mg_alloc(FRAMEMAX);
  mg_send_fn(n, NULL, poll_fn, NULL, 0, MG_QUEUE);
  if (mg_node_setname(n, name)) /* nothing can fail after it */
    mg_log(mg_node_engine(n), MG_LOG_WARN, "eiface: %s: can't take it as a node name: %s",
           name, mg_errmsg());
  return 0;
}

static int eif_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  eif_t *s = mg_node_priv(n);
  if (strcmp(name, "ether"))
    return mg_error(-EPFNOSUPPORT, "eiface has one hook, 'ether', not '%s'", name);
  if (s->ether) return mg_error(-EISCONN, "eiface: ether is connected already");
  s->ether = h;
  carrier(s, 1);
  return 0;
}

static void eif_disconnect(mg_hook_t *h) {
  eif_t *s = mg_node_priv(mg_hook_node(h));
  if (s->ether == h) s->ether = NULL;
}

/* The descriptor closed is the interface gone, in whichever namespace. */
static void eif_shutdown(mg_node_t *n) {
  eif_t *s = mg_node_priv(n);
  if (s->poll) {
    uv_poll_stop(s->poll);
    uv_close((uv_handle_t *)s->poll, (uv_close_cb)free);
    s->poll = NULL;
  }
  close(s->fd);
  for (; s->qlen; s->qlen--, s->qhead = (s->qhead + 1) % QMAX) mg_buf_unref(s->q[s->qhead]);
  free(s->rbuf);
}

static void eif_status(mg_node_t *n, mg_sbuf_t *out) {
  eif_t *s = mg_node_priv(n);
  char name[IFNAMSIZ];
  mg_sbuf_printf(out, "interface %s%s; %llu frames in, %llu out, %u waiting\n",
                 ifname(s, name), here(s) ? "" : " (in another namespace)",
                 (unsigned long long)s->ipackets, (unsigned long long)s->opackets, s->qlen);
}

static const mg_cmd_t eif_cmds[] = {
  {"getifname", EIF_GETIFNAME, MG_CMD_READONLY, "", "the interface's name: \"ngeth0\""},
  {"set", EIF_SET, 0, "02:00:00:00:00:01", "the interface's link-level address"},
  {"setifname", EIF_SETIFNAME, 0, "\"wan0\"",
   "rename the interface (in this namespace; older kernels want it down) and the node"},
  {"getstats", EIF_GETSTATS, MG_CMD_READONLY, "",
   "{ ipackets ibytes iqdrops ierrors opackets obytes onohook }: i, from ether into the "
   "interface; o, from the interface out of ether"},
  {"clrstats", EIF_CLRSTATS, 0, "", "zero the counters"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_eiface = {
  .name = "eiface",
  .doc = "An Ethernet interface the kernel sees (a TAP device), ngeth0,\n"
         "ngeth1, ...: what the kernel sends on it leaves by hook ether,\n"
         "what arrives on ether the kernel receives.  Needs CAP_NET_ADMIN.",
  .priv_size = sizeof(eif_t),
  .flags = MG_TF_LOOP_ONLY | MG_TF_FORCE_WRITER, /* the fd's queue: one at a time */
  .constructor = eif_constructor,
  .newhook = eif_newhook,
  .rcvdata = eif_rcvdata,
  .rcvmsg = eif_rcvmsg,
  .disconnect = eif_disconnect,
  .shutdown = eif_shutdown,
  .status = eif_status,
  .cmds = eif_cmds,
};
