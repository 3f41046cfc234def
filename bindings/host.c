/*
** host.c -- the moongraph program: Lua 5.4 with the module built in.
**
**   moongraph SCRIPT.lua [args]   run a script (arguments in arg)
**   moongraph -e CHUNK            run a chunk
**   moongraph -f FILE             run a command file (ngctl's syntax)
**   moongraph                     the REPL on a terminal; else stdin as -f
**   moongraph -s PATH ...         the engine served on a Unix socket
**   moongraph -c PATH [COMMAND]   attached to a served engine (client.c)
** Exit codes: 0 done, 1 an error in the script or a command, 2 usage.
*/
#include <errno.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"

static const char *progname = "moongraph";

static void usage(FILE *f) {
  fprintf(f,
          "usage: %s [options] [script [args]]\n"
          "  -e CHUNK    run the Lua chunk CHUNK\n"
          "  -f FILE     run a command file in ngctl's syntax ('-' for stdin)\n"
          "  -i          the REPL after a script or chunk\n"
          "  -s PATH     serve the engine (the first one made) on the Unix socket\n"
          "              PATH, for moongraph -c; also before 'replay'\n"
          "  -c PATH [--dump HOOK] [-f FILE | COMMAND...]\n"
          "              attach to the engine served at PATH: run COMMAND (ngctl's\n"
          "              verbs, not Lua) and exit with its status, or FILE's\n"
          "              commands together, or take commands as the REPL does;\n"
          "              --dump writes what reaches HOOK of this client's node as\n"
          "              pcap to stdout (| tcpdump -r -)\n"
          "  -h, --help  this text\n"
          "  -v, --version\n"
          "   or: %s replay FILE [options]   (%s replay --help)\n"
          "   or: %s flows FILE [options]    (%s flows --help)\n"
          "With no script the REPL starts on a terminal; otherwise stdin is\n"
          "read as a command file.  In scripts and the REPL the module is\n"
          "'mg' (require \"moongraph\"); the REPL's engine is 'g'.\n",
          progname, progname, progname, progname, progname);
}

int host_docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, lmg_msgh);
  lua_insert(L, base);
  host_sigint_catch(L);
  int status = lua_pcall(L, narg, nres, base);
  host_sigint_release();
  lua_remove(L, base);
  return status;
}

int host_report(lua_State *L, int status) {
  if (status != LUA_OK) {
    fprintf(stderr, "%s: %s\n", progname, lua_tostring(L, -1));
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

/* arg: script at 0, its arguments from 1, what came before negative. */
static void make_arg(lua_State *L, char **argv, int argc, int script) {
  lua_createtable(L, argc - script - 1, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int run_script(lua_State *L, const char *file, char **argv, int argc,
                      int script) {
  make_arg(L, argv, argc, script);
  int status = luaL_loadfile(L, strcmp(file, "-") ? file : NULL);
  if (status != LUA_OK) return host_report(L, status);
  int n = argc - script - 1;
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (int i = script + 1; i < argc; i++) lua_pushstring(L, argv[i]);
  return host_report(L, host_docall(L, n, 0));
}

static int run_chunk(lua_State *L, const char *chunk) {
  int status = luaL_loadbuffer(L, chunk, strlen(chunk), "=(command line)");
  if (status == LUA_OK) status = host_docall(L, 0, 0);
  return host_report(L, status);
}

/* Make the REPL's engine 'g' and a session for it; leaves the session on
** the stack. */
int host_session(lua_State *L) {
  int top = lua_gettop(L);
  if (luaL_dostring(L,
        "local mg = require 'moongraph'\n"
        "g = g or mg.engine()\n"
        "local s = mg.repl.new(g, function(s) io.write(s) io.flush() end)\n"
        "g:on_log(function(lv, line) if mg.repl.logs(s, lv) then\n"
        "  io.stderr:write('moongraph: ', lv, ': ', line, '\\n') end end)\n"
        "return s") != LUA_OK) {
    host_report(L, LUA_ERRRUN);
    lua_settop(L, top);
    return LUA_ERRRUN;
  }
  return LUA_OK;
}

/* Command file (or stdin): one line at a time; stop at the first error,
** as ngctl -f does; then run the engine until it is idle. */
static int run_commands(lua_State *L, const char *file) {
  FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
  struct stat sb;
  if (f && fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
    if (f != stdin) fclose(f);
    f = NULL;
    errno = EISDIR; /* fopen takes a directory; reading it fails */
  }
  if (!f) {
    fprintf(stderr, "%s: cannot open %s: %s\n", progname, file, strerror(errno));
    return 1;
  }
  if (host_session(L) != LUA_OK) return 1;
  int sess = lua_gettop(L), status = 0, lineno = 0;
  lua_pushboolean(L, 1); /* g:close() ends the file: the engine closes after */
  lua_setfield(L, sess, "hosted");
  lua_getglobal(L, "mg");
  lua_getfield(L, -1, "repl");
  lua_getfield(L, -1, "line");
  int fn = lua_gettop(L);
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) >= 0) {
    lineno++;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    lua_pushvalue(L, fn);
    lua_pushvalue(L, sess);
    lua_pushstring(L, line);
    int st = host_docall(L, 2, 2);
    if (st != LUA_OK || lua_isnil(L, -2)) {
      fprintf(stderr, "%s:%d: %s\n", strcmp(file, "-") ? file : "stdin", lineno,
              lua_tostring(L, -1));
      status = 1;
      break;
    }
    lua_pop(L, 2);
    lua_getfield(L, sess, "quit");
    bool quit = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (quit) break;
  }
  if (!status) { /* a chunk left open at the end of the file */
    lua_getfield(L, sess, "pending");
    if (!lua_isnil(L, -1)) {
      fprintf(stderr, "%s:%d: unfinished Lua chunk at the end\n",
              strcmp(file, "-") ? file : "stdin", lineno);
      status = 1;
    }
    lua_pop(L, 1);
  }
  if (!status && ferror(f)) {
    fprintf(stderr, "%s: reading %s: %s\n", progname, file, strerror(errno));
    status = 1;
  }
  free(line);
  if (f != stdin) fclose(f);
  lua_pushnil(L);
  lua_setfield(L, sess, "hosted");
  lua_getfield(L, sess, "close");
  bool close = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (close) { /* g:close() in the file: it ends there */
    lua_getfield(L, sess, "g");
    lua_getfield(L, -1, "close");
    lua_insert(L, -2);
    if (host_report(L, lua_pcall(L, 1, 0, 0)) != LUA_OK) status = 1;
  } else if (!status && luaL_dostring(L, "g:run()") != LUA_OK) { /* let it finish */
    host_report(L, LUA_ERRRUN);
    status = 1;
  }
  lua_settop(L, sess - 1);
  return status;
}

static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = lua_touserdata(L, 2);
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_moongraph);
  lua_setfield(L, -2, "moongraph");
  lua_pop(L, 1);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "moongraph");
  lua_call(L, 1, 1);
  lua_setglobal(L, "mg");
  bool interactive = false, ran = false;
  int i, first = 1;
  if (argc > 2 && !strcmp(argv[1], "-c")) { /* a client: no engine here */
    lua_pushinteger(L, host_client(argv[2], argc - 3, argv + 3));
    return 1;
  }
  if (argc > 1 && !strcmp(argv[1], "-s")) {
    if (argc < 3) {
      fprintf(stderr, "%s: option '-s' needs an argument\n", progname);
      usage(stderr);
      lua_pushinteger(L, 2);
      return 1;
    }
    lua_pushstring(L, argv[2]);
    lua_setfield(L, LUA_REGISTRYINDEX, LMG_SERVE_NEXT);
    first = 3;
  }
  if (argc > first && (!strcmp(argv[first], "replay") || !strcmp(argv[first], "flows"))) {
    /* moongraph replay ..., moongraph flows ...: mg.replay, mg.flows */
    lua_getglobal(L, "mg");
    lua_getfield(L, -1, argv[first]);
    lua_createtable(L, argc - first - 1, 0);
    for (i = first + 1; i < argc; i++) {
      lua_pushstring(L, argv[i]);
      lua_rawseti(L, -2, i - first);
    }
    if (host_docall(L, 1, 1) != LUA_OK) {
      host_report(L, LUA_ERRRUN);
      lua_pushinteger(L, 1);
      return 1;
    }
    return 1;
  }
  for (i = first; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || !strcmp(a, "-")) break;
    if (!strcmp(a, "--")) {
      i++;
      break;
    }
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      lua_pushinteger(L, 0);
      return 1;
    }
    if (!strcmp(a, "-v") || !strcmp(a, "--version")) {
      printf("moongraph %s (%s)\n", MG_VERSION, LUA_RELEASE);
      lua_pushinteger(L, 0);
      return 1;
    }
    if (!strcmp(a, "-i")) {
      interactive = true;
      continue;
    }
    if (!strcmp(a, "-c") || !strcmp(a, "-s")) {
      fprintf(stderr, "%s: '%s PATH' comes first (moongraph %s PATH ...)\n", progname, a, a);
      usage(stderr);
      lua_pushinteger(L, 2);
      return 1;
    }
    if ((!strcmp(a, "-e") || !strcmp(a, "-f")) && i + 1 >= argc) {
      fprintf(stderr, "%s: option '%s' needs an argument\n", progname, a);
      usage(stderr);
      lua_pushinteger(L, 2);
      return 1;
    }
    if (!strcmp(a, "-e")) {
      ran = true;
      if (run_chunk(L, argv[++i])) {
        lua_pushinteger(L, 1);
        return 1;
      }
      continue;
    }
    if (!strcmp(a, "-f")) {
      ran = true;
      if (run_commands(L, argv[++i])) {
        lua_pushinteger(L, 1);
        return 1;
      }
      continue;
    }
    fprintf(stderr, "%s: unknown option '%s'\n", progname, a);
    usage(stderr);
    lua_pushinteger(L, 2);
    return 1;
  }
  if (i < argc) {
    ran = true;
    if (run_script(L, argv[i], argv, argc, i)) {
      lua_pushinteger(L, 1);
      return 1;
    }
  }
  int rc = 0;
  if (interactive || !ran) {
    if (isatty(STDIN_FILENO)) rc = host_repl(L);
    else if (!ran || interactive) rc = run_commands(L, "-");
  }
  lua_pushinteger(L, rc);
  return 1;
}

int main(int argc, char **argv) {
  if (argv[0] && *argv[0]) {
    const char *slash = strrchr(argv[0], '/');
    progname = slash ? slash + 1 : argv[0];
  }
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "%s: cannot create a Lua state: not enough memory\n", progname);
    return 1;
  }
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 0);
  int rc = status == LUA_OK ? (int)lua_tointeger(L, -1) : 1;
  if (status != LUA_OK) host_report(L, status);
  lua_close(L);
  return rc;
}
