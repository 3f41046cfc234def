/*
** builtin.h -- the node types that come with moongraph.
*/
#ifndef MG_BUILTIN_H
#define MG_BUILTIN_H

#include "moongraph.h"

#define MG_NODE(x) extern const mg_type_t mg_type_##x;
#include "nodes.def"
#undef MG_NODE

/* Register every built-in type with e. */
int mg_builtin_register(mg_engine_t *e);

#endif
