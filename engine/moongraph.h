/*
** moongraph.h -- the engine's public interface.
**
** Everything a node type, a binding or a test may call.  The engine never
** includes lua.h and knows no node type but its own control endpoint; see
** docs/design.md for the rules the code below follows.
**
** Each call says where it may be made, as Lua's manual tags stack effects:
**   [any]     any thread, any time (what it reads is locked or atomic);
**   [loop]    only on the engine's loop thread (the one that made it);
**   [inside]  only from inside the node: one of its methods, or a
**             function item or callout running on it;
**   [writer]  inside, under the writer lock (every method but rcvdata,
**             and function items not sent with MG_READER).
** A call on a node or hook from outside it needs a reference held.
** Unmarked declarations in a section take the section's tag.
*/
#ifndef MOONGRAPH_H
#define MOONGRAPH_H

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MG_VERSION "0.1.0"

typedef struct mg_engine mg_engine_t;
typedef struct mg_node mg_node_t;
typedef struct mg_hook mg_hook_t;
typedef struct mg_item mg_item_t;
typedef struct mg_buf mg_buf_t;
typedef struct mg_msg mg_msg_t;
typedef struct mg_value mg_value_t;
typedef struct mg_type mg_type_t;
typedef struct mg_rec mg_rec_t;

/*
** {======================================================
** Errors: every call returns 0 or a negative errno; the text of the last
** failure on this thread names what was wrong.  [any]
** =======================================================
*/
int mg_error(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *mg_errmsg(void);
const char *mg_errname(int code); /* "EINVAL" */
void mg_clearerr(void);
/* A user's string as an error message may show it: in quotes, cut after
** MG_QUOTECUT characters (with "..."), control bytes and quotes escaped
** (\n, \x01, \'); buf holds MG_QUOTESIZ bytes.  Returns buf. */
#define MG_QUOTECUT 64
#define MG_QUOTESIZ (MG_QUOTECUT * 4 + 8)
const char *mg_quote(char *buf, const char *s);

/* Allocation that never returns NULL: the control plane aborts on OOM
** (the data path uses pools with limits and counts its drops). */
void *mg_alloc(size_t n);
void *mg_calloc(size_t n, size_t size);
void *mg_realloc(void *p, size_t n);
char *mg_strdup(const char *s);

/* A growable string, for text forms and status reports. */
typedef struct mg_sbuf {
  char *p;
  size_t len, cap;
} mg_sbuf_t;
void mg_sbuf_printf(mg_sbuf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void mg_sbuf_add(mg_sbuf_t *b, const char *s, size_t n);
void mg_sbuf_free(mg_sbuf_t *b);
/* }====================================================== */

/*
** {======================================================
** Values: the typed tree that control-message arguments and replies are
** made of; one-to-one with Lua tables and with netgraph's ASCII form.
** [any]: a value belongs to one owner at a time; "takes" moves it.
** =======================================================
*/
typedef enum {
  MG_NIL, MG_BOOL, MG_INT, MG_NUM, MG_STR, MG_BYTES, MG_ARRAY, MG_MAP
} mg_vtype_t;

typedef struct mg_pair {
  char *key;
  mg_value_t *val;
} mg_pair_t;

struct mg_value {
  mg_vtype_t type;
  union {
    bool b;
    int64_t i;
    double n;
    struct { char *p; size_t len; } s;       /* STR, BYTES (NUL after) */
    struct { mg_value_t **v; uint32_t n, cap; } a;
    struct { mg_pair_t *kv; uint32_t n, cap; } m; /* insertion order */
  } u;
};

mg_value_t *mg_nil(void);
mg_value_t *mg_bool(bool b);
mg_value_t *mg_int(int64_t i);
mg_value_t *mg_num(double n);
mg_value_t *mg_str(const char *s);
mg_value_t *mg_strn(const char *s, size_t len);
mg_value_t *mg_bytes(const void *p, size_t len);
mg_value_t *mg_array(void);
mg_value_t *mg_map(void);
void mg_value_free(mg_value_t *v);
mg_value_t *mg_value_copy(const mg_value_t *v);
bool mg_value_equal(const mg_value_t *a, const mg_value_t *b);

void mg_array_push(mg_value_t *a, mg_value_t *v);          /* takes v */
void mg_map_set(mg_value_t *m, const char *k, mg_value_t *v); /* takes v */
mg_value_t *mg_map_get(const mg_value_t *m, const char *k);
/* Typed field access with a default; a field of the wrong type is an
** error (returns false and sets the message). */
bool mg_map_str(const mg_value_t *m, const char *k, const char **out);
bool mg_map_int(const mg_value_t *m, const char *k, int64_t *out);
/* The arguments of command cmd are a map whose keys are all in known (a
** NULL-ended list); else an error naming the field and the form. */
int mg_map_only(const mg_value_t *m, const char *cmd,
                const char *const *known, const char *form);
/* Bounds for every number a user names: x within [min, max], or -EINVAL
** with "name: must be a number from min to max, got x" (NaN and the
** infinities are never within).  mg_map_num does the same for a field
** (absent or nil leaves *out alone; a non-number is refused too). */
int mg_check_num(double x, const char *name, double min, double max);
int mg_map_num(const mg_value_t *m, const char *k, double min, double max, double *out);
/* Seconds a user may name for a delay or duration: as nanoseconds they
** fit in int64 with room to add any clock reading to them. */
#define MG_SECS_MAX 1e9

/* Text form: { name="fred" hooks=[ 1 2 ] data=x"0a0b" }.  Parse errors
** give the offset and what was expected. */
void mg_value_print(const mg_value_t *v, mg_sbuf_t *out);
char *mg_value_text(const mg_value_t *v); /* malloc'd */
int mg_value_parse(const char *text, mg_value_t **out);
/* }====================================================== */

/*
** {======================================================
** Buffers: packet bytes plus metadata, reference counted so that tee and
** hub can share one copy.  Bytes are read through b->data/b->len.
** [any]; write only to a buffer no one else holds (mg_item_writable).
** =======================================================
*/
#define MG_BUF_HEADROOM 128
#define MG_BUF_POOLSIZE 2048 /* data bytes of a pooled buffer */
#define MG_BUF_MAXTAGS 4

typedef struct mg_tag {
  uint32_t cookie, id;
  uint64_t value;
} mg_tag_t;

enum {
  MG_BUF_LENT = 1,   /* bytes borrowed from the sender (see mg_buf_lend) */
  MG_BUF_POOLED = 2,
  MG_BUF_NSEC = 4,   /* the timestamp came with nanosecond precision */
  MG_BUF_SWAPPED = 8, /* read from a file of the other byte order */
  MG_BUF_RAWTS = 16   /* the file's fraction was out of range: mg_buf_rawts */
};

struct mg_buf {
  uint8_t *data;    /* first byte of the packet */
  uint32_t len;     /* captured bytes present at data */
  uint32_t wirelen; /* length on the wire (>= len) */
  int64_t ts;       /* nanoseconds since the epoch */
  uint16_t linktype, port;
  uint8_t ntags, flags;
  _Atomic uint32_t refs;
  uint8_t *head; /* start of storage; data - head is the headroom */
  uint32_t cap;  /* bytes of storage from head */
  uint64_t rawts; /* the engine's: see mg_buf_rawts */
  mg_tag_t tags[MG_BUF_MAXTAGS];
};

/* A buffer with len bytes of room after the default headroom. */
mg_buf_t *mg_buf_new(uint32_t len);
/* A buffer that points at memory the caller owns for the duration of an
** inline send; the engine copies it if it must be kept (queued). */
void mg_buf_lend(mg_buf_t *b, const uint8_t *p, uint32_t len);
int mg_buf_own(mg_buf_t *b);
/* Replace the bytes of a buffer nobody else holds (mg_item_writable's),
** keeping its timestamp, link type, port and tags; the length on the wire
** stays as far past the captured length as it was. */
void mg_buf_set(mg_buf_t *b, const void *p, uint32_t len);
void mg_buf_ref(mg_buf_t *b);
void mg_buf_unref(mg_buf_t *b);
mg_buf_t *mg_buf_copy(const mg_buf_t *b);
uint8_t *mg_buf_prepend(mg_buf_t *b, uint32_t n); /* NULL: no headroom */
uint8_t *mg_buf_strip(mg_buf_t *b, uint32_t n);   /* NULL: too short */
/* A capture's timestamp exactly as its file had it, kept when it was not a
** valid time (a fraction out of range) so that writing the file back
** keeps it: set by a reader, read by a writer (false: none kept). */
void mg_buf_rawts_set(mg_buf_t *b, uint32_t sec, uint32_t frac);
bool mg_buf_rawts(const mg_buf_t *b, uint32_t *sec, uint32_t *frac);
int mg_buf_tag_set(mg_buf_t *b, uint32_t cookie, uint32_t id, uint64_t v);
bool mg_buf_tag_get(const mg_buf_t *b, uint32_t cookie, uint32_t id,
                    uint64_t *v);
/* }====================================================== */

/*
** {======================================================
** Messages: a header plus a value tree.  [any]
** =======================================================
*/
#define MG_COOKIE_GENERIC 1137070366u
#define MG_CMDSIZ 32
#define MG_NAMESIZ 32

enum { /* message flags */
  MG_MSG_RESP = 1,     /* a reply */
  MG_MSG_READONLY = 2, /* may run under a reader lock */
  MG_MSG_WANTREPLY = 4
};

struct mg_msg {
  uint32_t cookie, cmd, token, flags;
  uint32_t from;      /* return address: the sender's node id, or 0 */
  char cmdstr[MG_CMDSIZ];
  int error;          /* in a reply: 0 or a negative code */
  char *errmsg;       /* in a reply with an error */
  mg_value_t *args;   /* request arguments or reply value; may be NULL */
};

/* One command a node type answers, with its help text for the REPL. */
enum {
  MG_CMD_READONLY = 1,
  /* its arguments are the handler's to check: without it, a command whose
  ** synopsis is "" takes none, and a field given to it is refused */
  MG_CMD_ANYARGS = 2
};
typedef struct mg_cmd {
  const char *name;
  uint32_t cmd;
  unsigned flags;
  const char *args; /* argument synopsis, e.g. "{ hook=\"name\" }" */
  const char *help; /* one line */
} mg_cmd_t;

/* One argument of a type's message, for its reference (docs/nodes.md and
** the REPL's help TYPE): a number's range and default, a string's values.
** A type that parses its numbers from the same table cannot drift from it. */
enum { MG_ARG_NUM, MG_ARG_STR, MG_ARG_BOOL };
typedef struct mg_argdoc {
  const char *cmd;       /* the message it belongs to */
  const char *name;
  int kind;              /* MG_ARG_* */
  double min, max, dflt; /* MG_ARG_NUM (MG_ARG_BOOL: dflt 0 or 1) */
  const char *values;    /* MG_ARG_STR: what it may be */
  const char *dflt_text; /* the default in words, when a number does not say it */
  const char *help;      /* one line */
} mg_argdoc_t;

mg_msg_t *mg_msg_new(uint32_t cookie, uint32_t cmd, const char *cmdstr,
                     mg_value_t *args);
void mg_msg_free(mg_msg_t *m);
/* }====================================================== */

/*
** {======================================================
** Node types.  One descriptor per type; every method is optional.
** Methods run [writer], but rcvdata, which runs under a reader lock
** (several at once, on several threads) unless MG_TF_FORCE_WRITER.
** Registry calls: [any].
** =======================================================
*/
typedef int (*mg_fn_t)(mg_node_t *n, mg_hook_t *h, void *arg, intptr_t arg2);

enum { /* type flags */
  MG_TF_FORCE_WRITER = 1, /* never run two items of this node at once */
  MG_TF_LOOP_ONLY = 2,    /* methods run only on the loop thread */
  MG_TF_ANY_CMD = 4       /* takes commands not in its table (cmd 0) */
};

struct mg_type {
  const char *name;
  const char *doc;  /* what it does, its hooks, in a few lines */
  size_t priv_size; /* zeroed private state, mg_node_priv() */
  unsigned flags;
  int (*constructor)(mg_node_t *n);
  void (*close)(mg_node_t *n);    /* before hooks go; node still usable */
  void (*shutdown)(mg_node_t *n); /* release what the node holds */
  int (*newhook)(mg_node_t *n, mg_hook_t *h, const char *name);
  int (*connect)(mg_hook_t *h);
  /* Must end the item: forward it, consume it or drop it. */
  int (*rcvdata)(mg_hook_t *h, mg_item_t *it);
  /* A non-generic request, or any reply.  *reply (may stay NULL) is sent
  ** back when the sender asked for one. */
  int (*rcvmsg)(mg_node_t *n, mg_msg_t *m, mg_hook_t *lasthook,
                mg_value_t **reply);
  void (*disconnect)(mg_hook_t *h);
  void (*status)(mg_node_t *n, mg_sbuf_t *out);
  const mg_cmd_t *cmds; /* NULL-name terminated */
  void *udata;          /* for types made at run time */
  const mg_argdoc_t *argdocs; /* the messages' arguments; NULL-cmd terminated */
};

int mg_type_register(mg_engine_t *e, const mg_type_t *t);
const mg_type_t *mg_type_find(mg_engine_t *e, const char *name);
/* Calls fn for every registered type with its live node count. */
void mg_type_foreach(mg_engine_t *e,
                     void (*fn)(const mg_type_t *t, uint32_t n, void *arg),
                     void *arg);
/* The command of that name: the type's own first, then the generic set. */
const mg_cmd_t *mg_cmd_find(const mg_type_t *t, const char *name,
                            uint32_t *cookie);
const mg_cmd_t *mg_generic_cmds(void);
uint32_t mg_type_cookie(const mg_type_t *t);
/* }====================================================== */

/*
** {======================================================
** Engine.
** =======================================================
*/
enum { MG_CLOCK_WALL = 0, MG_CLOCK_VIRTUAL = 1 };

typedef struct mg_engine_opts {
  int workers;           /* 0: the loop thread does everything */
  int clock;             /* MG_CLOCK_WALL or MG_CLOCK_VIRTUAL */
  uint32_t ttl;          /* hops a data item may make; 0 = 255 */
  uint32_t max_depth;    /* inline nesting per thread; 0 = 32 */
  uint32_t budget;       /* items one drain may run; 0 = 64 */
  uint32_t queue_limit;  /* queued data items per engine; 0 = 1<<20 */
  uint32_t fanout;       /* copies one data item and its copies may make
                         ** in all (mg_item_dup); 0 = 4096 */
  void *loop;            /* a uv_loop_t to run on; NULL = own one */
} mg_engine_opts_t;

/* [any]: the calling thread becomes the engine's loop thread. */
mg_engine_t *mg_engine_new(const mg_engine_opts_t *opts);
/* [loop] Shuts every node down, stops the workers, frees everything. */
void mg_engine_free(mg_engine_t *e);
void *mg_engine_loop(mg_engine_t *e); /* [any] the uv_loop_t */
int mg_engine_workers(mg_engine_t *e); /* [any] */

typedef enum {
  MG_RUN_IDLE,   /* until nothing is queued and no handle keeps it alive */
  MG_RUN_FOR,    /* for ns nanoseconds of wall time */
  MG_RUN_FOREVER,/* until mg_engine_stop */
  MG_RUN_NOWAIT  /* one non-blocking pass */
} mg_run_t;
int mg_engine_run(mg_engine_t *e, mg_run_t mode, uint64_t ns); /* [loop] */
void mg_engine_stop(mg_engine_t *e); /* [any] */
bool mg_engine_stopping(mg_engine_t *e); /* [any] */
/* [any] Run fn(arg) on the loop thread soon. */
void mg_engine_post(mg_engine_t *e, void (*fn)(void *arg), void *arg);
bool mg_on_loop_thread(mg_engine_t *e); /* [any] */
/* [loop] Call cb on the loop thread when signal signum arrives; the
** handler does not keep MG_RUN_IDLE alive.  cb NULL: stop the engine. */
int mg_engine_signal(mg_engine_t *e, int signum,
                     void (*cb)(mg_engine_t *e, int signum, void *arg),
                     void *arg);
/* [any] While held, MG_RUN_IDLE keeps running (a pending timer, say). */
void mg_engine_hold(mg_engine_t *e, int delta);

typedef void (*mg_log_fn)(void *arg, int level, const char *line);
enum { MG_LOG_ERR, MG_LOG_WARN, MG_LOG_INFO, MG_LOG_DEBUG };
void mg_set_log(mg_engine_t *e, mg_log_fn fn, void *arg); /* [loop] */
/* [any]; the line reaches fn on the loop thread. */
void mg_log(mg_engine_t *e, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* [any] Data items queued anywhere in the engine: a source that finds this
** high waits its turn rather than flood the queues (back-pressure). */
uint64_t mg_engine_backlog(mg_engine_t *e);
uint32_t mg_engine_queue_limit(mg_engine_t *e);

/* [any] Counts of pooled objects handed out and not yet returned, over the
** whole process (items, buffers); tests check they return to zero. */
void mg_pool_outstanding(int64_t *items, int64_t *bufs);
/* }====================================================== */

/*
** {======================================================
** Nodes and hooks.
** =======================================================
*/
/* Hook flags a node type may set; the rest of the word (from 0x100) is
** the engine's own, in internal.h. */
enum {
  MG_HF_QUEUE = 1,        /* items arriving here are always queued */
  MG_HF_FORCE_WRITER = 2  /* items arriving here take the writer lock */
};

void *mg_node_priv(mg_node_t *n);                 /* [inside] */
uint32_t mg_node_id(const mg_node_t *n);          /* [any] */
/* [any] The name, "" when unnamed, copied: a rename frees the old one. */
void mg_node_name_copy(mg_node_t *n, char *buf, size_t len);
const mg_type_t *mg_node_type(const mg_node_t *n); /* [any] */
mg_engine_t *mg_node_engine(const mg_node_t *n);  /* [any] */
uint32_t mg_node_numhooks(const mg_node_t *n);    /* [inside] */
bool mg_node_valid(const mg_node_t *n);           /* [any] */
/* [any] Four flag bits (0..3) a node type may use as it likes, costing
** no private state (netgraph's NGF_TYPE1..4). */
void mg_node_flag_set(mg_node_t *n, unsigned bit, bool on);
bool mg_node_flag(const mg_node_t *n, unsigned bit);
void mg_node_ref(mg_node_t *n);   /* [any] */
void mg_node_unref(mg_node_t *n); /* [any] */
/* [any] Lookups from outside the node: a reference the caller unrefs. */
mg_node_t *mg_node_byid(mg_engine_t *e, uint32_t id);
mg_node_t *mg_node_byname(mg_engine_t *e, const char *name);
/* [inside] The node's hook of that name, and its hooks in order. */
mg_hook_t *mg_node_hook(mg_node_t *n, const char *name);
mg_hook_t *mg_node_hooks(mg_node_t *n);
mg_hook_t *mg_hook_next(mg_hook_t *h);
/* [any] Send a new data item made of b (taken) out of n's hook: at once
** when the node can be entered as a reader, else in its turn (queued). */
int mg_node_send(mg_node_t *n, const char *hook, mg_buf_t *b);
/* [inside] Ask for this node's own shutdown, queued (ng_rmnode_self). */
void mg_node_rmself(mg_node_t *n);
/* [inside] Make a node of type t with no hooks, as netgraph's
** ng_make_node (ng_ksocket's accept makes one for each connection): its
** constructor runs, then init(new node, arg) under its writer lock before
** anyone can reach it; a failure of either ends the node unseen.  Its id
** in *id. */
int mg_node_make(mg_node_t *n, const mg_type_t *t, int (*init)(mg_node_t *nn, void *arg),
                 void *arg, uint32_t *id);
/* [inside] An answer sent later, to the node of id `to` that asked n for
** command cmd (netgraph's response after the fact, as ng_ksocket's accept
** and connect send): a reply nobody waits for, which reaches a script's
** on_msg.  Takes v; err 0 or a negative code with its text. */
int mg_node_reply(mg_node_t *n, uint32_t to, uint32_t cmd, const char *cmdstr, int err,
                  const char *errmsg, mg_value_t *v);

const char *mg_hook_name(const mg_hook_t *h); /* [any]: interned, lasting */
mg_node_t *mg_hook_node(const mg_hook_t *h);  /* [any] */
/* [inside] the hook's node: the peer changes only under its writer lock */
mg_hook_t *mg_hook_peer(const mg_hook_t *h);
bool mg_hook_connected(const mg_hook_t *h);
void *mg_hook_priv(const mg_hook_t *h);           /* [inside] */
void mg_hook_set_priv(mg_hook_t *h, void *p);     /* [writer] */
void mg_hook_set_flags(mg_hook_t *h, unsigned flags); /* [writer] newhook */
void mg_hook_ref(mg_hook_t *h);   /* [any] */
void mg_hook_unref(mg_hook_t *h); /* [any] */

/* [writer] Splice the peers of two of this node's hooks to each other, so
** that the node can leave without breaking the path (tee's shutdown). */
int mg_hook_bypass(mg_hook_t *a, mg_hook_t *b);
/* }====================================================== */

/*
** {======================================================
** Items and sending.  An item handed to a method is [inside] and must
** end exactly once: forwarded, consumed or dropped.
** =======================================================
*/
enum { /* send flags */
  MG_QUEUE = 1,  /* never run inline */
  MG_READER = 2  /* a function item that only reads */
};

typedef enum {
  MG_DROP_NOPEER,   /* sent out of a hook with no peer */
  MG_DROP_QFULL,    /* queue or pool full */
  MG_DROP_DEAD,     /* node or hook shutting down */
  MG_DROP_TTL,      /* hop budget used up (a loop in the graph) */
  MG_DROP_ERROR,    /* the handler failed */
  MG_DROP_POLICY,   /* the node chose to drop it (filter, no route) */
  MG_DROP_MAX
} mg_drop_t;
const char *mg_drop_name(mg_drop_t r);

mg_buf_t *mg_item_buf(mg_item_t *it);
/* The node an item is at and the hook it arrived on. */
mg_node_t *mg_item_node(const mg_item_t *it);
mg_hook_t *mg_item_hook(const mg_item_t *it);
/* A data item's tag: one 32-bit number that any node may read and set
** on the item it holds (0: no tag), carried hop to hop and to the copies
** mg_item_dup makes; a new item has none.  It lives in the item, not in
** the buffer, so setting it never copies a shared packet.  ng_tag's
** tag_id (nodes/tag.c); bpf's tagMatch; Lua's item:tag()/item:settag(). */
uint32_t mg_item_tag(const mg_item_t *it);
void mg_item_settag(mg_item_t *it, uint32_t tag);
/* A new data item made by node n (counted as made there); takes b. */
mg_item_t *mg_data_new(mg_node_t *n, mg_buf_t *b);
/* A second item sharing it's buffer, made by the node it is at. */
mg_item_t *mg_item_dup(mg_item_t *it);
/* Make the buffer exclusive to this item (copy if shared or lent). */
mg_buf_t *mg_item_writable(mg_item_t *it);

/* Send a data item out of one of the current node's hooks; the item is
** ended either way.  Returns the receiver's error when run inline. */
int mg_forward(mg_hook_t *out, mg_item_t *it);
void mg_consume(mg_item_t *it);              /* delivered and used up */
void mg_drop(mg_item_t *it, mg_drop_t why);  /* counted where it is */

/* [any] Run fn under node n's lock (writer unless MG_READER). */
int mg_send_fn(mg_node_t *n, mg_hook_t *h, mg_fn_t fn, void *arg,
               intptr_t arg2, unsigned flags);
/* The same, with an owner for what arg and arg2 carry: rel runs exactly
** once when the item ends -- after fn, or instead of it when the item is
** dropped (its node shut down, the engine closing).  fn only borrows. */
typedef void (*mg_rel_t)(void *arg, intptr_t arg2);
int mg_send_fn_rel(mg_node_t *n, mg_hook_t *h, mg_fn_t fn, mg_rel_t rel,
                   void *arg, intptr_t arg2, unsigned flags);
/* }====================================================== */

/*
** {======================================================
** Counters.
** =======================================================
*/
typedef struct mg_node_stats {
  uint64_t in;        /* data items that arrived (via hooks or direct) */
  uint64_t out;       /* data items sent out of its hooks */
  uint64_t made;      /* data items it created */
  uint64_t consumed;  /* data items it used up */
  uint64_t dropped;   /* sum of drops[] */
  uint64_t drops[MG_DROP_MAX];
  uint64_t inlined;   /* items (all kinds) run at once by the sender */
  uint64_t queued;    /* items (all kinds) that went through the queue */
  uint64_t msgs, fns; /* control messages and function items run */
  uint64_t errors;    /* handler errors */
  uint32_t qlen;      /* items in the queue now */
  uint32_t qdata;     /* data items in the queue now */
} mg_node_stats_t;

typedef struct mg_hook_stats {
  uint64_t in, out;
} mg_hook_stats_t;

/* [any]; exact once the engine is idle. */
void mg_node_stats(mg_node_t *n, mg_node_stats_t *s);
void mg_hook_stats(mg_hook_t *h, mg_hook_stats_t *s);
void mg_node_stats_value(mg_node_t *n, mg_value_t *map); /* adds fields */

/* [inside] Counters of a node type's own.  With no workers the engine runs
** on one thread and a plain add will do; mt comes from mg_node_mt(n). */
typedef _Atomic uint64_t mg_counter_t;
bool mg_node_mt(const mg_node_t *n);
static inline void mg_counter_add(bool mt, mg_counter_t *c, uint64_t v) {
  if (mt) atomic_fetch_add_explicit(c, v, memory_order_relaxed);
  else atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                             memory_order_relaxed);
}
static inline uint64_t mg_counter_get(const mg_counter_t *c) {
  return atomic_load_explicit(c, memory_order_relaxed);
}
static inline void mg_counter_clear(mg_counter_t *c) {
  atomic_store_explicit(c, 0, memory_order_relaxed);
}
/* }====================================================== */

/*
** {======================================================
** Completion records: the result of an operation that may have been
** queued.  Synchronous callers wait on one; the error is the first hop's.
** [any], but mg_rec_wait, which is [loop].
** =======================================================
*/
typedef void (*mg_rec_cb)(mg_rec_t *r, void *arg);
mg_rec_t *mg_rec_new(mg_engine_t *e, mg_rec_cb cb, void *arg);
void mg_rec_free(mg_rec_t *r); /* the creator's reference */
bool mg_rec_done(const mg_rec_t *r);
/* An item carries r: it will complete.  False after a send that failed
** before anything left; the send's own return says why. */
bool mg_rec_sent(const mg_rec_t *r);
int mg_rec_error(const mg_rec_t *r);
const char *mg_rec_errmsg(const mg_rec_t *r);
mg_value_t *mg_rec_take_reply(mg_rec_t *r);
/* Drive the engine on the loop thread until r completes.  Returns r's
** error, or -EDEADLK when nothing left to run can complete it. */
int mg_rec_wait(mg_rec_t *r);
/* }====================================================== */

/*
** {======================================================
** Control: the endpoint a script, the REPL or a test talks through (as
** ngctl does through its socket node).  It is "." in addresses.  [loop],
** but mg_resolve, which is [any].
** =======================================================
*/
typedef void (*mg_ctl_data_cb)(void *arg, mg_hook_t *h, mg_item_t *it);
typedef void (*mg_ctl_msg_cb)(void *arg, uint32_t from, mg_msg_t *m);

mg_node_t *mg_ctl_new(mg_engine_t *e, const char *name);
void mg_ctl_on_data(mg_node_t *ctl, mg_ctl_data_cb cb, void *arg);
void mg_ctl_on_msg(mg_node_t *ctl, mg_ctl_msg_cb cb, void *arg);

/* Send command cmd with args (taken) to the node at path, relative to ctl.
** With reply != NULL, wait for and return the reply value (may be NULL).
** Errors name the node, hook or command that was wrong. */
int mg_ctl_call(mg_node_t *ctl, const char *path, const char *cmd,
                mg_value_t *args, mg_value_t **reply);
/* The same without waiting: rec (may be NULL) completes later. */
int mg_ctl_send(mg_node_t *ctl, const char *path, const char *cmd,
                mg_value_t *args, mg_rec_t *rec);
/* The same with the arguments in text form. */
int mg_ctl_call_text(mg_node_t *ctl, const char *path, const char *cmd,
                     const char *args, mg_value_t **reply);
/* Data out of ctl's hooks: mg_node_send(ctl, hook, b). */

/* Shorthands for the generic commands. */
int mg_mkpeer(mg_node_t *ctl, const char *path, const char *type,
              const char *hook, const char *peerhook);
int mg_connect(mg_node_t *ctl, const char *path, const char *relpath,
               const char *hook, const char *peerhook);
int mg_name(mg_node_t *ctl, const char *path, const char *name);
int mg_rmhook(mg_node_t *ctl, const char *path, const char *hook);
int mg_shutdown(mg_node_t *ctl, const char *path);
/* Resolve an address to a node and the hook it is reached by, if any:
** references the caller drops with mg_node_unref / mg_hook_unref. */
int mg_resolve(mg_node_t *from, const char *path, mg_node_t **out,
               mg_hook_t **lasthook);
/* }====================================================== */

/*
** {======================================================
** Time: the wall clock, or a virtual clock that a source drives from
** packet timestamps.  Callouts run as writer function items.  [any]
** =======================================================
*/
int64_t mg_now(mg_engine_t *e); /* ns since the epoch */
int mg_clock_mode(mg_engine_t *e);
/* Move the virtual clock forward to ts (never back); fires due callouts. */
void mg_clock_advance(mg_engine_t *e, int64_t ts);

/* Embedded in a node's state; its fields are the engine's (internal.h). */
typedef struct mg_callout {
  _Alignas(8) unsigned char opaque[80];
} mg_callout_t;

void mg_callout_init(mg_callout_t *c);
/* Arm (or re-arm) c to run fn on n after delay ns of engine time. */
int mg_callout_reset(mg_callout_t *c, mg_node_t *n, int64_t delay,
                     mg_fn_t fn, void *arg, intptr_t arg2);
/* Disarm; a firing already queued will not run.  Call from inside n. */
bool mg_callout_stop(mg_callout_t *c);
/* Disarm for good and hand c back: fin(c) runs once no firing of c is in
** flight any more -- now, or when the last queued firing ends.  For a
** callout whose memory is not the node's own (a node's private callout
** lives as long as the firings, which hold the node). */
void mg_callout_free(mg_callout_t *c, void (*fin)(mg_callout_t *));
/* }====================================================== */

#endif
