/*
** builtin.c -- the list of built-in types, made from nodes.def.
*/
#include "builtin.h"

static const mg_type_t *const builtin[] = {
#define MG_NODE(x) &mg_type_##x,
#include "nodes.def"
#undef MG_NODE
    NULL};

int mg_builtin_register(mg_engine_t *e) {
  for (const mg_type_t *const *t = builtin; *t; t++) {
    int rc = mg_type_register(e, *t);
    if (rc) return rc;
  }
  return 0;
}
