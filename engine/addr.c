/*
** addr.c -- netgraph addresses: "name:", "[1f]:", "name:h1.h2", "." and
** paths of hooks relative to the sender ("h1.h2").  A walk follows each
** hook to its peer; the destination learns the hook it was reached by.
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MG_PATHSIZ 512

static int bad(const char *path, const char *why) {
  char q[MG_QUOTESIZ];
  return mg_error(-EINVAL, "malformed address %s: %s", mg_quote(q, path), why);
}

/* "[1f]" as netgraph reads it (ng_decodeidname): a bracket, hex digits,
** a bracket, not zero.  *digits counts them (an id has at most 8 here). */
static bool id_form(const char *s, uint32_t *id, int *digits) {
  *digits = 0;
  if (*s++ != '[') return false;
  uint64_t v = 0;
  int n = 0;
  for (; isxdigit((unsigned char)*s); s++, n++)
    v = (v << 4 | (uint64_t)(isdigit((unsigned char)*s) ? *s - '0'
                                                        : (tolower((unsigned char)*s) - 'a' + 10))) &
        0xffffffffffULL; /* enough to tell zero, and more than 8 digits, apart */
  if (n == 0 || strcmp(s, "]") != 0) return false;
  *digits = n;
  *id = (uint32_t)v;
  return n > 8 || v != 0;
}

bool mg__is_idname(const char *name) {
  uint32_t id;
  int digits;
  return id_form(name, &id, &digits);
}

int mg_resolve(mg_node_t *from, const char *path, mg_node_t **out,
               mg_hook_t **lasthook) {
  *out = NULL;
  if (lasthook) *lasthook = NULL;
  if (!path || !*path) return mg_error(-EINVAL, "empty address");
  if (strlen(path) >= MG_PATHSIZ)
    return mg_error(-ENAMETOOLONG, "address longer than %d characters",
                    MG_PATHSIZ - 1);
  mg_engine_t *e = from->eng;
  const char *colon = strchr(path, ':'), *rest = path;
  mg_node_t *n;
  if (colon) {
    if (strchr(colon + 1, ':')) return bad(path, "more than one ':'");
    size_t len = (size_t)(colon - path);
    char nm[MG_NAMESIZ + 4];
    if (len == 0) return bad(path, "no node before ':'");
    if (len >= sizeof nm) return bad(path, "node name too long");
    memcpy(nm, path, len);
    nm[len] = '\0';
    rest = colon + 1;
    uint32_t id;
    int digits;
    if (strcmp(nm, ".") == 0) {
      n = from;
      mg_node_ref(n);
    } else if (strchr(nm, '.')) {
      return bad(path, "a node name has no '.' (only \".:\" does)");
    } else if (id_form(nm, &id, &digits)) {
      if (digits > 8)
        return bad(path, "an id is a non-zero hex number of 1 to 8 digits in brackets, as [1f]");
      n = mg_node_byid(e, id);
      if (!n) return mg_error(-ENOENT, "no node with id [%x]", id);
    } else {
      /* anything else is a name, "[zz]" too, as in ng_name2noderef */
      n = mg_node_byname(e, nm);
      if (!n) {
        char q[MG_QUOTESIZ];
        return mg_error(-ENOENT, "no node named %s", mg_quote(q, nm));
      }
    }
  } else {
    n = from;
    mg_node_ref(n);
  }
  /* the hooks: no "..", and one dot at either end is dropped, as
  ** ng_path_parse does (".h", "h.", "name:." and "." all mean something) */
  if (strstr(rest, "..")) {
    mg_node_unref(n);
    return bad(path, "empty hook name in the path");
  }
  char walk[MG_PATHSIZ];
  snprintf(walk, sizeof walk, "%s", rest[0] == '.' ? rest + 1 : rest);
  size_t wl = strlen(walk);
  if (wl && walk[wl - 1] == '.') walk[wl - 1] = '\0';
  rest = walk;
  mg_hook_t *arrived = NULL;
  while (*rest) {
    const char *dot = strchr(rest, '.');
    size_t len = dot ? (size_t)(dot - rest) : strlen(rest);
    char hk[MG_NAMESIZ + 4];
    if (len >= sizeof hk) {
      mg_node_unref(n);
      if (arrived) mg__hook_unref(arrived);
      return bad(path, "hook name too long");
    }
    memcpy(hk, rest, len);
    hk[len] = '\0';
    rest += len + (dot ? 1 : 0);
    pthread_mutex_lock(&e->topo);
    mg_hook_t *h = NULL;
    for (mg_hook_t *x = n->hooks; x; x = x->next)
      if (strcmp(x->name, hk) == 0) h = x;
    mg_hook_t *p = h ? h->peer : NULL;
    bool up = p && p != &mg__deadhook &&
              !(atomic_load(&p->node->flags) & MG_NF_INVALID);
    mg_node_t *next = up ? p->node : NULL;
    if (next) {
      mg_node_ref(next);
      mg__hook_ref(p);
    }
    pthread_mutex_unlock(&e->topo);
    if (!next) {
      char q[MG_QUOTESIZ], d[96];
      mg__node_describe(n, d, sizeof d);
      /* ENOENT for both, as ng_path2noderef */
      int rc = h ? mg_error(-ENOENT, "hook %s of node %s is not connected", mg_quote(q, hk), d)
                 : mg__node_error(n, -ENOENT, "has no hook %s", mg_quote(q, hk));
      mg_node_unref(n);
      if (arrived) mg__hook_unref(arrived);
      return rc;
    }
    mg_node_unref(n);
    if (arrived) mg__hook_unref(arrived);
    n = next;
    arrived = p;
  }
  if (!mg_node_valid(n)) {
    int rc = mg__node_error(n, -ENOENT, "is shut down");
    mg_node_unref(n);
    if (arrived) mg__hook_unref(arrived);
    return rc;
  }
  *out = n;
  if (lasthook) *lasthook = arrived; /* a reference, as n is */
  else if (arrived) mg__hook_unref(arrived);
  return 0;
}
