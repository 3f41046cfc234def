/*
** worker.c -- worker threads take nodes from the work list and drain them
** (docs/design.md §2 rule 6).  Nothing here blocks but the wait for work.
*/
#include <stdlib.h>

#include "internal.h"

void mg__wake_waiters(mg_engine_t *e) {
  pthread_mutex_lock(&e->wake_mu);
  e->wake_gen++;
  pthread_cond_broadcast(&e->wake_cv);
  pthread_mutex_unlock(&e->wake_mu);
}

static void *worker_main(void *arg) {
  mg_engine_t *e = arg;
  pthread_mutex_lock(&e->wl_mu);
  for (;;) {
    while (!e->wl_stop && e->work.n == 0)
      pthread_cond_wait(&e->wl_cv, &e->wl_mu);
    if (e->wl_stop) break;
    mg_node_t *n = mg__ring_pop(&e->work);
    atomic_fetch_add(&e->active, 1);
    atomic_fetch_add(&e->pending, 1); /* a drain in progress is work */
    pthread_mutex_unlock(&e->wl_mu);
    mg__unsched(n);
    mg__drain(n, e->budget);
    mg_node_unref(n);
    pthread_mutex_lock(&e->wl_mu);
    atomic_fetch_sub(&e->active, 1);
    int64_t left = atomic_fetch_sub(&e->pending, 1) - 1;
    if (left == 0 || (e->work.n == 0 && atomic_load(&e->active) == 0)) {
      uv_async_send(&e->async); /* the loop may be waiting for idle */
      pthread_mutex_unlock(&e->wl_mu);
      mg__wake_waiters(e);
      pthread_mutex_lock(&e->wl_mu);
    }
  }
  pthread_mutex_unlock(&e->wl_mu);
  return NULL;
}

int mg__workers_start(mg_engine_t *e) {
  if (!e->nworkers) return 0;
  e->workers = mg_calloc((size_t)e->nworkers, sizeof *e->workers);
  for (int i = 0; i < e->nworkers; i++) {
    int rc = pthread_create(&e->workers[i], NULL, worker_main, e);
    if (rc) {
      e->nworkers = i;
      return mg_error(-rc, "cannot start worker thread %d", i);
    }
  }
  return 0;
}

void mg__workers_stop(mg_engine_t *e) {
  if (!e->workers) return;
  pthread_mutex_lock(&e->wl_mu);
  e->wl_stop = true;
  pthread_cond_broadcast(&e->wl_cv);
  pthread_mutex_unlock(&e->wl_mu);
  for (int i = 0; i < e->nworkers; i++) pthread_join(e->workers[i], NULL);
  free(e->workers);
  e->workers = NULL;
}
