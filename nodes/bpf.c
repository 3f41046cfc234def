/*
** bpf.c -- filters by tcpdump expressions (netgraph's ng_bpf, with
** libpcap compiling the programs).
**
** HOOKS     any name.  Each hook that receives data has a program; a
**           packet the program accepts goes out of ifMatch, any other out
**           of ifNotMatch (a missing or unconnected hook drops it).
** MESSAGES  setprogram { thisHook="in" ifMatch="udp" ifNotMatch="rest"
**                        expr="udp port 53" }, or ng_bpf's own form with
**           the instructions instead of expr: bpf_prog_len=N
**           bpf_prog=[ { code=40 jt=0 jf=0 k=12 } ... ] (tcpdump -ddd's
**           numbers), checked as pcap's bpf_validate checks them.
**           getprogram { hook="in" }; getstats / clrstats / getclrstats
**           { hook="in" } -> { recvFrames recvOctets recvMatchFrames
**           recvMatchOctets xmitFrames xmitOctets }; the hook may be
**           named by a bare string too (getstats "in"), as in ng_bpf.
** tagMatch=N (not ng_bpf's; 0, the default, leaves tags alone) sets the
** item's tag (mg_item_tag) of every packet the program accepts, so that a
** tag node or a Lua node further on can sort by it.
** An expression is compiled for the link type of the packets that meet it
** (once per link type); one that cannot apply to a link type matches
** nothing there, and the failure is counted and logged once.  A program
** of instructions runs as it is on every link type.
*/
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

#define MAXLT 4 /* link types a hook keeps programs for */
#ifndef BPF_MAXINSNS
#define BPF_MAXINSNS 4096 /* the kernel's and pcap's bpf_validate's bound */
#endif

enum { BPF_SETPROGRAM = 1, BPF_GETPROGRAM, BPF_GETSTATS, BPF_CLRSTATS,
       BPF_GETCLRSTATS };

typedef struct {
  int linktype;
  bool swapped, ok;
  struct bpf_program prog;
} compiled_t;

typedef struct hinfo {
  char *expr, *match, *nomatch;
  struct bpf_insn *insns; /* a program given as instructions, or NULL */
  uint32_t ninsns;
  uint32_t tag; /* set on a match; 0: none */
  mg_hook_t *hmatch, *hnomatch; /* resolved by writers, read by readers */
  compiled_t progs[MAXLT];
  _Atomic int nprogs; /* progs[0..nprogs) are whole and never change */
  pthread_mutex_t mu; /* compiling for a new link type, among readers */
  mg_counter_t rf, ro, rmf, rmo, xf, xo, errors;
  bool warned;
} hinfo_t;

typedef struct {
  bool mt;
} bpf_t;

static hinfo_t *info(mg_hook_t *h) { return mg_hook_priv(h); }

static void forget_programs(hinfo_t *hi) { /* a writer: no reader inside */
  int n = atomic_load(&hi->nprogs);
  for (int i = 0; i < n; i++)
    if (hi->progs[i].ok) pcap_freecode(&hi->progs[i].prog);
  atomic_store(&hi->nprogs, 0);
}

static void resolve(mg_node_t *n) {
  for (mg_hook_t *h = mg_node_hooks(n); h; h = mg_hook_next(h)) {
    hinfo_t *hi = info(h);
    if (!hi) continue;
    hi->hmatch = hi->match ? mg_node_hook(n, hi->match) : NULL;
    hi->hnomatch = hi->nomatch ? mg_node_hook(n, hi->nomatch) : NULL;
  }
}

/* A handle to compile with, as if reading a capture file of this link
** type and byte order: libpcap's code for some link types (BSD loopback's
** address family, say) depends on both, as tcpdump's does when it reads a
** file.  The file is 24 bytes in memory, its header made by libpcap. */
static pcap_t *compiler(int linktype, bool swapped, char *err) {
  char *mem = NULL;
  size_t len = 0;
  FILE *w = open_memstream(&mem, &len);
  pcap_t *dead = pcap_open_dead(linktype, 262144);
  pcap_dumper_t *d = dead && w ? pcap_dump_fopen(dead, w) : NULL;
  if (d) pcap_dump_close(d); /* closes w */
  else if (w) fclose(w);
  if (dead) pcap_close(dead);
  pcap_t *p = NULL;
  if (d && len >= 24) {
    if (swapped) { /* the same header as the other kind of machine writes */
      static const uint8_t field[] = {0, 4, 4, 2, 6, 2, 8, 4, 12, 4, 16, 4, 20, 4};
      for (size_t f = 0; f < sizeof field; f += 2)
        for (int i = 0; i < field[f + 1] / 2; i++) {
          char t = mem[field[f] + i];
          mem[field[f] + i] = mem[field[f] + field[f + 1] - 1 - i];
          mem[field[f] + field[f + 1] - 1 - i] = t;
        }
    }
    FILE *r = fmemopen(mem, len, "rb");
    p = r ? pcap_fopen_offline(r, err) : NULL;
    if (!p && r) fclose(r);
  }
  if (!p) p = pcap_open_dead(linktype, 262144); /* the live rules, then */
  free(mem); /* libpcap has read the header */
  return p;
}

/* The program for this link type, compiled the first time it is met. */
static compiled_t *program(mg_node_t *n, hinfo_t *hi, int linktype,
                           bool swapped) {
  int np = atomic_load_explicit(&hi->nprogs, memory_order_acquire);
  for (int i = 0; i < np; i++)
    if (hi->progs[i].linktype == linktype && hi->progs[i].swapped == swapped)
      return &hi->progs[i];
  pthread_mutex_lock(&hi->mu); /* readers may race to compile: one does */
  compiled_t *c = NULL;
  np = atomic_load(&hi->nprogs);
  for (int i = 0; i < np; i++)
    if (hi->progs[i].linktype == linktype && hi->progs[i].swapped == swapped)
      c = &hi->progs[i];
  if (!c && np < MAXLT) {
    c = &hi->progs[np];
    c->linktype = linktype;
    c->swapped = swapped;
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *dead = compiler(linktype, swapped, err);
    c->ok = dead && pcap_compile(dead, &c->prog, hi->expr, 1, PCAP_NETMASK_UNKNOWN) == 0;
    if (!c->ok && !hi->warned) {
      mg_log(mg_node_engine(n), MG_LOG_WARN,
             "bpf [%x]: '%s' cannot apply to link type %d: %s", mg_node_id(n),
             hi->expr, linktype, dead ? pcap_geterr(dead) : "no memory");
      hi->warned = true;
    }
    if (dead) pcap_close(dead);
    atomic_store_explicit(&hi->nprogs, np + 1, memory_order_release);
  }
  pthread_mutex_unlock(&hi->mu);
  return c;
}

/* Runs hi's program on it, counts it, and says where it goes (NULL:
** nowhere, and it is dropped). */
static mg_hook_t *bpf_route(mg_node_t *n, hinfo_t *hi, mg_item_t *it) {
  bool mt = ((bpf_t *)mg_node_priv(n))->mt;
  mg_buf_t *b = mg_item_buf(it);
  mg_counter_add(mt, &hi->rf, 1);
  mg_counter_add(mt, &hi->ro, b->len);
  bool match = false;
  if (hi->insns) {
    u_int r = bpf_filter(hi->insns, b->data, b->wirelen, b->len);
    match = r != 0;
    if (match && r < b->len) {
      b = mg_item_writable(it);
      b->len = r;
    }
  } else if (hi->expr) {
    compiled_t *c = program(n, hi, b->linktype, b->flags & MG_BUF_SWAPPED);
    if (c && c->ok) {
      u_int r = bpf_filter(c->prog.bf_insns, b->data, b->wirelen, b->len);
      match = r != 0;
      if (match && r < b->len) { /* the program asked for fewer bytes */
        b = mg_item_writable(it);
        b->len = r;
      }
    } else
      mg_counter_add(mt, &hi->errors, 1);
  }
  if (match) {
    if (hi->tag) mg_item_settag(it, hi->tag);
    mg_counter_add(mt, &hi->rmf, 1);
    mg_counter_add(mt, &hi->rmo, b->len);
  }
  mg_hook_t *dest = match ? hi->hmatch : hi->hnomatch;
  if (!dest) {
    mg_drop(it, MG_DROP_POLICY);
    return NULL;
  }
  hinfo_t *di = info(dest);
  if (di) {
    mg_counter_add(mt, &di->xf, 1);
    mg_counter_add(mt, &di->xo, b->len);
  }
  return dest;
}

static int bpf_rcvdata(mg_hook_t *h, mg_item_t *it) {
  mg_hook_t *dest = bpf_route(mg_hook_node(h), info(h), it);
  return dest ? mg_forward(dest, it) : 0;
}

/* A burst leaves as two, matches and the rest, each in arrival order. */
static int bpf_rcvburst(mg_hook_t *h, mg_item_t **v, unsigned n) {
  mg_node_t *node = mg_hook_node(h);
  hinfo_t *hi = info(h);
  mg_item_t *yes[MG_BURST], *no[MG_BURST];
  unsigned ny = 0, nn = 0;
  mg_hook_t *hy = hi->hmatch, *hn = hi->hnomatch;
  for (unsigned i = 0; i < n; i++) {
    mg_hook_t *d = bpf_route(node, hi, v[i]);
    if (d && d == hy) yes[ny++] = v[i];
    else if (d) no[nn++] = v[i];
  }
  int failed = ny ? mg_forward_burst(hy, yes, ny) : 0;
  return failed + (nn ? mg_forward_burst(hn, no, nn) : 0);
}

/* The hook a command names: { k="name" }, or the name alone ("in"), as
** ng_bpf's ASCII form allows. */
static int named_hook(mg_node_t *n, const mg_msg_t *m, const char *k, mg_hook_t **out) {
  const mg_value_t *args = m->args;
  const char *name = NULL;
  if (args && args->type == MG_STR) name = args->u.s.p;
  else {
    char form[48];
    snprintf(form, sizeof form, "{ %s=\"name\" } or \"name\"", k);
    const char *known[] = {k, NULL};
    int rc = mg_map_only(args, m->cmdstr, known, form);
    if (rc) return rc;
    if (!mg_map_str(args, k, &name)) return -EINVAL;
    if (!name) return mg_error(-EINVAL, "%s: needs %s", m->cmdstr, form);
  }
  char q[MG_QUOTESIZ];
  *out = mg_node_hook(n, name);
  if (!*out) return mg_error(-ENOENT, "bpf has no hook %s", mg_quote(q, name));
  return 0;
}

/* {------------------------------------------------------ instructions */
/* One instruction's field: an integer in [0, max] */
static int insn_field(const mg_value_t *in, uint32_t i, const char *k, int64_t max,
                      int64_t *out) {
  const mg_value_t *v = mg_map_get(in, k);
  *out = 0;
  if (!v) return 0; /* ng_bpf's text form leaves zero fields out */
  if (v->type != MG_INT || v->u.i < 0 || v->u.i > max)
    return mg_error(-EINVAL, "setprogram: bpf_prog[%u].%s must be an integer from 0 "
                             "to %lld", i + 1, k, (long long)max);
  *out = v->u.i;
  return 0;
}

/* pcap's bpf_validate, with the reason: jumps forward and inside, memory
** slots in range, no division by a constant 0, ends in a return. */
static int validate(const struct bpf_insn *f, uint32_t len) {
  if (len == 0) return mg_error(-EINVAL, "setprogram: bpf_prog is empty");
  if (len > BPF_MAXINSNS)
    return mg_error(-EINVAL, "setprogram: bpf_prog has %u instructions, at most %d", len,
                    BPF_MAXINSNS);
  for (uint32_t i = 0; i < len; i++) {
    const struct bpf_insn *p = &f[i];
    bool ok = true;
    const char *why = "an unknown opcode";
    switch (BPF_CLASS(p->code)) {
    case BPF_LD:
    case BPF_LDX:
      switch (BPF_MODE(p->code)) {
      case BPF_IMM: case BPF_IND: case BPF_MSH: case BPF_ABS: case BPF_LEN: break;
      case BPF_MEM:
        ok = p->k < BPF_MEMWORDS;
        why = "a memory slot out of range";
        break;
      default: ok = false;
      }
      break;
    case BPF_ST:
    case BPF_STX:
      ok = p->k < BPF_MEMWORDS;
      why = "a memory slot out of range";
      break;
    case BPF_ALU:
      switch (BPF_OP(p->code)) {
      case BPF_ADD: case BPF_SUB: case BPF_MUL: case BPF_OR: case BPF_AND:
      case BPF_XOR: case BPF_LSH: case BPF_RSH: case BPF_NEG: break;
      case BPF_DIV: case BPF_MOD:
        ok = !(BPF_SRC(p->code) == BPF_K && p->k == 0);
        why = "a division by a constant 0";
        break;
      default: ok = false;
      }
      break;
    case BPF_JMP: {
      uint32_t from = i + 1;
      why = "a jump past the end";
      switch (BPF_OP(p->code)) {
      case BPF_JA: ok = p->k < len - from; break;
      case BPF_JEQ: case BPF_JGT: case BPF_JGE: case BPF_JSET:
        ok = from + p->jt < len && from + p->jf < len;
        break;
      default: ok = false; why = "an unknown opcode";
      }
      break;
    }
    case BPF_RET: case BPF_MISC: break;
    default: ok = false;
    }
    if (!ok)
      return mg_error(-EINVAL, "setprogram: bpf_prog[%u] (code=%u k=%u) is not valid: %s",
                      i + 1, p->code, p->k, why);
  }
  if (BPF_CLASS(f[len - 1].code) != BPF_RET)
    return mg_error(-EINVAL, "setprogram: bpf_prog must end in a return (ret), "
                             "not code=%u", f[len - 1].code);
  return 0;
}

/* bpf_prog_len and bpf_prog, as ng_bpf takes them: a program or an error */
static int instructions(const mg_value_t *a, struct bpf_insn **out, uint32_t *n) {
  const mg_value_t *pl = mg_map_get(a, "bpf_prog_len"), *pv = mg_map_get(a, "bpf_prog");
  bool none = pv && pv->type == MG_MAP && pv->u.m.n == 0; /* {} from Lua: [ ] */
  if (!pv || (pv->type != MG_ARRAY && !none))
    return mg_error(-EINVAL, "setprogram: bpf_prog must be an array of "
                             "{ code= jt= jf= k= }");
  uint32_t len = none ? 0 : pv->u.a.n;
  if (!pl || pl->type != MG_INT || pl->u.i != (int64_t)len)
    return mg_error(-EINVAL, "setprogram: bpf_prog_len must be the number of "
                             "instructions in bpf_prog (%u)", len);
  if (len == 0 || len > BPF_MAXINSNS) return validate(NULL, len);
  static const char *const known[] = {"code", "jt", "jf", "k", NULL};
  struct bpf_insn *f = mg_calloc(len, sizeof *f);
  int rc = 0;
  for (uint32_t i = 0; i < len && !rc; i++) {
    const mg_value_t *in = pv->u.a.v[i];
    char cmd[48];
    snprintf(cmd, sizeof cmd, "setprogram: bpf_prog[%u]", i + 1);
    int64_t code, jt, jf, k;
    rc = mg_map_only(in, cmd, known, "{ code= jt= jf= k= }");
    if (!rc) rc = insn_field(in, i, "code", 0xffff, &code);
    if (!rc) rc = insn_field(in, i, "jt", 255, &jt);
    if (!rc) rc = insn_field(in, i, "jf", 255, &jf);
    if (!rc) rc = insn_field(in, i, "k", 0xffffffffLL, &k);
    if (!rc)
      f[i] = (struct bpf_insn){(u_short)code, (u_char)jt, (u_char)jf, (bpf_u_int32)k};
  }
  if (!rc) rc = validate(f, len);
  if (rc) {
    free(f);
    return rc;
  }
  *out = f;
  *n = len;
  return 0;
}
/* }------------------------------------------------------ */

static int setprogram(mg_node_t *n, const mg_value_t *a) {
  static const char *const known[] = {"thisHook", "ifMatch", "ifNotMatch", "expr",
                                      "bpf_prog_len", "bpf_prog", "tagMatch", NULL};
  static const char form[] =
    "{ thisHook= ifMatch= ifNotMatch= expr= tagMatch= } or { thisHook= ifMatch= "
    "ifNotMatch= bpf_prog_len= bpf_prog=[ { code= jt= jf= k= } ... ] tagMatch= }";
  const char *expr = NULL, *m = NULL, *nm = NULL, *this = NULL;
  double tag = 0;
  int rc = mg_map_only(a, "setprogram", known, form);
  if (rc || (rc = mg_map_num(a, "tagMatch", 0, 4294967295.0, &tag))) return rc;
  if (tag != (double)(uint32_t)tag)
    return mg_error(-EINVAL, "tagMatch: must be an integer, got %g", tag);
  if (!mg_map_str(a, "thisHook", &this) || !mg_map_str(a, "expr", &expr) ||
      !mg_map_str(a, "ifMatch", &m) || !mg_map_str(a, "ifNotMatch", &nm))
    return -EINVAL;
  if (!this) return mg_error(-EINVAL, "setprogram: thisHook is missing (%s)", form);
  char q[MG_QUOTESIZ];
  mg_hook_t *h = mg_node_hook(n, this);
  if (!h) return mg_error(-ENOENT, "bpf has no hook %s", mg_quote(q, this));
  bool prog = mg_map_get(a, "bpf_prog") || mg_map_get(a, "bpf_prog_len");
  if (prog && expr)
    return mg_error(-EINVAL, "setprogram: expr or bpf_prog, not both");
  struct bpf_insn *insns = NULL;
  uint32_t ninsns = 0;
  if (prog) {
    rc = instructions(a, &insns, &ninsns);
    if (rc) return rc;
    expr = NULL;
  } else {
    if (!expr) expr = "";
    /* check the expression now, on Ethernet, so that a typo is an error
    ** here and not a silent no-match later (link types are checked when
    ** packets of them arrive) */
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
    struct bpf_program p;
    if (pcap_compile(dead, &p, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
      pcap_t *raw = pcap_open_dead(DLT_RAW, 262144);
      bool ok = pcap_compile(raw, &p, expr, 1, PCAP_NETMASK_UNKNOWN) == 0;
      if (ok) pcap_freecode(&p);
      pcap_close(raw);
      if (!ok) {
        rc = mg_error(-EINVAL, "bpf: bad expression %s: %s", mg_quote(q, expr),
                      pcap_geterr(dead));
        pcap_close(dead);
        return rc;
      }
    } else
      pcap_freecode(&p);
    pcap_close(dead);
  }
  hinfo_t *hi = info(h);
  forget_programs(hi);
  free(hi->expr);
  free(hi->match);
  free(hi->nomatch);
  free(hi->insns);
  hi->expr = expr ? mg_strdup(expr) : NULL;
  hi->insns = insns;
  hi->ninsns = ninsns;
  hi->match = m && *m ? mg_strdup(m) : NULL;
  hi->nomatch = nm && *nm ? mg_strdup(nm) : NULL;
  hi->tag = (uint32_t)tag;
  hi->warned = false;
  resolve(n);
  return 0;
}

static mg_value_t *stats(hinfo_t *hi) {
  mg_value_t *v = mg_map();
  mg_map_set(v, "recvFrames", mg_int((int64_t)mg_counter_get(&hi->rf)));
  mg_map_set(v, "recvOctets", mg_int((int64_t)mg_counter_get(&hi->ro)));
  mg_map_set(v, "recvMatchFrames", mg_int((int64_t)mg_counter_get(&hi->rmf)));
  mg_map_set(v, "recvMatchOctets", mg_int((int64_t)mg_counter_get(&hi->rmo)));
  mg_map_set(v, "xmitFrames", mg_int((int64_t)mg_counter_get(&hi->xf)));
  mg_map_set(v, "xmitOctets", mg_int((int64_t)mg_counter_get(&hi->xo)));
  mg_map_set(v, "errors", mg_int((int64_t)mg_counter_get(&hi->errors)));
  return v;
}

static int bpf_rcvmsg(mg_node_t *n, mg_msg_t *m, mg_hook_t *last,
                      mg_value_t **reply) {
  (void)last;
  if (m->cmd == BPF_SETPROGRAM) return setprogram(n, m->args);
  mg_hook_t *h;
  int rc = named_hook(n, m, "hook", &h);
  if (rc) return rc;
  hinfo_t *hi = info(h);
  switch (m->cmd) {
  case BPF_GETPROGRAM: {
    mg_value_t *v = mg_map();
    mg_map_set(v, "thisHook", mg_str(mg_hook_name(h)));
    mg_map_set(v, "ifMatch", mg_str(hi->match ? hi->match : ""));
    mg_map_set(v, "ifNotMatch", mg_str(hi->nomatch ? hi->nomatch : ""));
    if (hi->insns) {
      mg_map_set(v, "bpf_prog_len", mg_int(hi->ninsns));
      mg_value_t *pa = mg_array();
      for (uint32_t i = 0; i < hi->ninsns; i++) {
        mg_value_t *in = mg_map();
        mg_map_set(in, "code", mg_int(hi->insns[i].code));
        mg_map_set(in, "jt", mg_int(hi->insns[i].jt));
        mg_map_set(in, "jf", mg_int(hi->insns[i].jf));
        mg_map_set(in, "k", mg_int(hi->insns[i].k));
        mg_array_push(pa, in);
      }
      mg_map_set(v, "bpf_prog", pa);
    } else
      mg_map_set(v, "expr", mg_str(hi->expr ? hi->expr : ""));
    mg_map_set(v, "tagMatch", mg_int(hi->tag));
    *reply = v;
    return 0;
  }
  default:
    if (m->cmd != BPF_CLRSTATS) *reply = stats(hi);
    if (m->cmd != BPF_GETSTATS) {
      mg_counter_t *cs[] = {&hi->rf, &hi->ro, &hi->rmf, &hi->rmo, &hi->xf, &hi->xo, &hi->errors};
      for (size_t i = 0; i < sizeof cs / sizeof *cs; i++) mg_counter_clear(cs[i]);
    }
    return 0;
  }
}

static int bpf_constructor(mg_node_t *n) {
  ((bpf_t *)mg_node_priv(n))->mt = mg_node_mt(n);
  return 0;
}

static int bpf_newhook(mg_node_t *n, mg_hook_t *h, const char *name) {
  (void)n; (void)name;
  hinfo_t *hi = mg_calloc(1, sizeof *hi);
  pthread_mutex_init(&hi->mu, NULL);
  mg_hook_set_priv(h, hi);
  return 0;
}

static int bpf_connect(mg_hook_t *h) {
  resolve(mg_hook_node(h));
  return 0;
}

static void bpf_disconnect(mg_hook_t *h) {
  hinfo_t *hi = info(h);
  mg_node_t *n = mg_hook_node(h);
  mg_hook_set_priv(h, NULL);
  resolve(n); /* the hook is off the list: nothing points at it now */
  forget_programs(hi);
  free(hi->expr);
  free(hi->match);
  free(hi->nomatch);
  free(hi->insns);
  pthread_mutex_destroy(&hi->mu);
  free(hi);
  if (mg_node_numhooks(n) == 0 && mg_node_valid(n)) mg_node_rmself(n);
}

static const mg_cmd_t bpf_cmds[] = {
  {"setprogram", BPF_SETPROGRAM, 0,
   "{ thisHook=\"in\" ifMatch=\"yes\" ifNotMatch=\"no\" expr=\"udp\" | "
   "bpf_prog_len=N bpf_prog=[ { code= jt= jf= k= } ... ] tagMatch=0 }",
   "filter data arriving on a hook by a tcpdump expression or ng_bpf's instructions "
   "(tcpdump -ddd); tagMatch: tag what matches"},
  {"getprogram", BPF_GETPROGRAM, MG_CMD_READONLY, "{ hook=\"in\" } | \"in\"",
   "a hook's program and destinations"},
  {"getstats", BPF_GETSTATS, MG_CMD_READONLY, "{ hook=\"in\" } | \"in\"", "a hook's counters"},
  {"clrstats", BPF_CLRSTATS, 0, "{ hook=\"in\" } | \"in\"", "zero a hook's counters"},
  {"getclrstats", BPF_GETCLRSTATS, 0, "{ hook=\"in\" } | \"in\"",
   "a hook's counters, then zero them"},
  {NULL, 0, 0, NULL, NULL}};

const mg_type_t mg_type_bpf = {
  .name = "bpf",
  .doc = "Sends data out of one hook or another by a tcpdump expression\n"
         "per input hook (libpcap compiles it for each link type).",
  .priv_size = sizeof(bpf_t),
  .constructor = bpf_constructor,
  .newhook = bpf_newhook,
  .connect = bpf_connect,
  .rcvdata = bpf_rcvdata,
  .rcvburst = bpf_rcvburst,
  .rcvmsg = bpf_rcvmsg,
  .disconnect = bpf_disconnect,
  .cmds = bpf_cmds,
};
