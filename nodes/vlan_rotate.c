/*
** vlan_rotate.c -- the stack of VLAN tags of a frame turned round
** (netgraph's ng_vlan_rotate).
**
** HOOKS     original, ordered, excessive, incomplete.
**           A frame from ordered leaves by original with its tags rotated
**           by rot (tag i+rot, round the stack, becomes tag i); one from
**           original leaves by ordered rotated back.
**           A frame with more tags than max (or ten or more) goes to
**           excessive instead, one with fewer than min (or not more than
**           |rot|) to incomplete, untouched; frames from those two go to
**           original untouched.  Each tag keeps its own type (0x8100,
**           0x88a8, 0x9100, 0x9200, 0x9300): a tag is the 4 bytes of type
**           and TCI, moved whole.
** MESSAGES  setconf { rot=-9..9 min=0..10 max=0..10 } (max 0: unchanged;
**           min <= max and |rot| < max, else EINVAL); getconf -> { rot min
**           max }; getstat -> { drops excessive incomplete histogram=[ 10
**           counts, by number of tags ] }; clrstat; getclrstat.
** A frame that ends inside its tag stack is dropped (EINVAL), as
** FreeBSD's pullup fails on it; one for an unconnected hook is dropped
** and counted in drops.  It shuts down when its last hook goes.
*/
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

#define MAXTAGS 10 /* NG_VLANROTATE_MAX_VLANS */
enum { VR_GETCONF = 1, VR_SETCONF, VR_GETSTAT, VR_CLRSTAT, VR_GETCLRSTAT };

typedef struct {
  mg_hook_t *original, *ordered, *excessive, *incomplete;
  int rot, min, max;
  bool mt;
  mg_counter_t drops, nexcessive, nincomplete, hist[MAXTAGS];
} vr_t;

static bool is_tag(uint16_t type) {
  return type == 0x8100 || type == 0x88a8 || type == 0x9100 || type == 0x9200 ||
         type == 0x9300;
}

/* The stack of n tags at p, rotated so that tag i moves to i - by. */
static void rotate(uint8_t *p, int n, int by) {
  uint8_t was[MAXTAGS * 4];
  memcpy(was, p, (size_t)n * 4);
  for (int i = 0; i < n; i++)
    memcpy(p + i * 4, was + ((i + by) % n + n) % n * 4, 4);
}

static int send_or_drop(vr_t *v, mg_hook_t *to, mg_item_t *it) {
  if (to) return mg_forward(to, it);
  mg_counter_add(v->mt, &v->drops, 1);
  mg_drop(it, MG_DROP_NOPEER);
  return 0;
}

static int vr_rcvdata(mg_hook_t *h, mg_item_t *it) {
  vr_t *v = mg_node_priv(mg_hook_node(h));
  int by;
  mg_hook_t *to;
  if (h == v->ordered) by = v->rot, to = v->original;
  else if (h == v->original) by = -v->rot, to = v->ordered;
  else return send_or_drop(v, v->original, it); /* excessive, incomplete */
  if (!to) {
    mg_counter_add(v->mt, &v->drops, 1);
    mg_drop(it, MG_DROP_NOPEER);
    return mg_error(-ENETDOWN, "vlan_rotate: '%s' is not connected",
                    h == v->ordered ? "original" : "ordered");
  }
  const mg_buf_t *b = mg_item_buf(it);
  int n = 0;
  for (; n <= MAXTAGS; n++) {
    uint32_t at = 12 + 4 * (uint32_t)n;
    if (b->len < at + 4) {
      mg_counter_add(v->mt, &v->drops, 1);
      mg_drop(it, MG_DROP_ERROR);
      return mg_error(-EINVAL, "vlan_rotate: a frame of %u bytes ends inside its "
                      "tags (after %d)", b->len, n);
    }
    if (!is_tag((uint16_t)(b->data[at] << 8 | b->data[at + 1]))) break;
  }
  if (n > v->max || n >= MAXTAGS) {
    mg_counter_add(v->mt, &v->nexcessive, 1);
    return send_or_drop(v, v->excessive, it);
  }
  if (n < v->min || n <= abs(by)) {
    mg_counter_add(v->mt, &v->nincomplete, 1);
    return send_or_drop(v, v->incomplete, it);
  }
  mg_counter_add(v->mt, &v->hist[n], 1);
  if (by) rotate(mg_item_writable(it)->data + 12, n, by);
  return mg_forward(to, it);
}

/* One integer field of setconf, within [lo, hi]. */
static int field(const mg_value_t *a, const char *k, int lo, int hi, int *out) {
  double x = *out;
  int rc = mg_map_num(a, k, lo, hi, &x);
  if (rc) return rc;
  if (x != (double)(int)x)
    return mg_error(-EINVAL, "setconf: %s must be a whole number", k);
  *out = (int)x;
  return 0;
}

static int setconf(vr_t *v, const mg_value_t *a) {
  static const char *const known[] = {"rot", "min", "max", NULL};
  int rot = 0, min = 0, max = 0, rc;
  if ((rc = mg_map_only(a, "setconf", known, "{ rot=1 min=0 max=10 }")) ||
      (rc = field(a, "rot", -(MAXTAGS - 1), MAXTAGS - 1, &rot)) ||
      (rc = field(a, "min", 0, MAXTAGS, &min)) || (rc = field(a, "max", 0, MAXTAGS, &max)))
    return rc;
  if (!max) max = v->max; /* 0: keep it */
  if (min > max) return mg_error(-EINVAL, "setconf: min %d is above max %d", min, max);
  if (abs(rot) >= max)
    return mg_error(-EINVAL, "setconf: rot %d must be nearer 0 than max %d", rot, max);
  v->rot = rot, v->min = min, v->max = max;
  return 0;
}

static mg_value_t *stats(vr_t *v) {
  mg_value_t *r = mg_map(), *hist = mg_array();
  mg_map_set(r, "drops", mg_int((int64_t)mg_counter_get(&v->drops)));
  mg_map_set(r, "excessive", mg_int((int64_t)mg_counter_get(&v->nexcessive)));
  mg_map_set(r, "incomplete", mg_int((int64_t)mg_counter_get(&v->nincomplete)));
  for (int i = 0; i < MAXTAGS; i++)
    mg_array_push(hist, mg_int((int64_t)mg_counter_get(&v->hist[i])));
  mg_map_set(r, "histogram", hist);
  return r;
}

static void clear(vr_t *v) {
  mg_counter_clear(&v->drops);
  mg_counter_clear(&v->nexcessive);
  mg_counter_clear(&v->nincomplete);
  for (int i = 0; i < MAXTAGS; i++) mg_counter_clear(&v->hist[i]);
}

static int vr_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last, mg_value_t **reply) {
  (void)last;
  vr_t *v = mg_node_priv(n);
  switch (m->cmd) {
  case VR_SETCONF: return setconf(v, m->args);
  case VR_GETCONF:
    *reply = mg_map();
    mg_map_set(*reply, "rot", mg_int(v->rot));
    mg_map_set(*reply, "min", mg_int(v->min));
    mg_map_set(*reply, "max", mg_int(v->max));
    return 0;
  case VR_GETSTAT: *reply = stats(v); return 0;
  case VR_GETCLRSTAT: *reply = stats(v); clear(v); return 0;
  default: clear(v); return 0; /* clrstat */
  }
}

static int vr_constructor(mg_node_t *n) {
  vr_t *v = mg_node_priv(n);
  v->mt = mg_node_mt(n);
  v->max = MAXTAGS;
  return 0;
}

static int vr_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  vr_t *v = mg_node_priv(n);
  mg_hook_t **slot = !strcmp(name, "original")     ? &v->original
                     : !strcmp(name, "ordered")    ? &v->ordered
                     : !strcmp(name, "excessive")  ? &v->excessive
                     : !strcmp(name, "incomplete") ? &v->incomplete
                                                   : NULL;
  if (!slot)
    return mg_error(-EINVAL, "vlan_rotate has hooks original, ordered, excessive and "
                    "incomplete, not '%s'", name);
  if (*slot) return mg_error(-EADDRINUSE, "vlan_rotate: '%s' is taken", name);
  *slot = h;
  return 0;
}

static void vr_disconnect(mg_hook_t *h) {
  mg_node_t *n = mg_hook_node(h);
  vr_t *v = mg_node_priv(n);
  mg_hook_t **slots[] = {&v->original, &v->ordered, &v->excessive, &v->incomplete};
  for (size_t i = 0; i < sizeof slots / sizeof *slots; i++)
    if (*slots[i] == h) *slots[i] = NULL;
  if (mg_node_numhooks(n) == 0 && mg_node_valid(n)) mg_node_rmself(n);
}

static void vr_status(mg_node_t *n, mg_sbuf_t *out) {
  vr_t *v = mg_node_priv(n);
  mg_sbuf_printf(out, "rot %d, min %d, max %d; %llu excessive, %llu incomplete, %llu "
                 "dropped\n", v->rot, v->min, v->max,
                 (unsigned long long)mg_counter_get(&v->nexcessive),
                 (unsigned long long)mg_counter_get(&v->nincomplete),
                 (unsigned long long)mg_counter_get(&v->drops));
}

static const mg_cmd_t vr_cmds[] = {
  {"getconf", VR_GETCONF, MG_CMD_READONLY, "", "{ rot min max }"},
  {"setconf", VR_SETCONF, 0, "{ rot=1 min=0 max=10 }",
   "rotate by rot; frames with fewer than min tags are incomplete, more than max "
   "excessive (max 0: unchanged)"},
  {"getstat", VR_GETSTAT, MG_CMD_READONLY, "",
   "{ drops excessive incomplete histogram=[ frames by number of tags, 0..9 ] }"},
  {"clrstat", VR_CLRSTAT, 0, "", "zero the counters"},
  {"getclrstat", VR_GETCLRSTAT, 0, "", "getstat, then clrstat"},
  {NULL, 0, 0, NULL, NULL}};

static const mg_argdoc_t vr_args[] = {
  {"setconf", "rot", MG_ARG_NUM, -(MAXTAGS - 1), MAXTAGS - 1, 0, NULL, NULL,
   "from ordered to original tag i+rot becomes tag i (counting round the stack), "
   "from original to ordered the reverse; |rot| < max"},
  {"setconf", "min", MG_ARG_NUM, 0, MAXTAGS, 0, NULL, NULL,
   "fewer tags than this: to incomplete"},
  {"setconf", "max", MG_ARG_NUM, 0, MAXTAGS, MAXTAGS, NULL, "10 (0 keeps it)",
   "more tags than this: to excessive"},
  {NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL}};

const mg_type_t mg_type_vlan_rotate = {
  .name = "vlan_rotate",
  .doc = "Rotates the stack of VLAN tags (802.1Q, 802.1ad, 0x9100..0x9300,\n"
         "each keeping its type) of frames between original and ordered;\n"
         "frames with too many tags go to excessive, too few to incomplete.",
  .priv_size = sizeof(vr_t),
  .constructor = vr_constructor,
  .newhook = vr_newhook,
  .rcvdata = vr_rcvdata,
  .rcvmsg = vr_rcvmsg,
  .disconnect = vr_disconnect,
  .status = vr_status,
  .cmds = vr_cmds,
  .argdocs = vr_args,
};
