/*
** vlan.c -- 802.1Q VLAN tags taken off and put on (netgraph's ng_vlan).
**
** HOOKS     downstream (the tagged side), nomatch, and any other name,
**           tied to a VLAN by addfilter.
**           A frame from downstream tagged with a filter's VID goes out
**           of that filter's hook with the tag taken off; other frames
**           (another VID, untagged, not Ethernet) go out of nomatch.  A
**           frame from a filter's hook is tagged with its VID, PCP and CFI
**           and goes down; one from nomatch goes down as it is.
** MESSAGES  addfilter { hook="v10" vid=10 pcp=0 cfi=0 } (or the older
**           vlan=10); delfilter "v10"; delvidflt 10; gettable -> { n=1
**           filter=[ { hook vlan vid pcp cfi } ] }; setdecap / getdecap
**           0|1; setencap / getencap 0..3; setencapproto / getencapproto
**           0x8100 (0x88a8 for 802.1ad service tags).
** What FreeBSD keeps beside an mbuf as its out-of-band tag (M_VLANTAG) is
** a buffer tag here (cookie VLAN_COOKIE, id VLAN_OOB, value the 16-bit
** TCI); capture files do not keep it.  A frame from downstream that has
** one is sorted by it as if tagged.  setdecap 1: a tagged frame for
** nomatch leaves with its tag moved out of band; setencap bit 1 (on by
** default): frames from filter hooks are tagged in the frame, else out of
** band only; bit 2: frames from nomatch with an out-of-band tag get it
** put back in the frame.  It shuts down when its last hook goes.
*/
#include <string.h>

#include "builtin.h"

#define VLAN_COOKIE 1068486472u /* ng_vlan's */
#define VLAN_OOB 1              /* the buffer tag's id */
#define NVID 4096
#define FILTERED 0x10000 /* in a hook's priv: it has a filter (TCI below) */
enum { ENCAP_FROM_FILTER = 1, ENCAP_FROM_NOMATCH = 2 };
enum { VLAN_ADDFILTER = 1, VLAN_DELFILTER, VLAN_GETTABLE, VLAN_DELVIDFLT,
       VLAN_GETDECAP, VLAN_SETDECAP, VLAN_GETENCAP, VLAN_SETENCAP,
       VLAN_GETENCAPPROTO, VLAN_SETENCAPPROTO }; /* ng_vlan's numbers */

typedef struct {
  mg_hook_t *downstream, *nomatch;
  uint32_t decap, encap;
  uint16_t proto; /* the TPID of the tags we take off and put on */
  mg_hook_t *vid[NVID];
} vlan_t;

static uint32_t tci_of(mg_hook_t *h) { return (uint32_t)(uintptr_t)mg_hook_priv(h); }

static bool oob_get(const mg_buf_t *b, uint16_t *tci) {
  uint64_t v;
  if (!mg_buf_tag_get(b, VLAN_COOKIE, VLAN_OOB, &v)) return false;
  *tci = (uint16_t)v;
  return true;
}

static void oob_del(mg_buf_t *b) {
  for (uint8_t i = 0; i < b->ntags; i++)
    if (b->tags[i].cookie == VLAN_COOKIE && b->tags[i].id == VLAN_OOB) {
      b->tags[i] = b->tags[--b->ntags];
      return;
    }
}

/* The addresses move up over the 4 tag bytes. */
static void untag(mg_buf_t *b) {
  memmove(b->data + 4, b->data, 12);
  mg_buf_strip(b, 4);
}

static bool tag(mg_buf_t *b, uint16_t proto, uint16_t tci) {
  uint8_t *p = mg_buf_prepend(b, 4);
  if (!p) return false;
  memmove(p, p + 4, 12);
  p[12] = (uint8_t)(proto >> 8), p[13] = (uint8_t)proto;
  p[14] = (uint8_t)(tci >> 8), p[15] = (uint8_t)tci;
  return true;
}

static int send_or_drop(mg_hook_t *h, mg_item_t *it) {
  if (h) return mg_forward(h, it);
  mg_drop(it, MG_DROP_POLICY);
  return 0;
}

static int from_downstream(vlan_t *v, mg_item_t *it) {
  mg_buf_t *b = mg_item_buf(it);
  uint16_t tci = 0;
  bool eth = b->linktype == 1 && b->len >= 14, oob = eth && oob_get(b, &tci);
  bool inband = !oob && eth && b->len >= 18 &&
                (b->data[12] << 8 | b->data[13]) == v->proto;
  if (!oob && !inband) return send_or_drop(v->nomatch, it);
  if (inband) tci = (uint16_t)(b->data[14] << 8 | b->data[15]);
  mg_hook_t *h = v->vid[tci & 0xfff];
  if (!h) {
    if (!v->nomatch || !inband || !v->decap) return send_or_drop(v->nomatch, it);
    b = mg_item_writable(it);
    if (mg_buf_tag_set(b, VLAN_COOKIE, VLAN_OOB, tci)) { /* no room */
      mg_drop(it, MG_DROP_ERROR);
      return mg_error(-ENOSPC, "vlan: no room for an out-of-band tag");
    }
    untag(b);
    return mg_forward(v->nomatch, it);
  }
  b = mg_item_writable(it);
  if (oob) oob_del(b); /* the frame itself has no tag */
  else untag(b);
  return mg_forward(h, it);
}

static int vlan_rcvdata(mg_hook_t *h, mg_item_t *it) {
  vlan_t *v = mg_node_priv(mg_hook_node(h));
  if (h == v->downstream) return from_downstream(v, it);
  if (!v->downstream) return send_or_drop(NULL, it);
  mg_buf_t *b = mg_item_buf(it);
  uint16_t tci = 0;
  if (h == v->nomatch) {
    if (!(v->encap & ENCAP_FROM_NOMATCH) || !oob_get(b, &tci))
      return mg_forward(v->downstream, it);
  } else {
    if (!(tci_of(h) & FILTERED)) { /* addfilter it first */
      mg_drop(it, MG_DROP_POLICY);
      return 0;
    }
    tci = (uint16_t)tci_of(h);
  }
  if (b->linktype != 1 || b->len < 14) {
    mg_drop(it, MG_DROP_ERROR);
    return mg_error(-EINVAL, "vlan: a frame from '%s' is not Ethernet (link "
                    "type %d, %u bytes): no place for a tag", mg_hook_name(h),
                    b->linktype, b->len);
  }
  b = mg_item_writable(it);
  if (h != v->nomatch && !(v->encap & ENCAP_FROM_FILTER)) {
    if (mg_buf_tag_set(b, VLAN_COOKIE, VLAN_OOB, tci)) {
      mg_drop(it, MG_DROP_ERROR);
      return mg_error(-ENOSPC, "vlan: no room for an out-of-band tag");
    }
    return mg_forward(v->downstream, it);
  }
  oob_del(b);
  if (!tag(b, v->proto, tci)) {
    mg_drop(it, MG_DROP_ERROR);
    return mg_error(-ENOBUFS, "vlan: no headroom to tag a frame");
  }
  return mg_forward(v->downstream, it);
}

/* An integer field or argument in [lo, hi], named in the error. */
static int ranged(const char *name, const mg_value_t *x, int64_t lo, int64_t hi,
                  int64_t *out) {
  if (!x) return 0;
  if (x->type != MG_INT)
    return mg_error(-EINVAL, "%s: must be an integer from %lld to %lld", name,
                    (long long)lo, (long long)hi);
  if (x->u.i < lo || x->u.i > hi)
    return mg_error(-EINVAL, "%s: must be from %lld to %lld, got %lld", name,
                    (long long)lo, (long long)hi, (long long)x->u.i);
  *out = x->u.i;
  return 0;
}

static int addfilter(mg_node_t *n, vlan_t *v, const mg_value_t *a) {
  static const char *const known[] = {"hook", "vlan", "vid", "pcp", "cfi", NULL};
  const char *form = "{ hook=\"v10\" vid=10 pcp=0 cfi=0 }";
  const char *name = NULL;
  int64_t vlan = 0, vid = 0, pcp = 0, cfi = 0;
  int rc = mg_map_only(a, "addfilter", known, form);
  if (rc || (rc = ranged("vlan", mg_map_get(a, "vlan"), 0, NVID - 1, &vlan)) ||
      (rc = ranged("vid", mg_map_get(a, "vid"), 0, NVID - 1, &vid)) ||
      (rc = ranged("pcp", mg_map_get(a, "pcp"), 0, 7, &pcp)) ||
      (rc = ranged("cfi", mg_map_get(a, "cfi"), 0, 1, &cfi)))
    return rc;
  if (!mg_map_str(a, "hook", &name)) return -EINVAL;
  if (!name) return mg_error(-EINVAL, "addfilter: hook is missing (%s)", form);
  if (vid && vlan && vid != vlan)
    return mg_error(-EINVAL, "addfilter: vlan=%lld and vid=%lld differ (vlan is "
                    "vid's old name)", (long long)vlan, (long long)vid);
  if (!vid) vid = vlan;
  mg_hook_t *h = mg_node_hook(n, name);
  if (!h) return mg_error(-ENOENT, "addfilter: vlan has no hook '%s'", name);
  if (h == v->downstream || h == v->nomatch)
    return mg_error(-EINVAL, "addfilter: hook cannot be %s", name);
  if (tci_of(h) & FILTERED)
    return mg_error(-EEXIST, "addfilter: hook '%s' already has vid %u", name,
                    tci_of(h) & 0xfff);
  if (v->vid[vid])
    return mg_error(-EEXIST, "addfilter: vid %lld already goes to '%s'",
                    (long long)vid, mg_hook_name(v->vid[vid]));
  uint32_t tci = (uint32_t)(pcp << 13 | cfi << 12 | vid);
  mg_hook_set_priv(h, (void *)(uintptr_t)(FILTERED | tci));
  v->vid[vid] = h;
  return 0;
}

static void unfilter(vlan_t *v, mg_hook_t *h) {
  v->vid[tci_of(h) & 0xfff] = NULL;
  mg_hook_set_priv(h, NULL);
}

static mg_value_t *table(vlan_t *v) {
  mg_value_t *t = mg_map(), *a = mg_array();
  for (int i = 0; i < NVID; i++) {
    if (!v->vid[i]) continue;
    uint32_t tci = tci_of(v->vid[i]);
    mg_value_t *f = mg_map();
    mg_map_set(f, "hook", mg_str(mg_hook_name(v->vid[i])));
    mg_map_set(f, "vlan", mg_int(i));
    mg_map_set(f, "vid", mg_int(i));
    mg_map_set(f, "pcp", mg_int(tci >> 13 & 7));
    mg_map_set(f, "cfi", mg_int(tci >> 12 & 1));
    mg_array_push(a, f);
  }
  mg_map_set(t, "n", mg_int(a->u.a.n));
  mg_map_set(t, "filter", a);
  return t;
}

/* The bare number some commands take, as in `setencap 3`. */
static int number(const mg_msg_t *m, int64_t lo, int64_t hi, int64_t *out) {
  if (!m->args)
    return mg_error(-EINVAL, "%s takes a number from %lld to %lld", m->cmdstr,
                    (long long)lo, (long long)hi);
  return ranged(m->cmdstr, m->args, lo, hi, out);
}

static int vlan_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last,
                       mg_value_t **reply) {
  (void)last;
  vlan_t *v = mg_node_priv(n);
  int64_t x = 0;
  int rc = 0;
  switch (m->cmd) {
  case VLAN_ADDFILTER:
    return addfilter(n, v, m->args);
  case VLAN_DELFILTER: {
    if (!m->args || m->args->type != MG_STR)
      return mg_error(-EINVAL, "delfilter takes a hook name: delfilter \"v10\"");
    mg_hook_t *h = mg_node_hook(n, m->args->u.s.p);
    if (!h) return mg_error(-ENOENT, "delfilter: vlan has no hook '%s'", m->args->u.s.p);
    if (!(tci_of(h) & FILTERED))
      return mg_error(-ENOENT, "delfilter: hook '%s' has no filter", m->args->u.s.p);
    unfilter(v, h);
    return 0;
  }
  case VLAN_DELVIDFLT:
    if ((rc = number(m, 0, NVID - 1, &x))) return rc;
    if (!v->vid[x]) return mg_error(-ENOENT, "delvidflt: no filter for vid %lld", (long long)x);
    unfilter(v, v->vid[x]);
    return 0;
  case VLAN_GETTABLE: *reply = table(v); return 0;
  case VLAN_GETDECAP: *reply = mg_int(v->decap); return 0;
  case VLAN_GETENCAP: *reply = mg_int(v->encap); return 0;
  case VLAN_GETENCAPPROTO: *reply = mg_int(v->proto); return 0;
  case VLAN_SETDECAP:
    if (!(rc = number(m, 0, 1, &x))) v->decap = (uint32_t)x;
    return rc;
  case VLAN_SETENCAP:
    if (!(rc = number(m, 0, 3, &x))) v->encap = (uint32_t)x;
    return rc;
  default: /* setencapproto: below 0x600 it would be a length */
    if (!(rc = number(m, 0x600, 0xffff, &x))) v->proto = (uint16_t)x;
    return rc;
  }
}

static int vlan_constructor(mg_node_t *n) {
  vlan_t *v = mg_node_priv(n);
  v->encap = ENCAP_FROM_FILTER;
  v->proto = 0x8100;
  return 0;
}

static int vlan_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  vlan_t *v = mg_node_priv(n);
  if (!strcmp(name, "downstream")) v->downstream = h;
  else if (!strcmp(name, "nomatch")) v->nomatch = h;
  return 0;
}

static void vlan_disconnect(mg_hook_t *h) {
  mg_node_t *n = mg_hook_node(h);
  vlan_t *v = mg_node_priv(n);
  if (h == v->downstream) v->downstream = NULL;
  else if (h == v->nomatch) v->nomatch = NULL;
  else if (tci_of(h) & FILTERED) unfilter(v, h);
  if (mg_node_numhooks(n) == 0 && mg_node_valid(n)) mg_node_rmself(n);
}

static void vlan_status(mg_node_t *n, mg_sbuf_t *out) {
  vlan_t *v = mg_node_priv(n);
  mg_sbuf_printf(out, "tags 0x%04x, decap %u, encap %u\n", v->proto, v->decap,
                 v->encap);
  for (int i = 0; i < NVID; i++)
    if (v->vid[i])
      mg_sbuf_printf(out, "vid %d pcp %u cfi %u <-> %s\n", i,
                     tci_of(v->vid[i]) >> 13 & 7, tci_of(v->vid[i]) >> 12 & 1,
                     mg_hook_name(v->vid[i]));
}

static const mg_cmd_t vlan_cmds[] = {
  {"addfilter", VLAN_ADDFILTER, 0, "{ hook=\"v10\" vid=10 pcp=0 cfi=0 }",
   "tie a hook to a VLAN (vlan= is vid's old name)"},
  {"delfilter", VLAN_DELFILTER, 0, "\"v10\"", "untie a hook from its VLAN"},
  {"delvidflt", VLAN_DELVIDFLT, 0, "10", "untie a VLAN from its hook"},
  {"gettable", VLAN_GETTABLE, MG_CMD_READONLY, "",
   "{ n=1 filter=[ { hook vlan vid pcp cfi } ] }"},
  {"getdecap", VLAN_GETDECAP, MG_CMD_READONLY, "", "whether nomatch's tags go out of band"},
  {"setdecap", VLAN_SETDECAP, 0, "1", "1: tags of frames for nomatch go out of band"},
  {"getencap", VLAN_GETENCAP, MG_CMD_READONLY, "", "the encap bits"},
  {"setencap", VLAN_SETENCAP, 0, "3",
   "1: tag frames from filter hooks in the frame (else out of band); "
   "2: put nomatch's out-of-band tags in the frame"},
  {"getencapproto", VLAN_GETENCAPPROTO, MG_CMD_READONLY, "", "the tags' ethertype"},
  {"setencapproto", VLAN_SETENCAPPROTO, 0, "0x88a8",
   "the tags' ethertype (TPID): 0x8100, or 0x88a8 for 802.1ad"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_vlan = {
  .name = "vlan",
  .doc = "Sorts 802.1Q-tagged frames from downstream to one hook per VLAN,\n"
         "tag taken off (others to nomatch), and tags frames from those\n"
         "hooks on the way down.  An out-of-band tag (FreeBSD's M_VLANTAG)\n"
         "is a buffer tag here (cookie 1068486472, id 1, value the TCI),\n"
         "which capture files do not keep.",
  .priv_size = sizeof(vlan_t),
  .constructor = vlan_constructor,
  .newhook = vlan_newhook,
  .rcvdata = vlan_rcvdata,
  .rcvmsg = vlan_rcvmsg,
  .disconnect = vlan_disconnect,
  .status = vlan_status,
  .cmds = vlan_cmds,
};
