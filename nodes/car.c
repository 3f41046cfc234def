/*
** car.c -- committed access rate: token-bucket policing and shaping
** (netgraph's ng_car).
**
** HOOKS     upper, lower.  Frames from upper go down through the
**           "downstream" buckets and out of lower; frames from lower go up
**           through the "upstream" ones.
** MESSAGES  setconf { downstream={ cbs ebs cir pir greenAction
**           yellowAction redAction mode opt greenDscp yellowDscp
**           redDscp } upstream={ ... } }; getconf; getstats, clrstats,
**           getclrstats -> { upstream={ passed droped green yellow red
**           errors } downstream={ ... } }.
**
** mode 0: RFC 2697's single rate three colour marker (committed bucket
** cbs filled at cir, its overflow into the excess bucket ebs); 1: RFC
** 2698's two rate marker (cbs filled at cir, ebs the peak bucket filled
** at pir); 2: ng_car's RED-like policer; 3: shaping (frames that are not
** green wait, up to 100 of them, until the committed bucket has room).
** Rates are in bit/s, buckets in bytes; opt bit 1: colour-aware (a
** frame's colour is read from its DSCP: redDscp red, yellowDscp yellow,
** else green), bit 2: count frames, not bytes (rates in frames/s, buckets
** in frames).  Actions: 1 forward, 2 drop, 3 mark (set the IP DSCP to
** the colour's: AF11/12/13, 10/12/14, unless set).  Buckets fill on the
** engine clock, exactly (tokens kept in bit-nanoseconds): under a virtual
** clock the colours follow the packets' timestamps.  A field absent from
** setconf stays as it is.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

enum { CAR_GETSTATS = 1, CAR_CLRSTATS, CAR_GETCLRSTATS, CAR_GETCONF,
       CAR_SETCONF }; /* ng_car's numbers */
enum { A_FORWARD = 1, A_DROP, A_MARK };
enum { M_SINGLE, M_DOUBLE, M_RED, M_SHAPE };
enum { O_AWARE = 1, O_PACKETS = 2 };
enum { GREEN, YELLOW, RED };
enum { DOWN, UP };
#define QSIZE 100   /* the shaping queue, as ng_car's */
#define QMIN_TH 8   /* ng_car's: past it the queue spends RED tokens */
#define RATE_MAX 1e12
#define BURST_MAX 1e9
#define NEVER INT64_MAX

typedef struct {
  int64_t cbs, ebs, cir, pir;
  int action[3], dscp[3];
  int mode, opt;
} conf_t;

typedef struct {
  uint64_t passed, dropped, colour[3], errors;
} cstats_t;

typedef struct {
  mg_item_t *it;
  int64_t t; /* arrival, engine time */
} qent_t;

typedef struct {
  conf_t c;
  cstats_t st;
  int64_t tc, te; /* tokens, in bit-ns (a byte is 8e9, a frame 1e9) */
  int64_t last;   /* engine time the buckets were filled to */
  qent_t q[QSIZE];
  uint32_t qhead, qn;
  mg_callout_t co;
  int64_t armed;
  mg_hook_t *out;
} dir_t;

typedef struct {
  mg_node_t *node;
  mg_hook_t *upper, *lower;
  bool held;
  dir_t d[2];
} car_t;

static int64_t unit(const dir_t *d) { return d->c.opt & O_PACKETS ? 1000000000 : 8000000000; }
static int64_t size(const dir_t *d, mg_item_t *it) {
  return d->c.opt & O_PACKETS ? unit(d) : (int64_t)mg_item_buf(it)->wirelen * unit(d);
}

static int64_t add_capped(int64_t x, int64_t rate, int64_t dt, int64_t cap) {
  __int128 v = (__int128)x + (__int128)rate * dt;
  return v > cap ? cap : (int64_t)v;
}

/* The buckets filled to engine time now. */
static void refill(dir_t *d, int64_t now) {
  int64_t dt = now - d->last;
  if (dt <= 0) return;
  d->last = now;
  int64_t cbs = d->c.cbs * unit(d), ebs = d->c.ebs * unit(d);
  switch (d->c.mode) {
  case M_SINGLE: { /* what overflows the committed bucket fills the excess one */
    __int128 v = (__int128)d->tc + (__int128)d->c.cir * dt;
    if (v > cbs) {
      __int128 e = d->te + (v - cbs);
      d->te = e > ebs ? ebs : (int64_t)e;
      v = cbs;
    }
    d->tc = (int64_t)v;
    break;
  }
  case M_DOUBLE:
    d->tc = add_capped(d->tc, d->c.cir, dt, cbs);
    d->te = add_capped(d->te, d->c.pir, dt, ebs);
    break;
  default:
    d->tc = add_capped(d->tc, d->c.cir, dt, cbs);
  }
}

/* {====================================================== DSCP */
/* The IP header of a frame, and its version (0: none). */
static uint8_t *ip_of(mg_buf_t *b, int *ver) {
  uint32_t off = 0;
  *ver = 0;
  if (b->linktype == 1) {
    off = 12;
    for (int tags = 0; tags < 2 && b->len >= off + 2; tags++) {
      uint16_t et = (uint16_t)(b->data[off] << 8 | b->data[off + 1]);
      if (et != 0x8100 && et != 0x88a8) break;
      off += 4;
    }
    if (b->len < off + 2) return NULL;
    uint16_t et = (uint16_t)(b->data[off] << 8 | b->data[off + 1]);
    if (et != 0x0800 && et != 0x86dd) return NULL;
    off += 2;
  } else if (b->linktype != 101 && b->linktype != 228 && b->linktype != 229 &&
             b->linktype != 12)
    return NULL;
  if (b->len < off + 20) return NULL;
  uint8_t *ip = b->data + off;
  int v = ip[0] >> 4;
  if (v == 4 || (v == 6 && b->len >= off + 40)) *ver = v;
  return *ver ? ip : NULL;
}

static int dscp_get(mg_buf_t *b) {
  int v;
  uint8_t *ip = ip_of(b, &v);
  if (!ip) return -1;
  return v == 4 ? ip[1] >> 2 : ((ip[0] & 0xf) << 4 | ip[1] >> 4) >> 2;
}

static bool dscp_set(mg_buf_t *b, int dscp) {
  int v;
  uint8_t *ip = ip_of(b, &v);
  if (!ip) return false;
  if (v == 6) {
    uint8_t tc = (uint8_t)(((ip[0] & 0xf) << 4 | ip[1] >> 4) & 3) | (uint8_t)(dscp << 2);
    ip[0] = (uint8_t)((ip[0] & 0xf0) | tc >> 4);
    ip[1] = (uint8_t)((ip[1] & 0x0f) | (tc & 0xf) << 4);
    return true;
  }
  uint16_t old = (uint16_t)(ip[0] << 8 | ip[1]);
  ip[1] = (uint8_t)((ip[1] & 3) | dscp << 2);
  uint16_t neu = (uint16_t)(ip[0] << 8 | ip[1]);
  /* the checksum, updated as RFC 1624 says: ~(~HC + ~m + m') */
  uint32_t s = (uint16_t)~(ip[10] << 8 | ip[11]);
  s += (uint16_t)~old;
  s += neu;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  ip[10] = (uint8_t)(~s >> 8), ip[11] = (uint8_t)~s;
  return true;
}
/* }====================================================== */

static void hold(car_t *c) {
  bool busy = c->d[0].qn || c->d[1].qn;
  mg_engine_t *e = mg_node_engine(c->node);
  if (mg_clock_mode(e) == MG_CLOCK_VIRTUAL) busy = false;
  if (busy != c->held) mg_engine_hold(e, busy ? 1 : -1);
  c->held = busy;
}

static void send(dir_t *d, mg_item_t *it) {
  if (!d->out) {
    mg_drop(it, MG_DROP_NOPEER);
    d->st.dropped++;
    return;
  }
  d->st.passed++;
  if (mg_forward(d->out, it)) d->st.errors++;
}

/* Acts on a frame of this colour: false when it is gone (dropped). */
static bool act(dir_t *d, mg_item_t *it, int colour) {
  d->st.colour[colour]++;
  switch (d->c.action[colour]) {
  case A_FORWARD: return true;
  case A_MARK:
    if (!dscp_set(mg_item_writable(it), d->c.dscp[colour])) d->st.errors++; /* not IP */
    return true;
  default:
    d->st.dropped++;
    mg_drop(it, MG_DROP_POLICY);
    return false;
  }
}

static int tick(mg_node_t *n, mg_hook_t *h, void *arg, intptr_t x);

/* Shaping: the queue's head leaves when the committed bucket holds it,
** at the exact time it does; its timestamp moves on by its wait. */
static void service(car_t *c, dir_t *d, int64_t now) {
  while (d->qn) {
    qent_t *e = &d->q[d->qhead];
    int64_t need = size(d, e->it) - d->tc, at = d->last;
    if (need > 0) {
      if (d->c.cir <= 0) at = now; /* no rate (changed since): at once */
      else at = d->last + (need + d->c.cir - 1) / d->c.cir;
      if (at > now) break;
      refill(d, at);
    }
    d->tc -= size(d, e->it);
    mg_item_t *it = e->it;
    mg_item_writable(it)->ts += at - e->t;
    d->qhead = (d->qhead + 1) % QSIZE;
    d->qn--;
    send(d, it);
  }
  refill(d, now);
  int64_t due = NEVER;
  if (d->qn) {
    int64_t need = size(d, d->q[d->qhead].it) - d->tc;
    due = d->c.cir > 0 ? d->last + (need + d->c.cir - 1) / d->c.cir : now;
  }
  if (due == NEVER) {
    if (d->armed != NEVER) mg_callout_stop(&d->co);
  } else if (due != d->armed)
    mg_callout_reset(&d->co, c->node, due - now, tick, d, 0);
  d->armed = due;
  hold(c);
}

static int tick(mg_node_t *n, mg_hook_t *h, void *arg, intptr_t x) {
  (void)h, (void)x;
  dir_t *d = arg;
  d->armed = NEVER;
  service(mg_node_priv(n), d, mg_now(mg_node_engine(n)));
  return 0;
}

/* ng_car's shaper: a frame waits if it can; the RED tokens (te) thin the
** queue as it grows. */
static void enqueue(car_t *c, dir_t *d, mg_item_t *it, int64_t now) {
  uint32_t len = d->qn;
  if (len >= QSIZE - 1 || d->te + len >= QSIZE) {
    d->st.colour[RED]++;
    d->st.dropped++;
    d->te = 0;
    mg_drop(it, MG_DROP_QFULL);
    return;
  }
  d->st.colour[YELLOW]++;
  mg_item_writable(it); /* kept past this call */
  d->q[(d->qhead + d->qn++) % QSIZE] = (qent_t){it, now};
  if (len > QMIN_TH) d->te += len - QMIN_TH;
  service(c, d, now);
}

static int car_rcvdata(mg_hook_t *h, mg_item_t *it) {
  mg_node_t *n = mg_hook_node(h);
  car_t *c = mg_node_priv(n);
  dir_t *d = &c->d[h == c->upper ? DOWN : UP];
  int64_t now = mg_now(mg_node_engine(n));
  if (d->qn) service(c, d, now);
  if (d->qn) { /* behind the queue */
    enqueue(c, d, it, now);
    return 0;
  }
  refill(d, now);
  int64_t b = size(d, it);
  int pre = GREEN;
  if (d->c.opt & O_AWARE) {
    int ds = dscp_get(mg_item_buf(it));
    pre = ds < 0 ? GREEN : ds == d->c.dscp[RED] ? RED : ds == d->c.dscp[YELLOW] ? YELLOW : GREEN;
  }
  int colour;
  switch (d->c.mode) {
  case M_SINGLE: /* RFC 2697 */
    if (pre == GREEN && d->tc >= b) colour = GREEN, d->tc -= b;
    else if (pre != RED && d->te >= b) colour = YELLOW, d->te -= b;
    else colour = RED;
    break;
  case M_DOUBLE: /* RFC 2698 */
    if (pre == RED || d->te < b) colour = RED;
    else if (pre == YELLOW || d->tc < b) colour = YELLOW, d->te -= b;
    else colour = GREEN, d->te -= b, d->tc -= b;
    break;
  case M_RED: { /* ng_car's: the deeper in debt, the likelier red */
    int64_t ebs = d->c.ebs * unit(d);
    if (d->tc >= b) colour = GREEN, d->tc -= b;
    else if (b - (d->tc - b) > ebs) colour = RED, d->te = 0;
    else if (d->te + (b - d->tc) < ebs) colour = YELLOW, d->te += b - d->tc, d->tc -= b;
    else colour = RED, d->te = 0;
    break;
  }
  default: /* shaping */
    if (d->tc >= b) colour = GREEN, d->tc -= b;
    else {
      enqueue(c, d, it, now);
      return 0;
    }
  }
  if (act(d, it, colour)) send(d, it);
  return 0;
}

static void flush(car_t *c, dir_t *d) {
  while (d->qn) {
    mg_drop(d->q[d->qhead].it, MG_DROP_DEAD);
    d->st.dropped++;
    d->qhead = (d->qhead + 1) % QSIZE;
    d->qn--;
  }
  mg_callout_stop(&d->co);
  d->armed = NEVER;
  hold(c);
}

/* {====================================================== configuration */
static const char *const dir_known[] = {"cbs", "ebs", "cir", "pir", "greenAction",
  "yellowAction", "redAction", "mode", "opt", "greenDscp", "yellowDscp", "redDscp", NULL};
static const char *const colours[3] = {"green", "yellow", "red"};
#define DIR_FORM "{ cbs ebs cir pir greenAction yellowAction redAction mode opt " \
  "greenDscp yellowDscp redDscp }"
#define CONF_FORM "{ downstream={ cbs=8192 ebs=8192 cir=10240 pir=10240 greenAction=1 " \
  "yellowAction=1 redAction=2 mode=0 opt=0 } upstream={ ... } }"

static int field(const mg_value_t *m, const char *pre, const char *k, double min,
                 double max, int64_t *out) {
  mg_value_t *v = mg_map_get(m, k);
  if (!v || v->type == MG_NIL) return 0;
  char name[64];
  snprintf(name, sizeof name, "%s.%s", pre, k);
  if (v->type != MG_INT)
    return mg_error(-EINVAL, "setconf: %s must be a whole number from %.0f to %.0f",
                    name, min, max);
  int rc = mg_check_num((double)v->u.i, name, min, max);
  if (!rc) *out = v->u.i;
  return rc;
}

/* An action: 1 2 3, or forward drop mark. */
static int action(const mg_value_t *m, const char *pre, const char *k, int *out) {
  mg_value_t *v = mg_map_get(m, k);
  if (v && v->type == MG_STR) {
    static const char *const words[] = {"forward", "drop", "mark"};
    for (int i = 0; i < 3; i++)
      if (!strcmp(v->u.s.p, words[i])) return *out = i + 1, 0;
    return mg_error(-EINVAL, "setconf: %s.%s is forward (1), drop (2) or mark (3), "
                    "not '%s'", pre, k, v->u.s.p);
  }
  int64_t x = *out;
  int rc = field(m, pre, k, A_FORWARD, A_MARK, &x);
  *out = (int)x;
  return rc;
}

static int parse_dir(const mg_value_t *m, const char *pre, conf_t *c) {
  char cmd[32];
  snprintf(cmd, sizeof cmd, "setconf %s", pre);
  int rc = mg_map_only(m, cmd, dir_known, DIR_FORM);
  int64_t mode = c->mode, opt = c->opt;
  if (rc || (rc = field(m, pre, "cbs", 0, BURST_MAX, &c->cbs)) ||
      (rc = field(m, pre, "ebs", 0, BURST_MAX, &c->ebs)) ||
      (rc = field(m, pre, "cir", 0, RATE_MAX, &c->cir)) ||
      (rc = field(m, pre, "pir", 0, RATE_MAX, &c->pir)) ||
      (rc = field(m, pre, "mode", M_SINGLE, M_SHAPE, &mode)) ||
      (rc = field(m, pre, "opt", 0, O_AWARE | O_PACKETS, &opt)))
    return rc;
  c->mode = (int)mode, c->opt = (int)opt;
  for (int i = 0; i < 3; i++) {
    char k[16];
    snprintf(k, sizeof k, "%sAction", colours[i]);
    if ((rc = action(m, pre, k, &c->action[i]))) return rc;
    int64_t x = c->dscp[i];
    snprintf(k, sizeof k, "%sDscp", colours[i]);
    if ((rc = field(m, pre, k, 0, 63, &x))) return rc;
    c->dscp[i] = (int)x;
  }
  if (!c->cbs && !c->ebs)
    return mg_error(-EINVAL, "setconf: %s: cbs and ebs cannot both be 0", pre);
  if (c->mode == M_SHAPE && !c->cir)
    return mg_error(-EINVAL, "setconf: %s.cir: shaping (mode 3) needs a rate", pre);
  if (c->mode == M_DOUBLE && c->pir < c->cir)
    return mg_error(-EINVAL, "setconf: %s.pir: the peak rate (%lld) is below the "
                    "committed one (%lld)", pre, (long long)c->pir, (long long)c->cir);
  return 0;
}

static void reset(dir_t *d, int64_t now) {
  d->tc = d->c.cbs * unit(d);
  d->te = d->c.mode == M_RED || d->c.mode == M_SHAPE ? 0 : d->c.ebs * unit(d);
  d->last = now;
}

static int setconf(car_t *c, const mg_value_t *a) {
  static const char *const known[] = {"downstream", "upstream", NULL};
  int rc = mg_map_only(a, "setconf", known, CONF_FORM);
  if (rc) return rc;
  conf_t nc[2] = {c->d[DOWN].c, c->d[UP].c};
  static const char *const names[2] = {"downstream", "upstream"};
  bool given[2] = {false, false};
  for (int i = 0; i < 2; i++) {
    const mg_value_t *m = mg_map_get(a, names[i]);
    if (!m || m->type == MG_NIL) continue;
    if ((rc = parse_dir(m, names[i], &nc[i]))) return rc;
    given[i] = true;
  }
  int64_t now = mg_now(mg_node_engine(c->node));
  for (int i = 0; i < 2; i++)
    if (given[i]) {
      dir_t *d = &c->d[i];
      if (d->qn) service(c, d, now);
      d->c = nc[i];
      reset(d, now);
      if (d->qn) service(c, d, now);
    }
  return 0;
}

static mg_value_t *conf_of(const dir_t *d) {
  mg_value_t *m = mg_map();
  mg_map_set(m, "cbs", mg_int(d->c.cbs));
  mg_map_set(m, "ebs", mg_int(d->c.ebs));
  mg_map_set(m, "cir", mg_int(d->c.cir));
  mg_map_set(m, "pir", mg_int(d->c.pir));
  mg_map_set(m, "greenAction", mg_int(d->c.action[GREEN]));
  mg_map_set(m, "yellowAction", mg_int(d->c.action[YELLOW]));
  mg_map_set(m, "redAction", mg_int(d->c.action[RED]));
  mg_map_set(m, "mode", mg_int(d->c.mode));
  mg_map_set(m, "opt", mg_int(d->c.opt));
  mg_map_set(m, "greenDscp", mg_int(d->c.dscp[GREEN]));
  mg_map_set(m, "yellowDscp", mg_int(d->c.dscp[YELLOW]));
  mg_map_set(m, "redDscp", mg_int(d->c.dscp[RED]));
  return m;
}

static mg_value_t *stats_of(const dir_t *d) {
  mg_value_t *m = mg_map();
  mg_map_set(m, "passed", mg_int((int64_t)d->st.passed));
  mg_map_set(m, "droped", mg_int((int64_t)d->st.dropped)); /* ng_car's spelling */
  mg_map_set(m, "green", mg_int((int64_t)d->st.colour[GREEN]));
  mg_map_set(m, "yellow", mg_int((int64_t)d->st.colour[YELLOW]));
  mg_map_set(m, "red", mg_int((int64_t)d->st.colour[RED]));
  mg_map_set(m, "errors", mg_int((int64_t)d->st.errors));
  return m;
}
/* }====================================================== */

static mg_value_t *both(car_t *c, mg_value_t *(*one)(const dir_t *)) {
  mg_value_t *r = mg_map();
  mg_map_set(r, "upstream", one(&c->d[UP]));
  mg_map_set(r, "downstream", one(&c->d[DOWN]));
  return r;
}

static int car_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last, mg_value_t **reply) {
  (void)last;
  car_t *c = mg_node_priv(n);
  switch (m->cmd) {
  case CAR_GETSTATS: *reply = both(c, stats_of); return 0;
  case CAR_GETCLRSTATS: *reply = both(c, stats_of); /* fall through */
  case CAR_CLRSTATS:
    memset(&c->d[DOWN].st, 0, sizeof c->d[DOWN].st);
    memset(&c->d[UP].st, 0, sizeof c->d[UP].st);
    return 0;
  case CAR_GETCONF: *reply = both(c, conf_of); return 0;
  default: return setconf(c, m->args);
  }
}

static int car_constructor(mg_node_t *n) {
  car_t *c = mg_node_priv(n);
  c->node = n;
  for (int i = 0; i < 2; i++) {
    dir_t *d = &c->d[i];
    d->c = (conf_t){.cbs = 8192, .ebs = 8192, .cir = 10240, .pir = 10240,
                    .action = {A_FORWARD, A_FORWARD, A_DROP}, .dscp = {10, 12, 14}};
    reset(d, mg_now(mg_node_engine(n)));
    d->armed = NEVER;
    mg_callout_init(&d->co);
  }
  return 0;
}

static int car_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  car_t *c = mg_node_priv(n);
  if (!strcmp(name, "upper")) c->upper = c->d[UP].out = h;
  else if (!strcmp(name, "lower")) c->lower = c->d[DOWN].out = h;
  else return mg_error(-EINVAL, "car has hooks 'upper' and 'lower', not '%s'", name);
  return 0;
}

static void car_disconnect(mg_hook_t *h) {
  mg_node_t *n = mg_hook_node(h);
  car_t *c = mg_node_priv(n);
  dir_t *d = &c->d[h == c->upper ? UP : DOWN];
  if (h == c->upper) c->upper = NULL;
  else c->lower = NULL;
  d->out = NULL;
  flush(c, d);
  if (mg_node_numhooks(n) == 0 && mg_node_valid(n)) mg_node_rmself(n);
}

static void car_close(mg_node_t *n) {
  car_t *c = mg_node_priv(n);
  flush(c, &c->d[DOWN]);
  flush(c, &c->d[UP]);
}

static void car_status(mg_node_t *n, mg_sbuf_t *out) {
  car_t *c = mg_node_priv(n);
  static const char *const names[2] = {"downstream", "upstream"};
  static const char *const modes[4] = {"single rate", "two rate", "RED", "shaping"};
  for (int i = 0; i < 2; i++) {
    dir_t *d = &c->d[i];
    mg_sbuf_printf(out, "%s: %s, cir %lld pir %lld cbs %lld ebs %lld; green %llu "
                   "yellow %llu red %llu, %llu passed, %llu dropped, %u queued\n",
                   names[i], modes[d->c.mode], (long long)d->c.cir, (long long)d->c.pir,
                   (long long)d->c.cbs, (long long)d->c.ebs,
                   (unsigned long long)d->st.colour[GREEN],
                   (unsigned long long)d->st.colour[YELLOW],
                   (unsigned long long)d->st.colour[RED], (unsigned long long)d->st.passed,
                   (unsigned long long)d->st.dropped, d->qn);
  }
}

static const mg_cmd_t car_cmds[] = {
  {"getstats", CAR_GETSTATS, MG_CMD_READONLY, "",
   "{ upstream={ passed droped green yellow red errors } downstream={ ... } }"},
  {"clrstats", CAR_CLRSTATS, 0, "", "zero the counters"},
  {"getclrstats", CAR_GETCLRSTATS, 0, "", "the counters, then zero them"},
  {"getconf", CAR_GETCONF, MG_CMD_READONLY, "", "the settings, as setconf takes them"},
  {"setconf", CAR_SETCONF, 0, CONF_FORM,
   "cir/pir bit/s, cbs/ebs bytes; mode 0 RFC 2697, 1 RFC 2698, 2 RED, 3 shape; "
   "actions 1 forward, 2 drop, 3 mark DSCP; opt 1 colour-aware, 2 count frames"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_car = {
  .name = "car",
  .doc = "Polices (or shapes) the frames between upper and lower, each way\n"
         "(downstream: upper to lower) with token buckets: RFC 2697's\n"
         "single rate or RFC 2698's two rate three colour marker, ng_car's\n"
         "RED-like policer, or a shaper; green, yellow and red frames are\n"
         "forwarded, dropped or marked (their DSCP set).  The buckets fill\n"
         "on the engine clock: under a virtual clock, by the packets'\n"
         "timestamps.",
  .priv_size = sizeof(car_t),
  .flags = MG_TF_FORCE_WRITER,
  .constructor = car_constructor,
  .newhook = car_newhook,
  .rcvdata = car_rcvdata,
  .rcvmsg = car_rcvmsg,
  .disconnect = car_disconnect,
  .close = car_close,
  .status = car_status,
  .cmds = car_cmds,
};
