/*
** lserve.c -- an engine served on a Unix stream socket, for `moongraph -c`
** (ngctl -s and ng_socket(4) in netgraph's words).  Each client that
** connects gets a socket node of its own in the engine, "." for the
** commands it sends, shut down when it goes.  Commands are ngctl's verbs,
** run by the REPL's own code (mg.repl.remote) on a view of the engine
** whose "." is that node; data frames go in and out of its hooks.  The
** frames are in frame.h and docs/design.md §10.
**
** Nothing a client sends may stall or crash the engine: a frame over the
** limit or of no known type is refused with a message and the client is
** dropped, a client that does not read loses data frames (counted, as a
** full socket buffer drops them), and a client of another user (root
** aside) is refused at once (SO_PEERCRED).
*/
#define _GNU_SOURCE /* struct ucred */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "frame.h"
#include "lmg.h"

#define MAX_CLIENTS 64
#define TX_LIMIT (4u << 20)  /* queued bytes past which data frames drop */
#define QUIET_WAIT_NS 100000000 /* how long a command waits for a quiet loop */

typedef struct server server_t;

typedef struct client {
  uv_pipe_t pipe;
  server_t *srv;
  mg_node_t *node;
  lmg_view_t *view;
  int sess_ref;        /* registry: the Lua session (mg.repl.remote_session) */
  mgf_rx_t rx;
  size_t txbytes;      /* written and not yet sent */
  uint64_t dropped;    /* data frames dropped while it did not read */
  char *pending;       /* a command waiting for a quiet moment */
  uint32_t pendlen;
  uint8_t pendtype;
  int64_t pend_since;
  bool closing, reading;
  struct client *next;
} client_t;

struct server {
  uv_pipe_t pipe;
  uv_check_t check;    /* runs commands that wait for a quiet loop */
  lmg_engine_t *g;
  char path[sizeof ((struct sockaddr_un *)0)->sun_path];
  client_t *clients;
  int nclients, waiting;
  struct server *next;
};

/* {====================================================== sending */
typedef struct {
  uv_write_t req;
  client_t *c;
  size_t len;
  uint8_t bytes[];
} wreq_t;

static void written(uv_write_t *req, int status) {
  (void)status; /* an error shows as the read side's end too */
  wreq_t *w = (wreq_t *)req;
  w->c->txbytes -= w->len;
  free(w);
}

/* One frame whose payload is the two parts a and b, one after the other. */
static void send2(client_t *c, uint8_t type, const void *a, size_t alen,
                  const void *b, size_t blen) {
  if (c->closing) return;
  size_t len = MGF_HDR + alen + blen;
  wreq_t *w = mg_alloc(sizeof *w + len);
  w->c = c;
  w->len = len;
  mgf_header(w->bytes, type, (uint32_t)(alen + blen));
  if (alen) memcpy(w->bytes + MGF_HDR, a, alen);
  if (blen) memcpy(w->bytes + MGF_HDR + alen, b, blen);
  uv_buf_t buf = uv_buf_init((char *)w->bytes, (unsigned)len);
  c->txbytes += len;
  if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, written)) {
    c->txbytes -= len;
    free(w);
  }
}

/* Text in as many frames as it takes. */
static void send_text(client_t *c, uint8_t type, const char *s, size_t len) {
  do {
    size_t n = len < MGF_MAX ? len : MGF_MAX;
    send2(c, type, s, n, NULL, 0);
    s += n;
    len -= n;
  } while (len);
}

static void send_result(client_t *c, const char *err) {
  if (err) send2(c, MGF_RESULT, "1", 1, err, strlen(err));
  else send2(c, MGF_RESULT, "0", 1, NULL, 0);
}

/* Said once, on a socket we are about to close: written now if the
** kernel takes it, never waited for (the client may not be reading). */
static void say_fatal(uv_stream_t *s, const char *why) {
  uint8_t buf[MGF_HDR + 512];
  size_t n = strlen(why);
  if (n > 512) n = 512;
  mgf_header(buf, MGF_FATAL, (uint32_t)n);
  memcpy(buf + MGF_HDR, why, n);
  uv_buf_t b = uv_buf_init((char *)buf, (unsigned)(MGF_HDR + n));
  uv_try_write(s, &b, 1);
}
/* }====================================================== */

/* {====================================================== the client's node */
/* Data that reached one of its hooks: a data frame, unless the client has
** not read the last TX_LIMIT bytes, when it is dropped as a full socket
** buffer would drop it. */
static void node_data(void *arg, mg_hook_t *h, mg_item_t *it) {
  client_t *c = arg;
  if (c->closing || c->txbytes > TX_LIMIT) {
    c->dropped++;
    mg_drop(it, MG_DROP_QFULL);
    return;
  }
  mg_buf_t *b = mg_item_buf(it);
  uint8_t head[MGF_DATA_HEAD + 256];
  size_t hl = mgf_data_head(head, b->ts > 0 ? (uint64_t)b->ts : 0, b->wirelen,
                            b->linktype, mg_hook_name(h));
  if (b->len <= MGF_MAX - hl) send2(c, MGF_DATA, head, hl, b->data, b->len);
  else mg_log(mg_node_engine(c->node), MG_LOG_WARN,
              "socket [%x]: a packet of %u bytes is too long for a data frame",
              mg_node_id(c->node), b->len);
  mg_consume(it);
}

/* A message or reply nobody waited for: shown as the REPL shows it. */
static void node_msg(void *arg, uint32_t from, mg_msg_t *m) {
  client_t *c = arg;
  char *text = NULL;
  int n;
  if (m->error)
    n = asprintf(&text, "Rec'd error for \"%s\" from \"[%x]:\": %s\n", m->cmdstr,
                 from, m->errmsg ? m->errmsg : mg_errname(m->error));
  else {
    char *args = m->args ? mg_value_text(m->args) : NULL;
    n = asprintf(&text, "Rec'd response \"%s\" (%u) from \"[%x]:\":\n%s%s\n",
                 m->cmdstr, m->cmd, from, args && *args ? "Args:\t" : "No arguments",
                 args && *args ? args : "");
    free(args);
  }
  if (n >= 0) send_text(c, MGF_NOTE, text, (size_t)n);
  free(text);
}
/* }====================================================== */

/* {====================================================== closing */
static void client_freed(uv_handle_t *h) {
  client_t *c = h->data;
  mgf_rx_free(&c->rx);
  free(c->pending);
  free(c);
}

static void unlink_client(client_t *c) {
  server_t *s = c->srv;
  for (client_t **p = &s->clients; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      break;
    }
  s->nclients--;
  if (c->pending && --s->waiting == 0) uv_check_stop(&s->check);
}

/* The client goes: its node is shut down, as ng_socket's is when its
** last socket closes. */
static void client_close(client_t *c, const char *why) {
  if (c->closing) return;
  if (why) say_fatal((uv_stream_t *)&c->pipe, why);
  c->closing = true;
  unlink_client(c);
  lmg_engine_t *g = c->srv->g;
  if (c->node) {
    mg_ctl_on_data(c->node, NULL, NULL);
    mg_ctl_on_msg(c->node, NULL, NULL);
    if (mg_node_valid(c->node)) mg_shutdown(c->node, ".");
    mg_node_unref(c->node);
    c->node = NULL;
  }
  if (c->view) c->view->g = NULL, c->view->ctl = NULL;
  if (g->T) luaL_unref(g->T, LUA_REGISTRYINDEX, c->sess_ref);
  uv_close((uv_handle_t *)&c->pipe, client_freed);
}

static void server_freed(uv_handle_t *h) {
  server_t *s = h->data;
  if (h == (uv_handle_t *)&s->pipe) uv_close((uv_handle_t *)&s->check, server_freed);
  else free(s);
}

void lmg_serve_close(lmg_engine_t *g) {
  for (server_t *s = g->served, *next; s; s = next) {
    next = s->next;
    while (s->clients) client_close(s->clients, "the engine is closing");
    unlink(s->path);
    uv_close((uv_handle_t *)&s->pipe, server_freed);
  }
  g->served = NULL;
}
/* }====================================================== */

/* {====================================================== frames in */
/* mg.repl.<fn>(session, text) on the engine's Lua thread: pushes its
** results (out, ok, err), or returns the error's text. */
static const char *lua_remote(client_t *c, const char *fn, const char *text,
                              size_t len) {
  lmg_engine_t *g = c->srv->g;
  lua_State *T = g->T;
  lua_getfield(T, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(T, -1, "moongraph");
  lua_getfield(T, -1, "repl");
  lua_getfield(T, -1, fn);
  lua_replace(T, -4);
  lua_pop(T, 2);
  lua_rawgeti(T, LUA_REGISTRYINDEX, c->sess_ref);
  lua_pushlstring(T, text, len);
  return lmg_pcall(g, 2, 3);
}

static void run_command(client_t *c, uint8_t type, const char *text, uint32_t len) {
  lua_State *T = c->srv->g->T;
  int top = lua_gettop(T);
  if (memchr(text, '\0', len)) {
    send_result(c, "a command holds a NUL byte");
    return;
  }
  const char *err = lua_remote(c, type == MGF_CMD ? "remote" : "remote_complete",
                               text, len);
  if (err) {
    send_result(c, err);
  } else {
    size_t n;
    const char *out = lua_tolstring(T, -3, &n);
    if (out && n) send_text(c, MGF_OUT, out, n);
    send_result(c, lua_toboolean(T, -2) ? NULL
                   : lua_tostring(T, -1) ? lua_tostring(T, -1) : "failed");
  }
  lua_settop(T, top);
  /* its own node shut down (by itself or another): nothing left to serve */
  if (c->node && !mg_node_valid(c->node))
    client_close(c, "this client's socket node was shut down");
}

static void send_data(client_t *c, const uint8_t *p, uint32_t len) {
  mgf_data_t d;
  char err[160];
  if (mgf_data_parse(p, len, &d, err, sizeof err)) {
    client_close(c, err);
    return;
  }
  mg_engine_t *e = mg_node_engine(c->node);
  mg_buf_t *b = mg_buf_new(d.caplen);
  memcpy(b->data, d.bytes, d.caplen);
  b->wirelen = d.wirelen ? d.wirelen : d.caplen;
  b->ts = d.ts && d.ts <= INT64_MAX ? (int64_t)d.ts : mg_now(e);
  b->linktype = d.linktype;
  if (mg_node_send(c->node, d.hook, b)) /* as a data socket's sendto fails */
    send2(c, MGF_NOTE, "write: ", 7, mg_errmsg(), strlen(mg_errmsg()));
}

static int64_t mono_ns(void) {
  return (int64_t)uv_hrtime();
}

static bool quiet_or_late(client_t *c) {
  mg_engine_t *e = c->srv->g->e;
  return mg_engine_quiet(e) || mono_ns() - c->pend_since > QUIET_WAIT_NS;
}

static void read_more(client_t *c);
static void on_check(uv_check_t *h);

/* Every whole frame received, in order.  A command waits (and the frames
** after it) until nothing is queued in the engine, so that the commands
** of one frame run together, between two packets (at most QUIET_WAIT_NS:
** a graph at top speed is never quiet). */
static void take_frames(client_t *c) {
  uint8_t type;
  const uint8_t *p;
  uint32_t len;
  char err[160];
  while (!c->closing && !c->pending) {
    int r = mgf_next(&c->rx, &type, &p, &len, err, sizeof err);
    if (r == 0) break;
    if (r < 0) {
      client_close(c, err);
      return;
    }
    switch (type) {
    case MGF_CMD:
    case MGF_COMPLETE:
      c->pend_since = mono_ns();
      if (type == MGF_COMPLETE || quiet_or_late(c)) {
        run_command(c, type, (const char *)p, len);
        break;
      }
      c->pending = mg_alloc(len ? len : 1);
      memcpy(c->pending, p, len);
      c->pendlen = len;
      c->pendtype = type;
      if (c->srv->waiting++ == 0) uv_check_start(&c->srv->check, on_check);
      break;
    case MGF_DATA:
      send_data(c, p, len);
      break;
    default:
      snprintf(err, sizeof err, "a frame of unknown type 0x%02x (not a moongraph "
               "client?)", type);
      client_close(c, err);
      return;
    }
  }
  read_more(c);
}

static void on_check(uv_check_t *h) {
  server_t *s = h->data;
  for (client_t *c = s->clients, *next; c; c = next) {
    next = c->next;
    if (!c->pending || !quiet_or_late(c)) continue;
    char *text = c->pending;
    c->pending = NULL;
    if (--s->waiting == 0) uv_check_stop(&s->check);
    run_command(c, c->pendtype, text, c->pendlen);
    free(text);
    if (!c->closing) take_frames(c);
    next = s->clients; /* the list may have changed: look again */
    while (next && !next->pending) next = next->next;
  }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)h;
  (void)hint;
  static char bytes[MGF_HDR + MGF_MAX]; /* the loop thread's: read_cb copies */
  *buf = uv_buf_init(bytes, sizeof bytes);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  client_t *c = st->data;
  if (n < 0) { /* gone, even in the middle of a frame */
    client_close(c, NULL);
    return;
  }
  if (n == 0) return;
  if (mgf_feed(&c->rx, buf->base, (size_t)n)) {
    client_close(c, "out of memory for a frame");
    return;
  }
  take_frames(c);
}

/* Read while no command waits, so that a waiting client's bytes wait in
** the kernel, not in our memory. */
static void read_more(client_t *c) {
  bool want = !c->closing && !c->pending;
  if (want && !c->reading) uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
  else if (!want && c->reading && !c->closing) uv_read_stop((uv_stream_t *)&c->pipe);
  c->reading = want;
}
/* }====================================================== */

/* {====================================================== accepting */
static void refuse(client_t *c, const char *why) {
  say_fatal((uv_stream_t *)&c->pipe, why);
  uv_close((uv_handle_t *)&c->pipe, client_freed);
}

/* The session the commands run in: a view of the engine with the new
** node as ".".  0, or a message left on T. */
static int make_session(client_t *c) {
  lua_State *T = c->srv->g->T;
  c->view = lua_newuserdatauv(T, sizeof *c->view, 0);
  c->view->g = c->srv->g;
  c->view->ctl = c->node;
  luaL_setmetatable(T, LMG_VIEW);
  lua_getfield(T, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(T, -1, "moongraph");
  lua_getfield(T, -1, "repl");
  lua_getfield(T, -1, "remote_session");
  lua_replace(T, -4);
  lua_pop(T, 2);
  lua_insert(T, -2);
  if (lmg_pcall(c->srv->g, 1, 1)) return -1;
  c->sess_ref = luaL_ref(T, LUA_REGISTRYINDEX);
  return 0;
}

static void on_connect(uv_stream_t *ls, int status) {
  server_t *s = ls->data;
  if (status) return;
  client_t *c = mg_calloc(1, sizeof *c);
  c->srv = s;
  uv_pipe_init(ls->loop, &c->pipe, 0);
  c->pipe.data = c;
  if (uv_accept(ls, (uv_stream_t *)&c->pipe)) {
    uv_close((uv_handle_t *)&c->pipe, client_freed);
    return;
  }
  uv_os_fd_t fd;
  struct ucred cred;
  socklen_t cl = sizeof cred;
  char why[200];
  if (uv_fileno((uv_handle_t *)&c->pipe, &fd) ||
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl)) {
    refuse(c, "cannot tell who the client is (SO_PEERCRED)");
    return;
  }
  if (cred.uid != geteuid() && cred.uid != 0) {
    snprintf(why, sizeof why, "permission denied: the engine serves its owner "
             "(uid %u) and root, not uid %u", (unsigned)geteuid(), (unsigned)cred.uid);
    refuse(c, why);
    return;
  }
  if (s->nclients >= MAX_CLIENTS) {
    snprintf(why, sizeof why, "too many clients (%d at most)", MAX_CLIENTS);
    refuse(c, why);
    return;
  }
  c->node = mg_ctl_new(s->g->e, NULL);
  if (!c->node) {
    refuse(c, mg_errmsg());
    return;
  }
  if (make_session(c)) {
    snprintf(why, sizeof why, "%s", lua_tostring(s->g->T, -1));
    lua_pop(s->g->T, 1);
    mg_shutdown(c->node, ".");
    mg_node_unref(c->node);
    c->node = NULL;
    refuse(c, why);
    return;
  }
  uv_unref((uv_handle_t *)&c->pipe); /* clients do not keep run() going */
  c->next = s->clients;
  s->clients = c;
  s->nclients++;
  mg_ctl_on_data(c->node, node_data, c);
  mg_ctl_on_msg(c->node, node_msg, c);
  char hello[64];
  int hl = snprintf(hello, sizeof hello, "moongraph %s [%x]:", MG_VERSION,
                    mg_node_id(c->node));
  send2(c, MGF_HELLO, hello, (size_t)hl, NULL, 0);
  read_more(c);
}
/* }====================================================== */

int lmg_serve(lua_State *L, lmg_engine_t *g, const char *path) {
  (void)L;
  server_t *s = mg_calloc(1, sizeof *s);
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof s->path) {
    free(s);
    return mg_error(-ENAMETOOLONG, "serve: a socket's path is 1 to %zu bytes, not %zu",
                    sizeof s->path - 1, n);
  }
  memcpy(s->path, path, n + 1);
  s->g = g;
  uv_loop_t *loop = mg_engine_loop(g->e);
  uv_pipe_init(loop, &s->pipe, 0);
  s->pipe.data = s;
  uv_check_init(loop, &s->check);
  s->check.data = s;
  /* a socket left by an engine that died is taken over; a live one not */
  struct stat st;
  if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, n + 1);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 &&
        errno == ECONNREFUSED)
      unlink(path);
    if (fd >= 0) close(fd);
  }
  /* a client gone before our answer reaches it must not end the process
  ** by SIGPIPE (libuv writes with write(2)): the write fails instead */
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
    signal(SIGPIPE, SIG_IGN);
  mode_t old = umask(077); /* 0600 from its birth: no moment open to others */
  int rc = uv_pipe_bind(&s->pipe, path);
  umask(old);
  if (!rc) rc = uv_listen((uv_stream_t *)&s->pipe, 16, on_connect);
  if (rc) {
    uv_close((uv_handle_t *)&s->pipe, server_freed);
    return mg_error(rc == UV_EADDRINUSE ? -EADDRINUSE : rc,
                    "serve '%s': %s", path,
                    rc == UV_EADDRINUSE ? "in use by a running engine or another file"
                                        : uv_strerror(rc));
  }
  chmod(path, 0600);
  uv_unref((uv_handle_t *)&s->pipe);
  uv_unref((uv_handle_t *)&s->check);
  s->next = g->served;
  g->served = s;
  return 0;
}

/* g:serve(path): true, or nil, message, name */
static int l_serve(lua_State *L) {
  lmg_engine_t *g = lmg_check_engine(L, 1);
  const char *path = lmg_checkname(L, 2);
  if (!mg_on_loop_thread(g->e)) return luaL_error(L, "serve: not the engine's thread");
  int rc = lmg_serve(L, g, path);
  if (rc) return lmg_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

const luaL_Reg lmg_serve_methods[] = {{"serve", l_serve}, {NULL, NULL}};

void lmg_open_serve(lua_State *L) {
  static const luaL_Reg meta[] = {{NULL, NULL}};
  lmg_metatable(L, LMG_VIEW, meta, lmg_view_methods);
  lmg_methods(L, LMG_ENGINE, lmg_serve_methods);
}
