/*
** ksocket.c -- a socket as a node (netgraph's ng_ksocket), on the
** engine's libuv loop.
**
** HOOKS     one, named family/type/proto as socket(2)'s arguments, by
**           alias or number (Linux's numbers): inet/dgram/udp,
**           inet6/dgram/udp, inet/stream/tcp, inet6/stream/tcp,
**           local/dgram/0, local/stream/0, 2/2/17 ...  Making the hook
**           opens the socket; losing it shuts the node down and closes
**           the socket.  A node made by accept takes a hook of any name.
** MESSAGES  bind ADDR, connect ADDR, listen N, accept -> { nodeid addr },
**           getname -> ADDR, getpeername -> ADDR,
**           setopt { level name value }, getopt { level name } ->
**           { level name value }, getstats -> { sent rcvd sent_bytes
**           rcvd_bytes dropped errors refused state error }, clrstats.
**           ADDR is netgraph's text: inet/A.B.C.D[:P], inet6/[ADDR]:P,
**           local/"PATH" (or local/PATH); a map { family addr port path }
**           too.  Numeric only: names are not resolved (that would block).
**
** A datagram socket (dgram, raw, seqpacket) carries one packet a
** datagram, as netgraph's does: what arrives on the hook is sent as it
** is, what the socket reads leaves by the hook stamped with the time it
** was read and link type 1 (Ethernet).  A stream socket carries packets
** in frames -- a 4-byte big-endian length, then that many bytes (at most
** 262144; a length of 0 is a keepalive and carries none) -- so that a
** graph spans hosts over TCP with every packet whole.  netgraph's stream
** ksocket passes bytes as they come; its peers here must speak frames.
**
** Nothing waits: the socket is non-blocking and read when libuv finds it
** readable, on the loop thread.  When the socket cannot take a datagram
** it is dropped and counted (dropped); a stream keeps up to 4 MiB of
** frames not yet written and past that drops whole frames and counts
** them.  While the engine's queues are over half full, reading pauses.
** A failure -- refused, reset, the peer gone mid-frame -- is logged,
** counted in errors (refused: connections and datagrams refused) and
** kept in getstats' error, and the node goes on answering.
**
** connect on a stream returns at once (netgraph replies EINPROGRESS):
** frames sent meanwhile wait in the buffer, and when the connection is
** made or fails the asker gets a "connect" reply saying so.  accept
** answers { nodeid addr } when a connection is waiting; otherwise nothing
** now, and the asker gets that reply when one comes (one per accept).
** The node it names holds the connection: connect a hook of any name to
** it and packets flow; until then it reads nothing, and it goes when the
** listener does.  When the peer closes a stream the node stops reading
** (state "closed"); netgraph sends a packet of no bytes instead.
*/
#define _GNU_SOURCE /* accept4 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

#include "builtin.h"
#include "ksockaddr.h"

enum { KS_BIND = 1, KS_LISTEN, KS_ACCEPT, KS_CONNECT, KS_GETNAME, KS_GETPEERNAME,
       KS_SETOPT, KS_GETOPT, KS_GETSTATS = 100, KS_CLRSTATS };  /* netgraph's numbers */
enum { ST_OPEN, ST_CONNECTING, ST_CONNECTED, ST_LISTENING, ST_CLOSED, ST_FAILED };
static const char *const state_names[] = {"open", "connecting", "connected", "listening",
                                          "closed", "failed"};

#define RX_BURST 64            /* reads in one turn of the loop */
#define RX_SIZE 65536          /* a datagram, or a stream's read */
#define TX_MAX (4u << 20)      /* a stream's frames waiting to be written */
#define PAUSE_NS 1000000       /* a pause while the engine's queues are full */

typedef struct ks {
  mg_node_t *node;
  mg_hook_t *hook;
  int fd;
  int family, type;
  bool stream;
  int state;
  uv_poll_t *poll;
  int events;                  /* what the poll waits for now */
  bool io_queued;              /* an io_fn is on its way */
  bool paused;                 /* reading waits for the queues to drain */
  bool held;                   /* the engine, while frames wait to leave */
  uint8_t *rx;
  mg_ksdeframe_t df;
  uint8_t *tx;                 /* a stream's bytes not yet written */
  uint32_t txoff, txlen, txframes;
  uint32_t connect_to;         /* asker of a stream's connect, told of its end */
  uint32_t accept_to;          /* asker of an accept with nothing waiting */
  uint32_t parent;             /* a node made by accept: its listener, until hooked */
  uint32_t *kids, nkids;       /* a listener's unhooked nodes */
  int last_err;                /* the last errno logged, so one a burst */
  mg_callout_t co;
  uint64_t sent, rcvd, sbytes, rbytes, dropped, errors, refused;
  char err[200];               /* the last failure, for getstats */
} ks_t;

/* {====================================================== failures */
/* A failure of the socket: counted, kept for getstats, logged once a run
** of the same errno.  Returns -e with the message set. */
static int failed(ks_t *s, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failed(ks_t *s, int e, const char *fmt, ...) {
  char what[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  snprintf(s->err, sizeof s->err, "%s: %s", what, strerror(e));
  s->errors++;
  if (e == ECONNREFUSED) s->refused++;
  if (e != s->last_err)
    mg_log(mg_node_engine(s->node), MG_LOG_ERR, "ksocket [%x]: %s", mg_node_id(s->node), s->err);
  s->last_err = e;
  return mg_error(-e, "%s", s->err);
}
/* }====================================================== */

/* {====================================================== polling */
static int io_fn(mg_node_t *n, mg_hook_t *h, void *a, intptr_t ev);

static void on_poll(uv_poll_t *p, int status, int events) {
  ks_t *s = p->data;
  if (s->io_queued) return;
  s->io_queued = true;
  mg_send_fn(s->node, NULL, io_fn, s, status < 0 ? -1 : events, 0);
}

static void hold(ks_t *s, bool on) {
  if (on == s->held) return;
  mg_engine_hold(mg_node_engine(s->node), on ? 1 : -1);
  s->held = on;
}

/* Wait for what the state asks: reading once hooked (a node made by
** accept reads nothing until then) and not paused; writing while frames
** wait or a connect is on its way. */
static void repoll(ks_t *s) {
  if (s->fd < 0) return;
  int ev = 0;
  bool reading = s->state == ST_OPEN || s->state == ST_CONNECTED ||
                 (s->state == ST_LISTENING && s->accept_to); /* one accept, one connection */
  if (reading && s->hook && !s->paused && !(s->stream && s->state == ST_OPEN)) ev |= UV_READABLE;
  if (s->state == ST_CONNECTING || (s->state == ST_CONNECTED && s->txlen > s->txoff))
    ev |= UV_WRITABLE;
  if (ev == s->events) return;
  if (!s->poll) {
    s->poll = mg_calloc(1, sizeof *s->poll);
    uv_poll_init(mg_engine_loop(mg_node_engine(s->node)), s->poll, s->fd);
    s->poll->data = s;
    /* a socket waiting to read does not keep an idle run going; frames
    ** waiting to leave, or a connect on its way, do (the hold below) */
    uv_unref((uv_handle_t *)s->poll);
  }
  hold(s, ev & UV_WRITABLE);
  s->events = ev;
  if (ev) uv_poll_start(s->poll, ev, on_poll);
  else uv_poll_stop(s->poll);
}

static void close_socket(ks_t *s, int state) {
  if (s->poll) {
    uv_poll_stop(s->poll);
    uv_close((uv_handle_t *)s->poll, (uv_close_cb)free);
    s->poll = NULL;
  }
  s->events = 0;
  hold(s, false);
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  s->state = state;
  s->dropped += s->txframes; /* frames that will never leave */
  s->txframes = s->txoff = s->txlen = 0;
}
/* }====================================================== */

/* {====================================================== receiving */
static void emit(ks_t *s, const uint8_t *p, uint32_t n) {
  s->rcvd++;
  s->rbytes += n;
  if (!s->hook) return;
  mg_buf_t *b = mg_buf_new(0);
  mg_buf_lend(b, p, n); /* copied only if it must wait in a queue */
  b->wirelen = n;
  b->ts = mg_now(mg_node_engine(s->node));
  b->linktype = 1;
  mg_forward(s->hook, mg_data_new(s->node, b));
}

static void emit_frame(void *arg, const uint8_t *p, uint32_t n) { emit(arg, p, n); }

static int resume_fn(mg_node_t *n, mg_hook_t *h, void *a, intptr_t b) {
  (void)h; (void)a; (void)b;
  ks_t *s = mg_node_priv(n);
  s->paused = false;
  repoll(s);
  return 0;
}

/* The peer closed or broke a stream. */
static void stream_ended(ks_t *s, int e) {
  uint32_t lost = mg_ksdeframe_partial(&s->df);
  if (e) failed(s, e, "reading the stream");
  else if (lost) failed(s, EPIPE, "the peer closed the stream %u bytes into a frame", lost);
  else mg_log(mg_node_engine(s->node), MG_LOG_INFO, "ksocket [%x]: the peer closed the stream",
              mg_node_id(s->node));
  mg_ksdeframe_free(&s->df);
  close_socket(s, e || lost ? ST_FAILED : ST_CLOSED);
}

static mg_value_t *accept_one(ks_t *s, int *err);
static void tell(ks_t *s, uint32_t *to, uint32_t cmd, const char *name, int err,
                 mg_value_t *v);

static void readable(ks_t *s) {
  mg_engine_t *e = mg_node_engine(s->node);
  if (s->state == ST_LISTENING) {
    int err = 0;
    mg_value_t *v = accept_one(s, &err);
    if (v || err) tell(s, &s->accept_to, KS_ACCEPT, "accept", err, v);
    return;
  }
  if (!s->rx) s->rx = mg_alloc(RX_SIZE);
  for (int i = 0; i < RX_BURST && s->fd >= 0; i++) {
    if (mg_engine_backlog(e) > mg_engine_queue_limit(e) / 2) { /* back-pressure */
      s->paused = true;
      mg_callout_reset(&s->co, s->node, PAUSE_NS, resume_fn, s, 0);
      return;
    }
    ssize_t r = recv(s->fd, s->rx, RX_SIZE, s->stream ? 0 : MSG_TRUNC);
    if (r < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (err == EINTR) continue;
      if (s->stream) {
        stream_ended(s, err);
        return;
      }
      failed(s, err, "reading"); /* an ICMP error on a datagram socket: go on */
      continue;
    }
    if (!s->stream) {
      if (r > RX_SIZE) { /* MSG_TRUNC: its real length */
        failed(s, EMSGSIZE, "a datagram of %zd bytes, over %d", r, RX_SIZE);
        continue;
      }
      s->last_err = 0;
      emit(s, s->rx, (uint32_t)r);
      continue;
    }
    if (r == 0) {
      stream_ended(s, 0);
      return;
    }
    if (mg_ksdeframe(&s->df, s->rx, (size_t)r, emit_frame, s)) {
      failed(s, EPROTO, "%s", mg_errmsg());
      mg_ksdeframe_free(&s->df);
      close_socket(s, ST_FAILED);
      return;
    }
  }
}
/* }====================================================== */

/* {====================================================== sending */
/* Write what waits; false when the stream broke. */
static bool flush(ks_t *s) {
  while (s->txoff < s->txlen) {
    ssize_t w = send(s->fd, s->tx + s->txoff, s->txlen - s->txoff, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      failed(s, errno, "writing the stream");
      close_socket(s, ST_FAILED);
      return false;
    }
    s->txoff += (uint32_t)w;
  }
  if (s->txoff == s->txlen) s->txoff = s->txlen = s->txframes = 0;
  else if (s->txoff > TX_MAX / 2) { /* room at the end again */
    memmove(s->tx, s->tx + s->txoff, s->txlen - s->txoff);
    s->txlen -= s->txoff;
    s->txoff = 0;
  }
  return true;
}

static void send_frame(ks_t *s, mg_item_t *it, const mg_buf_t *b) {
  if (b->len > MG_KS_FRAME_MAX) {
    failed(s, EMSGSIZE, "a packet of %u bytes, over a frame's %u", b->len, MG_KS_FRAME_MAX);
    mg_drop(it, MG_DROP_ERROR);
    return;
  }
  uint8_t hdr[4] = {(uint8_t)(b->len >> 24), (uint8_t)(b->len >> 16), (uint8_t)(b->len >> 8),
                    (uint8_t)b->len};
  uint32_t total = 4 + b->len, done = 0;
  if (s->state == ST_CONNECTED && s->txoff == s->txlen) { /* straight out */
    struct iovec v[2] = {{hdr, 4}, {b->data, b->len}};
    struct msghdr mh = {.msg_iov = v, .msg_iovlen = 2};
    ssize_t w;
    do w = sendmsg(s->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (w < 0 && errno == EINTR);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      failed(s, errno, "writing the stream");
      close_socket(s, ST_FAILED);
      mg_drop(it, MG_DROP_ERROR);
      return;
    }
    done = w < 0 ? 0 : (uint32_t)w;
  }
  if (done < total) { /* the rest waits its turn, whole frames or none */
    if (s->txlen - s->txoff + (total - done) > TX_MAX) {
      s->dropped++;
      mg_drop(it, MG_DROP_QFULL);
      return;
    }
    if (!s->tx) s->tx = mg_alloc(TX_MAX + TX_MAX / 2);
    if (s->txlen + (total - done) > TX_MAX + TX_MAX / 2) {
      memmove(s->tx, s->tx + s->txoff, s->txlen - s->txoff);
      s->txlen -= s->txoff;
      s->txoff = 0;
    }
    for (uint32_t i = done; i < total; i++) /* the header's part, then the packet's */
      if (i < 4) s->tx[s->txlen++] = hdr[i];
      else break;
    uint32_t from = done > 4 ? done - 4 : 0;
    memcpy(s->tx + s->txlen, b->data + from, b->len - from);
    s->txlen += b->len - from;
    s->txframes++;
    repoll(s);
  }
  s->sent++;
  s->sbytes += b->len;
  mg_consume(it);
}

static int ks_rcvdata(mg_hook_t *h, mg_item_t *it) {
  ks_t *s = mg_node_priv(mg_hook_node(h));
  mg_buf_t *b = mg_item_buf(it);
  if (s->fd < 0 || s->state == ST_LISTENING) {
    failed(s, s->fd < 0 ? ENOTCONN : EOPNOTSUPP, "sending a packet (the socket is %s)",
           state_names[s->state]);
    mg_drop(it, MG_DROP_ERROR);
    return 0;
  }
  if (s->stream) {
    if (s->state != ST_CONNECTED && s->state != ST_CONNECTING) {
      failed(s, ENOTCONN, "sending a packet (the stream is not connected)");
      mg_drop(it, MG_DROP_ERROR);
      return 0;
    }
    send_frame(s, it, b);
    return 0;
  }
  ssize_t w;
  do w = send(s->fd, b->data, b->len, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (w < 0 && errno == EINTR);
  if (w < 0) {
    int e = errno;
    if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) { /* the socket is full */
      s->dropped++;
      mg_drop(it, MG_DROP_QFULL);
    } else {
      failed(s, e, "sending a packet of %u bytes", b->len);
      mg_drop(it, MG_DROP_ERROR);
    }
    return 0;
  }
  s->last_err = 0;
  s->sent++;
  s->sbytes += b->len;
  mg_consume(it);
  return 0;
}
/* }====================================================== */

/* {====================================================== connecting */
static void tell(ks_t *s, uint32_t *to, uint32_t cmd, const char *name, int err,
                 mg_value_t *v) {
  if (!*to) {
    mg_value_free(v);
    return;
  }
  mg_node_reply(s->node, *to, cmd, name, err, err ? s->err : NULL, v);
  *to = 0;
}

static void connect_done(ks_t *s) {
  int e = 0;
  socklen_t len = sizeof e;
  if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0) e = errno;
  if (e) {
    failed(s, e, "connecting");
    close_socket(s, ST_FAILED);
    tell(s, &s->connect_to, KS_CONNECT, "connect", -e, NULL);
    return;
  }
  s->state = ST_CONNECTED;
  s->last_err = 0;
  tell(s, &s->connect_to, KS_CONNECT, "connect", 0, NULL);
  if (flush(s)) repoll(s);
}

static int io_fn(mg_node_t *n, mg_hook_t *h, void *a, intptr_t ev) {
  (void)h; (void)a;
  ks_t *s = mg_node_priv(n);
  s->io_queued = false;
  if (s->fd < 0) return 0;
  if (ev < 0) ev = UV_READABLE | UV_WRITABLE; /* an error: the calls below say which */
  if (s->state == ST_CONNECTING && (ev & (UV_WRITABLE | UV_READABLE))) connect_done(s);
  else if ((ev & UV_WRITABLE) && s->state == ST_CONNECTED && !flush(s)) return 0;
  if (s->fd >= 0 && (ev & UV_READABLE) && (s->events & UV_READABLE)) readable(s);
  repoll(s);
  return 0;
}
/* }====================================================== */

/* {====================================================== accepting */
typedef struct {
  int fd, family;
  uint32_t parent;
} kid_t;

static int kid_init(mg_node_t *n, void *arg) {
  kid_t *k = arg;
  ks_t *s = mg_node_priv(n);
  s->fd = k->fd;
  s->family = k->family;
  s->type = SOCK_STREAM;
  s->stream = true;
  s->state = ST_CONNECTED;
  s->parent = k->parent;
  return 0;
}

/* A waiting connection as a new node: { nodeid addr }, or NULL with *err
** 0 when none waits, or the failure. */
static mg_value_t *accept_one(ks_t *s, int *err) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  *err = 0;
  int fd = accept4(s->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      *err = failed(s, errno, "accepting");
    return NULL;
  }
  kid_t k = {fd, s->family, mg_node_id(s->node)};
  uint32_t id = 0;
  int rc = mg_node_make(s->node, mg_node_type(s->node), kid_init, &k, &id);
  if (rc) {
    close(fd);
    *err = failed(s, -rc, "accepting (%s)", mg_errmsg());
    return NULL;
  }
  s->kids = mg_realloc(s->kids, (s->nkids + 1) * sizeof *s->kids);
  s->kids[s->nkids++] = id;
  char t[MG_KSADDR_TEXT];
  mg_value_t *v = mg_map();
  mg_map_set(v, "nodeid", mg_int(id));
  mg_map_set(v, "addr", mg_str(mg_ksaddr_print((struct sockaddr *)&ss, len, t)));
  return v;
}

/* A listener's unhooked node goes with it. */
static int orphan_fn(mg_node_t *n, mg_hook_t *h, void *a, intptr_t b) {
  (void)h; (void)a; (void)b;
  ks_t *s = mg_node_priv(n);
  if (!s->hook && s->parent && mg_node_valid(n)) mg_node_rmself(n);
  return 0;
}
/* }====================================================== */

/* {====================================================== messages */
/* An address argument: netgraph's text, or { family addr port path }. */
static int get_addr(const mg_value_t *a, const char *cmd, mg_ksaddr_t *out) {
  if (a && a->type == MG_STR) return mg_ksaddr_parse(a->u.s.p, a->u.s.len, out);
  if (!a || a->type != MG_MAP)
    return mg_error(-EINVAL, "%s takes an address: inet/127.0.0.1:5000, \"inet6/[::1]:5000\", "
                    "local/\"/path\" or { family=\"inet\" addr=\"127.0.0.1\" port=5000 }", cmd);
  static const char *const known[] = {"family", "addr", "port", "path", NULL};
  int rc = mg_map_only(a, cmd, known, "{ family=\"inet\" addr=\"127.0.0.1\" port=5000 }");
  if (rc) return rc;
  const char *fam = NULL, *addr = NULL, *path = NULL;
  double port = 0;
  if (!mg_map_str(a, "family", &fam) || !mg_map_str(a, "addr", &addr) ||
      !mg_map_str(a, "path", &path))
    return -EINVAL;
  if ((rc = mg_map_num(a, "port", 0, 65535, &port))) return rc;
  if (port != (int)port) return mg_error(-EINVAL, "port: a whole number, not %g", port);
  if (!fam) fam = path ? "local" : addr && strchr(addr, ':') ? "inet6" : "inet";
  char t[MG_KSADDR_TEXT];
  if (!strcmp(fam, "local"))
    snprintf(t, sizeof t, "local/%s", path ? path : "");
  else if (!strcmp(fam, "inet6"))
    snprintf(t, sizeof t, "inet6/[%s]:%d", addr ? addr : "::", (int)port);
  else
    snprintf(t, sizeof t, "%s/%s:%d", fam, addr ? addr : "0.0.0.0", (int)port);
  return mg_ksaddr_parse(t, strlen(t), out);
}

static int need_socket(ks_t *s, const char *cmd) {
  if (s->fd >= 0) return 0;
  return mg_error(-ENXIO, "%s: no socket (%s)", cmd,
                  s->state == ST_OPEN ? "connect a hook named family/type/proto first"
                                      : "it was closed");
}

static int ks_bind(ks_t *s, const mg_value_t *a) {
  mg_ksaddr_t sa;
  int rc = get_addr(a, "bind", &sa);
  if (rc || (rc = need_socket(s, "bind"))) return rc;
  if (bind(s->fd, (struct sockaddr *)&sa.ss, sa.len) < 0) {
    char t[MG_KSADDR_TEXT];
    return failed(s, errno, "bind %s", mg_ksaddr_print((struct sockaddr *)&sa.ss, sa.len, t));
  }
  return 0;
}

static int ks_connect(ks_t *s, const mg_value_t *a, uint32_t from) {
  mg_ksaddr_t sa;
  int rc = get_addr(a, "connect", &sa);
  if (rc || (rc = need_socket(s, "connect"))) return rc;
  if (s->state == ST_CONNECTING) return mg_error(-EALREADY, "connect: a connect is on its way");
  char t[MG_KSADDR_TEXT];
  mg_ksaddr_print((struct sockaddr *)&sa.ss, sa.len, t);
  int r;
  do r = connect(s->fd, (struct sockaddr *)&sa.ss, sa.len);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno == EINPROGRESS && s->stream) {
    s->state = ST_CONNECTING;
    s->connect_to = from;
    repoll(s);
    return 0;
  }
  if (r < 0) return failed(s, errno, "connect %s", t);
  s->last_err = 0;
  s->state = ST_CONNECTED;
  repoll(s);
  return 0;
}

static int ks_listen(ks_t *s, const mg_value_t *a) {
  int rc = need_socket(s, "listen");
  if (rc) return rc;
  int64_t backlog = 0;
  if (a && a->type == MG_INT) backlog = a->u.i;
  else if (a && a->type != MG_NIL)
    return mg_error(-EINVAL, "listen takes a backlog, a whole number from 0 to 65535");
  if ((rc = mg_check_num((double)backlog, "listen", 0, 65535))) return rc;
  if (!s->stream) return mg_error(-EOPNOTSUPP, "listen: a datagram socket does not listen");
  if (listen(s->fd, (int)backlog) < 0) return failed(s, errno, "listen");
  s->state = ST_LISTENING;
  repoll(s);
  return 0;
}

static int ks_accept(ks_t *s, uint32_t from, mg_value_t **reply) {
  int rc = need_socket(s, "accept");
  if (rc) return rc;
  if (s->state != ST_LISTENING) return mg_error(-EINVAL, "accept: the socket is not listening");
  if (s->accept_to) return mg_error(-EALREADY, "accept: an accept is waiting already");
  int err;
  if ((*reply = accept_one(s, &err)) || err) return err;
  s->accept_to = from; /* told when one comes */
  repoll(s);
  return 0;
}

/* setopt/getopt's option: a number, or one of the common names. */
typedef struct { const char *name; int level, opt; } optname_t;
static const optname_t optnames[] = {
  {"SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR}, {"SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT},
  {"SO_RCVBUF", SOL_SOCKET, SO_RCVBUF}, {"SO_SNDBUF", SOL_SOCKET, SO_SNDBUF},
  {"SO_BROADCAST", SOL_SOCKET, SO_BROADCAST}, {"SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE},
  {"SO_PRIORITY", SOL_SOCKET, SO_PRIORITY}, {"TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY},
  {"IP_TOS", IPPROTO_IP, IP_TOS}, {"IP_TTL", IPPROTO_IP, IP_TTL},
  {"IPV6_V6ONLY", IPPROTO_IPV6, IPV6_V6ONLY}, {NULL, 0, 0}};
static const optname_t levelnames[] = {
  {"SOL_SOCKET", SOL_SOCKET, 0}, {"socket", SOL_SOCKET, 0}, {"IPPROTO_TCP", IPPROTO_TCP, 0},
  {"tcp", IPPROTO_TCP, 0}, {"IPPROTO_IP", IPPROTO_IP, 0}, {"ip", IPPROTO_IP, 0},
  {"IPPROTO_IPV6", IPPROTO_IPV6, 0}, {"ip6", IPPROTO_IPV6, 0}, {NULL, 0, 0}};

static int opt_field(const mg_value_t *a, const char *cmd, const char *k, const optname_t *names,
                     bool want_opt, int *out, bool *named) {
  mg_value_t *v = mg_map_get(a, k);
  if (!v || v->type == MG_NIL) return 1;
  if (v->type == MG_INT) {
    if (v->u.i < 0 || v->u.i > 65535)
      return mg_error(-EINVAL, "%s: %s is 0 to 65535, not %lld", cmd, k, (long long)v->u.i);
    *out = (int)v->u.i;
    return 0;
  }
  if (v->type == MG_STR)
    for (const optname_t *o = names; o->name; o++)
      if (!strcmp(o->name, v->u.s.p)) {
        *out = want_opt ? o->opt : o->level;
        if (named) *named = true;
        if (want_opt) out[1] = o->level;
        return 0;
      }
  return mg_error(-EINVAL, "%s: %s is a number or one of %s", cmd, k,
                  want_opt ? "SO_REUSEADDR, SO_REUSEPORT, SO_RCVBUF, SO_SNDBUF, SO_BROADCAST, "
                             "SO_KEEPALIVE, SO_PRIORITY, TCP_NODELAY, IP_TOS, IP_TTL, IPV6_V6ONLY"
                           : "SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP, IPPROTO_IPV6");
}

static int get_opt(const mg_value_t *a, const char *cmd, int *level, int *name) {
  static const char *const known[] = {"level", "name", "value", NULL};
  int rc = mg_map_only(a, cmd, known, "{ level=\"SOL_SOCKET\" name=\"SO_REUSEADDR\" value=1 }");
  if (rc) return rc;
  int nm[2] = {0, -1};
  bool named = false;
  if ((rc = opt_field(a, cmd, "name", optnames, true, nm, &named)))
    return rc > 0 ? mg_error(-EINVAL, "%s: which option? name=\"SO_REUSEADDR\" or a number", cmd)
                  : rc;
  *name = nm[0];
  *level = named ? nm[1] : SOL_SOCKET;
  if ((rc = opt_field(a, cmd, "level", levelnames, false, level, NULL)) < 0) return rc;
  return 0;
}

static int ks_setopt(ks_t *s, const mg_value_t *a) {
  if (!a || a->type != MG_MAP)
    return mg_error(-EINVAL, "setopt takes { level=\"SOL_SOCKET\" name=\"SO_REUSEADDR\" value=1 }");
  int level, name, rc = get_opt(a, "setopt", &level, &name);
  if (rc || (rc = need_socket(s, "setopt"))) return rc;
  mg_value_t *v = mg_map_get(a, "value");
  int iv;
  const void *p = &iv;
  socklen_t len = sizeof iv;
  if (v && v->type == MG_INT) {
    if ((rc = mg_check_num((double)v->u.i, "setopt: value", -2147483648.0, 2147483647.0)))
      return rc;
    iv = (int)v->u.i;
  } else if (v && v->type == MG_BOOL) {
    iv = v->u.b;
  } else if (v && v->type == MG_BYTES) { /* netgraph's form: the raw bytes */
    if (v->u.s.len > 256) return mg_error(-EINVAL, "setopt: a value of at most 256 bytes");
    p = v->u.s.p;
    len = (socklen_t)v->u.s.len;
  } else
    return mg_error(-EINVAL, "setopt: value is a whole number, true/false or bytes");
  if (setsockopt(s->fd, level, name, p, len) < 0)
    return failed(s, errno, "setopt level %d name %d", level, name);
  return 0;
}

static int ks_getopt(ks_t *s, const mg_value_t *a, mg_value_t **reply) {
  if (!a || a->type != MG_MAP)
    return mg_error(-EINVAL, "getopt takes { level=\"SOL_SOCKET\" name=\"SO_RCVBUF\" }");
  int level, name, rc = get_opt(a, "getopt", &level, &name);
  if (rc || (rc = need_socket(s, "getopt"))) return rc;
  uint8_t buf[256];
  socklen_t len = sizeof buf;
  if (getsockopt(s->fd, level, name, buf, &len) < 0)
    return failed(s, errno, "getopt level %d name %d", level, name);
  mg_value_t *r = mg_map();
  mg_map_set(r, "level", mg_int(level));
  mg_map_set(r, "name", mg_int(name));
  if (len == sizeof(int)) {
    int iv;
    memcpy(&iv, buf, sizeof iv);
    mg_map_set(r, "value", mg_int(iv));
  } else
    mg_map_set(r, "value", mg_bytes(buf, len));
  *reply = r;
  return 0;
}

static int ks_getname(ks_t *s, bool peer, mg_value_t **reply) {
  const char *cmd = peer ? "getpeername" : "getname";
  int rc = need_socket(s, cmd);
  if (rc) return rc;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  if ((peer ? getpeername : getsockname)(s->fd, (struct sockaddr *)&ss, &len) < 0)
    return mg_error(-errno, "%s: %s", cmd, strerror(errno));
  char t[MG_KSADDR_TEXT];
  *reply = mg_str(mg_ksaddr_print((struct sockaddr *)&ss, len, t));
  return 0;
}

static mg_value_t *ks_stats(ks_t *s) {
  mg_value_t *v = mg_map();
  mg_map_set(v, "sent", mg_int((int64_t)s->sent));
  mg_map_set(v, "rcvd", mg_int((int64_t)s->rcvd));
  mg_map_set(v, "sent_bytes", mg_int((int64_t)s->sbytes));
  mg_map_set(v, "rcvd_bytes", mg_int((int64_t)s->rbytes));
  mg_map_set(v, "dropped", mg_int((int64_t)s->dropped));
  mg_map_set(v, "errors", mg_int((int64_t)s->errors));
  mg_map_set(v, "refused", mg_int((int64_t)s->refused));
  mg_map_set(v, "queued_bytes", mg_int((int64_t)(s->txlen - s->txoff)));
  mg_map_set(v, "state", mg_str(state_names[s->state]));
  if (s->err[0]) mg_map_set(v, "error", mg_str(s->err));
  return v;
}

static int ks_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last, mg_value_t **reply) {
  (void)last;
  ks_t *s = mg_node_priv(n);
  switch (m->cmd) {
  case KS_BIND: return ks_bind(s, m->args);
  case KS_CONNECT: return ks_connect(s, m->args, m->from);
  case KS_LISTEN: return ks_listen(s, m->args);
  case KS_ACCEPT: return ks_accept(s, m->from, reply);
  case KS_GETNAME: return ks_getname(s, false, reply);
  case KS_GETPEERNAME: return ks_getname(s, true, reply);
  case KS_SETOPT: return ks_setopt(s, m->args);
  case KS_GETOPT: return ks_getopt(s, m->args, reply);
  case KS_GETSTATS: *reply = ks_stats(s); return 0;
  case KS_CLRSTATS:
    s->sent = s->rcvd = s->sbytes = s->rbytes = s->dropped = s->errors = s->refused = 0;
    s->err[0] = '\0';
    return 0;
  }
  return mg_error(-ENOSYS, "ksocket: unknown command '%s'", m->cmdstr);
}
/* }====================================================== */

static int ks_constructor(mg_node_t *n) {
  ks_t *s = mg_node_priv(n);
  s->node = n;
  s->fd = -1;
  mg_callout_init(&s->co);
  return 0;
}

static int ks_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  ks_t *s = mg_node_priv(n);
  if (s->hook)
    return mg_error(-EISCONN, "ksocket takes one hook, and has '%s'", mg_hook_name(s->hook));
  if (s->fd < 0) { /* a new node: the hook's name says what socket */
    if (s->state != ST_OPEN) return mg_error(-ENXIO, "ksocket: its socket was closed");
    int family, type, proto, rc = mg_ks_hookname(name, &family, &type, &proto);
    if (rc) return rc;
    int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (fd < 0)
      return mg_error(-errno, "ksocket: cannot open a %s socket: %s", name, strerror(errno));
    s->fd = fd;
    s->family = family;
    s->type = type;
    s->stream = type == SOCK_STREAM;
  }
  s->hook = h;
  s->parent = 0; /* made by accept: independent of its listener from now on */
  repoll(s);
  return 0;
}

static void ks_disconnect(mg_hook_t *h) {
  mg_node_t *n = mg_hook_node(h);
  ks_t *s = mg_node_priv(n);
  if (s->hook != h) return;
  s->hook = NULL;
  if (mg_node_valid(n)) mg_node_rmself(n); /* as netgraph: the hook is the socket */
}

static void ks_shutdown(mg_node_t *n) {
  ks_t *s = mg_node_priv(n);
  mg_callout_stop(&s->co);
  close_socket(s, ST_CLOSED);
  mg_ksdeframe_free(&s->df);
  mg_engine_t *e = mg_node_engine(n);
  for (uint32_t i = 0; i < s->nkids; i++) {
    mg_node_t *k = mg_node_byid(e, s->kids[i]);
    if (!k) continue;
    if (mg_node_type(k) == &mg_type_ksocket) mg_send_fn(k, NULL, orphan_fn, NULL, 0, MG_QUEUE);
    mg_node_unref(k);
  }
  free(s->kids);
  free(s->rx);
  free(s->tx);
}

static void ks_status(mg_node_t *n, mg_sbuf_t *out) {
  ks_t *s = mg_node_priv(n);
  char t[MG_KSADDR_TEXT] = "-";
  if (s->fd >= 0) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(s->fd, (struct sockaddr *)&ss, &len) == 0)
      mg_ksaddr_print((struct sockaddr *)&ss, len, t);
  }
  mg_sbuf_printf(out, "%s %s, %llu sent, %llu received, %llu dropped, %llu errors",
                 state_names[s->state], t, (unsigned long long)s->sent,
                 (unsigned long long)s->rcvd, (unsigned long long)s->dropped,
                 (unsigned long long)s->errors);
}

static const mg_cmd_t ks_cmds[] = {
  {"bind", KS_BIND, MG_CMD_ANYARGS, "inet/127.0.0.1:5000",
   "bind(2) the socket to an address: inet/A.B.C.D[:P], \"inet6/[ADDR]:P\", local/\"PATH\""},
  {"listen", KS_LISTEN, MG_CMD_ANYARGS, "5", "listen(2) with this backlog (0 to 65535)"},
  {"accept", KS_ACCEPT, 0, "",
   "a waiting connection becomes a new ksocket node: the reply { nodeid addr } comes now, or "
   "later when one arrives"},
  {"connect", KS_CONNECT, MG_CMD_ANYARGS, "inet/127.0.0.1:5000",
   "connect(2) to an address; a stream's outcome comes later as a \"connect\" reply"},
  {"getname", KS_GETNAME, MG_CMD_READONLY, "", "the socket's own address (getsockname(2))"},
  {"getpeername", KS_GETPEERNAME, MG_CMD_READONLY, "",
   "the connected peer's address (getpeername(2))"},
  {"setopt", KS_SETOPT, MG_CMD_ANYARGS, "{ level=\"SOL_SOCKET\" name=\"SO_REUSEADDR\" value=1 }",
   "setsockopt(2): level and name by number or name, value a number or bytes"},
  {"getopt", KS_GETOPT, MG_CMD_ANYARGS, "{ level=\"SOL_SOCKET\" name=\"SO_RCVBUF\" }",
   "getsockopt(2) -> { level name value }"},
  {"getstats", KS_GETSTATS, MG_CMD_READONLY, "",
   "sent, rcvd (packets) and their bytes, dropped (the socket was full), errors, refused, "
   "queued_bytes (a stream's, not yet written), state, error (the last failure)"},
  {"clrstats", KS_CLRSTATS, 0, "", "zero the counters"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_ksocket = {
  .name = "ksocket",
  .doc = "A socket as a node (ng_ksocket): one hook, named family/type/proto\n"
         "(inet/dgram/udp, inet/stream/tcp, local/stream/0 ...), opens it.\n"
         "A datagram carries one packet; a stream carries packets framed\n"
         "by a 4-byte big-endian length.  bind, connect, listen, accept.",
  .priv_size = sizeof(ks_t),
  .flags = MG_TF_LOOP_ONLY | MG_TF_FORCE_WRITER,
  .constructor = ks_constructor,
  .newhook = ks_newhook,
  .rcvdata = ks_rcvdata,
  .rcvmsg = ks_rcvmsg,
  .disconnect = ks_disconnect,
  .shutdown = ks_shutdown,
  .status = ks_status,
  .cmds = ks_cmds,
};
