/*
** The dispatch rules of docs/design.md §2, one engine thread (no workers): each
** test would fail if its rule broke.  Bad input of every kind gets an
** error naming the thing, and nothing leaks.
*/
#include "internal.h"
#include "testgraph.h"

static void setup(void) { setup_opts(NULL); }

static mg_node_stats_t stats(mg_node_t *n) {
  mg_node_stats_t s;
  mg_node_stats(n, &s);
  return s;
}

/* Rule 3: a free lock means the sender runs the method itself, now. */
static void t_inline_when_free(void) {
  setup();
  CHECK_OK(mg_mkpeer(CTL, ".", "probe", "p", "in"));
  mg_node_t *p = node(".:p");
  probe_t *pp = mg_node_priv(p);
  CHECK_OK(mg_node_send(CTL, "p", seqbuf(7, 60)));
  CHECK_EQ(pp->seen, 1); /* before any loop ran */
  mg_node_stats_t s = stats(p);
  CHECK_EQ(s.in, 1);
  CHECK_EQ(s.inlined, 1);
  CHECK_EQ(s.queued, 0);
  mg_node_unref(p);
  teardown();
}

/* Rules 2 and 4: behind a writer, items queue; the holder drains on
** leaving, in order. */
static void t_queued_behind_writer(void) {
  setup();
  CHECK_OK(mg_mkpeer(CTL, ".", "probe", "p", "in"));
  mg_node_t *p = node(".:p");
  probe_t *pp = mg_node_priv(p);
  pp->record = true;
  CHECK(mg__enter(p, true));
  for (uint32_t i = 0; i < 5; i++) CHECK_OK(mg_node_send(CTL, "p", seqbuf(i, 60)));
  CHECK_EQ(pp->seen, 0);
  mg_node_stats_t s = stats(p);
  CHECK_EQ(s.queued, 5);
  CHECK_EQ(s.qlen, 5);
  CHECK_EQ(s.qdata, 5);
  mg__leave(p, true);
  CHECK_EQ(pp->seen, 5);
  for (uint32_t i = 0; i < 5; i++) CHECK_EQ(pp->seq[i], i);
  s = stats(p);
  CHECK_EQ(s.qlen, 0);
  mg_node_unref(p);
  teardown();
}

/* Rule 3, with a queue: items left queued on a free node (an explicitly
** queued function) are drained by the next sender that could have run its
** item inline, in order, before the work list comes round: a consumer
** never stays behind a producer that sends faster than the list turns. */
static void t_sender_drains_free_node(void) {
  setup();
  CHECK_OK(mg_mkpeer(CTL, ".", "probe", "p", "in"));
  mg_node_t *p = node(".:p");
  probe_t *pp = mg_node_priv(p);
  pp->record = true;
  CHECK_OK(mg_send_fn(p, NULL, probe_writer_fn, NULL, 0, MG_QUEUE));
  CHECK_EQ(pp->fns, 0);
  CHECK_OK(mg_node_send(CTL, "p", seqbuf(1, 60))); /* behind the fn */
  CHECK_EQ(pp->fns, 1); /* drained by the sender, fn first */
  CHECK_EQ(pp->seen, 1);
  for (uint32_t i = 2; i < 100; i++) CHECK_OK(mg_node_send(CTL, "p", seqbuf(i, 60)));
  mg_node_stats_t s = stats(p);
  CHECK_EQ(s.queued, 2); /* the fn and the packet behind it; no more */
  CHECK_EQ(s.inlined, 98);
  CHECK_EQ(s.qlen, 0);
  for (uint32_t i = 0; i < 99; i++) CHECK_EQ(pp->seq[i], i + 1);
  mg_engine_run(E, MG_RUN_NOWAIT, 0); /* the stale work-list entry is harmless */
  CHECK_EQ(pp->seen, 99);
  mg_node_unref(p);
  teardown();
}

/* Rule 2: readers share; a writer waits; once a writer waits, readers
** that come later queue behind it (no starvation, FIFO). */
static void t_readers_share_writer_waits(void) {
  setup();
  CHECK_OK(mg_mkpeer(CTL, ".", "probe", "p", "in"));
  mg_node_t *p = node(".:p");
  probe_t *pp = mg_node_priv(p);
  pp->record = true;
  CHECK(mg__enter(p, false)); /* a reader is inside */
  CHECK_OK(mg_node_send(CTL, "p", seqbuf(1, 60)));
  CHECK_EQ(pp->seen, 1); /* a second reader got in */
  mg_value_t *r = NULL;
  CHECK_OK(mg_ctl_call(CTL, ".:p", "nodeinfo", NULL, &r)); /* read-only: reader */
  CHECK(r && mg_map_get(r, "type"));
  mg_value_free(r);
  CHECK_EQ(stats(p).queued, 0);
  CHECK_OK(mg_send_fn(p, NULL, probe_writer_fn, NULL, 0, 0)); /* must wait */
  CHECK_EQ(pp->fns, 0);
  CHECK_OK(mg_node_send(CTL, "p", seqbuf(2, 60))); /* behind the writer */
  CHECK_EQ(pp->seen, 1);
  CHECK_EQ(stats(p).queued, 2);
  mg__leave(p, false);
  CHECK_EQ(pp->fns, 1);
  CHECK_EQ(pp->seen, 2);
  CHECK_EQ(pp->overlap, 0);
  CHECK_EQ(pp->seq[1], 2);
  mg_node_unref(p);
  teardown();
}

/* A control message to a busy node is queued and its sender still learns
** the real result (completion record). */
static void t_completion_record(void) {
  setup();
  CHECK_OK(mg_mkpeer(CTL, ".", "tee", "t", "left"));
  CHECK_OK(mg_name(CTL, ".:t", "t"));
  CHECK_OK(mg_mkpeer(CTL, "t:", "hole", "right", "in"));
  CHECK_OK(mg_name(CTL, "t:right", "h"));
  /* step two runs on h, queued, and finds the hook name taken */
  CHECK_ERR(mg_connect(CTL, "t:", "h:", "left2right", "in"), -EEXIST,
            "already has a hook 'in'");
  mg_value_t *r = NULL;
  CHECK_OK(mg_ctl_call(CTL, "t:", "listhooks", NULL, &r));
  CHECK_EQ(mg_map_get(r, "hooks")->u.a.n, 2); /* the half-made hook is gone */
  mg_value_free(r);
  CHECK_OK(mg_connect(CTL, "t:", "h:", "left2right", "tap"));
  CHECK_OK(mg_ctl_call(CTL, "h:", "nodeinfo", NULL, &r));
  CHECK_EQ(mg_map_get(r, "hooks")->u.i, 2);
  mg_value_free(r);
  teardown();
}

/* Rule 8: replies are always queued, never run inline in the requester;
** a waiter on a completion record gets its reply through the record. */
static int replies_seen;
static mg_value_t *reply_seen;
static void on_reply(void *arg, uint32_t from, mg_msg_t *m) {
  (void)arg; (void)from;
  replies_seen++;
  mg_value_free(reply_seen);
  reply_seen = mg_value_copy(m->args);
}

static void t_replies_queued(void) {
  setup();
  mg_ctl_on_msg(CTL, on_reply, NULL);
  CHECK_OK(mg_mkpeer(CTL, ".", "echo", "e", "x"));
  mg_value_t *args, *r = NULL;
  CHECK_OK(mg_value_parse("{ a=1 b=[ \"x\" ] }", &args));
  mg_value_t *want = mg_value_copy(args);
  uint64_t before = stats(CTL).queued;
  CHECK_OK(mg_ctl_send(CTL, ".:e", "ping", mg_value_copy(args), NULL));
  CHECK_EQ(replies_seen, 0); /* echo answered inline; the answer waits */
  CHECK_EQ(stats(CTL).queued, before + 1);
  CHECK_OK(mg_engine_run(E, MG_RUN_IDLE, 0));
  CHECK_EQ(replies_seen, 1);
  CHECK(mg_value_equal(reply_seen, want));
  CHECK_OK(mg_ctl_call(CTL, ".:e", "ping", args, &r));
  CHECK(mg_value_equal(r, want));
  CHECK_EQ(replies_seen, 1);
  mg_value_free(r);
  mg_value_free(want);
  mg_value_free(reply_seen);
  reply_seen = NULL;
  teardown();
}

/* Rule 7: inline depth is bounded; past it items are queued. */
static void t_depth_bound(void) {
  setup();
  char path[64];
  CHECK_OK(mg_mkpeer(CTL, ".", "tee", "t", "left"));
  uint32_t first = 0, last = 0;
  mg_node_t *n = node(".:t");
  first = last = mg_node_id(n);
  mg_node_unref(n);
  for (int i = 1; i < 100; i++) {
    snprintf(path, sizeof path, "[%x]:", last);
    CHECK_OK(mg_mkpeer(CTL, path, "tee", "right", "left"));
    snprintf(path, sizeof path, "[%x]:right", last);
    n = node(path);
    last = mg_node_id(n);
    mg_node_unref(n);
  }
  snprintf(path, sizeof path, "[%x]:", last);
  CHECK_OK(mg_mkpeer(CTL, path, "hole", "right", "in"));
  CHECK_OK(mg_node_send(CTL, "t", seqbuf(0, 60)));
  snprintf(path, sizeof path, "[%x]:right", last);
  n = node(path);
  CHECK_EQ(stats(n).in, 0); /* the hole is 101 hops away: not reached inline */
  CHECK_OK(mg_engine_run(E, MG_RUN_IDLE, 0));
  CHECK_EQ(stats(n).in, 1);
  mg_node_unref(n);
  uint64_t queued = 0;
  for (uint32_t id = first; id <= last; id++) {
    n = mg_node_byid(E, id);
    if (n) queued += stats(n).queued, mg_node_unref(n);
  }
  CHECK(queued >= 2 && queued <= 4); /* every 32 hops or so */
  teardown();
}

/* A chain of 100,000 nodes runs without overflowing the stack. */
static void t_chain_100k(void) {
  mg_engine_opts_t o = {.ttl = 200000};
  setup_opts(&o);
  enum { N = 100000 };
  char path[64];
  CHECK_OK(mg_mkpeer(CTL, ".", "tee", "t", "left"));
  mg_node_t *n = node(".:t");
  uint32_t last = mg_node_id(n);
  mg_node_unref(n);
  for (int i = 1; i < N; i++) {
    snprintf(path, sizeof path, "[%x]:", last);
    if (mg_mkpeer(CTL, path, "tee", "right", "left")) {
      CHECK_OK(-1);
      break;
    }
    last++; /* ids count up */
  }
  snprintf(path, sizeof path, "[%x]:", last);
  CHECK_OK(mg_mkpeer(CTL, path, "hole", "right", "in"));
  CHECK_OK(mg_name(CTL, ".:t", "head"));
  snprintf(path, sizeof path, "[%x]:right", last);
  CHECK_OK(mg_name(CTL, path, "tail"));
  for (uint32_t i = 0; i < 10; i++) CHECK_OK(mg_node_send(CTL, "t", seqbuf(i, 60)));
  CHECK_OK(mg_engine_run(E, MG_RUN_IDLE, 0));
  mg_value_t *r = NULL;
  CHECK_OK(mg_ctl_call_text(CTL, "tail:", "getstats", "{ hook=\"in\" }", &r));
  CHECK_EQ(mg_map_get(r, "frames")->u.i, 10);
  mg_value_free(r);
  teardown();
}

/* Rule 7: a loop in the graph ends; each item is dropped where its hop
** budget runs out, and counted there. */
static void t_loop_ttl(void) {
  setup();
  CHECK_OK(mg_mkpeer(CTL, ".", "tee", "in", "left2right"));
  CHECK_OK(mg_name(CTL, ".:in", "a"));
  CHECK_OK(mg_mkpeer(CTL, "a:", "tee", "right", "left"));
  CHECK_OK(mg_name(CTL, "a:right", "b"));
  CHECK_OK(mg_connect(CTL, "b:", "a:", "right", "left"));
  for (uint32_t i = 0; i < 5; i++) CHECK_OK(mg_node_send(CTL, "in", seqbuf(i, 60)));
  CHECK_OK(mg_engine_run(E, MG_RUN_IDLE, 0));
  mg_node_t *a = node("a:"), *b = node("b:");
  uint64_t ttl = stats(a).drops[MG_DROP_TTL] + stats(b).drops[MG_DROP_TTL];
  CHECK_EQ(ttl, 5);
  CHECK_EQ(stats(a).in + stats(b).in, 5 * 255 + 5); /* 255 hops each, then one more */
  mg_node_unref(a);
  mg_node_unref(b);
  teardown();
}

/* Rule 11: shutdown with items queued drops them, counted; waiters hear. */
static void t_shutdown_with_queue(void) {
  setup();
  CHECK_OK(mg_mkpeer(CTL, ".", "probe", "p", "in"));
  CHECK_OK(mg_name(CTL, ".:p", "p"));
  mg_node_t *p = node("p:");
  CHECK(mg__enter(p, true));
  for (uint32_t i = 0; i < 5; i++) CHECK_OK(mg_node_send(CTL, "p", seqbuf(i, 60)));
  mg_rec_t *rec = mg_rec_new(E, NULL, NULL);
  CHECK_OK(mg_ctl_send(CTL, "p:", "nodeinfo", NULL, rec));
  CHECK(!mg_rec_done(rec));
  CHECK_OK(mg__rmnode(p)); /* we are the writer: shut down now */
  mg__leave(p, true);
  CHECK(mg_rec_done(rec));
  CHECK_EQ(mg_rec_error(rec), -ENOENT);
  CHECK(strstr(mg_rec_errmsg(rec), "shut down"));
  mg_rec_free(rec);
  CHECK(!mg_node_valid(p));
  CHECK_OK(mg_engine_run(E, MG_RUN_IDLE, 0)); /* ctl learns its hook went */
  mg_node_stats_t s = stats(p);
  CHECK_EQ(s.drops[MG_DROP_DEAD], 5);
  CHECK_EQ(s.in, 5);
  CHECK_EQ(s.qlen, 0);
  CHECK_ERR(mg_node_send(CTL, "p", seqbuf(9, 60)), -ENOENT, "no hook 'p'");
  mg_node_unref(p);
  teardown();
}

static void t_bad_input(void) {
  setup();
  CHECK_OK(mg_mkpeer(CTL, ".", "tee", "t", "left"));
  CHECK_OK(mg_name(CTL, ".:t", "t"));
  CHECK_ERR(mg_mkpeer(CTL, ".", "nosuch", "x", "y"), -ENOENT, "unknown node type 'nosuch'");
  CHECK_ERR(mg_mkpeer(CTL, ".", "tee", "t", "left"), -EEXIST, "already has a hook 't'");
  CHECK_ERR(mg_mkpeer(CTL, ".", "tee", "u", "middle"), -EINVAL, "tee has no hook 'middle'");
  CHECK_ERR(mg_mkpeer(CTL, ".", "tee", "a.b", "left"), -EINVAL, "may not contain '.'");
  CHECK_ERR(mg_ctl_call(CTL, "", "nodeinfo", NULL, NULL), -EINVAL, "empty address");
  CHECK_ERR(mg_ctl_call(CTL, "t::", "nodeinfo", NULL, NULL), -EINVAL, "more than one ':'");
  /* not an id, so a name, as netgraph reads them */
  CHECK_ERR(mg_ctl_call(CTL, "[zz]:", "nodeinfo", NULL, NULL), -ENOENT, "no node named '[zz]'");
  CHECK_ERR(mg_ctl_call(CTL, "[0]:", "nodeinfo", NULL, NULL), -ENOENT, "no node named '[0]'");
  CHECK_ERR(mg_ctl_call(CTL, "[123456789]:", "nodeinfo", NULL, NULL), -EINVAL, "non-zero hex");
  CHECK_ERR(mg_ctl_call(CTL, "t:..left", "nodeinfo", NULL, NULL), -EINVAL, "empty hook name");
  CHECK_ERR(mg_ctl_call(CTL, ":x", "nodeinfo", NULL, NULL), -EINVAL, "no node before ':'");
  CHECK_ERR(mg_ctl_call(CTL, "nosuch:", "nodeinfo", NULL, NULL), -ENOENT, "no node named 'nosuch'");
  CHECK_ERR(mg_ctl_call(CTL, "[fff]:", "nodeinfo", NULL, NULL), -ENOENT, "no node with id [fff]");
  CHECK_ERR(mg_ctl_call(CTL, "t:right", "nodeinfo", NULL, NULL), -ENOENT, "has no hook 'right'");
  CHECK_ERR(mg_ctl_call(CTL, "t:bogus", "nodeinfo", NULL, NULL), -ENOENT, "has no hook 'bogus'");
  CHECK_ERR(mg_ctl_call(CTL, "t:", "frobnicate", NULL, NULL), -ENOSYS, "no command 'frobnicate'");
  CHECK_ERR(mg_ctl_call_text(CTL, "t:", "name", "{ name=", NULL), -EINVAL, "bad value");
  CHECK_ERR(mg_ctl_call_text(CTL, "t:", "name", "{ nom=\"x\" }", NULL), -EINVAL, "unknown field 'nom'");
  CHECK_ERR(mg_ctl_call_text(CTL, "t:", "name", "{ }", NULL), -EINVAL, "needs a 'name' field");
  CHECK_ERR(mg_ctl_call_text(CTL, "t:", "name", "{ name=5 }", NULL), -EINVAL, "must be a string");
  CHECK_ERR(mg_ctl_call_text(CTL, "t:", "mkpeer", "[ 1 ]", NULL), -EINVAL, "field=value");
  CHECK_ERR(mg_name(CTL, "t:", "ctl"), -EADDRINUSE, "already in use");
  CHECK_ERR(mg_name(CTL, "t:", "a:b"), -EINVAL, "may not contain ':'");
  CHECK_ERR(mg_name(CTL, "t:", "[1f]"), -EINVAL, "reads as a node id");
  CHECK_ERR(mg_name(CTL, "t:", "abcdefghijklmnopqrstuvwxyzabcdefgh"), -ENAMETOOLONG, "longer than");
  CHECK_ERR(mg_connect(CTL, "t:", ".", "right", "right"), -EEXIST, "cannot connect a hook to itself");
  CHECK_ERR(mg_rmhook(CTL, "t:", "nope"), -ENOENT, "has no hook 'nope'");
  CHECK_ERR(mg_node_send(CTL, "nohook", seqbuf(0, 10)), -ENOENT, "has no hook 'nohook'");
  /* a message to a dead node, by name, by id and through a kept pointer */
  mg_node_t *t = node("t:");
  uint32_t id = mg_node_id(t);
  CHECK_OK(mg_shutdown(CTL, "t:"));
  CHECK_ERR(mg_ctl_call(CTL, "t:", "nodeinfo", NULL, NULL), -ENOENT, "no node named 't'");
  char path[32];
  snprintf(path, sizeof path, "[%x]:", id);
  CHECK_ERR(mg_ctl_call(CTL, path, "nodeinfo", NULL, NULL), -ENOENT, "no node with id");
  mg_rec_t *rec = mg_rec_new(E, NULL, NULL);
  mg__send_msg(t, NULL, mg_msg_new(MG_COOKIE_GENERIC, 6, "nodeinfo", NULL), 0, rec, 0);
  CHECK(mg_rec_done(rec));
  CHECK_EQ(mg_rec_error(rec), -ENOENT);
  CHECK(strstr(mg_rec_errmsg(rec), "shut down"));
  mg_rec_free(rec);
  CHECK_ERR(mg_type_register(E, &mg_type_tee), -EEXIST, "already registered");
  mg_node_unref(t);
  teardown();
}

/* ctl -> tee.left, tee.right -> hole, taps to probes. */
static void t_tee(void) {
  setup();
  CHECK_OK(mg_mkpeer(CTL, ".", "tee", "l", "left"));
  CHECK_OK(mg_name(CTL, ".:l", "t"));
  CHECK_OK(mg_mkpeer(CTL, "t:", "hole", "right", "in"));
  CHECK_OK(mg_mkpeer(CTL, "t:", "probe", "left2right", "in"));
  CHECK_OK(mg_mkpeer(CTL, "t:", "probe", "right2left", "in"));
  mg_node_t *l2r = node("t:left2right"), *r2l = node("t:right2left");
  for (uint32_t i = 0; i < 4; i++) CHECK_OK(mg_node_send(CTL, "l", seqbuf(i, 100)));
  CHECK_EQ(((probe_t *)mg_node_priv(l2r))->seen, 4);
  CHECK_EQ(((probe_t *)mg_node_priv(r2l))->seen, 0);
  mg_value_t *r = NULL;
  CHECK_OK(mg_ctl_call(CTL, "t:", "getclrstats", NULL, &r));
  CHECK_EQ(mg_map_get(mg_map_get(r, "left"), "inFrames")->u.i, 4);
  CHECK_EQ(mg_map_get(mg_map_get(r, "left"), "inOctets")->u.i, 400);
  CHECK_EQ(mg_map_get(mg_map_get(r, "right"), "outFrames")->u.i, 4);
  CHECK_EQ(mg_map_get(mg_map_get(r, "left2right"), "outFrames")->u.i, 4);
  mg_value_free(r);
  CHECK_OK(mg_ctl_call(CTL, "t:", "getstats", NULL, &r));
  CHECK_EQ(mg_map_get(mg_map_get(r, "left"), "inFrames")->u.i, 0);
  mg_value_free(r);
  CHECK_OK(mg_ctl_call_text(CTL, "t:right", "getstats", "{ hook=\"in\" }", &r));
  CHECK_EQ(mg_map_get(r, "frames")->u.i, 4);
  CHECK_EQ(mg_map_get(r, "octets")->u.i, 400);
  mg_value_free(r);
  CHECK_OK(mg_ctl_call(CTL, "t:", "status", NULL, &r));
  CHECK(r->type == MG_STR && strstr(r->u.s.p, "left2right"));
  mg_value_free(r);
  /* shutting the tee down splices ctl straight to the hole */
  CHECK_OK(mg_shutdown(CTL, "t:"));
  CHECK_OK(mg_engine_run(E, MG_RUN_IDLE, 0));
  CHECK_OK(mg_node_send(CTL, "l", seqbuf(9, 50)));
  CHECK_OK(mg_ctl_call_text(CTL, ".:l", "getstats", "{ hook=\"in\" }", &r));
  CHECK_EQ(mg_map_get(r, "frames")->u.i, 5);
  mg_value_free(r);
  CHECK_EQ(mg_node_numhooks(l2r), 0); /* the taps were cut off */
  mg_node_unref(l2r);
  mg_node_unref(r2l);
  teardown();
}

static int got_data;
static void count_data(void *arg, mg_hook_t *h, mg_item_t *it) {
  (void)arg; (void)h;
  got_data++;
  mg_consume(it);
}

static void t_hub_echo_hole(void) {
  setup();
  mg_ctl_on_data(CTL, count_data, NULL);
  CHECK_OK(mg_mkpeer(CTL, ".", "hub", "h", "a"));
  CHECK_OK(mg_name(CTL, ".:h", "hub"));
  CHECK_OK(mg_mkpeer(CTL, "hub:", "hole", "b", "in"));
  CHECK_OK(mg_mkpeer(CTL, "hub:", "echo", "c", "in"));
  got_data = 0;
  CHECK_OK(mg_node_send(CTL, "h", seqbuf(1, 10)));
  /* hub -> hole and echo; echo -> back to hub -> ctl and hole */
  CHECK_EQ(got_data, 1);
  mg_value_t *r = NULL;
  CHECK_OK(mg_ctl_call_text(CTL, "hub:b", "getstats", "{ hook=\"in\" }", &r));
  CHECK_EQ(mg_map_get(r, "frames")->u.i, 2);
  mg_value_free(r);
  CHECK_OK(mg_ctl_call_text(CTL, "hub:b", "getclrstats", "{ hook=\"in\" }", &r));
  mg_value_free(r);
  CHECK_OK(mg_ctl_call_text(CTL, "hub:b", "getstats", "{ hook=\"in\" }", &r));
  CHECK_EQ(mg_map_get(r, "frames")->u.i, 0);
  mg_value_free(r);
  CHECK_ERR(mg_ctl_call_text(CTL, "hub:b", "getstats", "{ hook=\"zz\" }", NULL),
            -ENOENT, "hole has no hook 'zz'");
  /* a hub that is not persistent leaves with its last hook */
  CHECK_OK(mg_ctl_call(CTL, "hub:", "setpersistent", NULL, NULL));
  CHECK_OK(mg_rmhook(CTL, "hub:", "b"));
  CHECK_OK(mg_rmhook(CTL, "hub:", "c"));
  CHECK_OK(mg_rmhook(CTL, ".", "h"));
  CHECK_OK(mg_engine_run(E, MG_RUN_IDLE, 0));
  CHECK_OK(mg_ctl_call(CTL, "hub:", "nodeinfo", NULL, &r));
  CHECK_EQ(mg_map_get(r, "hooks")->u.i, 0);
  mg_value_free(r);
  CHECK_OK(mg_mkpeer(CTL, ".", "hole", "x", "in"));
  CHECK_OK(mg_rmhook(CTL, ".", "x"));
  CHECK_OK(mg_engine_run(E, MG_RUN_IDLE, 0));
  CHECK_OK(mg_ctl_call(CTL, ".", "listnodes", NULL, &r));
  CHECK_EQ(mg_map_get(r, "nodes")->u.a.n, 2); /* ctl and the persistent hub */
  mg_value_free(r);
  teardown();
}

static void t_one2many(void) {
  setup();
  CHECK_OK(mg_mkpeer(CTL, ".", "one2many", "o", "one"));
  CHECK_OK(mg_name(CTL, ".:o", "o"));
  mg_node_t *p[3];
  char hk[16], path[32];
  for (int i = 0; i < 3; i++) {
    snprintf(hk, sizeof hk, "many%d", i);
    CHECK_OK(mg_mkpeer(CTL, "o:", "probe", hk, "in"));
    snprintf(path, sizeof path, "o:%s", hk);
    p[i] = node(path);
  }
  CHECK_ERR(mg_mkpeer(CTL, "o:", "hole", "many64", "in"), -EINVAL, "no hook 'many64'");
  CHECK_ERR(mg_mkpeer(CTL, "o:", "hole", "many01", "in"), -EINVAL, "no hook 'many01'");
  for (uint32_t i = 0; i < 9; i++) CHECK_OK(mg_node_send(CTL, "o", seqbuf(i, 10)));
  for (int i = 0; i < 3; i++) CHECK_EQ(((probe_t *)mg_node_priv(p[i]))->seen, 3);
  CHECK_OK(mg_ctl_call_text(CTL, "o:", "setconfig", "{ xmitAlg=2 }", NULL));
  CHECK_OK(mg_node_send(CTL, "o", seqbuf(9, 10)));
  for (int i = 0; i < 3; i++) CHECK_EQ(((probe_t *)mg_node_priv(p[i]))->seen, 4);
  CHECK_OK(mg_ctl_call_text(CTL, "o:", "setconfig",
                            "{ xmitAlg=failover enabledLinks=[ 0 1 1 ] }", NULL));
  CHECK_OK(mg_node_send(CTL, "o", seqbuf(10, 10)));
  CHECK_EQ(((probe_t *)mg_node_priv(p[0]))->seen, 4);
  CHECK_EQ(((probe_t *)mg_node_priv(p[1]))->seen, 5);
  mg_value_t *r = NULL;
  CHECK_OK(mg_ctl_call(CTL, "o:", "getconfig", NULL, &r));
  CHECK_EQ(mg_map_get(r, "xmitAlg")->u.i, 3);
  CHECK_EQ(mg_map_get(r, "enabledLinks")->u.a.v[0]->u.i, 0);
  mg_value_free(r);
  CHECK_OK(mg_ctl_call_text(CTL, "o:", "getstats", "{ linkNum=1 }", &r));
  CHECK_EQ(mg_map_get(r, "xmitPackets")->u.i, 5);
  mg_value_free(r);
  CHECK_OK(mg_ctl_call_text(CTL, "o:", "getstats", "{ linkNum=-1 }", &r));
  CHECK_EQ(mg_map_get(r, "recvPackets")->u.i, 11);
  mg_value_free(r);
  CHECK_ERR(mg_ctl_call_text(CTL, "o:", "setconfig", "{ xmitAlg=9 }", NULL), -EINVAL, "xmitAlg is");
  CHECK_ERR(mg_ctl_call_text(CTL, "o:", "setconfig", "{ failAlg=2 }", NULL), -ENOTSUP, "notify");
  CHECK_ERR(mg_ctl_call_text(CTL, "o:", "getstats", "{ linkNum=70 }", NULL), -EINVAL, "linkNum");
  for (int i = 0; i < 3; i++) mg_node_unref(p[i]);
  teardown();
}

/* Rule 12: callouts run as writer function items; a stopped or re-armed
** callout does not fire; the virtual clock fires them as it moves. */
typedef struct { mg_callout_t c; int fired; } tick_t;
static int tick_fn(mg_node_t *n, mg_hook_t *h, void *arg, intptr_t x) {
  (void)h; (void)x;
  probe_t *p = mg_node_priv(n);
  CHECK_EQ(p->readers, 0); /* under the writer lock */
  ((tick_t *)arg)->fired++;
  return 0;
}

static void t_callouts_virtual(void) {
  mg_engine_opts_t o = {.clock = MG_CLOCK_VIRTUAL};
  setup_opts(&o);
  CHECK_OK(mg_mkpeer(CTL, ".", "probe", "p", "in"));
  mg_node_t *p = node(".:p");
  tick_t a = {0}, b = {0};
  mg_callout_init(&a.c);
  mg_callout_init(&b.c);
  mg_clock_advance(E, 1000);
  CHECK_EQ(mg_now(E), 1000);
  CHECK_OK(mg_callout_reset(&a.c, p, 500, tick_fn, &a, 0));
  CHECK_OK(mg_callout_reset(&b.c, p, 700, tick_fn, &b, 0));
  mg_clock_advance(E, 1400);
  CHECK_EQ(a.fired, 0);
  mg_clock_advance(E, 1500);
  CHECK_EQ(a.fired, 1);
  CHECK(mg_callout_stop(&b.c));
  mg_clock_advance(E, 5000);
  CHECK_EQ(b.fired, 0);
  CHECK_OK(mg_callout_reset(&a.c, p, 10, tick_fn, &a, 0));
  CHECK_OK(mg_callout_reset(&a.c, p, 100, tick_fn, &a, 0)); /* re-arm */
  mg_clock_advance(E, 5050);
  CHECK_EQ(a.fired, 1);
  mg_clock_advance(E, 5100);
  CHECK_EQ(a.fired, 2);
  mg_clock_advance(E, 4000); /* never back */
  CHECK_EQ(mg_now(E), 5100);
  /* a firing queued behind a writer, then stopped, does not run */
  CHECK_OK(mg_callout_reset(&a.c, p, 1, tick_fn, &a, 0));
  CHECK(mg__enter(p, true));
  mg_clock_advance(E, 5200);
  CHECK(!mg_callout_stop(&a.c)); /* already fired: nothing armed */
  mg__leave(p, true);
  CHECK_EQ(a.fired, 2);
  CHECK_OK(mg_callout_reset(&b.c, p, 1000, tick_fn, &b, 0)); /* left armed */
  mg_node_unref(p);
  teardown();
}

static void t_callouts_wall(void) {
  setup();
  CHECK_OK(mg_mkpeer(CTL, ".", "probe", "p", "in"));
  mg_node_t *p = node(".:p");
  tick_t a = {0};
  mg_callout_init(&a.c);
  CHECK_OK(mg_callout_reset(&a.c, p, 5 * 1000000, tick_fn, &a, 0));
  CHECK_OK(mg_engine_run(E, MG_RUN_IDLE, 0)); /* callouts do not keep it up */
  CHECK_EQ(a.fired, 0);
  CHECK_OK(mg_engine_run(E, MG_RUN_FOR, 50 * 1000000));
  CHECK_EQ(a.fired, 1);
  mg_node_unref(p);
  teardown();
}

static void stop_it(void *e) { mg_engine_stop(e); }

static void t_run_modes(void) {
  setup();
  CHECK_OK(mg_engine_run(E, MG_RUN_NOWAIT, 0));
  mg_engine_post(E, stop_it, E);
  CHECK_OK(mg_engine_run(E, MG_RUN_FOREVER, 0)); /* a stop wakes it */
  CHECK_OK(mg_engine_run(E, MG_RUN_FOR, 1000000));
  teardown();
}

/* Rule 2, per hop: a packet that needed a writer at one node (a type that
** takes one item at a time) is a plain reader at the next, even when it
** reaches that node through its queue. */
static _Atomic uint32_t seen_word;
static int lwprobe_rcvdata(mg_hook_t *h, mg_item_t *it) {
  atomic_store(&seen_word, atomic_load(&mg_hook_node(h)->word));
  mg_consume(it);
  return 0;
}
static const mg_type_t lwprobe_type = {
  .name = "lwprobe", .doc = "records its lock word", .rcvdata = lwprobe_rcvdata};

static void t_writer_per_hop(void) {
  setup();
  CHECK_OK(mg_type_register(E, &lwprobe_type));
  CHECK_OK(mg_mkpeer(CTL, ".", "wprobe", "w", "in"));
  CHECK_OK(mg_mkpeer(CTL, ".:w", "lwprobe", "out", "in"));
  mg_node_t *lw = node(".:w.out");
  CHECK(mg__enter(lw, true)); /* the packet must queue at lw */
  CHECK_OK(mg_node_send(CTL, "w", seqbuf(1, 60)));
  CHECK_EQ(atomic_load(&seen_word), 0);
  mg__leave(lw, true); /* drains it */
  uint32_t w = atomic_load(&seen_word);
  CHECK(w & MG_LW_READER);
  CHECK(!(w & MG_LW_WRITER));
  mg_node_unref(lw);
  teardown();
}

/* A function item's owner hears exactly once, whether it ran or was
** dropped with its node. */
static int rel_calls, fn_calls;
static int count_fn(mg_node_t *n, mg_hook_t *h, void *a, intptr_t b) {
  (void)n; (void)h; (void)a; (void)b;
  fn_calls++;
  return 0;
}
static void count_rel(void *a, intptr_t b) {
  (void)b;
  rel_calls++;
  free(a);
}

static void t_fn_release(void) {
  setup();
  CHECK_OK(mg_mkpeer(CTL, ".", "probe", "p", "in"));
  mg_node_t *p = node(".:p");
  CHECK_OK(mg_send_fn_rel(p, NULL, count_fn, count_rel, malloc(16), 0, 0));
  CHECK_EQ(fn_calls, 1); /* inline */
  CHECK_EQ(rel_calls, 1);
  CHECK(mg__enter(p, true));
  CHECK_OK(mg_send_fn_rel(p, NULL, count_fn, count_rel, malloc(16), 0, 0));
  CHECK_EQ(rel_calls, 1); /* queued: still owned */
  CHECK_OK(mg__rmnode(p));
  mg__leave(p, true);
  CHECK_EQ(fn_calls, 1); /* dropped with the node, never run */
  CHECK_EQ(rel_calls, 2);
  /* sent to a node already gone */
  CHECK_ERR(mg_send_fn_rel(p, NULL, count_fn, count_rel, malloc(16), 0, 0),
            -ENOENT, "");
  CHECK_EQ(rel_calls, 3);
  mg_node_unref(p);
  teardown();
}

/* A callout handed back with a firing still queued: its memory must last
** until that firing ends, which then runs nothing. */
static int co_fired, co_fins;
static int co_fn(mg_node_t *n, mg_hook_t *h, void *a, intptr_t b) {
  (void)n; (void)h; (void)a; (void)b;
  co_fired++;
  return 0;
}
static void co_fin(mg_callout_t *c) {
  co_fins++;
  free(c);
}

static void t_callout_free_inflight(void) {
  mg_engine_opts_t o = {.clock = MG_CLOCK_VIRTUAL};
  setup_opts(&o);
  CHECK_OK(mg_mkpeer(CTL, ".", "probe", "p", "in"));
  mg_node_t *p = node(".:p");
  mg_callout_t *c = malloc(sizeof *c);
  mg_callout_init(c);
  CHECK_OK(mg_callout_reset(c, p, 1000, co_fn, NULL, 0));
  CHECK(mg__enter(p, true));
  mg_clock_advance(E, mg_now(E) + 2000); /* the firing queues behind us */
  mg_callout_free(c, co_fin);
  CHECK_EQ(co_fins, 0); /* not while the firing is queued */
  mg__leave(p, true);
  CHECK_EQ(co_fired, 0);
  CHECK_EQ(co_fins, 1);
  c = malloc(sizeof *c); /* never armed: handed back at once */
  mg_callout_init(c);
  mg_callout_free(c, co_fin);
  CHECK_EQ(co_fins, 2);
  mg_node_unref(p);
  teardown();
}

/* A thread that only frees (a worker ending items others made) gives its
** cache back when it ends, as one that allocated does. */
static void *put_items(void *arg) {
  mg_item_t **its = arg;
  for (int i = 0; i < 3; i++) mg__item_put(its[i]);
  return NULL;
}

static void t_pool_freeing_thread(void) {
  mg_item_t *its[3] = {mg__item_get(), mg__item_get(), mg__item_get()};
  pthread_t t;
  CHECK_EQ(pthread_create(&t, NULL, put_items, its), 0);
  pthread_join(t, NULL);
  check_pools_empty("a thread that only freed");
}


/* A burst is its items: through a tee, a reader type with rcvburst, a
** writer type without, and the hop limit, every counter and the order
** come out as they do when the same items go one at a time. */
static void burst_run(bool bursts, uint64_t out[][6], uint32_t *order) {
  mg_engine_opts_t o = {.ttl = 4};
  setup_opts(&o);
  CHECK_OK(mg_mkpeer(CTL, ".", "gen", "g", "x"));
  CHECK_OK(mg_name(CTL, ".:g", "g"));
  CHECK_OK(mg_mkpeer(CTL, "g:", "tee", "out", "left")); /* its last hook: out */
  CHECK_OK(mg_name(CTL, "g:out", "t"));
  CHECK_OK(mg_mkpeer(CTL, "t:", "probe", "left2right", "in"));
  CHECK_OK(mg_name(CTL, "t:left2right", "tap"));
  CHECK_OK(mg_mkpeer(CTL, "t:", "probe", "right", "in"));
  CHECK_OK(mg_name(CTL, "t:right", "p1"));
  CHECK_OK(mg_mkpeer(CTL, "p1:", "wprobe", "out", "in"));
  CHECK_OK(mg_name(CTL, "p1:out", "w"));
  CHECK_OK(mg_mkpeer(CTL, "w:", "probe", "out", "in"));
  CHECK_OK(mg_name(CTL, "w:out", "p2"));
  CHECK_OK(mg_mkpeer(CTL, "p2:", "probe", "out", "in"));
  CHECK_OK(mg_name(CTL, "p2:out", "p3"));
  CHECK_OK(mg_mkpeer(CTL, "p3:", "hole", "out", "in"));
  static const char *const names[] = {"g:", "t:", "tap:", "p1:", "w:", "p2:", "p3:"};
  mg_node_t *w = node("w:");
  ((probe_t *)mg_node_priv(w))->record = true;
  mg_node_t *g = node("g:");
  gen_bursts = bursts;
  gen_start(g, 1000, 100);
  CHECK_OK(mg_engine_run(E, MG_RUN_IDLE, 0));
  gen_bursts = false;
  mg_node_unref(g);
  for (int i = 0; i < 7; i++) {
    mg_node_t *n = node(names[i]);
    mg_node_stats_t s = stats(n);
    uint64_t v[6] = {s.in, s.out, s.consumed, s.dropped, s.drops[MG_DROP_TTL], s.errors};
    memcpy(out[i], v, sizeof v);
    mg_node_unref(n);
  }
  probe_t *pw = mg_node_priv(w);
  CHECK_EQ(pw->nseq, 1000);
  memcpy(order, pw->seq, 1000 * sizeof *order);
  mg_node_unref(w);
  teardown();
}

static void t_bursts_as_items(void) {
  uint64_t one[7][6], many[7][6];
  static uint32_t o1[1000], o2[1000];
  burst_run(false, one, o1);
  burst_run(true, many, o2);
  CHECK(memcmp(one, many, sizeof one) == 0);
  CHECK(memcmp(o1, o2, sizeof o1) == 0);
  for (uint32_t i = 0; i < 1000; i++) CHECK_EQ(o2[i], i);
  CHECK_EQ(many[6][4], 1000); /* p3: the fifth hop is one too many */
  CHECK_EQ(many[2][0], 1000); /* the tap saw every copy */
  CHECK_EQ(many[5][5], 1000); /* p2: each failed forward is its error */
}

/* A node made by a node (mg_node_make, as ksocket's accept does): made
** whole, or, when its init fails, never seen; an answer sent later
** (mg_node_reply) reaches the asker's on_msg, and none reaches a node
** that is gone. */
static int make_rc;
static uint32_t made_id;
static int fail_init(mg_node_t *n, void *arg) {
  (void)n;
  return mg_error(-EPERM, "%s", (const char *)arg);
}
static int make_fn(mg_node_t *n, mg_hook_t *h, void *a, intptr_t fail) {
  (void)h; (void)a;
  made_id = 0;
  make_rc = mg_node_make(n, mg_type_find(E, "hole"), fail ? fail_init : NULL, "no", &made_id);
  return 0;
}
static int later_rc;
static int reply_fn(mg_node_t *n, mg_hook_t *h, void *a, intptr_t to) {
  (void)h; (void)a;
  later_rc = mg_node_reply(n, (uint32_t)to, 7, "later", 0, NULL, mg_int(42));
  return 0;
}

static void t_node_make_reply(void) {
  setup();
  mg_ctl_on_msg(CTL, on_reply, NULL);
  CHECK_OK(mg_mkpeer(CTL, ".", "hole", "h", "in"));
  mg_node_t *h = NULL;
  CHECK_OK(mg_resolve(CTL, ".:h", &h, NULL));
  mg_value_t *r = NULL;
  CHECK_OK(mg_ctl_call(CTL, ".", "listnodes", NULL, &r));
  uint32_t before = mg_map_get(r, "nodes")->u.a.n;
  mg_value_free(r);
  CHECK_OK(mg_send_fn(h, NULL, make_fn, NULL, 1, 0));
  mg_engine_run(E, MG_RUN_IDLE, 0);
  CHECK_EQ(make_rc, -EPERM);
  CHECK_EQ(made_id, 0);
  CHECK_OK(mg_ctl_call(CTL, ".", "listnodes", NULL, &r));
  CHECK_EQ(mg_map_get(r, "nodes")->u.a.n, before);
  mg_value_free(r);
  CHECK_OK(mg_send_fn(h, NULL, make_fn, NULL, 0, 0));
  mg_engine_run(E, MG_RUN_IDLE, 0);
  CHECK_OK(make_rc);
  mg_node_t *m = mg_node_byid(E, made_id);
  CHECK_EQ(m != NULL, 1);
  CHECK_EQ(mg_node_type(m), mg_type_find(E, "hole"));
  mg_node_unref(m);
  replies_seen = 0;
  CHECK_OK(mg_send_fn(h, NULL, reply_fn, NULL, (intptr_t)mg_node_id(CTL), 0));
  mg_engine_run(E, MG_RUN_IDLE, 0);
  CHECK_OK(later_rc);
  CHECK_EQ(replies_seen, 1);
  CHECK_EQ(reply_seen->u.i, 42);
  CHECK_OK(mg_send_fn(h, NULL, reply_fn, NULL, 0x7ffffff0, 0));
  mg_engine_run(E, MG_RUN_IDLE, 0);
  CHECK_EQ(later_rc, -ENOENT);
  CHECK_EQ(replies_seen, 1);
  mg_value_free(reply_seen);
  reply_seen = NULL;
  mg_node_unref(h);
  teardown();
}

int main(void) {
  RUN(t_inline_when_free);
  RUN(t_queued_behind_writer);
  RUN(t_sender_drains_free_node);
  RUN(t_readers_share_writer_waits);
  RUN(t_completion_record);
  RUN(t_replies_queued);
  RUN(t_depth_bound);
  RUN(t_chain_100k);
  RUN(t_loop_ttl);
  RUN(t_shutdown_with_queue);
  RUN(t_bad_input);
  RUN(t_tee);
  RUN(t_hub_echo_hole);
  RUN(t_one2many);
  RUN(t_callouts_virtual);
  RUN(t_callouts_wall);
  RUN(t_run_modes);
  RUN(t_writer_per_hop);
  RUN(t_fn_release);
  RUN(t_callout_free_inflight);
  RUN(t_pool_freeing_thread);
  RUN(t_bursts_as_items);
  RUN(t_node_make_reply);
  CHECK_DONE();
}
