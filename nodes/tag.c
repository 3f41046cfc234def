/*
** tag.c -- sorts packets by their tag and tags them on the way out
** (netgraph's ng_tag).
**
** HOOKS     any name.  A packet arriving on a hook whose tag is that
**           hook's tag_id goes out of its ifMatch hook (with the tag
**           cleared when strip=1), any other out of ifNotMatch; a missing
**           or unconnected destination drops it.  A packet leaving by a
**           hook with a non-zero out tag_id gets that tag.
** MESSAGES  sethookin { thisHook="in" ifMatch="a" ifNotMatch="b" strip=0
**           tag_id=7 }; gethookin "in"; sethookout { thisHook="a"
**           tag_id=9 }; gethookout "a"; getstats / clrstats / getclrstats
**           "in" -> { recvFrames recvOctets recvMatchFrames
**           recvMatchOctets xmitFrames xmitOctets }.
** A tag here is the item's own 32-bit tag (mg_item_tag; item:tag() in
** Lua; bpf's tagMatch sets it), not an mbuf tag list: there is no cookie
** and no data.  tag_id is that number, 32 bits wide (ng_tag's is 16);
** tag_id 0 on the way in matches untagged packets, on the way out adds
** nothing.  tag_cookie, tag_len and tag_data are taken, for ngctl's
** configurations, only as 0 and empty, and answered so.
*/
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

enum { TAG_SETHOOKIN = 1, TAG_GETHOOKIN, TAG_SETHOOKOUT, TAG_GETHOOKOUT,
       TAG_GETSTATS, TAG_CLRSTATS, TAG_GETCLRSTATS }; /* ng_tag's numbers */

typedef struct {
  char *match, *nomatch;
  mg_hook_t *hmatch, *hnomatch; /* resolved by writers, read by readers */
  uint32_t in_id, out_id;
  bool strip;
  mg_counter_t rf, ro, rmf, rmo, xf, xo;
} hinfo_t;

typedef struct {
  bool mt;
} tag_t;

static hinfo_t *info(mg_hook_t *h) { return mg_hook_priv(h); }

static void resolve(mg_node_t *n) {
  for (mg_hook_t *h = mg_node_hooks(n); h; h = mg_hook_next(h)) {
    hinfo_t *hi = info(h);
    if (!hi) continue;
    hi->hmatch = hi->match ? mg_node_hook(n, hi->match) : NULL;
    hi->hnomatch = hi->nomatch ? mg_node_hook(n, hi->nomatch) : NULL;
  }
}

static int tag_rcvdata(mg_hook_t *h, mg_item_t *it) {
  bool mt = ((tag_t *)mg_node_priv(mg_hook_node(h)))->mt;
  hinfo_t *hi = info(h);
  uint32_t len = mg_item_buf(it)->len;
  mg_counter_add(mt, &hi->rf, 1);
  mg_counter_add(mt, &hi->ro, len);
  bool match = mg_item_tag(it) == hi->in_id;
  if (match) {
    mg_counter_add(mt, &hi->rmf, 1);
    mg_counter_add(mt, &hi->rmo, len);
    if (hi->strip) mg_item_settag(it, 0);
  }
  mg_hook_t *dest = match ? hi->hmatch : hi->hnomatch;
  if (!dest) {
    mg_drop(it, MG_DROP_POLICY);
    return 0;
  }
  hinfo_t *di = info(dest);
  if (di) {
    mg_counter_add(mt, &di->xf, 1);
    mg_counter_add(mt, &di->xo, len);
    if (di->out_id) mg_item_settag(it, di->out_id);
  }
  return mg_forward(dest, it);
}

/* {====================================================== messages */
static mg_hook_t *hook_named(mg_node_t *n, const char *cmd, const char *name) {
  char q[MG_QUOTESIZ];
  mg_hook_t *h = mg_node_hook(n, name);
  if (!h) mg_error(-ENOENT, "%s: tag has no hook %s", cmd, mg_quote(q, name));
  return h;
}

/* tag_id, and netgraph's cookie and data, which we take only empty. */
static int parse_tag(const mg_value_t *a, const char *cmd, uint32_t *id) {
  double x = 0;
  int rc = mg_map_num(a, "tag_id", 0, 4294967295.0, &x);
  if (rc) return rc;
  if (x != (double)(uint32_t)x)
    return mg_error(-EINVAL, "tag_id: must be an integer, got %g", x);
  *id = (uint32_t)x;
  double c = 0, l = 0;
  if ((rc = mg_map_num(a, "tag_cookie", 0, 4294967295.0, &c)) ||
      (rc = mg_map_num(a, "tag_len", 0, 65535, &l)))
    return rc;
  if (c != 0)
    return mg_error(-EINVAL, "%s: tag_cookie must be 0: a tag here is the item's "
                    "32-bit tag, with no cookie", cmd);
  const mg_value_t *d = mg_map_get(a, "tag_data");
  bool empty = !d || d->type == MG_NIL || (d->type == MG_ARRAY && d->u.a.n == 0) ||
               ((d->type == MG_STR || d->type == MG_BYTES) && d->u.s.len == 0);
  if (l != 0 || !empty)
    return mg_error(-EINVAL, "%s: tag_len and tag_data must be empty: a tag here "
                    "carries no data", cmd);
  return 0;
}

static void set_name(char **slot, const char *name) {
  free(*slot);
  *slot = name && *name ? mg_strdup(name) : NULL;
}

static int sethookin(mg_node_t *n, const mg_value_t *a) {
  static const char *const known[] = {"thisHook", "ifMatch", "ifNotMatch", "strip",
                                      "tag_cookie", "tag_id", "tag_len", "tag_data", NULL};
  const char *form = "{ thisHook=\"in\" ifMatch=\"a\" ifNotMatch=\"b\" strip=0 tag_id=7 }";
  const char *hook = NULL, *m = NULL, *nm = NULL;
  double strip = 0;
  uint32_t id = 0;
  if (!a || a->type != MG_MAP) return mg_error(-EINVAL, "sethookin takes %s", form);
  int rc = mg_map_only(a, "sethookin", known, form);
  if (rc || (rc = parse_tag(a, "sethookin", &id)) ||
      (rc = mg_map_num(a, "strip", 0, 1, &strip)))
    return rc;
  if (strip != 0 && strip != 1)
    return mg_error(-EINVAL, "strip: must be 0 or 1, got %g", strip);
  if (!mg_map_str(a, "thisHook", &hook) || !mg_map_str(a, "ifMatch", &m) ||
      !mg_map_str(a, "ifNotMatch", &nm))
    return -EINVAL;
  if (!hook) return mg_error(-EINVAL, "sethookin: thisHook is missing (%s)", form);
  mg_hook_t *h = hook_named(n, "sethookin", hook);
  if (!h) return -ENOENT;
  hinfo_t *hi = info(h);
  set_name(&hi->match, m);
  set_name(&hi->nomatch, nm);
  hi->strip = strip != 0;
  hi->in_id = id;
  resolve(n);
  return 0;
}

static int sethookout(mg_node_t *n, const mg_value_t *a) {
  static const char *const known[] = {"thisHook", "tag_cookie", "tag_id", "tag_len",
                                      "tag_data", NULL};
  const char *form = "{ thisHook=\"a\" tag_id=9 }";
  const char *hook = NULL;
  uint32_t id = 0;
  if (!a || a->type != MG_MAP) return mg_error(-EINVAL, "sethookout takes %s", form);
  int rc = mg_map_only(a, "sethookout", known, form);
  if (rc || (rc = parse_tag(a, "sethookout", &id))) return rc;
  if (!mg_map_str(a, "thisHook", &hook)) return -EINVAL;
  if (!hook) return mg_error(-EINVAL, "sethookout: thisHook is missing (%s)", form);
  mg_hook_t *h = hook_named(n, "sethookout", hook);
  if (!h) return -ENOENT;
  info(h)->out_id = id;
  return 0;
}

static void put_tag(mg_value_t *v, uint32_t id) {
  mg_map_set(v, "tag_cookie", mg_int(0));
  mg_map_set(v, "tag_id", mg_int(id));
  mg_map_set(v, "tag_len", mg_int(0));
}

static int tag_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last,
                      mg_value_t **reply) {
  (void)last;
  if (m->cmd == TAG_SETHOOKIN) return sethookin(n, m->args);
  if (m->cmd == TAG_SETHOOKOUT) return sethookout(n, m->args);
  if (!m->args || m->args->type != MG_STR) /* a bare name: gethookin "in" */
    return mg_error(-EINVAL, "%s takes a hook name: %s \"in\"", m->cmdstr, m->cmdstr);
  mg_hook_t *h = hook_named(n, m->cmdstr, m->args->u.s.p);
  if (!h) return -ENOENT;
  hinfo_t *hi = info(h);
  mg_value_t *v = mg_map();
  switch (m->cmd) {
  case TAG_GETHOOKIN:
    mg_map_set(v, "thisHook", mg_str(mg_hook_name(h)));
    mg_map_set(v, "ifMatch", mg_str(hi->match ? hi->match : ""));
    mg_map_set(v, "ifNotMatch", mg_str(hi->nomatch ? hi->nomatch : ""));
    mg_map_set(v, "strip", mg_int(hi->strip));
    put_tag(v, hi->in_id);
    break;
  case TAG_GETHOOKOUT:
    mg_map_set(v, "thisHook", mg_str(mg_hook_name(h)));
    put_tag(v, hi->out_id);
    break;
  default: {
    mg_counter_t *cs[] = {&hi->rf, &hi->ro, &hi->rmf, &hi->rmo, &hi->xf, &hi->xo};
    static const char *const names[] = {"recvFrames", "recvOctets", "recvMatchFrames",
                                        "recvMatchOctets", "xmitFrames", "xmitOctets"};
    for (size_t i = 0; i < 6; i++) {
      if (m->cmd != TAG_CLRSTATS)
        mg_map_set(v, names[i], mg_int((int64_t)mg_counter_get(cs[i])));
      if (m->cmd != TAG_GETSTATS) mg_counter_clear(cs[i]);
    }
    if (m->cmd == TAG_CLRSTATS) {
      mg_value_free(v);
      return 0;
    }
  }
  }
  *reply = v;
  return 0;
}
/* }====================================================== */

static int tag_constructor(mg_node_t *n) {
  ((tag_t *)mg_node_priv(n))->mt = mg_node_mt(n);
  return 0;
}

static int tag_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  (void)n; (void)name;
  mg_hook_set_priv(h, mg_calloc(1, sizeof(hinfo_t)));
  return 0;
}

static int tag_connect(mg_hook_t *h) {
  resolve(mg_hook_node(h));
  return 0;
}

static void tag_disconnect(mg_hook_t *h) {
  hinfo_t *hi = info(h);
  mg_node_t *n = mg_hook_node(h);
  mg_hook_set_priv(h, NULL);
  resolve(n); /* the hook is off the list: nothing points at it now */
  free(hi->match);
  free(hi->nomatch);
  free(hi);
  if (mg_node_numhooks(n) == 0 && mg_node_valid(n)) mg_node_rmself(n);
}

static void tag_status(mg_node_t *n, mg_sbuf_t *out) {
  for (mg_hook_t *h = mg_node_hooks(n); h; h = mg_hook_next(h)) {
    hinfo_t *hi = info(h);
    if (!hi) continue;
    mg_sbuf_printf(out, "%s: tag %u -> %s%s, else -> %s; out: %s%u\n", mg_hook_name(h),
                   hi->in_id, hi->match ? hi->match : "(drop)",
                   hi->strip ? " (stripped)" : "", hi->nomatch ? hi->nomatch : "(drop)",
                   hi->out_id ? "tag " : "as is ", hi->out_id);
  }
}

static const mg_cmd_t tag_cmds[] = {
  {"sethookin", TAG_SETHOOKIN, 0,
   "{ thisHook=\"in\" ifMatch=\"a\" ifNotMatch=\"b\" strip=0 tag_id=7 }",
   "where packets arriving on a hook go, by their tag"},
  {"gethookin", TAG_GETHOOKIN, MG_CMD_READONLY, "\"in\"", "a hook's sethookin"},
  {"sethookout", TAG_SETHOOKOUT, 0, "{ thisHook=\"a\" tag_id=9 }",
   "the tag packets leaving by a hook get (0: left as it is)"},
  {"gethookout", TAG_GETHOOKOUT, MG_CMD_READONLY, "\"a\"", "a hook's sethookout"},
  {"getstats", TAG_GETSTATS, MG_CMD_READONLY, "\"in\"", "a hook's counters"},
  {"clrstats", TAG_CLRSTATS, 0, "\"in\"", "zero a hook's counters"},
  {"getclrstats", TAG_GETCLRSTATS, 0, "\"in\"", "a hook's counters, then zero them"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_tag = {
  .name = "tag",
  .doc = "Sends packets arriving on a hook to one hook or another by their\n"
         "tag (the item's 32-bit tag: item:tag() in Lua, bpf's tagMatch),\n"
         "and tags packets leaving by a hook.",
  .priv_size = sizeof(tag_t),
  .constructor = tag_constructor,
  .newhook = tag_newhook,
  .connect = tag_connect,
  .rcvdata = tag_rcvdata,
  .rcvmsg = tag_rcvmsg,
  .disconnect = tag_disconnect,
  .status = tag_status,
  .cmds = tag_cmds,
};
