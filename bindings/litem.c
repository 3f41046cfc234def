/*
** litem.c -- the item handle a Lua handler sees: the packet stays in C,
** Lua reads its metadata and decoded fields, copies bytes only when it
** asks (bytes), and forwards or drops it with one call.  The handle dies
** when the handler returns.
*/
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "lmg.h"

static lmg_item_t *check_item(lua_State *L) {
  lmg_item_t *li = luaL_checkudata(L, 1, LMG_ITEM);
  if (!li->it)
    luaL_error(L, "item used after its handler returned, or after it was "
                  "forwarded or dropped");
  return li;
}

lmg_item_t *lmg_push_item(lua_State *L, lmg_engine_t *g, mg_node_t *n,
                          mg_item_t *it) {
  lmg_item_t *li = lua_newuserdatauv(L, sizeof *li, 0);
  li->it = it;
  li->n = n;
  li->eng = g;
  luaL_setmetatable(L, LMG_ITEM);
  return li;
}

void lmg_item_done(lmg_item_t *li, bool consume) {
  if (li->it) {
    if (consume) mg_consume(li->it);
    else mg_drop(li->it, MG_DROP_POLICY);
  }
  li->it = NULL;
  li->n = NULL;
}

static mg_buf_t *buf(lua_State *L) { return mg_item_buf(check_item(L)->it); }

static int l_len(lua_State *L) {
  lua_pushinteger(L, buf(L)->wirelen);
  return 1;
}

static int l_caplen(lua_State *L) {
  lua_pushinteger(L, buf(L)->len);
  return 1;
}

static int l_ts(lua_State *L) {
  lua_pushinteger(L, buf(L)->ts);
  return 1;
}

static int l_time(lua_State *L) {
  lua_pushnumber(L, (double)buf(L)->ts / 1e9);
  return 1;
}

static int l_linktype(lua_State *L) {
  lua_pushinteger(L, buf(L)->linktype);
  return 1;
}

static int l_tag(lua_State *L) {
  lua_pushinteger(L, mg_item_tag(check_item(L)->it));
  return 1;
}

/* settag(n): 0 clears it; a tag is 32 bits */
static int l_settag(lua_State *L) {
  lmg_item_t *li = check_item(L);
  lua_Integer t = luaL_checkinteger(L, 2);
  if (t < 0 || t > 0xffffffff)
    return luaL_argerror(L, 2, "a tag is from 0 to 4294967295");
  mg_item_settag(li->it, (uint32_t)t);
  return 0;
}

static int l_hook(lua_State *L) {
  mg_hook_t *h = mg_item_hook(check_item(L)->it);
  if (h) lua_pushstring(L, mg_hook_name(h));
  else lua_pushnil(L);
  return 1;
}

/* bytes(i [, j]): as string.sub over the captured bytes; the one copy */
static int l_bytes(lua_State *L) {
  mg_buf_t *b = buf(L);
  lua_Integer len = b->len;
  lua_Integer i = luaL_optinteger(L, 2, 1), j = luaL_optinteger(L, 3, -1);
  if (i < 0) i = len + i + 1 > 0 ? len + i + 1 : 1;
  else if (i == 0) i = 1;
  if (j < 0) j = len + j + 1;
  else if (j > len) j = len;
  if (i > j) lua_pushliteral(L, "");
  else lua_pushlstring(L, (const char *)b->data + i - 1, (size_t)(j - i + 1));
  return 1;
}

static int l_forward(lua_State *L) {
  lmg_item_t *li = check_item(L);
  const char *name = lmg_checkname(L, 2);
  mg_hook_t *h = mg_node_hook(li->n, name);
  char q[MG_QUOTESIZ];
  if (!h)
    return luaL_error(L, "forward: node [%x] has no hook %s",
                      mg_node_id(li->n), mg_quote(q, name));
  mg_item_t *it = li->it;
  li->it = NULL;
  int rc = mg_forward(h, it);
  if (rc) return lmg_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_drop(lua_State *L) {
  lmg_item_t *li = check_item(L);
  mg_drop(li->it, MG_DROP_POLICY);
  li->it = NULL;
  return 0;
}

static int l_tostring(lua_State *L) {
  lmg_item_t *li = luaL_checkudata(L, 1, LMG_ITEM);
  if (!li->it) lua_pushliteral(L, "mg.item (gone)");
  else {
    mg_buf_t *b = mg_item_buf(li->it);
    lua_pushfstring(L, "mg.item (%d bytes, linktype %d)", (int)b->len,
                    (int)b->linktype);
  }
  return 1;
}

/*
** {======================================================
** Decoding: Ethernet, 802.1Q, IPv4, IPv6, TCP, UDP, ICMP.  Bounds are
** checked at every step; a truncated packet decodes as far as it goes.
** =======================================================
*/
static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void set_int(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

static void set_str(lua_State *L, const char *k, const char *v) {
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

static void mac(char *out, const uint8_t *p) {
  snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", p[0], p[1], p[2], p[3],
           p[4], p[5]);
}

/* decode()'s proto, always a string: a name for the usual IP protocols
** (docs/lua.md lists them), the number in decimal for the others */
static void set_proto(lua_State *L, int proto) {
  static const struct { int n; const char *name; } names[] = {
    {1, "icmp"}, {2, "igmp"}, {6, "tcp"}, {17, "udp"}, {47, "gre"}, {50, "esp"},
    {51, "ah"}, {58, "icmp6"}, {132, "sctp"}};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (names[i].n == proto) {
      set_str(L, "proto", names[i].name);
      return;
    }
  lua_pushfstring(L, "%d", proto);
  lua_setfield(L, -2, "proto");
}

static void l4(lua_State *L, int proto, const uint8_t *p, uint32_t n) {
  switch (proto) {
  case 6:
    if (n >= 20) {
      lua_createtable(L, 0, 6);
      set_int(L, "sport", be16(p));
      set_int(L, "dport", be16(p + 2));
      set_int(L, "seq", be32(p + 4));
      set_int(L, "ack", be32(p + 8));
      set_int(L, "flags", p[13] | (p[12] & 1) << 8);
      set_int(L, "window", be16(p + 14));
      lua_setfield(L, -2, "tcp");
      set_int(L, "sport", be16(p));
      set_int(L, "dport", be16(p + 2));
    }
    break;
  case 17:
    if (n >= 8) {
      lua_createtable(L, 0, 3);
      set_int(L, "sport", be16(p));
      set_int(L, "dport", be16(p + 2));
      set_int(L, "len", be16(p + 4));
      lua_setfield(L, -2, "udp");
      set_int(L, "sport", be16(p));
      set_int(L, "dport", be16(p + 2));
    }
    break;
  case 1:
  case 58:
    if (n >= 4) {
      lua_createtable(L, 0, 2);
      set_int(L, "type", p[0]);
      set_int(L, "code", p[1]);
      lua_setfield(L, -2, proto == 1 ? "icmp" : "icmp6");
    }
    break;
  }
  set_proto(L, proto);
}

static void ipv4(lua_State *L, const uint8_t *p, uint32_t n) {
  if (n < 20 || (p[0] >> 4) != 4) return;
  uint32_t hl = (p[0] & 15) * 4u;
  if (hl < 20 || hl > n) return;
  char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, p + 12, a, sizeof a);
  inet_ntop(AF_INET, p + 16, b, sizeof b);
  lua_createtable(L, 0, 7);
  set_str(L, "src", a);
  set_str(L, "dst", b);
  set_int(L, "proto", p[9]);
  set_int(L, "ttl", p[8]);
  set_int(L, "len", be16(p + 2));
  set_int(L, "tos", p[1]);
  set_int(L, "frag", be16(p + 6) & 0x3fff);
  lua_setfield(L, -2, "ip");
  set_str(L, "src", a);
  set_str(L, "dst", b);
  if ((be16(p + 6) & 0x1fff) == 0) /* the first fragment carries the ports */
    l4(L, p[9], p + hl, n - hl);
  else
    set_proto(L, p[9]);
}

static void ipv6(lua_State *L, const uint8_t *p, uint32_t n) {
  if (n < 40 || (p[0] >> 4) != 6) return;
  char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, p + 8, a, sizeof a);
  inet_ntop(AF_INET6, p + 24, b, sizeof b);
  lua_createtable(L, 0, 5);
  set_str(L, "src", a);
  set_str(L, "dst", b);
  set_int(L, "next", p[6]);
  set_int(L, "hlim", p[7]);
  set_int(L, "plen", be16(p + 4));
  lua_setfield(L, -2, "ip6");
  set_str(L, "src", a);
  set_str(L, "dst", b);
  /* walk the usual extension headers to the transport */
  uint8_t nh = p[6];
  uint32_t off = 40;
  while ((nh == 0 || nh == 43 || nh == 60 || nh == 44) && off + 8 <= n) {
    uint32_t len = nh == 44 ? 8 : (p[off + 1] + 1u) * 8;
    nh = p[off];
    off += len;
  }
  if (off <= n) l4(L, nh, p + off, n - off);
}

static void network(lua_State *L, uint16_t type, const uint8_t *p, uint32_t n) {
  if (type == 0x0800) ipv4(L, p, n);
  else if (type == 0x86dd) ipv6(L, p, n);
  else if (type == 0x0806 && n >= 28) {
    char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, p + 14, a, sizeof a);
    inet_ntop(AF_INET, p + 24, b, sizeof b);
    lua_createtable(L, 0, 3);
    set_int(L, "op", be16(p + 6));
    set_str(L, "spa", a);
    set_str(L, "tpa", b);
    lua_setfield(L, -2, "arp");
    set_str(L, "proto", "arp");
  }
}

static void ethernet(lua_State *L, const uint8_t *p, uint32_t n) {
  if (n < 14) return;
  char s[18], d[18];
  mac(d, p);
  mac(s, p + 6);
  uint16_t type = be16(p + 12);
  uint32_t off = 14;
  lua_createtable(L, 0, 3);
  set_str(L, "src", s);
  set_str(L, "dst", d);
  /* 802.1Q and 802.1ad tags: the outermost id is "vlan" */
  int vlan = -1, pcp = 0;
  while ((type == 0x8100 || type == 0x88a8 || type == 0x9100) && off + 4 <= n) {
    if (vlan < 0) {
      vlan = be16(p + off) & 0xfff;
      pcp = p[off] >> 5;
    }
    type = be16(p + off + 2);
    off += 4;
  }
  set_int(L, "type", type);
  if (vlan >= 0) {
    set_int(L, "vlan", vlan);
    set_int(L, "pcp", pcp);
  }
  lua_setfield(L, -2, "eth");
  if (vlan >= 0) set_int(L, "vlan", vlan);
  network(L, type, p + off, n - off);
}

/* decode() -> { eth={ src dst type vlan }, vlan=id, ip|ip6={ ... },
**   tcp|udp|icmp={ ... }, src, dst, proto, sport, dport } */
static int l_decode(lua_State *L) {
  mg_buf_t *b = buf(L);
  const uint8_t *p = b->data;
  uint32_t n = b->len;
  lua_createtable(L, 0, 8);
  switch (b->linktype) {
  case 1: ethernet(L, p, n); break;                 /* EN10MB */
  case 101: case 12: case 14:                         /* RAW */
    if (n && (p[0] >> 4) == 4) ipv4(L, p, n);
    else if (n && (p[0] >> 4) == 6) ipv6(L, p, n);
    break;
  case 228: ipv4(L, p, n); break;                     /* IPV4 */
  case 229: ipv6(L, p, n); break;                     /* IPV6 */
  case 113:                                           /* LINUX_SLL */
    if (n >= 16) network(L, be16(p + 14), p + 16, n - 16);
    break;
  case 276:                                           /* LINUX_SLL2 */
    if (n >= 20) network(L, be16(p), p + 20, n - 20);
    break;
  case 0: case 108:                                   /* NULL, LOOP */
    if (n >= 4) {
      uint32_t af = b->linktype == 108 ? be32(p) : (uint32_t)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24);
      if (af > 0xffff) af = be32(p);
      if (af == 2) ipv4(L, p + 4, n - 4);
      else if (af == 24 || af == 28 || af == 30 || af == 10) ipv6(L, p + 4, n - 4);
    }
    break;
  }
  return 1;
}
/* }====================================================== */

static const luaL_Reg item_methods[] = {
  {"len", l_len}, {"caplen", l_caplen}, {"ts", l_ts}, {"time", l_time},
  {"linktype", l_linktype}, {"hook", l_hook}, {"bytes", l_bytes},
  {"tag", l_tag}, {"settag", l_settag},
  {"forward", l_forward}, {"drop", l_drop}, {"decode", l_decode},
  {NULL, NULL}};

static const luaL_Reg item_meta[] = {{"__tostring", l_tostring}, {NULL, NULL}};

void lmg_open_item(lua_State *L) {
  lmg_metatable(L, LMG_ITEM, item_meta, item_methods);
}
