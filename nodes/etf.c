/*
** etf.c -- sorts Ethernet frames by ethertype (netgraph's ng_etf).
**
** HOOKS     downstream, nomatch, and any other name.
**           A frame from downstream whose ethertype has a filter goes out
**           of that filter's hook, any other out of nomatch.  Towards
**           downstream a frame passes unchanged if it came in on the hook
**           its ethertype belongs to: a filtered ethertype from its own
**           hook, any other from nomatch; the rest is refused (dropped).
** MESSAGES  setfilter { matchhook="ip" ethertype=0x800 }; getstatus ->
**           { packets_in packets_out packets_nomatch packets_refused };
**           setflag N (kept, as ng_etf keeps it, and without effect).
** The ethertype is the outer one at bytes 12-13: a tagged frame's is
** 0x8100.  A frame that is not Ethernet (by its link type) or is shorter
** than an Ethernet header has none and matches no filter.  The counters
** restart when a downstream hook is made.  It shuts down when its last
** hook goes.
*/
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

enum { ETF_SETFLAG = 1, ETF_GETSTATUS, ETF_SETFILTER }; /* ng_etf's numbers */

typedef struct {
  uint16_t ethertype;
  mg_hook_t *hook;
} filter_t;

typedef struct {
  mg_hook_t *downstream, *nomatch;
  filter_t *filters; /* few, changed only by writers: a list will do */
  int nfilters;
  uint32_t flag;
  mg_counter_t in, out, unmatched, refused;
  bool mt;
} etf_t;

/* -1 when the frame has no ethertype to go by. */
static int ethertype(const mg_buf_t *b) {
  if (b->linktype != 1 || b->len < 14) return -1; /* DLT_EN10MB */
  return b->data[12] << 8 | b->data[13];
}

static filter_t *find(etf_t *e, int type) {
  for (int i = 0; i < e->nfilters; i++)
    if (e->filters[i].ethertype == type) return &e->filters[i];
  return NULL;
}

static int etf_constructor(mg_node_t *n) {
  ((etf_t *)mg_node_priv(n))->mt = mg_node_mt(n);
  return 0;
}

static int etf_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  etf_t *e = mg_node_priv(n);
  if (!strcmp(name, "downstream")) {
    e->downstream = h;
    mg_counter_clear(&e->in);
    mg_counter_clear(&e->out);
    mg_counter_clear(&e->unmatched);
    mg_counter_clear(&e->refused);
  } else if (!strcmp(name, "nomatch"))
    e->nomatch = h;
  return 0;
}

static int send_or_drop(mg_hook_t *h, mg_item_t *it) {
  if (h) return mg_forward(h, it);
  mg_drop(it, MG_DROP_POLICY);
  return 0;
}

static int etf_rcvdata(mg_hook_t *h, mg_item_t *it) {
  etf_t *e = mg_node_priv(mg_hook_node(h));
  int type = ethertype(mg_item_buf(it));
  filter_t *f = type >= 0 ? find(e, type) : NULL;
  if (h == e->downstream) {
    mg_counter_add(e->mt, &e->in, 1);
    if (f) return send_or_drop(f->hook, it);
    mg_counter_add(e->mt, &e->unmatched, 1);
    return send_or_drop(e->nomatch, it);
  }
  /* upwards traffic may only come back the way its kind goes down */
  if (f ? f->hook != h : h != e->nomatch) {
    mg_counter_add(e->mt, &e->refused, 1);
    mg_drop(it, MG_DROP_POLICY);
    return 0;
  }
  if (e->downstream) mg_counter_add(e->mt, &e->out, 1);
  return send_or_drop(e->downstream, it);
}

static int setfilter(mg_node_t *n, etf_t *e, const mg_value_t *a) {
  static const char *const known[] = {"matchhook", "ethertype", NULL};
  const char *form = "{ matchhook=\"name\" ethertype=0x800 }";
  const char *name = NULL;
  int64_t type = -1;
  int rc = mg_map_only(a, "setfilter", known, form);
  if (rc) return rc;
  if (!mg_map_str(a, "matchhook", &name) || !mg_map_int(a, "ethertype", &type))
    return -EINVAL;
  if (!name) return mg_error(-EINVAL, "setfilter: matchhook is missing (%s)", form);
  if (!mg_map_get(a, "ethertype"))
    return mg_error(-EINVAL, "setfilter: ethertype is missing (%s)", form);
  if (type < 0 || type > 0xffff)
    return mg_error(-EINVAL, "ethertype: must be from 0 to 0xffff, got %lld",
                    (long long)type);
  mg_hook_t *h = mg_node_hook(n, name);
  if (!h) return mg_error(-ENOENT, "setfilter: etf has no hook '%s'", name);
  if (h == e->downstream)
    return mg_error(-EINVAL, "setfilter: matchhook cannot be downstream");
  filter_t *f = find(e, (int)type);
  if (f)
    return mg_error(-EEXIST, "setfilter: ethertype 0x%04x already goes to '%s'",
                    (unsigned)type, mg_hook_name(f->hook));
  e->filters = mg_realloc(e->filters, (size_t)(e->nfilters + 1) * sizeof *f);
  e->filters[e->nfilters++] = (filter_t){(uint16_t)type, h};
  return 0;
}

static int etf_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last,
                      mg_value_t **reply) {
  (void)last;
  etf_t *e = mg_node_priv(n);
  switch (m->cmd) {
  case ETF_SETFILTER:
    return setfilter(n, e, m->args);
  case ETF_SETFLAG:
    if (!m->args || m->args->type != MG_INT || m->args->u.i < 0 ||
        m->args->u.i > 0xffffffffLL)
      return mg_error(-EINVAL, "setflag takes a number from 0 to 0xffffffff");
    e->flag = (uint32_t)m->args->u.i;
    return 0;
  default: {
    mg_value_t *v = mg_map();
    mg_map_set(v, "packets_in", mg_int((int64_t)mg_counter_get(&e->in)));
    mg_map_set(v, "packets_out", mg_int((int64_t)mg_counter_get(&e->out)));
    mg_map_set(v, "packets_nomatch", mg_int((int64_t)mg_counter_get(&e->unmatched)));
    mg_map_set(v, "packets_refused", mg_int((int64_t)mg_counter_get(&e->refused)));
    *reply = v;
    return 0;
  }
  }
}

static void etf_disconnect(mg_hook_t *h) {
  mg_node_t *n = mg_hook_node(h);
  etf_t *e = mg_node_priv(n);
  int k = 0;
  for (int i = 0; i < e->nfilters; i++) /* its filters go with it */
    if (e->filters[i].hook != h) e->filters[k++] = e->filters[i];
  e->nfilters = k;
  if (h == e->downstream) e->downstream = NULL;
  if (h == e->nomatch) e->nomatch = NULL;
  if (mg_node_numhooks(n) == 0 && mg_node_valid(n)) mg_node_rmself(n);
}

static void etf_shutdown(mg_node_t *n) {
  free(((etf_t *)mg_node_priv(n))->filters);
}

static void etf_status(mg_node_t *n, mg_sbuf_t *out) {
  etf_t *e = mg_node_priv(n);
  mg_sbuf_printf(out, "%llu in from downstream (%llu unmatched), %llu out, "
                 "%llu refused\n",
                 (unsigned long long)mg_counter_get(&e->in),
                 (unsigned long long)mg_counter_get(&e->unmatched),
                 (unsigned long long)mg_counter_get(&e->out),
                 (unsigned long long)mg_counter_get(&e->refused));
  for (int i = 0; i < e->nfilters; i++)
    mg_sbuf_printf(out, "ethertype 0x%04x -> %s\n", e->filters[i].ethertype,
                   mg_hook_name(e->filters[i].hook));
}

static const mg_cmd_t etf_cmds[] = {
  {"setfilter", ETF_SETFILTER, 0, "{ matchhook=\"ip\" ethertype=0x800 }",
   "frames of this ethertype go to and come from this hook"},
  {"getstatus", ETF_GETSTATUS, MG_CMD_READONLY, "",
   "{ packets_in packets_out packets_nomatch packets_refused }"},
  {"setflag", ETF_SETFLAG, 0, "0", "kept for ng_etf's scripts; no effect"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_etf = {
  .name = "etf",
  .doc = "Sorts Ethernet frames from downstream by ethertype: setfilter's\n"
         "hook or nomatch; frames back from those hooks go downstream\n"
         "unchanged if their ethertype belongs to the hook they came by\n"
         "(others are refused).  The outer ethertype counts (0x8100 for a\n"
         "tagged frame); frames not Ethernet by link type match nothing.",
  .priv_size = sizeof(etf_t),
  .constructor = etf_constructor,
  .newhook = etf_newhook,
  .rcvdata = etf_rcvdata,
  .rcvmsg = etf_rcvmsg,
  .disconnect = etf_disconnect,
  .shutdown = etf_shutdown,
  .status = etf_status,
  .cmds = etf_cmds,
};
