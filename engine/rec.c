/*
** rec.c -- completion records: how a caller learns the real result of an
** operation whose items were queued, and waits for it without blocking
** the engine (docs/design.md §2 rule 8).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

mg_rec_t *mg_rec_new(mg_engine_t *e, mg_rec_cb cb, void *arg) {
  mg_rec_t *r = mg_calloc(1, sizeof *r);
  atomic_store(&r->refs, 1);
  r->eng = e;
  r->cb = cb;
  r->cbarg = arg;
  pthread_mutex_init(&r->mu, NULL);
  return r;
}

static void rec_unref(mg_rec_t *r) {
  if (atomic_fetch_sub(&r->refs, 1) != 1) return;
  mg_value_free(r->reply);
  pthread_mutex_destroy(&r->mu);
  free(r);
}

void mg_rec_free(mg_rec_t *r) {
  if (r) rec_unref(r);
}

void mg__rec_attach(mg_rec_t *r, mg_item_t *it) {
  it->rec = r;
  atomic_store(&r->attached, 1);
  if (atomic_fetch_add(&r->ops, 1) == 0) atomic_fetch_add(&r->refs, 1);
}

bool mg__rec_attached(const mg_rec_t *r) { return atomic_load(&r->attached); }
bool mg_rec_sent(const mg_rec_t *r) { return atomic_load(&r->attached); }

void mg__rec_set_reply(mg_rec_t *r, mg_value_t *v) {
  pthread_mutex_lock(&r->mu);
  mg_value_free(r->reply);
  r->reply = v;
  pthread_mutex_unlock(&r->mu);
}

/* The first error wins: it is the one nearest the cause. */
void mg__rec_finish(mg_item_t *it, int err) {
  mg_rec_t *r = it->rec;
  if (!r) return;
  it->rec = NULL;
  if (err) {
    pthread_mutex_lock(&r->mu);
    if (!r->err) {
      r->err = err;
      const char *m = mg_errmsg();
      if (*m) snprintf(r->msg, sizeof r->msg, "%s", m);
      else snprintf(r->msg, sizeof r->msg, "%s (%s)", strerror(-err), mg_errname(err));
    }
    pthread_mutex_unlock(&r->mu);
  }
  if (atomic_fetch_sub(&r->ops, 1) != 1) return;
  atomic_store(&r->done, 1);
  if (r->cb) r->cb(r, r->cbarg);
  mg_engine_t *e = r->eng;
  if (e->mt) mg__wake_waiters(e);
  rec_unref(r);
}

bool mg_rec_done(const mg_rec_t *r) { return atomic_load(&r->done); }
int mg_rec_error(const mg_rec_t *r) { return r->err; }
const char *mg_rec_errmsg(const mg_rec_t *r) { return r->msg; }

mg_value_t *mg_rec_take_reply(mg_rec_t *r) {
  pthread_mutex_lock(&r->mu);
  mg_value_t *v = r->reply;
  r->reply = NULL;
  pthread_mutex_unlock(&r->mu);
  return v;
}

static int deadlock(void) {
  return mg_error(-EDEADLK,
                  "operation cannot complete: nothing left to run will "
                  "finish it (waiting from inside the handler of a node "
                  "it needs?)");
}

int mg_rec_wait(mg_rec_t *r) {
  mg_engine_t *e = r->eng;
  if (!mg_on_loop_thread(e))
    return mg_error(-EPERM, "mg_rec_wait must run on the engine's loop thread");
  for (;;) {
    uint64_t gen = 0;
    if (e->mt) {
      pthread_mutex_lock(&e->wake_mu);
      gen = e->wake_gen;
      pthread_mutex_unlock(&e->wake_mu);
    }
    if (mg_rec_done(r)) break;
    if (mg__loop_drain(e, 1)) continue;
    if (!e->mt) return deadlock();
    pthread_mutex_lock(&e->wl_mu);
    bool idle = e->work.n == 0 && atomic_load(&e->active) == 0 &&
                e->loopwork.n == 0;
    pthread_mutex_unlock(&e->wl_mu);
    if (idle) {
      if (mg_rec_done(r)) break;
      return deadlock();
    }
    pthread_mutex_lock(&e->wake_mu);
    if (e->wake_gen == gen && !mg_rec_done(r)) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += 20 * 1000000;
      if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
      pthread_cond_timedwait(&e->wake_cv, &e->wake_mu, &ts);
    }
    pthread_mutex_unlock(&e->wake_mu);
  }
  if (r->err) mg_error(r->err, "%s", r->msg);
  return r->err;
}
