/*
** bench_core.c -- what the engine costs: one inline hop, one queued hop,
** the memory of an idle node, the time to build a million nodes, and how
** throughput grows from one worker to two.  Prints `figure: NAME VALUE
** UNIT` lines.  Usage: bench_core [-q] (quick: smaller counts).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builtin.h"

static bool quick;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static long rss_bytes(void) {
  long pages = 0, res = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
  fclose(f);
  return res * sysconf(_SC_PAGESIZE);
}

static void die(const char *what) {
  fprintf(stderr, "bench_core: %s: %s\n", what, mg_errmsg());
  exit(1);
}

static void figure(const char *name, double v, const char *unit) {
  printf("figure: %s %.3g %s\n", name, v, unit);
  fflush(stdout);
}

/* The least a node can do: data in one hook goes out of the other. */
typedef struct {
  mg_hook_t *left, *right;
} pass_t;

static int pass_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  pass_t *p = mg_node_priv(n);
  if (!strcmp(name, "left")) p->left = h;
  else if (!strcmp(name, "right")) p->right = h;
  else return mg_error(-EINVAL, "pass has hooks left and right");
  return 0;
}

static int pass_rcvdata(mg_hook_t *h, mg_item_t *it) {
  pass_t *p = mg_node_priv(mg_hook_node(h));
  return mg_forward(h == p->left ? p->right : p->left, it);
}

static const mg_type_t pass_type = {.name = "pass",
                                    .priv_size = sizeof(pass_t),
                                    .newhook = pass_newhook,
                                    .rcvdata = pass_rcvdata};

/* The same, taking a burst in one call. */
static int pass_rcvburst(mg_hook_t *h, mg_item_t **v, unsigned n) {
  pass_t *p = mg_node_priv(mg_hook_node(h));
  return mg_forward_burst(h == p->left ? p->right : p->left, v, n);
}

static const mg_type_t bpass_type = {.name = "bpass",
                                     .priv_size = sizeof(pass_t),
                                     .newhook = pass_newhook,
                                     .rcvdata = pass_rcvdata,
                                     .rcvburst = pass_rcvburst};

/* A chain: ctl -> n nodes of type -> hole.  Returns the ctl node. */
static mg_node_t *chain(mg_engine_t *e, int n, const char *type) {
  mg_node_t *ctl = mg_ctl_new(e, NULL);
  char path[64];
  if (mg_mkpeer(ctl, ".", type, "in", "left")) die("mkpeer");
  mg_node_t *t;
  mg_hook_t *h;
  if (mg_resolve(ctl, ".:in", &t, &h)) die("resolve");
  uint32_t last = mg_node_id(t);
  mg_node_unref(t);
  mg_hook_unref(h);
  for (int i = 1; i < n; i++) {
    snprintf(path, sizeof path, "[%x]:", last);
    if (mg_mkpeer(ctl, path, type, "right", "left")) die("mkpeer");
    snprintf(path, sizeof path, "[%x]:right", last);
    if (mg_resolve(ctl, path, &t, &h)) die("resolve");
    last = mg_node_id(t);
    mg_node_unref(t);
    mg_hook_unref(h);
  }
  snprintf(path, sizeof path, "[%x]:", last);
  if (mg_mkpeer(ctl, path, "hole", "right", "in")) die("mkpeer");
  return ctl;
}

/* ns per item through a chain of n tees, items sent burst at a time. */
static double run_chain(const char *type, int n, long items,
                        uint32_t max_depth, int burst) {
  mg_engine_opts_t o = {.max_depth = max_depth};
  mg_engine_t *e = mg_engine_new(&o);
  mg_builtin_register(e);
  mg_type_register(e, &pass_type);
  mg_node_t *ctl = chain(e, n, type);
  for (int i = 0; i < 1000; i++) mg_node_send(ctl, "in", mg_buf_new(64));
  mg_engine_run(e, MG_RUN_IDLE, 0);
  double t0 = now();
  for (long i = 0; i < items; i += burst) {
    for (int j = 0; j < burst; j++) mg_node_send(ctl, "in", mg_buf_new(64));
    if (burst > 1) mg_engine_run(e, MG_RUN_IDLE, 0);
  }
  mg_engine_run(e, MG_RUN_IDLE, 0);
  double dt = now() - t0;
  mg_node_unref(ctl);
  mg_engine_free(e);
  return dt * 1e9 / (double)items;
}

/* Build a chain of n idle nodes of type, each with two hooks joined, in a
** child process, so that memory freed by earlier runs does not hide any. */
static void build_in(int n, const char *type, const char *fig_bytes,
                  const char *fig_time) {
  long before = rss_bytes();
  double t0 = now();
  mg_engine_t *e = mg_engine_new(NULL);
  mg_builtin_register(e);
  mg_node_t *ctl = mg_ctl_new(e, NULL);
  char path[64];
  bool tee = !strcmp(type, "tee");
  if (mg_mkpeer(ctl, ".", type, "in", tee ? "left" : "a")) die("mkpeer");
  uint32_t last = mg_node_id(ctl) + 1;
  for (int i = 1; i < n; i++) {
    snprintf(path, sizeof path, "[%x]:", last);
    if (mg_mkpeer(ctl, path, type, tee ? "right" : "b", tee ? "left" : "a"))
      die("mkpeer");
    last++;
  }
  double dt = now() - t0;
  long after = rss_bytes();
  if (fig_time) figure(fig_time, dt * 1e6 / n, "s");
  figure(fig_bytes, (double)(after - before) / n, "bytes");
  mg_node_unref(ctl);
  mg_engine_free(e);
}

static void build(int n, const char *type, const char *fig_bytes,
                  const char *fig_time) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    build_in(n, type, fig_bytes, fig_time);
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
}

/* {====================================================== bursts */
/* A source that sends its items out of 'right' burst at a time, as the
** pcap source does, from a function item on itself. */
typedef struct {
  pass_t hooks;
  long left;
  unsigned burst;
} gsrc_t;

static int gsrc_fn(mg_node_t *n, mg_hook_t *h, void *a, intptr_t b) {
  (void)h; (void)a; (void)b;
  gsrc_t *s = mg_node_priv(n);
  mg_item_t *v[MG_BURST];
  while (s->left > 0) {
    unsigned k = 0;
    for (; k < s->burst && s->left > 0; k++, s->left--)
      v[k] = mg_data_new(n, mg_buf_new(64));
    if (s->burst == 1) mg_forward(s->hooks.right, v[0]);
    else mg_forward_burst(s->hooks.right, v, k);
  }
  return 0;
}

static const mg_type_t gsrc_type = {.name = "gsrc",
                                    .priv_size = sizeof(gsrc_t),
                                    .newhook = pass_newhook};

/* ns per item from a source through n nodes of type into a hole. */
static double run_src_chain(const char *type, int n, long items, unsigned burst) {
  mg_engine_t *e = mg_engine_new(NULL);
  mg_builtin_register(e);
  mg_type_register(e, &pass_type);
  mg_type_register(e, &bpass_type);
  mg_type_register(e, &gsrc_type);
  mg_node_t *ctl = mg_ctl_new(e, NULL);
  char path[64];
  if (mg_mkpeer(ctl, ".", "gsrc", "s", "left") || mg_name(ctl, ".:s", "s") ||
      mg_mkpeer(ctl, "s:", type, "right", "left"))
    die("mkpeer");
  mg_node_t *src = NULL, *t = NULL;
  if (mg_resolve(ctl, "s:", &src, NULL) || mg_resolve(ctl, "s:right", &t, NULL)) die("resolve");
  uint32_t last = mg_node_id(t);
  mg_node_unref(t);
  for (int i = 1; i < n; i++, last++) {
    snprintf(path, sizeof path, "[%x]:", last);
    if (mg_mkpeer(ctl, path, type, "right", "left")) die("mkpeer");
  }
  snprintf(path, sizeof path, "[%x]:", last);
  if (mg_mkpeer(ctl, path, "hole", "right", "in")) die("mkpeer");
  gsrc_t *g = mg_node_priv(src);
  g->burst = burst;
  g->left = 10000;
  mg_send_fn(src, NULL, gsrc_fn, NULL, 0, MG_QUEUE);
  mg_engine_run(e, MG_RUN_IDLE, 0);
  g->left = items;
  double t0 = now();
  mg_send_fn(src, NULL, gsrc_fn, NULL, 0, MG_QUEUE);
  mg_engine_run(e, MG_RUN_IDLE, 0);
  double dt = now() - t0;
  mg_node_unref(src);
  mg_node_unref(ctl);
  mg_engine_free(e);
  return dt * 1e9 / (double)items;
}

/* Per packet per hop over ten more nodes: the fastest of three. */
static double src_hop(const char *type, long items, unsigned burst) {
  double best = 1e9;
  for (int r = 0; r < 3; r++) {
    double d = (run_src_chain(type, 11, items, burst) - run_src_chain(type, 1, items, burst)) / 10;
    if (d < best) best = d;
  }
  return best;
}
/* }====================================================== */

/* {====================================================== scaling */
typedef struct {
  mg_hook_t *out;
  long left;
} src_t;

static int src_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  (void)name;
  ((src_t *)mg_node_priv(n))->out = h;
  return 0;
}

static int src_burst(mg_node_t *n, mg_hook_t *h, void *a, intptr_t b) {
  (void)h; (void)a; (void)b;
  src_t *s = mg_node_priv(n);
  for (int i = 0; i < 32 && s->left > 0; i++, s->left--)
    mg_forward(s->out, mg_data_new(n, mg_buf_new(64)));
  if (s->left > 0) mg_send_fn(n, NULL, src_burst, NULL, 0, MG_QUEUE);
  return 0;
}

static const mg_type_t src_type = {
  .name = "bsrc", .priv_size = sizeof(src_t), .newhook = src_newhook};

/* Work worth measuring per packet: a hash over its bytes, many times. */
static int burn_rounds = 40;

static int burn_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  if (!strcmp(name, "out")) *(mg_hook_t **)mg_node_priv(n) = h;
  return 0;
}

static int burn_rcvdata(mg_hook_t *h, mg_item_t *it) {
  mg_buf_t *b = mg_item_buf(it);
  uint32_t x = 2166136261u;
  for (int r = 0; r < burn_rounds; r++)
    for (uint32_t i = 0; i < b->len; i++) x = (x ^ b->data[i]) * 16777619u;
  b->data[0] = (uint8_t)x;
  mg_hook_t *out = *(mg_hook_t **)mg_node_priv(mg_hook_node(h));
  return mg_forward(out, it);
}

static const mg_type_t burn_type = {.name = "burn",
                                    .priv_size = sizeof(mg_hook_t *),
                                    .newhook = burn_newhook,
                                    .rcvdata = burn_rcvdata};

static double throughput(int workers, long per_src) {
  mg_engine_opts_t o = {.workers = workers};
  mg_engine_t *e = mg_engine_new(&o);
  mg_builtin_register(e);
  mg_type_register(e, &src_type);
  mg_type_register(e, &burn_type);
  mg_node_t *ctl = mg_ctl_new(e, "c");
  /* two sources share one path of four reader nodes */
  if (mg_mkpeer(ctl, ".", "burn", "b", "in") || mg_name(ctl, ".:b", "b1") ||
      mg_mkpeer(ctl, "b1:", "burn", "out", "in") || mg_name(ctl, "b1:out", "b2") ||
      mg_mkpeer(ctl, "b2:", "burn", "out", "in") || mg_name(ctl, "b2:out", "b3") ||
      mg_mkpeer(ctl, "b3:", "burn", "out", "in") || mg_name(ctl, "b3:out", "b4") ||
      mg_mkpeer(ctl, "b4:", "hole", "out", "in") || mg_rmhook(ctl, ".", "b") ||
      mg_connect(ctl, "b4:out", "b1:", "s1", "x") ||
      mg_mkpeer(ctl, "b1:", "bsrc", "a", "out") || mg_mkpeer(ctl, "b1:", "bsrc", "c", "out"))
    die("build");
  mg_engine_run(e, MG_RUN_IDLE, 0);
  mg_node_t *s[2];
  if (mg_resolve(ctl, "b1:a", &s[0], NULL) || mg_resolve(ctl, "b1:c", &s[1], NULL))
    die("resolve");
  double t0 = now();
  for (int i = 0; i < 2; i++) {
    ((src_t *)mg_node_priv(s[i]))->left = per_src;
    mg_send_fn(s[i], NULL, src_burst, NULL, 0, MG_QUEUE);
  }
  mg_engine_run(e, MG_RUN_IDLE, 0);
  double dt = now() - t0;
  for (int i = 0; i < 2; i++) mg_node_unref(s[i]);
  mg_node_unref(ctl);
  mg_engine_free(e);
  return 2.0 * (double)per_src / dt;
}
/* }====================================================== */

int main(int argc, char **argv) {
  quick = argc > 1 && !strcmp(argv[1], "-q");
  long items = quick ? 1000000 : 10000000;
  /* First, while the heap is small: a child that reuses pages freed by the
  ** runs below pays a copy-on-write fault for each, not the cost of a node. */
  int n = quick ? 100000 : 1000000;
  build(n, "hub", "node_bytes", "build_1M_nodes_s");
  build(n, "tee", "node_bytes_tee", NULL);
  /* inline: every hop runs on the sender's stack (depth allowed: 128) */
  double t1 = run_chain("pass", 1, items, 128, 1);
  double t100 = run_chain("pass", 100, items, 128, 1);
  printf("# inline: %.1f ns/item through 1 pass node, %.1f through 100\n", t1, t100);
  double hop = (t100 - t1) / 99;
  figure("hop_ns", hop, "ns");
  t1 = run_chain("tee", 1, items, 128, 1);
  t100 = run_chain("tee", 100, items, 128, 1);
  printf("# inline: %.1f ns/item through 1 tee, %.1f through 100\n", t1, t100);
  figure("hop_ns_tee", (t100 - t1) / 99, "ns");
  /* bursts: a source sends them through pass-through nodes that take them */
  double single = src_hop("pass", items / 4, 1);
  printf("# from a source, one at a time: %.2f ns per hop\n", single);
  figure("src_hop_ns", single, "ns");
  static const unsigned sizes[] = {8, 16, 32, 64};
  for (int i = 0; i < 4; i++) {
    double b = src_hop("bpass", items / 4, sizes[i]);
    char name[64];
    snprintf(name, sizeof name, "burst%u_hop_ns", sizes[i]);
    figure(name, b, "ns");
    if (sizes[i] == MG_BURST) {
      figure("burst_hop_ns", b, "ns");
      figure("burst_hop_of_src_hop", b / single, "x");
      figure("burst_hop_of_hop", b / hop, "x"); /* target <= 1/3 */
    }
  }
  /* queued: an inline depth of 1 sends every hop through the queue */
  long qitems = quick ? 100000 : 1000000;
  double q1 = run_chain("pass", 1, qitems, 1, 1000);
  double q100 = run_chain("pass", 100, qitems, 1, 1000);
  printf("# queued: %.1f ns/item through 1 pass node, %.1f through 100\n", q1, q100);
  figure("queued_hop_ns", (q100 - q1) / 99, "ns");
  /* Two sources share four reader nodes.  Heavy: ~15 us of hashing per
  ** node; light: ~3 us, where the cache lines of the shared lock words and
  ** hook counters moving between cores begin to show. */
  long per = quick ? 10000 : 60000;
  burn_rounds = 200;
  double w1 = throughput(1, per), w2 = throughput(2, per);
  printf("# heavy: %.0f items/s with 1 worker, %.0f with 2\n", w1, w2);
  figure("scale_2w", w2 / w1, "x");
  burn_rounds = 40;
  per *= 5;
  w1 = throughput(1, per), w2 = throughput(2, per);
  printf("# light: %.0f items/s with 1 worker, %.0f with 2\n", w1, w2);
  figure("scale_2w_light", w2 / w1, "x");
  return 0;
}
