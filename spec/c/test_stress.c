/*
** The dispatch rules under two worker threads: readers share a node, a
** writer is alone, per-node FIFO holds under contention, and the graph
** can be rewired while data flows, with every item accounted for.  Run
** under ThreadSanitizer by the TSan build.
*/
#include <pthread.h>
#include <unistd.h>

#include "internal.h"
#include "testgraph.h"

static void setup_limit(uint32_t qlimit) {
  mg_engine_opts_t o = {.workers = 2, .queue_limit = qlimit};
  setup_opts(&o);
}

static void setup(void) { setup_limit(0); }

/* Two generators run on the two workers and push through one probe:
** readers must be seen inside together; the loop thread's writer steps
** must each find the probe empty. */
static void t_readers_together_writer_alone(void) {
  setup();
  CHECK_OK(mg_mkpeer(CTL, ".", "probe", "p", "x"));
  CHECK_OK(mg_name(CTL, ".:p", "p"));
  CHECK_OK(mg_mkpeer(CTL, "p:", "hole", "out", "in"));
  mg_node_t *p = node("p:");
  probe_t *pp = mg_node_priv(p);
  pp->spin = 2000;
  mg_node_t *g[2];
  for (int i = 0; i < 2; i++) {
    char hk[8], path[16];
    snprintf(hk, sizeof hk, "g%d", i);
    CHECK_OK(mg_mkpeer(CTL, "p:", "gen", hk, "out"));
    snprintf(path, sizeof path, "p:%s", hk);
    g[i] = node(path);
  }
  enum { PER = 20000 };
  for (int i = 0; i < 2; i++) gen_start(g[i], PER, 64);
  int writers = 0;
  while (atomic_load(&pp->seen) < 2 * PER) {
    CHECK_OK(mg_send_fn(p, NULL, probe_writer_fn, NULL, 0, 0));
    writers++;
    CHECK_OK(mg_engine_run(E, MG_RUN_FOR, 2000000));
  }
  CHECK_OK(mg_engine_run(E, MG_RUN_IDLE, 0));
  CHECK_EQ(pp->seen, 2 * PER);
  CHECK_EQ(pp->fns, writers);
  CHECK_EQ(pp->overlap, 0);
  CHECK(pp->max_readers >= 2);
  printf("     %d writer steps, at most %d readers inside at once\n", writers,
         pp->max_readers);
  mg_value_t *r = NULL;
  CHECK_OK(mg_ctl_call_text(CTL, "p:out", "getstats", "{ hook=\"in\" }", &r));
  CHECK_EQ(mg_map_get(r, "frames")->u.i, 2 * PER);
  mg_value_free(r);
  for (int i = 0; i < 2; i++) mg_node_unref(g[i]);
  mg_node_unref(p);
  teardown();
}

/* One sender's items stay in order through a node that a flood of writer
** steps from the other worker keeps pushing into its queue.  (Readers may
** finish out of the order they started in, so the node here takes one
** item at a time and its order can be seen.) */
typedef struct { mg_node_t *target; uint32_t left; } pinger_t;

static int ping_fn(mg_node_t *n, mg_hook_t *h, void *arg, intptr_t x) {
  (void)h; (void)x;
  pinger_t *pg = arg;
  for (int i = 0; i < 8 && pg->left; i++, pg->left--)
    mg_send_fn(pg->target, NULL, probe_writer_fn, NULL, 0, 0);
  if (pg->left) mg_send_fn(n, NULL, ping_fn, pg, 0, MG_QUEUE);
  return 0;
}

static void t_fifo_under_contention(void) {
  setup();
  CHECK_OK(mg_mkpeer(CTL, ".", "wprobe", "p", "x"));
  CHECK_OK(mg_name(CTL, ".:p", "p"));
  CHECK_OK(mg_mkpeer(CTL, "p:", "gen", "in", "out"));
  CHECK_OK(mg_name(CTL, "p:in", "g"));
  CHECK_OK(mg_mkpeer(CTL, ".", "gen", "pinger", "out")); /* a node to run on */
  mg_node_t *g = node("g:"), *p = node("p:"), *pn = node(".:pinger");
  probe_t *pp = mg_node_priv(p);
  pp->record = true;
  pp->spin = 50;
  enum { N = 100000 };
  pinger_t pg = {p, 30000};
  /* Hold p as a writer until both senders have items in its queue: two
  ** workers may otherwise happen to take turns and never meet there. */
  CHECK(mg__enter(p, true));
  mg_send_fn(pn, NULL, ping_fn, &pg, 0, MG_QUEUE);
  gen_start(g, N, 32);
  for (int spins = 0; spins < 5000; spins++) { /* 5 s at most */
    mg_node_stats_t q;
    mg_node_stats(p, &q);
    if (q.qdata >= 32 && q.qlen > q.qdata) break; /* data and functions */
    usleep(1000);
  }
  mg__leave(p, true);
  while (atomic_load(&pp->seen) < N || atomic_load(&pp->fns) < 30000)
    CHECK_OK(mg_engine_run(E, MG_RUN_FOR, 1000000));
  CHECK_OK(mg_engine_run(E, MG_RUN_IDLE, 0));
  CHECK_EQ(pp->nseq, N);
  uint32_t bad = 0;
  for (uint32_t i = 0; i < N; i++)
    if (pp->seq[i] != i) bad++;
  CHECK_EQ(bad, 0);
  CHECK_EQ(pp->overlap, 0);
  mg_node_stats_t s;
  mg_node_stats(p, &s);
  CHECK(s.queued > 0); /* the contention was real */
  printf("     %llu of %d items went through the queue, in order\n",
         (unsigned long long)s.queued, N + 30000);
  mg_node_unref(g);
  mg_node_unref(p);
  mg_node_unref(pn);
  teardown();
}

/* Rewire while two generators flood a hub: taps come and go, hooks are
** removed, nodes shut down.  Nothing crashes, every item ends once. */
static void t_rewire_while_flowing(void) {
  /* a small queue limit, as netgraph's 4096: the flood meets it and drops */
  setup_limit(4096);
  CHECK_OK(mg_mkpeer(CTL, ".", "hub", "h", "ctl"));
  CHECK_OK(mg_name(CTL, ".:h", "hub"));
  CHECK_OK(mg_ctl_call(CTL, "hub:", "setpersistent", NULL, NULL));
  CHECK_OK(mg_mkpeer(CTL, "hub:", "hole", "sink", "in"));
  CHECK_OK(mg_rmhook(CTL, ".", "h")); /* data must not reach the ctl */
  mg_node_t *g[2];
  for (int i = 0; i < 2; i++) {
    char hk[8], path[16];
    snprintf(hk, sizeof hk, "g%d", i);
    CHECK_OK(mg_mkpeer(CTL, "hub:", "gen", hk, "out"));
    snprintf(path, sizeof path, "hub:%s", hk);
    g[i] = node(path);
  }
  for (int i = 0; i < 2; i++) gen_start(g[i], UINT32_MAX, 16);
  int round;
  gen_t *g0 = mg_node_priv(g[0]), *g1 = mg_node_priv(g[1]);
  for (round = 0; round < 300; ) {
    char hk[16], path[32];
    snprintf(hk, sizeof hk, "tap%d", round % 4);
    snprintf(path, sizeof path, "hub:%s", hk);
    switch (round % 3) {
    case 0: /* a new tap: a tee with a hole on its far side */
      if (mg_mkpeer(CTL, "hub:", "tee", hk, "left") == 0)
        CHECK_OK(mg_mkpeer(CTL, path, "hole", "right", "in"));
      break;
    case 1: /* cut a tap from the hub's side */
      mg_rmhook(CTL, "hub:", hk);
      break;
    case 2: /* shut a tee down: it splices the hub to its hole */
      mg_shutdown(CTL, path);
      break;
    }
    round++;
    CHECK_OK(mg_engine_run(E, MG_RUN_FOR, 100000));
  }
  for (int i = 0; i < 2; i++) CHECK_OK(mg_send_fn(g[i], NULL, gen_stop_fn, NULL, 0, 0));
  CHECK_OK(mg_engine_run(E, MG_RUN_IDLE, 0));
  mg_node_t *hub = node("hub:");
  mg_node_stats_t s;
  mg_node_stats(hub, &s);
  uint64_t sent = atomic_load(&g0->sent) + atomic_load(&g1->sent);
  CHECK_EQ(s.in, sent); /* the generators' links never changed */
  printf("     %d rewiring steps while %llu items flowed, %llu dropped "
         "for a full queue\n", round, (unsigned long long)sent,
         (unsigned long long)s.drops[MG_DROP_QFULL]);
  mg_node_unref(hub);
  for (int i = 0; i < 2; i++) mg_node_unref(g[i]);
  teardown();
}

/* Shut down a node that both workers are sending to. */
static void t_shutdown_under_load(void) {
  setup();
  CHECK_OK(mg_mkpeer(CTL, ".", "probe", "p", "x"));
  CHECK_OK(mg_name(CTL, ".:p", "p"));
  mg_node_t *g[2];
  for (int i = 0; i < 2; i++) {
    char hk[8], path[16];
    snprintf(hk, sizeof hk, "g%d", i);
    CHECK_OK(mg_mkpeer(CTL, "p:", "gen", hk, "out"));
    snprintf(path, sizeof path, "p:%s", hk);
    g[i] = node(path);
  }
  mg_node_t *p = node("p:");
  ((probe_t *)mg_node_priv(p))->spin = 100;
  for (int i = 0; i < 2; i++) gen_start(g[i], 1000000, 64);
  gen_t *g0 = mg_node_priv(g[0]), *g1 = mg_node_priv(g[1]);
  while (atomic_load(&g0->sent) < 1000 || atomic_load(&g1->sent) < 1000)
    CHECK_OK(mg_engine_run(E, MG_RUN_FOR, 1000000));
  CHECK_OK(mg_shutdown(CTL, "p:"));
  CHECK_OK(mg_engine_run(E, MG_RUN_IDLE, 0));
  CHECK(!mg_node_valid(p));
  mg_node_stats_t s;
  mg_node_stats(p, &s);
  uint64_t sent = 0;
  for (int i = 0; i < 2; i++) { /* less what found the link already cut */
    mg_node_stats_t gs;
    mg_node_stats(g[i], &gs);
    sent += atomic_load(&((gen_t *)mg_node_priv(g[i]))->sent) - gs.drops[MG_DROP_NOPEER];
  }
  CHECK_EQ(s.in, sent); /* every item that left a generator arrived */
  CHECK(s.in > 0);
  CHECK_EQ(s.qlen, 0);
  printf("     %llu items in before the shutdown\n", (unsigned long long)s.in);
  for (int i = 0; i < 2; i++) mg_node_unref(g[i]);
  mg_node_unref(p);
  teardown();
}

/* Names are read for error messages from any thread while a rename frees
** the old one: under TSan a read outside the topology lock is a race. */
static mg_node_t *described;
static _Atomic int describing;

static void *describe_loop(void *arg) {
  (void)arg;
  char d[96];
  while (atomic_load(&describing)) mg__node_describe(described, d, sizeof d);
  return NULL;
}

static void t_rename_while_described(void) {
  setup();
  CHECK_OK(mg_mkpeer(CTL, ".", "hole", "h", "in"));
  described = node(".:h");
  atomic_store(&describing, 1);
  pthread_t t;
  pthread_create(&t, NULL, describe_loop, NULL);
  char name[32];
  for (int i = 0; i < 5000; i++) {
    snprintf(name, sizeof name, "n%d", i);
    CHECK_OK(mg_name(CTL, ".:h", name));
  }
  atomic_store(&describing, 0);
  pthread_join(t, NULL);
  mg_node_unref(described);
  teardown();
}

int main(void) {
  RUN(t_readers_together_writer_alone);
  RUN(t_fifo_under_contention);
  RUN(t_rewire_while_flowing);
  RUN(t_shutdown_under_load);
  RUN(t_rename_while_described);
  /* again, the generators sending bursts */
  gen_bursts = true;
  RUN(t_readers_together_writer_alone);
  RUN(t_fifo_under_contention);
  RUN(t_rewire_while_flowing);
  RUN(t_shutdown_under_load);
  CHECK_DONE();
}
