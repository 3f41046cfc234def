/*
** engine.c -- making and unmaking an engine.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

static void log_stderr(void *arg, int level, const char *line) {
  (void)arg;
  static const char *lv[] = {"error", "warning", "info", "debug"};
  fprintf(stderr, "moongraph: %s: %s\n", lv[level & 3], line);
}

void mg_set_log(mg_engine_t *e, mg_log_fn fn, void *arg) {
  e->logfn = fn ? fn : log_stderr;
  e->logarg = arg;
}

void mg_log(mg_engine_t *e, int level, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  e->logfn(e->logarg, level, line);
}

mg_engine_t *mg_engine_new(const mg_engine_opts_t *o) {
  static const mg_engine_opts_t defaults = {0};
  if (!o) o = &defaults;
  if (o->workers < 0 || o->workers > 256) {
    mg_error(-EINVAL, "workers must be between 0 and 256, not %d", o->workers);
    return NULL;
  }
  if (o->clock != MG_CLOCK_WALL && o->clock != MG_CLOCK_VIRTUAL) {
    mg_error(-EINVAL, "unknown clock %d", o->clock);
    return NULL;
  }
  mg_engine_t *e = mg_calloc(1, sizeof *e);
  e->nworkers = o->workers;
  e->mt = o->workers > 0;
  e->clock = o->clock;
  e->ttl = o->ttl ? o->ttl : 255;
  e->max_depth = o->max_depth ? o->max_depth : 32;
  e->budget = o->budget ? o->budget : 64;
  e->queue_limit = o->queue_limit ? o->queue_limit : 1u << 20;
  e->fanout = o->fanout ? o->fanout : 4096;
  e->loop_tid = pthread_self();
  e->next_id = 1;
  atomic_store(&e->next_due, INT64_MAX);
  e->logfn = log_stderr;
  pthread_mutex_init(&e->topo, NULL);
  pthread_mutex_init(&e->hk_mu, NULL);
  pthread_mutex_init(&e->wl_mu, NULL);
  pthread_cond_init(&e->wl_cv, NULL);
  pthread_mutex_init(&e->wake_mu, NULL);
  pthread_cond_init(&e->wake_cv, NULL);
  pthread_mutex_init(&e->post_mu, NULL);
  pthread_mutex_init(&e->tm_mu, NULL);
  mg_type_register(e, &mg__ctl_type);
  if (mg__loop_init(e, o->loop) || mg__workers_start(e)) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", mg_errmsg());
    mg_engine_free(e);
    mg_error(-EAGAIN, "%s", msg);
    return NULL;
  }
  return e;
}

void *mg_engine_loop(mg_engine_t *e) { return e->loop; }
uint64_t mg_engine_backlog(mg_engine_t *e) {
  int64_t q = atomic_load_explicit(&e->qdata, MG_RELAXED);
  return q > 0 ? (uint64_t)q : 0;
}
uint32_t mg_engine_queue_limit(mg_engine_t *e) { return e->queue_limit; }
int mg_engine_workers(mg_engine_t *e) { return e->nworkers; }

/* Loop thread: run queued work until nothing is left. */
static void settle(mg_engine_t *e) {
  for (int spins = 0;; spins++) {
    if (mg__loop_drain(e, 1 << 20)) continue;
    if (!e->mt) return;
    pthread_mutex_lock(&e->wl_mu);
    bool idle = e->work.n == 0 && e->loopwork.n == 0 &&
                atomic_load(&e->active) == 0 && atomic_load(&e->pending) == 0;
    pthread_mutex_unlock(&e->wl_mu);
    if (idle) return;
    pthread_mutex_lock(&e->wake_mu);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 5 * 1000000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    pthread_cond_timedwait(&e->wake_cv, &e->wake_mu, &ts);
    pthread_mutex_unlock(&e->wake_mu);
  }
}

/* Shut every node down, a batch of ids at a time, until none is left. */
static void shutdown_all(mg_engine_t *e) {
  for (;;) {
    uint32_t ids[256], n = 0;
    pthread_mutex_lock(&e->topo);
    for (uint32_t i = 0; e->idtab && i <= e->idmask && n < 256; i++)
      for (mg_node_t *x = e->idtab[i]; x && n < 256; x = x->idnext)
        ids[n++] = x->id;
    pthread_mutex_unlock(&e->topo);
    if (!n) break;
    for (uint32_t i = 0; i < n; i++) {
      pthread_mutex_lock(&e->topo);
      mg_node_t *x = mg__id_lookup(e, ids[i]);
      if (x) mg_node_ref(x);
      pthread_mutex_unlock(&e->topo);
      if (!x) continue;
      mg__send_fn_rec(x, NULL, mg__rmnode_fn, NULL, 0, MG__STEP, NULL);
      mg_node_unref(x);
    }
    settle(e);
  }
  settle(e);
}

void mg_engine_free(mg_engine_t *e) {
  if (!e) return;
  if (!mg_on_loop_thread(e)) {
    mg_log(e, MG_LOG_ERR, "mg_engine_free called off the loop thread");
    abort();
  }
  if (e->loop) {
    shutdown_all(e);
    mg__timers_free(e);
    settle(e);
  }
  e->freeing = true;
  mg__workers_stop(e);
  if (e->loop) mg__loop_close(e);
  /* Nodes still referenced from outside (a binding that kept a handle)
  ** are the caller's leak; say so rather than free under them. */
  if (e->nnodes)
    mg_log(e, MG_LOG_WARN, "%u node(s) still referenced at engine free",
           e->nnodes);
  free(e->idtab);
  free(e->ntab);
  mg__intern_free(e);
  mg__hooks_free(e);
  for (mg_tent_t *t = e->types, *nx; t; t = nx) {
    nx = t->next;
    free(t);
  }
  free(e->work.v);
  free(e->loopwork.v);
  pthread_mutex_destroy(&e->topo);
  pthread_mutex_destroy(&e->hk_mu);
  pthread_mutex_destroy(&e->wl_mu);
  pthread_cond_destroy(&e->wl_cv);
  pthread_mutex_destroy(&e->wake_mu);
  pthread_cond_destroy(&e->wake_cv);
  pthread_mutex_destroy(&e->post_mu);
  pthread_mutex_destroy(&e->tm_mu);
  free(e);
}
