/*
** bridge.c -- a learning Ethernet bridge (netgraph's ng_bridge).
**
** HOOKS     link0, link1, ... and uplink1, uplink2, ...  A link learns the
**           source addresses it hears; an uplink does not.  Known unicast
**           goes to its host's link; broadcast, multicast and unknown
**           unicast go to every other hook -- except that when the first
**           hook made is an uplink, unknown unicast goes to uplinks only.
** MESSAGES  setconfig/getconfig { debugLevel loopTimeout maxStaleness
**           minStableAge } (seconds); reset; getstats N, clrstats N,
**           getclrstats N (N for linkN, -N for uplinkN); gettable ->
**           { numHosts hosts=[ { addr linkNum hook age staleness } ] };
**           setpersistent; movehost { addr hook }.
** A host seen on a second link before it is minStableAge seconds old means
** a loop: that link is muted for loopTimeout seconds and forgets its hosts.
** As in ng_bridge the sender learns what went wrong: ELOOP for a loop found
** or a muted link (on the way too: a flood's copy that meets one), EINVAL
** for a runt or a multicast source; a bridge joined to itself is ELOOP.
** Ages count on the engine clock (a one-second callout), so under a
** virtual clock they move with packet time.  It runs as a writer, as
** ng_bridge does, so its table and counters need no locks.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

#define SEC 1000000000LL
#define MIN_BUCKETS 32
#define MAX_BUCKETS (1u << 20)
#define MAX_HOSTS (1u << 22) /* a flood of made-up addresses stops here */
#define MAX_LINKNUM 2147483647 /* ng_bridge takes any u_int32_t; getstats N is signed */

enum { BR_SETCONFIG = 1, BR_GETCONFIG, BR_RESET, BR_GETSTATS, BR_CLRSTATS,
       BR_GETCLRSTATS, BR_GETTABLE, BR_SETPERSISTENT, BR_MOVE_HOST };

/* ng_bridge's per-link counters, in its order and with its field names */
#define STATS(X) X(recvOctets) X(recvPackets) X(recvMulticast) \
  X(recvBroadcast) X(recvUnknown) X(recvRunts) X(recvInvalid) X(xmitOctets) \
  X(xmitPackets) X(xmitMulticasts) X(xmitBroadcasts) X(loopDrops) \
  X(loopDetects) X(memoryFailures)
#define FIELD(f) uint64_t f;
typedef struct { STATS(FIELD) } stats_t;

typedef struct {
  mg_hook_t *hook;
  int num;           /* N of linkN, -N of uplinkN */
  uint32_t loop;     /* seconds left muted */
  bool learn, unknown; /* learns addresses; gets unknown unicast */
  stats_t st;
} link_t;

typedef struct host {
  uint8_t addr[6];
  link_t *link;
  uint32_t age, staleness; /* seconds since learnt, since last heard */
  struct host *next;
} host_t;

typedef struct {
  mg_node_t *node;
  host_t **tab;
  uint32_t nbuckets, nhosts, nlinks;
  int shift; /* 64 - log2(nbuckets) */
  uint32_t debug, loop_timeout, max_stale, min_stable;
  bool persistent, unknown; /* links made now get unknown unicast */
  int64_t tick;             /* engine time the ages count up to */
  mg_callout_t timer;
} bridge_t;

/* {====================================================== host table */
static uint64_t key(const uint8_t *a) {
  uint64_t k = 0;
  for (int i = 0; i < 6; i++) k = k << 8 | a[i];
  return k;
}

static host_t **bucket(bridge_t *b, const uint8_t *a) {
  return &b->tab[(key(a) * 0x9E3779B97F4A7C15u) >> b->shift];
}

static host_t *host_get(bridge_t *b, const uint8_t *a) {
  for (host_t *h = *bucket(b, a); h; h = h->next)
    if (!memcmp(h->addr, a, 6)) return h;
  return NULL;
}

/* Keep the load between 1/4 and 1, as ng_bridge does. */
static void rehash(bridge_t *b) {
  uint32_t n = b->nbuckets;
  if (!b->tab) n = MIN_BUCKETS;
  else if (b->nhosts > n && n < MAX_BUCKETS) n <<= 1;
  else if (b->nhosts < n / 4 && n / 4 >= MIN_BUCKETS) n >>= 2;
  else return;
  host_t **old = b->tab;
  uint32_t oldn = b->nbuckets;
  b->tab = mg_calloc(n, sizeof *b->tab);
  b->nbuckets = n;
  b->shift = 64 - __builtin_ctz(n);
  for (uint32_t i = 0; old && i < oldn; i++)
    for (host_t *h = old[i], *next; h; h = next) {
      next = h->next;
      host_t **p = bucket(b, h->addr);
      h->next = *p;
      *p = h;
    }
  free(old);
}

static host_t *host_put(bridge_t *b, const uint8_t *a, link_t *l) {
  if (b->nhosts >= MAX_HOSTS) return NULL;
  host_t *h = mg_calloc(1, sizeof *h), **p = bucket(b, a);
  memcpy(h->addr, a, 6);
  h->link = l;
  h->next = *p;
  *p = h;
  b->nhosts++;
  rehash(b);
  return h;
}

static void host_sweep(bridge_t *b, link_t *l, bool stale);

/* Host a is on link l now (heard there, or told by movehost).  A host that
** moves sooner than minStableAge after its last move means a loop: l is
** muted for loopTimeout seconds and forgets its hosts (-ELOOP). */
static int host_learn(bridge_t *b, const uint8_t *a, link_t *l) {
  host_t *h = host_get(b, a);
  if (!h) return host_put(b, a, l) ? 0 : -ENOSPC;
  if (h->link == l) return 0;
  if (h->age >= b->min_stable) {
    h->link = l;
    h->age = 0;
    return 0;
  }
  if (b->debug >= 2)
    mg_log(mg_node_engine(b->node), MG_LOG_WARN, "bridge [%x]: loopback detected on %s",
           mg_node_id(b->node), mg_hook_name(l->hook));
  l->loop = b->loop_timeout;
  l->st.loopDetects++;
  host_sweep(b, l, false);
  return -ELOOP;
}

/* Forget the hosts of link l (all of them: NULL), or the stale ones. */
static void host_sweep(bridge_t *b, link_t *l, bool stale) {
  for (uint32_t i = 0; i < b->nbuckets; i++)
    for (host_t **p = &b->tab[i], *h; (h = *p);) {
      if (stale ? h->staleness >= b->max_stale : (!l || h->link == l)) {
        *p = h->next;
        free(h);
        b->nhosts--;
      } else p = &h->next;
    }
  rehash(b);
}
/* }====================================================== */

/* Once a second: age the hosts, forget the stale, unmute links.  Whole
** seconds of engine time pass, however late the callout ran (a virtual
** clock may jump a minute at once). */
static int tick(mg_node_t *n, mg_hook_t *unused, void *arg, intptr_t arg2) {
  (void)unused; (void)arg; (void)arg2;
  bridge_t *b = mg_node_priv(n);
  int64_t now = mg_now(mg_node_engine(n));
  int64_t secs = now > b->tick ? (now - b->tick) / SEC : 0;
  uint32_t s = secs > UINT32_MAX ? UINT32_MAX : (uint32_t)secs;
  if (s) {
    b->tick += secs * SEC;
    for (uint32_t i = 0; i < b->nbuckets; i++)
      for (host_t *h = b->tab[i]; h; h = h->next) {
        h->age = h->age > UINT32_MAX - s ? UINT32_MAX : h->age + s;
        h->staleness = h->staleness > UINT32_MAX - s ? UINT32_MAX : h->staleness + s;
      }
    host_sweep(b, NULL, true);
    for (mg_hook_t *hk = mg_node_hooks(n); hk; hk = mg_hook_next(hk)) {
      link_t *l = mg_hook_priv(hk);
      if (!l || !l->loop) continue;
      l->loop = l->loop > s ? l->loop - s : 0;
      if (!l->loop && b->debug >= 2)
        mg_log(mg_node_engine(n), MG_LOG_INFO, "bridge [%x]: restoring looped back %s",
               mg_node_id(n), mg_hook_name(hk));
    }
  }
  mg_callout_reset(&b->timer, n, b->tick + SEC - now, tick, NULL, 0);
  return 0;
}

static int br_constructor(mg_node_t *n) {
  bridge_t *b = mg_node_priv(n);
  b->node = n;
  b->debug = 1;
  b->loop_timeout = 60;
  b->max_stale = 15 * 60;
  b->min_stable = 1;
  b->unknown = true;
  rehash(b);
  mg_callout_init(&b->timer);
  b->tick = mg_now(mg_node_engine(n));
  mg_callout_reset(&b->timer, n, SEC, tick, NULL, 0);
  return 0;
}

/* linkN (N >= 0) or uplinkN (N >= 1): the link number, else 0 with *ok false */
static int link_num(const char *name, bool *ok) {
  bool up = !strncmp(name, "uplink", 6);
  const char *d = name + (up ? 6 : 4);
  char *end;
  *ok = false;
  if (!up && strncmp(name, "link", 4)) return 0;
  if (*d < '0' || *d > '9' || (*d == '0' && d[1])) return 0;
  unsigned long v = strtoul(d, &end, 10);
  if (*end || v > MAX_LINKNUM || (up && v == 0)) return 0;
  *ok = true;
  return up ? -(int)v : (int)v;
}

static int br_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  bridge_t *b = mg_node_priv(n);
  bool ok;
  int num = link_num(name, &ok);
  if (!ok)
    return mg_error(-EINVAL, "bridge has no hook '%s' (link0..link%d, uplink1..uplink%d)",
                    name, MAX_LINKNUM, MAX_LINKNUM);
  link_t *l = mg_calloc(1, sizeof *l);
  l->hook = h;
  l->num = num;
  l->learn = num >= 0;
  if (num < 0) {
    l->unknown = true;
    if (b->nlinks == 0) b->unknown = false; /* restrictive mode, as ng_bridge */
  } else l->unknown = b->unknown;
  b->nlinks++;
  mg_hook_set_priv(h, l);
  return 0;
}

/* A bridge joined to itself is a loop at once: refused, as ng_bridge does. */
static int br_connect(mg_hook_t *h) {
  mg_hook_t *p = mg_hook_peer(h);
  if (p && mg_hook_node(p) == mg_hook_node(h))
    return mg_error(-ELOOP, "bridge [%x]: %s joined to the bridge itself is a loop",
                    mg_node_id(mg_hook_node(h)), mg_hook_name(h));
  return 0;
}

static void xmit(link_t *l, uint32_t len, int cast) {
  l->st.xmitPackets++;
  l->st.xmitOctets += len;
  if (cast == 1) l->st.xmitMulticasts++;
  else if (cast == 2) l->st.xmitBroadcasts++;
}

/* A frame the bridge refuses: counted, dropped, and the sender told why,
** with ng_bridge's error (EINVAL for a bad frame, ELOOP for a loop). */
static int refuse(mg_item_t *it, uint64_t *counter, int rc, const char *why,
                  const link_t *l) {
  (*counter)++;
  mg_drop(it, MG_DROP_POLICY);
  return mg_error(rc, "bridge [%x]: %s on %s", mg_node_id(mg_hook_node(l->hook)), why,
                  mg_hook_name(l->hook));
}

static int br_rcvdata(mg_hook_t *in, mg_item_t *it) {
  mg_node_t *n = mg_hook_node(in);
  bridge_t *b = mg_node_priv(n);
  link_t *l = mg_hook_priv(in);
  const mg_buf_t *buf = mg_item_buf(it);
  const uint8_t *dst = buf->data, *src = buf->data + 6;
  if (buf->len < 14)
    return refuse(it, &l->st.recvRunts, -EINVAL, "a frame shorter than an Ethernet header", l);
  if (src[0] & 1)
    return refuse(it, &l->st.recvInvalid, -EINVAL, "a multicast source address", l);
  if (l->loop) return refuse(it, &l->st.loopDrops, -ELOOP, "a frame on a link muted (a loop)", l);
  l->st.recvPackets++;
  l->st.recvOctets += buf->len;
  int cast = 0; /* 1 multicast, 2 broadcast */
  if (dst[0] & 1) {
    cast = !memcmp(dst, "\xff\xff\xff\xff\xff\xff", 6) ? 2 : 1;
    if (cast == 2) l->st.recvBroadcast++;
    else l->st.recvMulticast++;
  }
  host_t *h = host_get(b, src);
  if (h) h->staleness = 0;
  if (h ? h->link != l : l->learn) {
    int rc = host_learn(b, src, l);
    if (rc == -ELOOP)
      return refuse(it, &l->st.loopDrops, -ELOOP,
                    "a loop: a host heard again within minStableAge, the link muted", l);
    if (rc) l->st.memoryFailures++; /* still forwarded, just not learnt */
  }
  if (!cast) {
    if ((h = host_get(b, dst))) {
      if (h->link == l) {
        mg_drop(it, MG_DROP_POLICY); /* the host is on the side it came from */
        return 0;
      }
      xmit(h->link, buf->len, 0);
      return mg_forward(h->link->hook, it);
    }
    l->st.recvUnknown++;
  }
  /* Flood: copies share the bytes; the last link gets the original.  A
  ** copy's failure (a loop found further on: ELOOP) is the sender's too,
  ** as in ng_bridge; the other links still get theirs. */
  link_t *last = NULL;
  int err = 0;
  for (mg_hook_t *hk = mg_node_hooks(n); hk; hk = mg_hook_next(hk)) {
    link_t *o = mg_hook_priv(hk);
    if (!o || o == l || !mg_hook_connected(hk) || (!cast && !o->unknown)) continue;
    if (last) {
      xmit(last, buf->len, cast);
      int rc = mg_forward(last->hook, mg_item_dup(it));
      if (rc && !err) err = rc;
    }
    last = o;
  }
  if (!last) {
    mg_drop(it, MG_DROP_POLICY);
    return 0;
  }
  xmit(last, buf->len, cast);
  int rc = mg_forward(last->hook, it);
  return err ? err : rc;
}

/* {====================================================== messages */
static int u32_field(const mg_value_t *args, const char *k, uint32_t max,
                     uint32_t *out) {
  mg_value_t *v = mg_map_get(args, k);
  if (!v) return 0;
  if (v->type != MG_INT || v->u.i < 0 || v->u.i > max)
    return mg_error(-EINVAL, "setconfig: %s must be from 0 to %u", k, max);
  *out = (uint32_t)v->u.i;
  return 0;
}

static int setconfig(bridge_t *b, const mg_value_t *args) {
  static const char *fields[] = {"debugLevel", "loopTimeout", "maxStaleness",
                                 "minStableAge", "ipfw"};
  if (!args || args->type != MG_MAP)
    return mg_error(-EINVAL, "setconfig takes { debugLevel=1 loopTimeout=60 "
                             "maxStaleness=900 minStableAge=1 }");
  for (uint32_t i = 0; i < args->u.m.n; i++) {
    size_t k = 0;
    while (k < 5 && strcmp(args->u.m.kv[i].key, fields[k])) k++;
    if (k == 5)
      return mg_error(-EINVAL, "setconfig: unknown field '%s'", args->u.m.kv[i].key);
  }
  /* ng_bridge's ipfw flags were never implemented; all zero is accepted */
  const mg_value_t *ipfw = mg_map_get(args, "ipfw");
  for (uint32_t i = 0; ipfw && i < (ipfw->type == MG_ARRAY ? ipfw->u.a.n : 1); i++)
    if (ipfw->type != MG_ARRAY || ipfw->u.a.v[i]->type != MG_INT || ipfw->u.a.v[i]->u.i)
      return mg_error(-ENOTSUP, "setconfig: ipfw must be all zero (there is no ipfw here)");
  uint32_t d = b->debug, lt = b->loop_timeout, ms = b->max_stale, mn = b->min_stable;
  int rc;
  if ((rc = u32_field(args, "debugLevel", 255, &d)) ||
      (rc = u32_field(args, "loopTimeout", UINT32_MAX, &lt)) ||
      (rc = u32_field(args, "maxStaleness", UINT32_MAX, &ms)) ||
      (rc = u32_field(args, "minStableAge", UINT32_MAX, &mn)))
    return rc;
  b->debug = d, b->loop_timeout = lt, b->max_stale = ms, b->min_stable = mn;
  return 0;
}

static char *link_name(int num, char *buf, size_t len) {
  snprintf(buf, len, num < 0 ? "uplink%d" : "link%d", num < 0 ? -num : num);
  return buf;
}

static int find_link(mg_node_t *n, const char *cmd, const mg_value_t *args,
                     link_t **out) {
  char name[32];
  if (!args || args->type != MG_INT || args->u.i < -MAX_LINKNUM || args->u.i > MAX_LINKNUM)
    return mg_error(-EINVAL, "%s takes a link number: N for linkN, -N for uplinkN", cmd);
  mg_hook_t *h = mg_node_hook(n, link_name((int)args->u.i, name, sizeof name));
  if (!h) return mg_error(-ENOTCONN, "%s: bridge has no hook '%s'", cmd, name);
  *out = mg_hook_priv(h);
  return 0;
}

static bool parse_addr(const char *s, uint8_t *a) {
  unsigned x[6];
  int used = 0;
  if (sscanf(s, "%x:%x:%x:%x:%x:%x%n", &x[0], &x[1], &x[2], &x[3], &x[4], &x[5],
             &used) != 6 || s[used])
    return false;
  for (int i = 0; i < 6; i++) {
    if (x[i] > 255) return false;
    a[i] = (uint8_t)x[i];
  }
  return true;
}

/* Put a host on a link by hand, as if heard there (FreeBSD's movehost);
** no hook, or "": the hook the message came in by. */
static int movehost(mg_node_t *n, bridge_t *b, const mg_value_t *args,
                    mg_hook_t *last) {
  const char *addr = NULL, *hook = NULL;
  uint8_t a[6];
  if (!args || args->type != MG_MAP)
    return mg_error(-EINVAL, "movehost takes { addr=\"00:11:22:33:44:55\" hook=\"link0\" }");
  for (uint32_t i = 0; i < args->u.m.n; i++)
    if (strcmp(args->u.m.kv[i].key, "addr") && strcmp(args->u.m.kv[i].key, "hook"))
      return mg_error(-EINVAL, "movehost: unknown field '%s'", args->u.m.kv[i].key);
  if (!mg_map_str(args, "addr", &addr) || !mg_map_str(args, "hook", &hook))
    return -EINVAL;
  if (!addr || !parse_addr(addr, a) || (a[0] & 1))
    return mg_error(-EINVAL, "movehost: addr must be a unicast Ethernet address "
                             "like \"00:11:22:33:44:55\"");
  mg_hook_t *h = hook && *hook ? mg_node_hook(n, hook) : last;
  if (!h && hook && *hook)
    return mg_error(-ENOENT, "movehost: bridge has no hook '%s'", hook);
  if (!h)
    return mg_error(-ENOENT, "movehost: no hook given, and the message came by none");
  int rc = host_learn(b, a, mg_hook_priv(h));
  if (rc == -ELOOP)
    return mg_error(rc, "movehost: %s moved again within minStableAge: a loop, %s muted",
                    addr, mg_hook_name(h));
  if (rc) return mg_error(rc, "movehost: the host table is full");
  host_get(b, a)->staleness = 0;
  return 0;
}

static mg_value_t *gettable(bridge_t *b) {
  mg_value_t *v = mg_map(), *a = mg_array();
  char s[32];
  mg_map_set(v, "numHosts", mg_int(b->nhosts));
  for (uint32_t i = 0; i < b->nbuckets; i++)
    for (host_t *h = b->tab[i]; h; h = h->next) {
      mg_value_t *e = mg_map();
      const uint8_t *x = h->addr;
      snprintf(s, sizeof s, "%02x:%02x:%02x:%02x:%02x:%02x", x[0], x[1], x[2], x[3], x[4], x[5]);
      mg_map_set(e, "addr", mg_str(s));
      mg_map_set(e, "linkNum", mg_int(h->link->num));
      mg_map_set(e, "hook", mg_str(mg_hook_name(h->link->hook)));
      mg_map_set(e, "age", mg_int(h->age));
      mg_map_set(e, "staleness", mg_int(h->staleness));
      mg_array_push(a, e);
    }
  mg_map_set(v, "hosts", a);
  return v;
}

static int br_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last,
                     mg_value_t **reply) {
  bridge_t *b = mg_node_priv(n);
  link_t *l = NULL;
  int rc;
  switch (m->cmd) {
  case BR_SETCONFIG:
    return setconfig(b, m->args);
  case BR_GETCONFIG:
    *reply = mg_map();
    mg_map_set(*reply, "debugLevel", mg_int(b->debug));
    mg_map_set(*reply, "loopTimeout", mg_int(b->loop_timeout));
    mg_map_set(*reply, "maxStaleness", mg_int(b->max_stale));
    mg_map_set(*reply, "minStableAge", mg_int(b->min_stable));
    return 0;
  case BR_RESET:
    host_sweep(b, NULL, false);
    for (mg_hook_t *h = mg_node_hooks(n); h; h = mg_hook_next(h))
      if ((l = mg_hook_priv(h))) {
        l->loop = 0;
        memset(&l->st, 0, sizeof l->st);
      }
    return 0;
  case BR_GETSTATS: case BR_CLRSTATS: case BR_GETCLRSTATS:
    if ((rc = find_link(n, m->cmdstr, m->args, &l))) return rc;
    if (m->cmd != BR_CLRSTATS) {
      *reply = mg_map();
#define PUT(f) mg_map_set(*reply, #f, mg_int((int64_t)l->st.f));
      STATS(PUT)
#undef PUT
    }
    if (m->cmd != BR_GETSTATS) memset(&l->st, 0, sizeof l->st);
    return 0;
  case BR_GETTABLE:
    *reply = gettable(b);
    return 0;
  case BR_SETPERSISTENT:
    b->persistent = true;
    return 0;
  case BR_MOVE_HOST:
    return movehost(n, b, m->args, last);
  }
  return mg_error(-EINVAL, "bridge: unknown command '%s'", m->cmdstr);
}
/* }====================================================== */

static void br_disconnect(mg_hook_t *h) {
  mg_node_t *n = mg_hook_node(h);
  bridge_t *b = mg_node_priv(n);
  link_t *l = mg_hook_priv(h);
  if (l) {
    host_sweep(b, l, false);
    mg_hook_set_priv(h, NULL);
    free(l);
    b->nlinks--;
  }
  if (mg_node_numhooks(n) == 0 && mg_node_valid(n) && !b->persistent)
    mg_node_rmself(n);
}

static void br_close(mg_node_t *n) {
  mg_callout_stop(&((bridge_t *)mg_node_priv(n))->timer);
}

static void br_shutdown(mg_node_t *n) {
  bridge_t *b = mg_node_priv(n);
  mg_callout_stop(&b->timer);
  host_sweep(b, NULL, false);
  free(b->tab);
  b->tab = NULL;
}

static void br_status(mg_node_t *n, mg_sbuf_t *out) {
  bridge_t *b = mg_node_priv(n);
  mg_sbuf_printf(out, "%u hosts, %u links%s\n", b->nhosts, b->nlinks,
                 b->unknown ? "" : "; unknown unicast to uplinks only");
  for (mg_hook_t *h = mg_node_hooks(n); h; h = mg_hook_next(h)) {
    link_t *l = mg_hook_priv(h);
    if (l && l->loop)
      mg_sbuf_printf(out, "%s muted for %u s (loop)\n", mg_hook_name(h), l->loop);
  }
}

static const mg_cmd_t br_cmds[] = {
  {"setconfig", BR_SETCONFIG, 0,
   "{ debugLevel=1 loopTimeout=60 maxStaleness=900 minStableAge=1 }",
   "set the timeouts (seconds); fields left out keep their values"},
  {"getconfig", BR_GETCONFIG, MG_CMD_READONLY, "", "the current config"},
  {"reset", BR_RESET, 0, "", "forget every host, unmute links, zero counters"},
  {"getstats", BR_GETSTATS, MG_CMD_READONLY, "N",
   "a link's counters (N: linkN, -N: uplinkN)"},
  {"clrstats", BR_CLRSTATS, 0, "N", "zero a link's counters"},
  {"getclrstats", BR_GETCLRSTATS, 0, "N", "get a link's counters, then zero them"},
  {"gettable", BR_GETTABLE, MG_CMD_READONLY, "",
   "{ numHosts hosts=[ { addr linkNum hook age staleness } ] }"},
  {"setpersistent", BR_SETPERSISTENT, 0, "",
   "do not shut down when the last hook goes"},
  {"movehost", BR_MOVE_HOST, 0, "{ addr=\"00:11:22:33:44:55\" hook=\"link0\" }",
   "put a host on a link, as if heard there (no hook: the one the message came by)"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_bridge = {
  .name = "bridge",
  .doc = "A learning Ethernet bridge over hooks link0.. and uplink1..: known\n"
         "unicast goes to its host's link; broadcast, multicast and unknown\n"
         "unicast to every other hook (unknown unicast to uplinks only when\n"
         "the first hook made was an uplink; uplinks do not learn).  Hosts\n"
         "age on the engine clock and are forgotten after maxStaleness\n"
         "seconds or when their hook goes; a host that moves links sooner\n"
         "than minStableAge mutes the new link for loopTimeout seconds; the\n"
         "send that found the loop, and one into a muted link, fails with\n"
         "ELOOP (a runt or a multicast source: EINVAL), and a bridge joined to\n"
         "itself is refused with ELOOP, as in ng_bridge.\n"
         "Flooding to N hooks makes N-1 copies, within the engine's fanout.\n"
         "Addresses are strings \"02:00:00:00:00:01\"; linkNum is N for linkN,\n"
         "-N for uplinkN; ipfw (never built in ng_bridge) must be all zero.",
  .priv_size = sizeof(bridge_t),
  .flags = MG_TF_FORCE_WRITER,
  .constructor = br_constructor,
  .close = br_close,
  .shutdown = br_shutdown,
  .newhook = br_newhook,
  .connect = br_connect,
  .rcvdata = br_rcvdata,
  .rcvmsg = br_rcvmsg,
  .disconnect = br_disconnect,
  .status = br_status,
  .cmds = br_cmds,
};
