/*
** macfilter.c -- Ethernet frames sorted by source address (netgraph's
** ng_macfilter).
**
** HOOKS     ether (the interface's lower side), default (hook id 0) and
**           upper hooks of any other name (ids 1, 2, ... the lowest free).
**           A frame from ether goes out of the upper hook its source
**           address is directed to, or default when the address is not in
**           the table; a frame from an upper hook goes out of ether.  A
**           frame for a hook that is not there is dropped.
** MESSAGES  reset (empty the table); direct { hookname="out1"
**           ether=08:00:27:92:eb:aa } (hookname "default" takes the
**           address out of the table); directi { ether=... hookid=1 }
**           (also as directhookid); getmacs -> { n macs=[ { ether hookid
**           packets_in bytes_in packets_out bytes_out } ] }; getclrmacs
**           (getmacs, then counters zeroed); clrmacs; gethooks -> { n
**           hooks=[ { hookname hookid maccnt } ] }.
** Bytes are counted past the 14-byte header, in from ether by source,
** out to ether by destination.  Removing an upper hook forgets its
** addresses.  Where FreeBSD takes an unknown hookname for default, this
** says ENOENT.  At most 262144 addresses (ENOMEM past them) and 65535
** upper hooks.  It shuts down when its last hook goes.
*/
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "enaddr.h"

#define MAXMACS (1u << 18)
#define MAXUPPER 65536 /* hook ids are 16 bits */
enum { MF_RESET = 1, MF_DIRECT, MF_DIRECTI, MF_GETMACS, MF_GETCLRMACS, MF_CLRMACS,
       MF_GETHOOKS }; /* ng_macfilter's numbers */

typedef struct {
  uint8_t ether[6];
  uint16_t hookid;
  mg_counter_t packets_in, bytes_in, packets_out, bytes_out;
} mac_t;

typedef struct {
  bool mt;
  mg_hook_t *ether;
  mg_hook_t **upper; /* by hook id; 0 is default */
  uint32_t nupper;   /* slots of upper */
  mac_t *macs;       /* sorted by address */
  uint32_t nmacs, cap;
} mf_t;

/* The index of a, or where it would go (*found false). */
static uint32_t find(const mf_t *f, const uint8_t *a, bool *found) {
  uint32_t lo = 0, hi = f->nmacs;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    int d = memcmp(a, f->macs[mid].ether, 6);
    if (!d) {
      *found = true;
      return mid;
    }
    if (d > 0) lo = mid + 1;
    else hi = mid;
  }
  *found = false;
  return lo;
}

/* Direct address a to hook id; id 0 (default) takes it out. */
static int direct(mf_t *f, const uint8_t *a, uint16_t id) {
  bool found;
  uint32_t i = find(f, a, &found);
  if (found && !id) {
    memmove(&f->macs[i], &f->macs[i + 1], (f->nmacs - i - 1) * sizeof *f->macs);
    f->nmacs--;
  } else if (found) {
    f->macs[i].hookid = id;
  } else if (id) {
    if (f->nmacs == MAXMACS)
      return mg_error(-ENOMEM, "direct: the table is full (%u addresses)", MAXMACS);
    if (f->nmacs == f->cap) {
      f->cap = f->cap ? f->cap * 2 : 64;
      f->macs = mg_realloc(f->macs, f->cap * sizeof *f->macs);
    }
    memmove(&f->macs[i + 1], &f->macs[i], (f->nmacs - i) * sizeof *f->macs);
    memset(&f->macs[i], 0, sizeof *f->macs);
    memcpy(f->macs[i].ether, a, 6);
    f->macs[i].hookid = id;
    f->nmacs++;
  }
  return 0;
}

static void forget_hook(mf_t *f, uint16_t id) {
  uint32_t j = 0;
  for (uint32_t i = 0; i < f->nmacs; i++)
    if (f->macs[i].hookid != id) f->macs[j++] = f->macs[i];
  f->nmacs = j;
}

static int mf_rcvdata(mg_hook_t *h, mg_item_t *it) {
  mf_t *f = mg_node_priv(mg_hook_node(h));
  const mg_buf_t *b = mg_item_buf(it);
  if (b->len < 14) {
    mg_drop(it, MG_DROP_ERROR);
    return mg_error(-EINVAL, "macfilter: a frame of %u bytes has no Ethernet header", b->len);
  }
  bool found;
  uint32_t i;
  mg_hook_t *to;
  if (h == f->ether) {
    i = find(f, b->data + 6, &found);
    uint16_t id = 0;
    if (found) {
      mg_counter_add(f->mt, &f->macs[i].packets_in, 1);
      mg_counter_add(f->mt, &f->macs[i].bytes_in, b->len - 14);
      id = f->macs[i].hookid;
    }
    to = id < f->nupper ? f->upper[id] : NULL;
  } else {
    to = f->ether;
    if (to && (i = find(f, b->data, &found), found)) {
      mg_counter_add(f->mt, &f->macs[i].packets_out, 1);
      mg_counter_add(f->mt, &f->macs[i].bytes_out, b->len - 14);
    }
  }
  if (to) return mg_forward(to, it);
  mg_drop(it, MG_DROP_NOPEER);
  return 0;
}

/* The ether field of a message, as an address. */
static int ether_arg(const mg_value_t *a, const char *cmd, uint8_t *out) {
  const char *s = NULL;
  if (!mg_map_str(a, "ether", &s)) return -EINVAL;
  if (!s) return mg_error(-EINVAL, "%s: ether is missing", cmd);
  if (!mg_enaddr_parse(s, out)) {
    char q[MG_QUOTESIZ];
    return mg_error(-EINVAL, "%s: ether %s is not an Ethernet address like "
                    "08:00:27:92:eb:aa", cmd, mg_quote(q, s));
  }
  return 0;
}

static int msg_direct(mf_t *f, const mg_value_t *a) {
  static const char *const known[] = {"hookname", "ether", NULL};
  const char *name = NULL;
  uint8_t ea[6];
  int rc = mg_map_only(a, "direct", known, "{ hookname=\"out1\" ether=08:00:27:92:eb:aa }");
  if (rc || (rc = ether_arg(a, "direct", ea))) return rc;
  if (!mg_map_str(a, "hookname", &name)) return -EINVAL;
  if (!name) return mg_error(-EINVAL, "direct: hookname is missing");
  uint32_t id = 0;
  if (strcmp(name, "default")) {
    for (id = 1; id < f->nupper; id++)
      if (f->upper[id] && !strcmp(mg_hook_name(f->upper[id]), name)) break;
    if (id >= f->nupper) {
      char q[MG_QUOTESIZ];
      return mg_error(-ENOENT, "direct: macfilter has no upper hook %s", mg_quote(q, name));
    }
  }
  return direct(f, ea, (uint16_t)id);
}

static int msg_directi(mf_t *f, const mg_msg_t *m) {
  static const char *const known[] = {"ether", "hookid", NULL};
  uint8_t ea[6];
  double id = 0;
  int rc = mg_map_only(m->args, m->cmdstr, known, "{ ether=08:00:27:92:eb:aa hookid=1 }");
  if (rc || (rc = ether_arg(m->args, m->cmdstr, ea)) ||
      (rc = mg_map_num(m->args, "hookid", 0, MAXUPPER - 1, &id)))
    return rc;
  uint32_t i = (uint32_t)id;
  if (i != id || i >= f->nupper || !f->upper[i])
    return mg_error(-EINVAL, "%s: no upper hook has id %g", m->cmdstr, id);
  return direct(f, ea, (uint16_t)i);
}

static mg_value_t *macs(mf_t *f, bool clear) {
  mg_value_t *r = mg_map(), *a = mg_array();
  mg_map_set(r, "n", mg_int(f->nmacs));
  for (uint32_t i = 0; i < f->nmacs; i++) {
    mac_t *x = &f->macs[i];
    mg_value_t *e = mg_map();
    char buf[18];
    mg_map_set(e, "ether", mg_str(mg_enaddr_format(x->ether, buf)));
    mg_map_set(e, "hookid", mg_int(x->hookid));
    mg_map_set(e, "packets_in", mg_int((int64_t)mg_counter_get(&x->packets_in)));
    mg_map_set(e, "bytes_in", mg_int((int64_t)mg_counter_get(&x->bytes_in)));
    mg_map_set(e, "packets_out", mg_int((int64_t)mg_counter_get(&x->packets_out)));
    mg_map_set(e, "bytes_out", mg_int((int64_t)mg_counter_get(&x->bytes_out)));
    mg_array_push(a, e);
    if (clear) {
      mg_counter_clear(&x->packets_in), mg_counter_clear(&x->bytes_in);
      mg_counter_clear(&x->packets_out), mg_counter_clear(&x->bytes_out);
    }
  }
  mg_map_set(r, "macs", a);
  return r;
}

static mg_value_t *hooks(mf_t *f) {
  mg_value_t *r = mg_map(), *a = mg_array();
  for (uint32_t id = 0; id < f->nupper; id++) {
    if (!f->upper[id]) continue;
    uint32_t n = 0;
    for (uint32_t i = 0; i < f->nmacs; i++) n += f->macs[i].hookid == id;
    mg_value_t *e = mg_map();
    mg_map_set(e, "hookname", mg_str(mg_hook_name(f->upper[id])));
    mg_map_set(e, "hookid", mg_int(id));
    mg_map_set(e, "maccnt", mg_int(n));
    mg_array_push(a, e);
  }
  mg_map_set(r, "n", mg_int(a->u.a.n));
  mg_map_set(r, "hooks", a);
  return r;
}

static int mf_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last, mg_value_t **reply) {
  (void)last;
  mf_t *f = mg_node_priv(n);
  switch (m->cmd) {
  case MF_RESET: f->nmacs = 0; return 0;
  case MF_DIRECT: return msg_direct(f, m->args);
  case MF_DIRECTI: return msg_directi(f, m);
  case MF_GETMACS: *reply = macs(f, false); return 0;
  case MF_GETCLRMACS: *reply = macs(f, true); return 0;
  case MF_CLRMACS: mg_value_free(macs(f, true)); return 0;
  default: *reply = hooks(f); return 0; /* gethooks */
  }
}

static int mf_constructor(mg_node_t *n) {
  ((mf_t *)mg_node_priv(n))->mt = mg_node_mt(n);
  return 0;
}

static int mf_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  mf_t *f = mg_node_priv(n);
  if (!strcmp(name, "ether")) {
    f->ether = h;
    return 0;
  }
  uint32_t id = 0;
  if (strcmp(name, "default"))
    for (id = 1; id < f->nupper && f->upper[id]; id++) {}
  if (id >= MAXUPPER)
    return mg_error(-ENOSPC, "macfilter: no hook id left for '%s' (%d upper hooks)", name,
                    MAXUPPER - 1);
  if (id >= f->nupper) {
    f->upper = mg_realloc(f->upper, (id + 1) * sizeof *f->upper);
    memset(f->upper + f->nupper, 0, (id + 1 - f->nupper) * sizeof *f->upper);
    f->nupper = id + 1;
  }
  f->upper[id] = h;
  return 0;
}

static void mf_disconnect(mg_hook_t *h) {
  mg_node_t *n = mg_hook_node(h);
  mf_t *f = mg_node_priv(n);
  if (h == f->ether) f->ether = NULL;
  for (uint32_t id = 0; id < f->nupper; id++)
    if (f->upper[id] == h) {
      f->upper[id] = NULL;
      forget_hook(f, (uint16_t)id);
    }
  while (f->nupper && !f->upper[f->nupper - 1]) f->nupper--;
  if (mg_node_numhooks(n) == 0 && mg_node_valid(n)) mg_node_rmself(n);
}

static void mf_shutdown(mg_node_t *n) {
  mf_t *f = mg_node_priv(n);
  free(f->upper);
  free(f->macs);
}

static void mf_status(mg_node_t *n, mg_sbuf_t *out) {
  mf_t *f = mg_node_priv(n);
  mg_sbuf_printf(out, "%u addresses; ether %s\n", f->nmacs,
                 f->ether ? "connected" : "not connected");
  for (uint32_t id = 0; id < f->nupper; id++)
    if (f->upper[id]) mg_sbuf_printf(out, "hook %u: %s\n", id, mg_hook_name(f->upper[id]));
}

static const mg_cmd_t mf_cmds[] = {
  {"reset", MF_RESET, 0, "", "empty the table: every frame from ether to default"},
  {"direct", MF_DIRECT, 0, "{ hookname=\"out1\" ether=08:00:27:92:eb:aa }",
   "frames from this address to this upper hook (\"default\": out of the table)"},
  {"directi", MF_DIRECTI, 0, "{ ether=08:00:27:92:eb:aa hookid=1 }",
   "the same, the hook by its id (gethooks)"},
  {"directhookid", MF_DIRECTI, 0, "{ ether=08:00:27:92:eb:aa hookid=1 }",
   "directi's long name"},
  {"getmacs", MF_GETMACS, MG_CMD_READONLY, "",
   "{ n macs=[ { ether hookid packets_in bytes_in packets_out bytes_out } ] }"},
  {"getclrmacs", MF_GETCLRMACS, 0, "", "getmacs, then the counters zeroed"},
  {"clrmacs", MF_CLRMACS, 0, "", "zero every address's counters"},
  {"gethooks", MF_GETHOOKS, MG_CMD_READONLY, "",
   "{ n hooks=[ { hookname hookid maccnt } ] }: the upper hooks"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_macfilter = {
  .name = "macfilter",
  .doc = "Sends each frame from ether out of the upper hook its source\n"
         "address is directed to (default when none), and frames from\n"
         "upper hooks down ether; counts packets and bytes per address.",
  .priv_size = sizeof(mf_t),
  .constructor = mf_constructor,
  .newhook = mf_newhook,
  .rcvdata = mf_rcvdata,
  .rcvmsg = mf_rcvmsg,
  .disconnect = mf_disconnect,
  .shutdown = mf_shutdown,
  .status = mf_status,
  .cmds = mf_cmds,
};
