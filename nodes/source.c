/*
** source.c -- queues packets and sends them again and again, at a packet
** rate, for load generation (netgraph's ng_source).
**
** HOOKS     input: packets arriving here are queued (a copy each), at
**           most 4096 packets and 64 MiB; past that they are dropped
**           (qfull) and the sender told ENOBUFS.  output: where the queue
**           is sent, in order, round and round.
** MESSAGES  start N: send N packets (no argument: until stop); start_now
**           N: the same (ng_source's start waits for an interface it
**           looks for; there is none to wait for here); stop; clrdata:
**           empty the queue (stopped only); setpps N: at most N packets a
**           second, 0 for no limit (the default); settimestamp { offset=
**           flags=1 } / gettimestamp: flags bit 0 writes the time each
**           packet is sent at offset, as two 32-bit big-endian words,
**           seconds and microseconds (FreeBSD copies its host's struct
**           timeval), in packets long enough; getstats / clrstats /
**           getclrstats -> { outOctets outFrames queueOctets queueFrames
**           maxPps startTime endTime elapsedTime lastTime }, times as
**           { tv_sec tv_usec }.
** Each packet sent is a copy of its queued one, stamped with the time it
** was due: start + k/pps for the k-th packet of a rate, the clock's time
** with none.  The rate is held by callouts on an absolute schedule, so
** lateness (a callout is ms-grained on the wall clock) is caught up and
** never accumulates; under clock="virtual" packets are sent exactly when
** the clock reaches their time (g:advance, or a top-speed pcap source),
** and a running source does not keep g:run() going (the clock would never
** move); on the wall clock it does, until it has sent its N.  With no
** rate it sends bursts of 256 and yields, and waits while the engine's
** queues are more than half full.
*/
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

enum { SRC_GETSTATS = 1, SRC_CLRSTATS, SRC_GETCLRSTATS, SRC_START, SRC_STOP,
       SRC_CLRDATA, SRC_SETIFACE, SRC_SETPPS, SRC_SETTIMESTAMP,
       SRC_GETTIMESTAMP, SRC_START_NOW = 100 }; /* ng_source's, but start_now */
#define QMAX_PKTS 4096
#define QMAX_BYTES (64u << 20)
#define PPS_MAX 100000000
#define BURST 256
#define FOREVER UINT64_MAX
#define NS 1000000000

typedef struct {
  mg_node_t *node;
  mg_hook_t *input, *output;
  mg_buf_t **q;
  uint32_t n, cap, next;
  uint64_t qbytes;
  bool running, held, embed, started; /* started: since clrstats */
  uint16_t embed_off;
  uint8_t embed_flags;
  uint32_t pps;
  uint64_t left;   /* packets still to send; FOREVER */
  int64_t t0;      /* the rate's origin */
  uint64_t k;      /* packets sent since t0 */
  uint64_t gen;    /* a start or stop makes queued ticks stale */
  mg_callout_t co;
  uint64_t out_octets, out_frames;
  int64_t start_time, end_time, last_time;
} src_t;

static void hold(src_t *s, bool on) {
  if (on == s->held) return;
  mg_engine_hold(mg_node_engine(s->node), on ? 1 : -1);
  s->held = on;
}

static void halt(src_t *s) {
  if (s->running) s->end_time = mg_now(mg_node_engine(s->node));
  s->running = false;
  s->gen++;
  mg_callout_stop(&s->co);
  hold(s, false);
}

/* The k-th packet's time at pps from t0, without overflow. */
static int64_t due_at(const src_t *s, uint64_t k) {
  return s->t0 + (int64_t)(k / s->pps) * NS + (int64_t)((k % s->pps) * NS / s->pps);
}

static mg_item_t *make_one(src_t *s, int64_t when) {
  mg_buf_t *c = mg_buf_copy(s->q[s->next]);
  s->next = (s->next + 1) % s->n;
  c->ts = when;
  if (s->embed && (s->embed_flags & 1) && (uint32_t)s->embed_off + 8 <= c->len) {
    uint8_t *p = c->data + s->embed_off;
    uint32_t sec = (uint32_t)(when / NS), usec = (uint32_t)(when % NS / 1000);
    for (int i = 0; i < 4; i++) {
      p[i] = (uint8_t)(sec >> (24 - 8 * i));
      p[4 + i] = (uint8_t)(usec >> (24 - 8 * i));
    }
  }
  s->out_frames++;
  s->out_octets += c->len;
  s->last_time = when;
  return mg_data_new(s->node, c);
}

static int tick(mg_node_t *n, mg_hook_t *h, void *arg, intptr_t gen);

static void again(src_t *s, int64_t delay) {
  if (delay > 0) mg_callout_reset(&s->co, s->node, delay, tick, s, (intptr_t)s->gen);
  else mg_send_fn(s->node, NULL, tick, s, (intptr_t)s->gen, MG_QUEUE);
}

static int tick(mg_node_t *n, mg_hook_t *h, void *arg, intptr_t gen) {
  (void)h;
  src_t *s = arg;
  if (!s->running || (uint64_t)gen != s->gen) return 0; /* stale */
  mg_engine_t *e = mg_node_engine(n);
  if (!s->output || !s->n) {
    halt(s);
    return 0;
  }
  int64_t now = mg_now(e);
  bool wall = mg_clock_mode(e) == MG_CLOCK_WALL;
  mg_item_t *v[BURST]; /* sent as one burst: nothing can stop it midway, */
  unsigned k = 0;      /* as messages to s wait for this tick to end */
  for (int b = 0; b < BURST && s->left; b++) {
    int64_t when = now;
    if (s->pps) {
      when = due_at(s, s->k);
      if (when > now) break;
    } else if (mg_engine_backlog(e) > mg_engine_queue_limit(e) / 2)
      break;
    v[k++] = make_one(s, when);
    s->k++;
    if (s->left != FOREVER) s->left--;
  }
  mg_forward_burst(s->output, v, k);
  if (!s->running || (uint64_t)gen != s->gen) return 0;
  if (!s->left) { /* done: it ended with its last packet */
    halt(s);
    s->end_time = s->last_time;
    return 0;
  }
  if (s->pps) again(s, due_at(s, s->k) - mg_now(e));
  else if (wall && mg_engine_backlog(e) > mg_engine_queue_limit(e) / 2)
    again(s, 1000000); /* let the queues drain */
  else again(s, 0);
  return 0;
}

/* {====================================================== messages */
static int start(src_t *s, const mg_msg_t *m) {
  uint64_t count = FOREVER;
  if (m->args && m->args->type != MG_NIL) {
    if (m->args->type != MG_INT)
      return mg_error(-EINVAL, "%s takes a number of packets (none: until stop)", m->cmdstr);
    int rc = mg_check_num((double)m->args->u.i, m->cmdstr, 1, 9.2e18);
    if (rc) return rc;
    count = (uint64_t)m->args->u.i;
  }
  if (s->running) return mg_error(-EBUSY, "%s: the source is already sending", m->cmdstr);
  if (!s->output || !mg_hook_connected(s->output))
    return mg_error(-ENOTCONN, "%s: output is not connected", m->cmdstr);
  if (!s->n) return mg_error(-ENOENT, "%s: no packets queued (send some to input)", m->cmdstr);
  mg_engine_t *e = mg_node_engine(s->node);
  s->running = true;
  s->gen++;
  s->left = count;
  s->t0 = s->start_time = mg_now(e);
  s->started = true;
  s->end_time = 0;
  s->k = 0;
  if (mg_clock_mode(e) == MG_CLOCK_WALL) hold(s, true);
  again(s, 0);
  return 0;
}

static mg_value_t *tv(int64_t ns) {
  mg_value_t *v = mg_map();
  if (ns < 0) ns = 0;
  mg_map_set(v, "tv_sec", mg_int(ns / NS));
  mg_map_set(v, "tv_usec", mg_int(ns % NS / 1000));
  return v;
}

static mg_value_t *stats(src_t *s) {
  mg_value_t *v = mg_map();
  mg_map_set(v, "outOctets", mg_int((int64_t)s->out_octets));
  mg_map_set(v, "outFrames", mg_int((int64_t)s->out_frames));
  mg_map_set(v, "queueOctets", mg_int((int64_t)s->qbytes));
  mg_map_set(v, "queueFrames", mg_int(s->n));
  mg_map_set(v, "maxPps", mg_int(s->pps));
  mg_map_set(v, "startTime", tv(s->start_time));
  mg_map_set(v, "endTime", tv(s->end_time));
  int64_t end = s->running ? mg_now(mg_node_engine(s->node)) : s->end_time;
  mg_map_set(v, "elapsedTime", tv(s->started ? end - s->start_time : 0));
  mg_map_set(v, "lastTime", tv(s->last_time));
  return v;
}

static void clrdata(src_t *s) {
  for (uint32_t i = 0; i < s->n; i++) mg_buf_unref(s->q[i]);
  free(s->q);
  s->q = NULL;
  s->n = s->cap = s->next = 0;
  s->qbytes = 0;
}

static int settimestamp(src_t *s, const mg_value_t *a) {
  static const char *const known[] = {"offset", "flags", NULL};
  const char *form = "{ offset=42 flags=1 }";
  double off = 0, flags = 0;
  if (!a || a->type != MG_MAP) return mg_error(-EINVAL, "settimestamp takes %s", form);
  int rc = mg_map_only(a, "settimestamp", known, form);
  if (rc || (rc = mg_map_num(a, "offset", 0, 65535, &off)) ||
      (rc = mg_map_num(a, "flags", 0, 255, &flags)))
    return rc;
  if (off != (double)(uint16_t)off || flags != (double)(uint8_t)flags)
    return mg_error(-EINVAL, "settimestamp: offset and flags are integers");
  s->embed = true;
  s->embed_off = (uint16_t)off;
  s->embed_flags = (uint8_t)flags;
  return 0;
}

static int src_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last, mg_value_t **reply) {
  (void)last;
  src_t *s = mg_node_priv(n);
  switch (m->cmd) {
  case SRC_START:
  case SRC_START_NOW: return start(s, m);
  case SRC_STOP: halt(s); return 0;
  case SRC_CLRDATA:
    if (s->running) return mg_error(-EBUSY, "clrdata: stop the source first");
    clrdata(s);
    return 0;
  case SRC_SETPPS: {
    if (!m->args || m->args->type != MG_INT)
      return mg_error(-EINVAL, "setpps takes a number of packets a second (0: no limit)");
    int rc = mg_check_num((double)m->args->u.i, "setpps", 0, PPS_MAX);
    if (rc) return rc;
    s->pps = (uint32_t)m->args->u.i;
    if (s->running) { /* the new rate counts from the last packet sent */
      bool sent = s->k > 0;
      s->t0 = sent ? s->last_time : mg_now(mg_node_engine(n));
      s->k = sent ? 1 : 0;
      s->gen++;
      mg_callout_stop(&s->co);
      again(s, 0);
    }
    return 0;
  }
  case SRC_SETTIMESTAMP: return settimestamp(s, m->args);
  case SRC_GETTIMESTAMP:
    *reply = mg_map();
    mg_map_set(*reply, "offset", mg_int(s->embed_off));
    mg_map_set(*reply, "flags", mg_int(s->embed_flags));
    return 0;
  default:
    if (m->cmd != SRC_CLRSTATS) *reply = stats(s);
    if (m->cmd != SRC_GETSTATS) {
      s->out_octets = s->out_frames = 0;
      s->start_time = s->running ? mg_now(mg_node_engine(n)) : 0;
      s->started = s->running;
      s->end_time = s->last_time = 0;
    }
    return 0;
  }
}
/* }====================================================== */

static int src_rcvdata(mg_hook_t *h, mg_item_t *it) {
  src_t *s = mg_node_priv(mg_hook_node(h));
  if (h != s->input) {
    mg_drop(it, MG_DROP_POLICY);
    return 0;
  }
  mg_buf_t *b = mg_item_buf(it);
  if (s->n >= QMAX_PKTS || s->qbytes + b->len > QMAX_BYTES) {
    mg_drop(it, MG_DROP_QFULL);
    return mg_error(-ENOBUFS, "source: the queue is full (%u packets, %llu bytes; at "
                    "most %d and %u)", s->n, (unsigned long long)s->qbytes, QMAX_PKTS,
                    QMAX_BYTES);
  }
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 16;
    s->q = mg_realloc(s->q, s->cap * sizeof *s->q);
  }
  s->q[s->n++] = mg_buf_copy(b);
  s->qbytes += b->len;
  mg_consume(it);
  return 0;
}

static int src_constructor(mg_node_t *n) {
  src_t *s = mg_node_priv(n);
  s->node = n;
  mg_callout_init(&s->co);
  return 0;
}

static int src_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  src_t *s = mg_node_priv(n);
  char q[MG_QUOTESIZ];
  if (!strcmp(name, "input") && !s->input) s->input = h;
  else if (!strcmp(name, "output") && !s->output) s->output = h;
  else return mg_error(-EINVAL, "source has hooks 'input' and 'output', not %s", mg_quote(q, name));
  return 0;
}

static void src_disconnect(mg_hook_t *h) {
  mg_node_t *n = mg_hook_node(h);
  src_t *s = mg_node_priv(n);
  if (h == s->input) s->input = NULL;
  if (h == s->output) {
    s->output = NULL;
    halt(s);
  }
  if (mg_node_numhooks(n) == 0 && mg_node_valid(n)) mg_node_rmself(n);
}

static void src_close(mg_node_t *n) { halt(mg_node_priv(n)); }

static void src_shutdown(mg_node_t *n) {
  src_t *s = mg_node_priv(n);
  halt(s);
  clrdata(s);
}

static void src_status(mg_node_t *n, mg_sbuf_t *out) {
  src_t *s = mg_node_priv(n);
  mg_sbuf_printf(out, "%s; %u packets queued (%llu bytes); %llu sent", s->running ?
                 "sending" : "stopped", s->n, (unsigned long long)s->qbytes,
                 (unsigned long long)s->out_frames);
  if (s->running && s->left != FOREVER)
    mg_sbuf_printf(out, ", %llu to go", (unsigned long long)s->left);
  if (s->pps) mg_sbuf_printf(out, "; %u a second", s->pps);
  mg_sbuf_printf(out, "\n");
}

static const mg_cmd_t src_cmds[] = {
  {"start", SRC_START, 0, "1000", "send N packets from the queue (none: until stop)"},
  {"start_now", SRC_START_NOW, 0, "1000", "the same as start"},
  {"stop", SRC_STOP, 0, "", "stop sending"},
  {"clrdata", SRC_CLRDATA, 0, "", "empty the queue (when stopped)"},
  {"setpps", SRC_SETPPS, 0, "1000", "packets a second at most; 0: no limit"},
  {"settimestamp", SRC_SETTIMESTAMP, 0, "{ offset=42 flags=1 }",
   "flags 1: write the send time (sec, usec: 32 bits each, big-endian) at offset"},
  {"gettimestamp", SRC_GETTIMESTAMP, MG_CMD_READONLY, "", "{ offset flags }"},
  {"getstats", SRC_GETSTATS, MG_CMD_READONLY, "",
   "{ outOctets outFrames queueOctets queueFrames maxPps startTime endTime "
   "elapsedTime lastTime }"},
  {"clrstats", SRC_CLRSTATS, 0, "", "zero the counters"},
  {"getclrstats", SRC_GETCLRSTATS, 0, "", "the counters, then zero them"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_source = {
  .name = "source",
  .doc = "Queues the packets that arrive on input and sends them out of\n"
         "output, round and round, N packets or until stopped, at a packet\n"
         "rate held by callouts (exact under the virtual clock).",
  .priv_size = sizeof(src_t),
  .flags = MG_TF_FORCE_WRITER,
  .constructor = src_constructor,
  .close = src_close,
  .shutdown = src_shutdown,
  .newhook = src_newhook,
  .rcvdata = src_rcvdata,
  .rcvmsg = src_rcvmsg,
  .disconnect = src_disconnect,
  .status = src_status,
  .cmds = src_cmds,
};
