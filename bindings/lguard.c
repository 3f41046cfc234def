/*
** lguard.c -- what keeps a Lua handler from taking the engine with it:
** an instruction budget per call, a memory ceiling for the Lua state,
** and SIGINT/SIGTERM that get through a handler that never returns.
**
** The budget is a count hook on the engine's thread, set when a handler
** is called from the engine and removed when it returns.  The ceiling is
** an allocator wrapped around the state's own (the state may be stock
** lua5.4's): it counts every byte and refuses growth past the ceiling
** while handler code runs.  Once a call is over budget or interrupted,
** the hook fires on every instruction, so a handler that catches the
** error with pcall cannot run on.
*/
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmg.h"

#define STEP 10000 /* instructions between looks at the budget and signals */

enum { GO, OVER_BUDGET, INTERRUPTED };

typedef struct guard {
  lua_Alloc old;
  void *oldud;
  size_t used;    /* bytes the state holds */
  size_t limit;   /* the ceiling of the call under way; 0: none */
  bool armed;     /* handler code runs: the ceiling holds */
  bool hit;       /* an allocation was refused for the ceiling */
  int depth;      /* calls under way, nested ones included */
  int stop;       /* GO, or why every instruction now fails */
  int64_t budget, left; /* of the outermost call; 0: no budget */
} guard_t;

static void *guard_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  guard_t *gd = ud;
  size_t old = ptr ? osize : 0;
  if (nsize > old && gd->armed && gd->limit && gd->used + (nsize - old) > gd->limit) {
    gd->hit = true;
    return NULL;
  }
  void *p = gd->old(gd->oldud, ptr, osize, nsize);
  if (p || nsize == 0) gd->used = (gd->used > old ? gd->used - old : 0) + nsize;
  return p;
}

static guard_t *guard_of(lua_State *L) {
  void *ud;
  return lua_getallocf(L, &ud) == guard_alloc ? ud : NULL;
}

/* At lua_close, before the module can be unloaded: the state's own
** allocator frees what is left. */
static int guard_gc(lua_State *L) {
  guard_t *gd = guard_of(L);
  if (gd) {
    lua_setallocf(L, gd->old, gd->oldud);
    free(gd);
  }
  return 0;
}

void lmg_guard_open(lua_State *L) {
  if (guard_of(L)) return; /* loaded before in this state */
  guard_t *gd = calloc(1, sizeof *gd);
  if (!gd) return; /* no ceiling then; budgets still need none */
  gd->old = lua_getallocf(L, &gd->oldud);
  gd->used = (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB, 0);
  lua_setallocf(L, guard_alloc, gd);
  lua_newuserdatauv(L, 0, 0);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, guard_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, "mg.guard");
}

bool lmg_guard_hold(lua_State *T) {
  guard_t *gd = guard_of(T);
  if (!gd) return false;
  bool was = gd->armed;
  gd->armed = false;
  return was;
}

void lmg_guard_release(lua_State *T, bool was) {
  guard_t *gd = guard_of(T);
  if (gd) gd->armed = was;
}

/*
** {======================================================
** Signals
** =======================================================
*/
static atomic_int busy;    /* outermost handler calls under way */
static lua_State *_Atomic busy_T; /* the thread of the latest of them */
static atomic_int pending; /* a signal for them; | DIE: then the default */
#define DIE 0x10000
static const int sigs[] = {SIGINT, SIGTERM};
static struct sigaction prev[2]; /* what ours stands in front of */

static bool is_default(const struct sigaction *sa) {
  return !(sa->sa_flags & SA_SIGINFO) && sa->sa_handler == SIG_DFL;
}

static void guard_hook(lua_State *L, lua_Debug *ar);

/* With no budget the call runs with no hook: set one now (lua_sethook
** may be called from a signal handler: lua.c does it). */
static void hook_now(void) {
  lua_State *T = atomic_load(&busy_T);
  if (T) lua_sethook(T, guard_hook, LUA_MASKCOUNT, 1);
}

static void on_signal(int sig, siginfo_t *si, void *ctx) {
  int saved = errno;
  struct sigaction *p = &prev[sig == SIGTERM];
  bool dfl = is_default(p);
  if (atomic_load(&busy) > 0) {
    /* asked twice: the handler does not get to Lua code (stuck in a C
    ** call), so the default action now */
    if (atomic_exchange(&pending, dfl ? sig | DIE : sig) && dfl) {
      sigaction(sig, p, NULL);
      raise(sig); /* delivered when this returns */
    }
    hook_now();
  } else if (dfl) {
    sigaction(sig, p, NULL);
    raise(sig);
  }
  if (p->sa_flags & SA_SIGINFO) p->sa_sigaction(sig, si, ctx);
  else if (p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN) p->sa_handler(sig);
  errno = saved;
}

void lmg_signals_catch(void) {
  for (int i = 0; i < 2; i++) {
    struct sigaction cur;
    if (sigaction(sigs[i], NULL, &cur)) continue;
    if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_signal) continue;
    if (!(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_IGN) continue;
    prev[i] = cur; /* ours is not in place: nothing reads it now */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(sigs[i], &sa, NULL);
  }
}

void lmg_interrupt(int sig) {
  if (atomic_load(&busy) > 0) {
    atomic_store(&pending, sig);
    hook_now();
  }
}
/* }====================================================== */

static void guard_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  guard_t *gd = guard_of(L);
  if (!gd || !gd->depth) { /* a coroutine made in a call, resumed later */
    lua_sethook(L, NULL, 0, 0);
    return;
  }
  if (gd->stop == GO) {
    if (atomic_load(&pending)) gd->stop = INTERRUPTED;
    else if (gd->budget) {
      gd->left -= lua_gethookcount(L);
      if (gd->left <= 0) gd->stop = OVER_BUDGET;
      else if (gd->left < STEP) lua_sethook(L, guard_hook, LUA_MASKCOUNT, (int)gd->left);
    }
    if (gd->stop == GO) return;
  }
  lua_sethook(L, guard_hook, LUA_MASKCOUNT, 1);
  if (gd->stop == INTERRUPTED) {
    int sig = atomic_load(&pending) & ~DIE;
    luaL_error(L, "interrupted (%s)", sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "signal");
  }
  luaL_error(L, "instruction budget exceeded (lua_steps = %I)", (lua_Integer)gd->budget);
}

int lmg_guard_call(lmg_engine_t *g, int nargs, int nres, int msgh) {
  lua_State *T = g->T;
  guard_t *gd = guard_of(T);
  if (!gd) return lua_pcall(T, nargs, nres, msgh);
  bool armed = gd->armed;
  if (gd->depth++ == 0) {
    gd->budget = gd->left = g->lua_steps;
    gd->limit = g->lua_memory;
    gd->stop = GO;
    gd->hit = false;
    /* a handler call is the hot path: one locked operation in, one out;
    ** the signal handler that reads busy_T copes with a stale one */
    atomic_fetch_add_explicit(&busy, 1, memory_order_acq_rel);
    atomic_store_explicit(&busy_T, T, memory_order_release);
    /* Any hook makes Lua 5.4 trace every instruction (about twice as
    ** slow in a tight loop): with no budget there is none until a signal
    ** sets one. */
    if (g->lua_steps)
      lua_sethook(T, guard_hook, LUA_MASKCOUNT,
                  g->lua_steps < STEP ? (int)g->lua_steps : STEP);
  }
  gd->armed = true;
  int rc = lua_pcall(T, nargs, nres, msgh);
  gd->armed = armed;
  if (rc == LUA_ERRMEM && gd->hit) {
    lua_pop(T, 1);
    lua_pushfstring(T, "memory ceiling reached (lua_memory = %I bytes)",
                    (lua_Integer)gd->limit);
  }
  if (--gd->depth == 0) {
    /* busy_T goes before the hook: none comes back */
    atomic_store_explicit(&busy_T, NULL, memory_order_release);
    atomic_fetch_sub_explicit(&busy, 1, memory_order_acq_rel);
    lua_sethook(T, NULL, 0, 0);
    int sig = atomic_load_explicit(&pending, memory_order_acquire)
                  ? atomic_exchange(&pending, 0) : 0;
    if (sig & DIE) { /* nobody else takes it: what it would have done */
      sig &= ~DIE;
      fprintf(stderr, "moongraph: %s: a Lua handler was interrupted; quitting\n",
              sig == SIGTERM ? "SIGTERM" : "SIGINT");
      fflush(stderr);
      sigaction(sig, &prev[sig == SIGTERM], NULL);
      raise(sig);
    }
  }
  return rc;
}
