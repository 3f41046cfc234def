/*
** ledit.c -- rewriting packets from Lua while keeping what the capture
** said about them: item:set(bytes) and item:patch(offset, bytes), and the
** metadata of a new packet (node:send's and g:send's third argument: a
** table { ts=seconds, linktype=n } or an item to copy them from).
*/
#include <string.h>

#include "lmg.h"

#define LMG_PACKET_MAX (1u << 20)

/* The live item at idx (the same rule as litem.c's handle) */
static lmg_item_t *live_item(lua_State *L, int idx) {
  lmg_item_t *li = luaL_checkudata(L, idx, LMG_ITEM);
  if (!li->it)
    luaL_error(L, "item used after its handler returned, or after it was "
                  "forwarded or dropped");
  return li;
}

/* item:set(bytes): new contents; timestamp, link type and tags kept */
static int l_set(lua_State *L) {
  lmg_item_t *li = live_item(L, 1);
  size_t len;
  const char *p = luaL_checklstring(L, 2, &len);
  if (len > LMG_PACKET_MAX) return luaL_argerror(L, 2, "a packet of at most 1 MiB");
  mg_buf_set(mg_item_writable(li->it), p, (uint32_t)len);
  lua_settop(L, 1);
  return 1;
}

/* item:patch(offset, bytes): bytes written over the packet's from offset
** (0: the first byte), within what was captured */
static int l_patch(lua_State *L) {
  lmg_item_t *li = live_item(L, 1);
  lua_Integer off = luaL_checkinteger(L, 2);
  size_t len;
  const char *p = luaL_checklstring(L, 3, &len);
  uint32_t caplen = mg_item_buf(li->it)->len;
  if (off < 0 || (lua_Unsigned)off > caplen || len > caplen - (size_t)off)
    return luaL_error(L, "patch: %d bytes at offset %I are past the end of the packet "
                         "(%d bytes captured)", (int)len, off, (int)caplen);
  mg_buf_t *b = mg_item_writable(li->it);
  memcpy(b->data + off, p, len);
  lua_settop(L, 1);
  return 1;
}

void lmg_check_meta(lua_State *L, int arg, int64_t now, lmg_meta_t *m) {
  m->ts = now;
  m->linktype = 1;
  m->from = NULL;
  if (lua_isnoneornil(L, arg)) return;
  if (luaL_testudata(L, arg, LMG_ITEM)) {
    m->from = mg_item_buf(live_item(L, arg)->it);
    return;
  }
  if (!lua_istable(L, arg))
    luaL_typeerror(L, arg, "table { ts=, linktype= } or item");
  lua_pushnil(L);
  while (lua_next(L, arg)) {
    lua_pop(L, 1);
    const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (!k || (strcmp(k, "ts") && strcmp(k, "linktype"))) {
      char q[MG_QUOTESIZ];
      const char *what = k ? mg_quote(q, k) : luaL_typename(L, -1);
      luaL_argerror(L, arg, lua_pushfstring(L, "unknown field %s (ts and linktype "
                                                  "are known)", what));
    }
  }
  lua_getfield(L, arg, "ts");
  if (!lua_isnil(L, -1))
    m->ts = (int64_t)(lmg_checkrange(L, arg, luaL_checknumber(L, -1), "ts", 0,
                                     LMG_TIME_MAX) * 1e9);
  lua_getfield(L, arg, "linktype");
  if (!lua_isnil(L, -1)) {
    if (!lua_isinteger(L, -1)) luaL_argerror(L, arg, "linktype: an integer");
    m->linktype = (uint16_t)lmg_checkrange(L, arg, (double)lua_tointeger(L, -1),
                                           "linktype", 0, 0xffff);
  }
  lua_pop(L, 2);
}

void lmg_meta_apply(const lmg_meta_t *m, mg_buf_t *b) {
  const mg_buf_t *f = m->from;
  if (!f) {
    b->ts = m->ts;
    b->linktype = m->linktype;
    return;
  }
  b->ts = f->ts;
  b->linktype = f->linktype;
  b->port = f->port;
  b->ntags = f->ntags;
  b->flags |= f->flags & (MG_BUF_NSEC | MG_BUF_SWAPPED | MG_BUF_RAWTS);
  b->rawts = f->rawts;
  memcpy(b->tags, f->tags, sizeof b->tags);
}

const luaL_Reg lmg_item_edit_methods[] = {{"set", l_set}, {"patch", l_patch}, {NULL, NULL}};
