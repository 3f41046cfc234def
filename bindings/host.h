/*
** host.h -- between the host program's files.
*/
#ifndef MG_HOST_H
#define MG_HOST_H

#include <stdbool.h>

#include "lmg.h"

int host_docall(lua_State *L, int narg, int nres);
int host_report(lua_State *L, int status);
int host_session(lua_State *L);
int host_repl(lua_State *L); /* tty.c */
/* moongraph -c PATH [--dump HOOK] [COMMAND...] (client.c); the exit code */
int host_client(const char *path, int argc, char **argv);
/* While Lua runs a chunk, Ctrl-C stops the chunk, not the program. */
void host_sigint_catch(lua_State *L);
void host_sigint_release(void);

#endif
