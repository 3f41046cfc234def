/*
** loop.c -- the libuv side: the loop thread drains its work list from an
** idle handle, learns of work from other threads through one uv_async,
** runs posted closures, fires wall-clock callouts and takes signals.
*/
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct sig {
  uv_signal_t h;
  mg_engine_t *e;
  void (*cb)(mg_engine_t *, int, void *);
  void *arg;
  struct sig *next;
} mg_sig_t;

static void run_posts(mg_engine_t *e) {
  pthread_mutex_lock(&e->post_mu);
  mg_post_t *p = e->posts;
  e->posts = NULL;
  e->posttail = &e->posts;
  pthread_mutex_unlock(&e->post_mu);
  while (p) {
    mg_post_t *next = p->next;
    p->fn(p->arg);
    free(p);
    p = next;
  }
}

static void idle_cb(uv_idle_t *h) {
  mg_engine_t *e = h->data;
  mg__loop_drain(e, 64);
  bool more;
  if (e->mt) pthread_mutex_lock(&e->wl_mu);
  more = e->loopwork.n > 0;
  if (e->mt) pthread_mutex_unlock(&e->wl_mu);
  if (!more) {
    uv_idle_stop(&e->idle);
    e->idle_on = false;
  }
}

static void start_idle(mg_engine_t *e) {
  if (!e->idle_on) {
    uv_idle_start(&e->idle, idle_cb);
    e->idle_on = true;
  }
}

static void async_cb(uv_async_t *h) {
  mg_engine_t *e = h->data;
  if (atomic_load(&e->stop)) uv_stop(e->loop);
  run_posts(e);
  bool more;
  if (e->mt) pthread_mutex_lock(&e->wl_mu);
  more = e->loopwork.n > 0;
  if (e->mt) pthread_mutex_unlock(&e->wl_mu);
  if (more) start_idle(e);
}

void mg__loop_kick(mg_engine_t *e) {
  if (mg_on_loop_thread(e)) {
    start_idle(e);
    return;
  }
  uv_async_send(&e->async);
  mg__wake_waiters(e);
}

bool mg_on_loop_thread(mg_engine_t *e) {
  return pthread_equal(pthread_self(), e->loop_tid);
}

void mg_engine_post(mg_engine_t *e, void (*fn)(void *), void *arg) {
  mg_post_t *p = mg_alloc(sizeof *p);
  p->fn = fn;
  p->arg = arg;
  p->next = NULL;
  pthread_mutex_lock(&e->post_mu);
  *e->posttail = p;
  e->posttail = &p->next;
  pthread_mutex_unlock(&e->post_mu);
  uv_async_send(&e->async);
}

static void timer_cb(uv_timer_t *t) {
  mg_engine_t *e = t->data;
  mg__timers_fire(e, mg_now(e));
  mg__timer_rearm(e);
}

/* Loop thread: point the uv timer at the earliest wall-clock callout. */
void mg__timer_rearm(mg_engine_t *e) {
  if (e->clock != MG_CLOCK_WALL || e->freeing) return;
  int64_t due = atomic_load(&e->next_due);
  if (due == INT64_MAX) {
    uv_timer_stop(&e->timer);
    return;
  }
  int64_t wait = due - mg_now(e);
  uint64_t ms = wait <= 0 ? 0 : (uint64_t)(wait + 999999) / 1000000;
  uv_timer_start(&e->timer, timer_cb, ms, 0);
}

/* uv_stop as well as our flag: without it the rest of this loop turn
** could block in poll with nothing left to wake it. */
static void runtimer_cb(uv_timer_t *t) {
  mg_engine_t *e = t->data;
  atomic_store(&e->stop, 1);
  uv_stop(e->loop);
}

int mg__loop_init(mg_engine_t *e, void *loop) {
  if (loop) e->loop = loop;
  else {
    int rc = uv_loop_init(&e->own_loop);
    if (rc) return mg_error(rc, "uv_loop_init: %s", uv_strerror(rc));
    e->loop = &e->own_loop;
  }
  uv_async_init(e->loop, &e->async, async_cb);
  e->async.data = e;
  uv_unref((uv_handle_t *)&e->async);
  uv_idle_init(e->loop, &e->idle);
  e->idle.data = e;
  uv_timer_init(e->loop, &e->timer);
  e->timer.data = e;
  uv_unref((uv_handle_t *)&e->timer); /* callouts are housekeeping */
  uv_timer_init(e->loop, &e->runtimer);
  e->runtimer.data = e;
  e->posttail = &e->posts;
  return 0;
}

static void closed(uv_handle_t *h) { (void)h; }
static void sig_closed(uv_handle_t *h) { free(h->data); }

void mg__loop_close(mg_engine_t *e) {
  run_posts(e);
  for (mg_sig_t *s = e->sigs, *next; s; s = next) {
    next = s->next;
    s->h.data = s;
    uv_close((uv_handle_t *)&s->h, sig_closed);
  }
  e->sigs = NULL;
  uv_close((uv_handle_t *)&e->async, closed);
  uv_close((uv_handle_t *)&e->idle, closed);
  uv_close((uv_handle_t *)&e->timer, closed);
  uv_close((uv_handle_t *)&e->runtimer, closed);
  uv_run(e->loop, UV_RUN_NOWAIT);
  if (e->loop == &e->own_loop) {
    uv_run(e->loop, UV_RUN_DEFAULT);
    uv_loop_close(e->loop);
  }
  run_posts(e);
}

static void sig_cb(uv_signal_t *h, int signum) {
  mg_sig_t *s = h->data;
  if (s->cb) s->cb(s->e, signum, s->arg);
  else mg_engine_stop(s->e);
}

int mg_engine_signal(mg_engine_t *e, int signum,
                     void (*cb)(mg_engine_t *, int, void *), void *arg) {
  mg_sig_t *s = mg_calloc(1, sizeof *s);
  s->e = e;
  s->cb = cb;
  s->arg = arg;
  uv_signal_init(e->loop, &s->h);
  s->h.data = s;
  int rc = uv_signal_start(&s->h, sig_cb, signum);
  if (rc) {
    uv_close((uv_handle_t *)&s->h, sig_closed);
    return mg_error(rc, "signal %d: %s", signum, uv_strerror(rc));
  }
  uv_unref((uv_handle_t *)&s->h);
  s->next = e->sigs;
  e->sigs = s;
  return 0;
}

void mg_engine_hold(mg_engine_t *e, int delta) {
  if (atomic_fetch_add(&e->holds, delta) + delta > 0) return;
  /* the last hold went: a run waiting for idle must look again, not
  ** sleep in poll on the async that the hold kept referenced */
  if (mg_on_loop_thread(e)) uv_stop(e->loop);
  else uv_async_send(&e->async);
}

void mg_engine_stop(mg_engine_t *e) {
  atomic_store(&e->stop, 1);
  if (mg_on_loop_thread(e)) uv_stop(e->loop);
  else uv_async_send(&e->async);
  if (e->mt) mg__wake_waiters(e);
}

bool mg_engine_stopping(mg_engine_t *e) { return atomic_load(&e->stop); }

static bool busy(mg_engine_t *e) {
  pthread_mutex_lock(&e->post_mu);
  bool posted = e->posts != NULL; /* closures waiting for the loop */
  pthread_mutex_unlock(&e->post_mu);
  if (posted) return true;
  if (!e->mt) return e->loopwork.n > 0;
  pthread_mutex_lock(&e->wl_mu);
  bool b = e->loopwork.n > 0;
  pthread_mutex_unlock(&e->wl_mu);
  return b || atomic_load(&e->pending) > 0;
}

bool mg_engine_quiet(mg_engine_t *e) { return !busy(e); }

int mg_engine_run(mg_engine_t *e, mg_run_t mode, uint64_t ns) {
  if (!mg_on_loop_thread(e))
    return mg_error(-EPERM, "the engine runs on the thread that made it");
  if (e->running)
    return mg_error(-EBUSY, "the engine is already running (run called "
                            "from inside a handler?)");
  e->running = true;
  atomic_store(&e->stop, 0);
  if (mode == MG_RUN_NOWAIT) {
    run_posts(e);
    mg__loop_drain(e, e->budget);
    uv_run(e->loop, UV_RUN_NOWAIT);
    e->running = false;
    return 0;
  }
  if (mode == MG_RUN_FOR)
    uv_timer_start(&e->runtimer, runtimer_cb, (ns + 999999) / 1000000, 0);
  if (mode != MG_RUN_IDLE) uv_ref((uv_handle_t *)&e->async);
  for (;;) {
    run_posts(e); /* the async may be unreferenced: do not wait on it */
    if (atomic_load(&e->stop)) break;
    if (mode == MG_RUN_IDLE) {
      bool b = busy(e);
      if (!b && atomic_load(&e->holds) <= 0 && !uv_loop_alive(e->loop)) break;
      /* workers wake us through the async when they finish */
      if (b && e->mt) uv_ref((uv_handle_t *)&e->async);
      else uv_unref((uv_handle_t *)&e->async);
      if (!b && atomic_load(&e->holds) > 0 && !uv_loop_alive(e->loop))
        uv_ref((uv_handle_t *)&e->async); /* held: wait for mg_engine_stop */
    }
    uv_run(e->loop, UV_RUN_ONCE);
  }
  uv_timer_stop(&e->runtimer);
  uv_unref((uv_handle_t *)&e->async);
  e->running = false;
  return 0;
}
