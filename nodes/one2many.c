/*
** one2many.c -- one hook multiplexed over many (netgraph's ng_one2many).
**
** HOOKS     one, many0 .. many63.
**           Data from any many link goes out of one.  Data from one goes
**           out of the enabled, connected many links by xmitAlg:
**           1 roundrobin (each packet to the next link), 2 all (a copy to
**           every link), 3 failover (the first link that is up).
** MESSAGES  setconfig { xmitAlg=1 failAlg=1 enabledLinks=[ 1 1 0 ... ] },
**           getconfig; getstats { linkNum=N } (-1 is the one hook) ->
**           { recvOctets recvPackets xmitOctets xmitPackets }; clrstats,
**           getclrstats.  Only failAlg 1 (manual) exists here.
** It shuts itself down when its last hook goes.
*/
#include <stdio.h>
#include <string.h>

#include "builtin.h"

#define MAXLINKS 64
enum { XMIT_RR = 1, XMIT_ALL = 2, XMIT_FAILOVER = 3 };
enum { FAIL_MANUAL = 1, FAIL_NOTIFY = 2 };
enum { O2M_SETCONFIG = 1, O2M_GETCONFIG, O2M_GETSTATS, O2M_CLRSTATS,
       O2M_GETCLRSTATS };

typedef struct {
  mg_counter_t recv_oct, recv_pkts, xmit_oct, xmit_pkts;
} link_stats_t;

typedef struct {
  mg_hook_t *one, *many[MAXLINKS];
  link_stats_t one_stats, stats[MAXLINKS];
  bool enabled[MAXLINKS];
  int xmit, fail;
  uint8_t active[MAXLINKS]; /* links data may go to, rebuilt by writers */
  int nactive;
  mg_counter_t rr; /* next round-robin turn */
  bool mt;
} o2m_t;

static int link_of(const char *name) {
  if (!strcmp(name, "one")) return -1;
  int n, used;
  if (sscanf(name, "many%d%n", &n, &used) == 1 && name[used] == '\0' &&
      n >= 0 && n < MAXLINKS && (n == 0 || name[4] != '0'))
    return n;
  return -2;
}

static void o2m_update(o2m_t *o) {
  o->nactive = 0;
  for (int i = 0; i < MAXLINKS; i++)
    if (o->many[i] && o->enabled[i]) /* a link still joining drops (nopeer) */
      o->active[o->nactive++] = (uint8_t)i;
}

static int o2m_constructor(mg_node_t *n) {
  o2m_t *o = mg_node_priv(n);
  o->xmit = XMIT_RR;
  o->fail = FAIL_MANUAL;
  for (int i = 0; i < MAXLINKS; i++) o->enabled[i] = true;
  o->mt = mg_node_mt(n);
  return 0;
}

static int o2m_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  o2m_t *o = mg_node_priv(n);
  int l = link_of(name);
  if (l == -2)
    return mg_error(-EINVAL, "one2many has no hook '%s' (one, many0..many%d)",
                    name, MAXLINKS - 1);
  if (l == -1) o->one = h;
  else {
    o->many[l] = h;
    memset(&o->stats[l], 0, sizeof o->stats[l]);
  }
  mg_hook_set_priv(h, (void *)(intptr_t)l);
  return 0;
}

static int o2m_connect(mg_hook_t *h) {
  o2m_update(mg_node_priv(mg_hook_node(h)));
  return 0;
}

static void count(bool mt, mg_counter_t *oct, mg_counter_t *pkts, uint32_t len) {
  mg_counter_add(mt, oct, len);
  mg_counter_add(mt, pkts, 1);
}

static int o2m_rcvdata(mg_hook_t *h, mg_item_t *it) {
  o2m_t *o = mg_node_priv(mg_hook_node(h));
  int l = (int)(intptr_t)mg_hook_priv(h);
  uint32_t len = mg_item_buf(it)->len;
  if (l >= 0) { /* many -> one */
    count(o->mt, &o->stats[l].recv_oct, &o->stats[l].recv_pkts, len);
    if (!o->one) {
      mg_drop(it, MG_DROP_POLICY);
      return 0;
    }
    count(o->mt, &o->one_stats.xmit_oct, &o->one_stats.xmit_pkts, len);
    return mg_forward(o->one, it);
  }
  count(o->mt, &o->one_stats.recv_oct, &o->one_stats.recv_pkts, len);
  if (o->nactive == 0) {
    mg_drop(it, MG_DROP_POLICY);
    return 0;
  }
  int pick;
  switch (o->xmit) {
  case XMIT_ALL:
    for (int i = 0; i < o->nactive - 1; i++) {
      int k = o->active[i];
      count(o->mt, &o->stats[k].xmit_oct, &o->stats[k].xmit_pkts, len);
      mg_forward(o->many[k], mg_item_dup(it));
    }
    pick = o->active[o->nactive - 1];
    break;
  case XMIT_FAILOVER:
    pick = o->active[0];
    break;
  default: { /* readers may race for turns: each still gets one */
    uint64_t turn;
    if (o->mt) turn = atomic_fetch_add_explicit(&o->rr, 1, memory_order_relaxed);
    else {
      turn = mg_counter_get(&o->rr);
      mg_counter_add(false, &o->rr, 1);
    }
    pick = o->active[turn % (uint64_t)o->nactive];
  }
  }
  count(o->mt, &o->stats[pick].xmit_oct, &o->stats[pick].xmit_pkts, len);
  return mg_forward(o->many[pick], it);
}

static int xmit_of(const mg_value_t *v, int *out) {
  if (!v) return 0;
  if (v->type == MG_INT && v->u.i >= XMIT_RR && v->u.i <= XMIT_FAILOVER) {
    *out = (int)v->u.i;
    return 0;
  }
  if (v->type == MG_STR) {
    if (!strcmp(v->u.s.p, "roundrobin")) { *out = XMIT_RR; return 0; }
    if (!strcmp(v->u.s.p, "all")) { *out = XMIT_ALL; return 0; }
    if (!strcmp(v->u.s.p, "failover")) { *out = XMIT_FAILOVER; return 0; }
  }
  return mg_error(-EINVAL, "xmitAlg is 1 (roundrobin), 2 (all) or 3 (failover)");
}

static int setconfig(o2m_t *o, const mg_value_t *args) {
  static const char *const known[] = {"xmitAlg", "failAlg", "enabledLinks", NULL};
  int rc = mg_map_only(args, "setconfig", known,
                       "{ xmitAlg=1 failAlg=1 enabledLinks=[ ... ] }");
  if (rc) return rc;
  int xmit = o->xmit;
  if ((rc = xmit_of(mg_map_get(args, "xmitAlg"), &xmit))) return rc;
  int64_t fail = o->fail;
  if (!mg_map_int(args, "failAlg", &fail)) return -EINVAL;
  if (fail == FAIL_NOTIFY)
    return mg_error(-ENOTSUP, "failAlg 2 (notify) needs link-state messages, "
                              "which moongraph does not carry; use 1 (manual)");
  if (fail != FAIL_MANUAL) return mg_error(-EINVAL, "failAlg must be 1 (manual)");
  bool en[MAXLINKS];
  memcpy(en, o->enabled, sizeof en);
  mg_value_t *links = mg_map_get(args, "enabledLinks");
  if (links && links->type == MG_MAP && links->u.m.n == 0) { /* {} from Lua: [ ] */
    memset(en, 0, sizeof en);
  } else if (links) {
    /* as ng_one2many's fixed array: a link not listed is disabled */
    memset(en, 0, sizeof en);
    if (links->type != MG_ARRAY || links->u.a.n > MAXLINKS)
      return mg_error(-EINVAL, "enabledLinks is an array of at most %d 0/1 values",
                      MAXLINKS);
    for (uint32_t i = 0; i < links->u.a.n; i++) {
      mg_value_t *x = links->u.a.v[i];
      if (x->type == MG_INT) en[i] = x->u.i != 0;
      else if (x->type == MG_BOOL) en[i] = x->u.b;
      else return mg_error(-EINVAL, "enabledLinks[%u] must be 0 or 1", i);
    }
  }
  o->xmit = xmit;
  o->fail = (int)fail;
  memcpy(o->enabled, en, sizeof en);
  o2m_update(o);
  return 0;
}

static mg_value_t *link_stats(link_stats_t *s) {
  mg_value_t *v = mg_map();
  mg_map_set(v, "recvOctets", mg_int((int64_t)mg_counter_get(&s->recv_oct)));
  mg_map_set(v, "recvPackets", mg_int((int64_t)mg_counter_get(&s->recv_pkts)));
  mg_map_set(v, "xmitOctets", mg_int((int64_t)mg_counter_get(&s->xmit_oct)));
  mg_map_set(v, "xmitPackets", mg_int((int64_t)mg_counter_get(&s->xmit_pkts)));
  return v;
}

static int o2m_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last,
                      mg_value_t **reply) {
  (void)last;
  o2m_t *o = mg_node_priv(n);
  switch (m->cmd) {
  case O2M_SETCONFIG:
    return setconfig(o, m->args);
  case O2M_GETCONFIG: {
    mg_value_t *v = mg_map(), *a = mg_array();
    mg_map_set(v, "xmitAlg", mg_int(o->xmit));
    mg_map_set(v, "failAlg", mg_int(o->fail));
    for (int i = 0; i < MAXLINKS; i++) mg_array_push(a, mg_int(o->enabled[i]));
    mg_map_set(v, "enabledLinks", a);
    *reply = v;
    return 0;
  }
  default: {
    int64_t l = -1;
    static const char *const known[] = {"linkNum", NULL};
    int rc = mg_map_only(m->args, m->cmdstr, known, "{ linkNum=N }");
    if (rc) return rc;
    if (!mg_map_int(m->args, "linkNum", &l)) return -EINVAL;
    if (l < -1 || l >= MAXLINKS)
      return mg_error(-EINVAL, "linkNum is -1 (one) or 0..%d", MAXLINKS - 1);
    link_stats_t *s = l < 0 ? &o->one_stats : &o->stats[l];
    if (m->cmd != O2M_CLRSTATS) *reply = link_stats(s);
    if (m->cmd != O2M_GETSTATS) memset(s, 0, sizeof *s);
    return 0;
  }
  }
}

static void o2m_disconnect(mg_hook_t *h) {
  mg_node_t *n = mg_hook_node(h);
  o2m_t *o = mg_node_priv(n);
  int l = (int)(intptr_t)mg_hook_priv(h);
  if (l < 0) o->one = NULL;
  else o->many[l] = NULL;
  o2m_update(o);
  if (mg_node_numhooks(n) == 0 && mg_node_valid(n)) mg_node_rmself(n);
}

static const mg_cmd_t o2m_cmds[] = {
  {"setconfig", O2M_SETCONFIG, 0,
   "{ xmitAlg=1 failAlg=1 enabledLinks=[ 1 1 ... ] }",
   "choose how data from one is spread (1 rr, 2 all, 3 failover); enabledLinks is "
   "the whole array: a link it leaves out is disabled"},
  {"getconfig", O2M_GETCONFIG, MG_CMD_READONLY, "", "the current config"},
  {"getstats", O2M_GETSTATS, MG_CMD_READONLY, "{ linkNum=0 }",
   "counters of a many link (-1: the one hook)"},
  {"clrstats", O2M_CLRSTATS, 0, "{ linkNum=0 }", "zero a link's counters"},
  {"getclrstats", O2M_GETCLRSTATS, 0, "{ linkNum=0 }",
   "get a link's counters, then zero them"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_one2many = {
  .name = "one2many",
  .doc = "Multiplexes hook 'one' over hooks many0..many63: round-robin,\n"
         "to all, or failover.",
  .priv_size = sizeof(o2m_t),
  .constructor = o2m_constructor,
  .newhook = o2m_newhook,
  .connect = o2m_connect,
  .rcvdata = o2m_rcvdata,
  .rcvmsg = o2m_rcvmsg,
  .disconnect = o2m_disconnect,
  .cmds = o2m_cmds,
};
