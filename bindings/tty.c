/*
** tty.c -- the interactive prompt.  The terminal is a libuv handle: the
** engine keeps running while the prompt waits, and a line is read with
** libedit in callback mode, one character at a time as they arrive.
** Ctrl-C at the prompt clears the line; while a chunk runs it stops the
** chunk (lua.c's trick: a hook set from the signal handler); Ctrl-D
** leaves.  History is kept across runs.
*/
#include <editline/readline.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include <uv.h>

#include "host.h"

static lua_State *repl_L;
static bool topmode; /* top is on the screen: keys go to it, not libedit */
static struct termios saved_tio;
static int sess_ref = LUA_NOREF;
static uv_poll_t tty_poll;
static uv_signal_t sig_int;
static mg_engine_t *engine;
static bool prompt_shown, more, done;
static char histfile[1024];
static char *chunk; /* lines of a chunk still being continued */

/* {====================================================== Ctrl-C */
static lua_State *volatile running_L;
static struct sigaction saved_int;
static int catch_depth;

static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

static void laction(int sig) {
  lmg_interrupt(sig); /* a handler the chunk set going stops too */
  if (running_L)
    lua_sethook(running_L, lstop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

void host_sigint_catch(lua_State *L) {
  if (catch_depth++ || !isatty(STDIN_FILENO)) return;
  running_L = L;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = laction;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &saved_int);
}

void host_sigint_release(void) {
  if (--catch_depth || !isatty(STDIN_FILENO)) return;
  running_L = NULL;
  sigaction(SIGINT, &saved_int, NULL);
}
/* }====================================================== */

/* Print above the prompt, then draw the prompt and line again. */
static int l_write(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  if (prompt_shown) fputs("\r\033[K", stdout);
  fwrite(s, 1, len, stdout);
  fflush(stdout);
  if (prompt_shown && len && s[len - 1] == '\n') rl_forced_update_display();
  return 0;
}

static const char *prompt(void) { return more ? ">> " : "mg> "; }

static void on_line(char *line);

/* {====================================================== top */
/* mg.repl.<fn>(session); an error is printed */
static void session_call(const char *fn) {
  lua_State *L = repl_L;
  lua_getglobal(L, "mg");
  lua_getfield(L, -1, "repl");
  lua_getfield(L, -1, fn);
  lua_rawgeti(L, LUA_REGISTRYINDEX, sess_ref);
  if (host_docall(L, 1, 0) != LUA_OK) {
    fprintf(stdout, "%s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
}

static void leave_top(void) {
  if (!topmode) return;
  session_call("top_stop");
  tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
  topmode = false;
  fputs("\n", stdout);
  rl_callback_handler_install(prompt(), on_line);
  prompt_shown = true;
}

/* The top verb asked for the screen: keys one at a time, unseen. */
static void enter_top(void) {
  rl_callback_handler_remove();
  tcgetattr(STDIN_FILENO, &saved_tio);
  struct termios raw = saved_tio;
  raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  topmode = true;
  session_call("top_start");
  lua_rawgeti(repl_L, LUA_REGISTRYINDEX, sess_ref);
  lua_getfield(repl_L, -1, "top");
  bool on = !lua_isnil(repl_L, -1);
  lua_pop(repl_L, 2);
  if (!on) { /* it failed: back to the prompt */
    topmode = false;
    tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
    rl_callback_handler_install(prompt(), on_line);
    prompt_shown = true;
  }
}
/* }====================================================== */

static void on_line(char *line) {
  lua_State *L = repl_L;
  if (!line) { /* Ctrl-D */
    fputs("\n", stdout);
    done = true;
    mg_engine_stop(engine);
    return;
  }
  prompt_shown = false;
  /* history keeps a multi-line chunk whole, once it is complete */
  size_t had = chunk ? strlen(chunk) : 0;
  chunk = realloc(chunk, had + strlen(line) + 2);
  if (had) chunk[had++] = '\n';
  strcpy(chunk + had, line);
  lua_getglobal(L, "mg");
  lua_getfield(L, -1, "repl");
  lua_getfield(L, -1, "line");
  lua_rawgeti(L, LUA_REGISTRYINDEX, sess_ref);
  lua_pushstring(L, line);
  free(line);
  int st = host_docall(L, 2, 2);
  if (st != LUA_OK) {
    fprintf(stdout, "%s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
    more = false;
  } else {
    if (lua_isnil(L, -2)) fprintf(stdout, "%s\n", lua_tostring(L, -1));
    more = lua_type(L, -2) == LUA_TSTRING; /* "more" */
    lua_pop(L, 2);
  }
  if (!more) {
    if (*chunk) add_history(chunk);
    free(chunk);
    chunk = NULL;
  }
  lua_pop(L, 2);
  lua_rawgeti(L, LUA_REGISTRYINDEX, sess_ref);
  lua_getfield(L, -1, "quit");
  if (lua_toboolean(L, -1)) {
    done = true;
    mg_engine_stop(engine);
  }
  lua_getfield(L, -2, "top");
  bool top = !lua_isnil(L, -1);
  lua_pop(L, 3);
  fflush(stdout);
  if (!done && top) {
    enter_top();
    fflush(stdout);
    return;
  }
  if (!done) { /* libedit starts a fresh line (and prompt) on install */
    rl_callback_handler_install(prompt(), on_line);
    prompt_shown = true;
  }
}

static void on_tty(uv_poll_t *h, int status, int events) {
  (void)h;
  (void)events;
  if (status < 0) {
    done = true;
    mg_engine_stop(engine);
    return;
  }
  if (topmode) { /* q (or Esc) leaves top; other keys are ignored */
    char c;
    ssize_t n = read(STDIN_FILENO, &c, 1);
    if (n <= 0 || c == 'q' || c == 'Q' || c == 27) leave_top();
    fflush(stdout);
    return;
  }
  rl_callback_read_char();
}

static void on_sigint(uv_signal_t *h, int sig) {
  (void)h;
  (void)sig;
  if (topmode) { /* Ctrl-C leaves top too */
    leave_top();
    fflush(stdout);
    return;
  }
  /* at the prompt: drop the line and the chunk being continued */
  fputs("^C\n", stdout);
  if (more) {
    lua_rawgeti(repl_L, LUA_REGISTRYINDEX, sess_ref);
    lua_pushnil(repl_L);
    lua_setfield(repl_L, -2, "pending");
    lua_pop(repl_L, 1);
    more = false;
    free(chunk);
    chunk = NULL;
  }
  /* remove then install: libedit starts a fresh line only then */
  rl_callback_handler_remove();
  rl_callback_handler_install(prompt(), on_line);
}

/* {====================================================== completion */
static char **cands;
static int ncands, next_cand;

static char *generator(const char *text, int state) {
  (void)text;
  if (state == 0) next_cand = 0;
  if (next_cand < ncands) return strdup(cands[next_cand++]);
  return NULL;
}

static char **complete(const char *text, int start, int end) {
  (void)end;
  lua_State *L = repl_L;
  for (int i = 0; i < ncands; i++) free(cands[i]);
  free(cands);
  cands = NULL;
  ncands = 0;
  int top = lua_gettop(L);
  lua_getglobal(L, "mg");
  lua_getfield(L, -1, "repl");
  lua_getfield(L, -1, "complete");
  lua_rawgeti(L, LUA_REGISTRYINDEX, sess_ref);
  lua_pushlstring(L, rl_line_buffer, (size_t)rl_point);
  lua_pushinteger(L, start + 1);
  if (lua_pcall(L, 3, 1, 0) == LUA_OK && lua_istable(L, -1)) {
    int n = (int)lua_rawlen(L, -1);
    cands = calloc((size_t)n + 1, sizeof *cands);
    for (int i = 1; cands && i <= n; i++) {
      lua_rawgeti(L, -1, i);
      const char *c = lua_tostring(L, -1);
      if (c) cands[ncands++] = strdup(c);
      lua_pop(L, 1);
    }
  }
  lua_settop(L, top);
  rl_attempted_completion_over = 1;
  /* paths end in ':' or '.': no space after them */
  rl_completion_append_character = ' ';
  if (ncands == 1) {
    size_t l = strlen(cands[0]);
    if (l && (cands[0][l - 1] == ':' || cands[0][l - 1] == '.'))
      rl_completion_append_character = '\0';
  }
  return rl_completion_matches(text, generator);
}
/* }====================================================== */

static void history_path(void) {
  const char *env = getenv("MOONGRAPH_HISTORY");
  if (env) {
    snprintf(histfile, sizeof histfile, "%s", env);
    return;
  }
  const char *home = getenv("HOME");
  if (!home) return;
  char dir[900];
  snprintf(dir, sizeof dir, "%s/.local", home);
  mkdir(dir, 0700);
  snprintf(dir, sizeof dir, "%s/.local/state", home);
  mkdir(dir, 0700);
  snprintf(dir, sizeof dir, "%s/.local/state/moongraph", home);
  mkdir(dir, 0700);
  snprintf(histfile, sizeof histfile, "%s/history", dir);
}

int host_repl(lua_State *L) {
  repl_L = L;
  if (host_session(L) != LUA_OK) return 1;
  lua_pushcfunction(L, l_write);
  lua_setfield(L, -2, "write");
  lua_pushboolean(L, 1); /* g:close() ends the session; g:run() is refused */
  lua_setfield(L, -2, "hosted");
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "prompt");
  sess_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_getglobal(L, "g");
  lmg_engine_t *g = luaL_checkudata(L, -1, LMG_ENGINE);
  lua_pop(L, 1);
  engine = g->e;
  /* the engine's log lines go above the prompt too */
  luaL_loadstring(L, "local s = ... g:on_log(function(lv, line) "
                     "if mg.repl.logs(s, lv) and not s.top then "
                     "s.write('moongraph: ' .. lv .. ': ' .. line .. '\\n') end end)");
  lua_rawgeti(L, LUA_REGISTRYINDEX, sess_ref);
  lua_call(L, 1, 0);

  printf("moongraph %s -- netgraph in user space. 'help' for commands; the rest is Lua.\n",
         MG_VERSION);
  /* before any other libedit call: the first one initialises it, and
  ** its own signal handlers would fight libuv's */
  rl_catch_signals = 0;
  history_path();
  using_history();
  stifle_history(1000);
  if (*histfile) read_history(histfile);
  rl_readline_name = "moongraph";
  rl_attempted_completion_function = complete;
  rl_callback_handler_install(prompt(), on_line);
  prompt_shown = true;

  uv_loop_t *loop = mg_engine_loop(engine);
  uv_poll_init(loop, &tty_poll, STDIN_FILENO);
  uv_poll_start(&tty_poll, UV_READABLE, on_tty);
  uv_signal_init(loop, &sig_int);
  uv_signal_start(&sig_int, on_sigint, SIGINT);
  uv_unref((uv_handle_t *)&sig_int);
  lmg_signals_catch(); /* a handler spinning at the prompt hears Ctrl-C */
  while (!done) mg_engine_run(engine, MG_RUN_FOREVER, 0);
  if (topmode) tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
  rl_callback_handler_remove();
  uv_poll_stop(&tty_poll);
  uv_close((uv_handle_t *)&tty_poll, NULL);
  uv_signal_stop(&sig_int);
  uv_close((uv_handle_t *)&sig_int, NULL);
  mg_engine_run(engine, MG_RUN_NOWAIT, 0); /* let the handles close */
  if (*histfile) write_history(histfile);
  /* g:close() typed at the prompt: now that the loop is left */
  luaL_loadstring(L, "local s = ... s.hosted, s.prompt = nil, nil "
                     "if s.close then s.g:close() end");
  lua_rawgeti(L, LUA_REGISTRYINDEX, sess_ref);
  host_report(L, lua_pcall(L, 1, 0, 0));
  for (int i = 0; i < ncands; i++) free(cands[i]);
  free(cands);
  free(chunk);
  luaL_unref(L, LUA_REGISTRYINDEX, sess_ref);
  return 0;
}
