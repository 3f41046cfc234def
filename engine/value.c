/*
** value.c -- the typed value tree of control messages, and its text form,
** which is netgraph's ASCII syntax: { name="fred" list=[ 1 2 3 ] }.
*/
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moongraph.h"

static mg_value_t *newv(mg_vtype_t t) {
  mg_value_t *v = mg_calloc(1, sizeof *v);
  v->type = t;
  return v;
}

mg_value_t *mg_nil(void) { return newv(MG_NIL); }
mg_value_t *mg_bool(bool b) { mg_value_t *v = newv(MG_BOOL); v->u.b = b; return v; }
mg_value_t *mg_int(int64_t i) { mg_value_t *v = newv(MG_INT); v->u.i = i; return v; }
mg_value_t *mg_num(double n) { mg_value_t *v = newv(MG_NUM); v->u.n = n; return v; }
mg_value_t *mg_array(void) { return newv(MG_ARRAY); }
mg_value_t *mg_map(void) { return newv(MG_MAP); }

static mg_value_t *newbytes(mg_vtype_t t, const void *p, size_t len) {
  mg_value_t *v = newv(t);
  v->u.s.p = mg_alloc(len + 1);
  if (len) memcpy(v->u.s.p, p, len);
  v->u.s.p[len] = '\0';
  v->u.s.len = len;
  return v;
}

mg_value_t *mg_strn(const char *s, size_t len) { return newbytes(MG_STR, s, len); }
mg_value_t *mg_str(const char *s) { return newbytes(MG_STR, s, strlen(s)); }
mg_value_t *mg_bytes(const void *p, size_t len) { return newbytes(MG_BYTES, p, len); }

void mg_value_free(mg_value_t *v) {
  if (!v) return;
  switch (v->type) {
  case MG_STR: case MG_BYTES: free(v->u.s.p); break;
  case MG_ARRAY:
    for (uint32_t i = 0; i < v->u.a.n; i++) mg_value_free(v->u.a.v[i]);
    free(v->u.a.v);
    break;
  case MG_MAP:
    for (uint32_t i = 0; i < v->u.m.n; i++) {
      free(v->u.m.kv[i].key);
      mg_value_free(v->u.m.kv[i].val);
    }
    free(v->u.m.kv);
    break;
  default: break;
  }
  free(v);
}

mg_value_t *mg_value_copy(const mg_value_t *v) {
  if (!v) return NULL;
  switch (v->type) {
  case MG_STR: case MG_BYTES: return newbytes(v->type, v->u.s.p, v->u.s.len);
  case MG_ARRAY: {
    mg_value_t *a = mg_array();
    for (uint32_t i = 0; i < v->u.a.n; i++)
      mg_array_push(a, mg_value_copy(v->u.a.v[i]));
    return a;
  }
  case MG_MAP: {
    mg_value_t *m = mg_map();
    for (uint32_t i = 0; i < v->u.m.n; i++)
      mg_map_set(m, v->u.m.kv[i].key, mg_value_copy(v->u.m.kv[i].val));
    return m;
  }
  default: {
    mg_value_t *c = newv(v->type);
    c->u = v->u;
    return c;
  }
  }
}

bool mg_value_equal(const mg_value_t *a, const mg_value_t *b) {
  if (!a || !b) return a == b;
  if (a->type != b->type) return false;
  switch (a->type) {
  case MG_NIL: return true;
  case MG_BOOL: return a->u.b == b->u.b;
  case MG_INT: return a->u.i == b->u.i;
  case MG_NUM: return a->u.n == b->u.n || (isnan(a->u.n) && isnan(b->u.n));
  case MG_STR: case MG_BYTES:
    return a->u.s.len == b->u.s.len &&
           memcmp(a->u.s.p, b->u.s.p, a->u.s.len) == 0;
  case MG_ARRAY:
    if (a->u.a.n != b->u.a.n) return false;
    for (uint32_t i = 0; i < a->u.a.n; i++)
      if (!mg_value_equal(a->u.a.v[i], b->u.a.v[i])) return false;
    return true;
  case MG_MAP:
    if (a->u.m.n != b->u.m.n) return false;
    for (uint32_t i = 0; i < a->u.m.n; i++) {
      mg_value_t *o = mg_map_get(b, a->u.m.kv[i].key);
      if (!o || !mg_value_equal(a->u.m.kv[i].val, o)) return false;
    }
    return true;
  }
  return false;
}

void mg_array_push(mg_value_t *a, mg_value_t *v) {
  if (a->u.a.n == a->u.a.cap) {
    a->u.a.cap = a->u.a.cap ? a->u.a.cap * 2 : 4;
    a->u.a.v = mg_realloc(a->u.a.v, a->u.a.cap * sizeof *a->u.a.v);
  }
  a->u.a.v[a->u.a.n++] = v;
}

void mg_map_set(mg_value_t *m, const char *k, mg_value_t *v) {
  for (uint32_t i = 0; i < m->u.m.n; i++)
    if (strcmp(m->u.m.kv[i].key, k) == 0) {
      mg_value_free(m->u.m.kv[i].val);
      m->u.m.kv[i].val = v;
      return;
    }
  if (m->u.m.n == m->u.m.cap) {
    m->u.m.cap = m->u.m.cap ? m->u.m.cap * 2 : 4;
    m->u.m.kv = mg_realloc(m->u.m.kv, m->u.m.cap * sizeof *m->u.m.kv);
  }
  m->u.m.kv[m->u.m.n].key = mg_strdup(k);
  m->u.m.kv[m->u.m.n++].val = v;
}

mg_value_t *mg_map_get(const mg_value_t *m, const char *k) {
  if (!m || m->type != MG_MAP) return NULL;
  for (uint32_t i = 0; i < m->u.m.n; i++)
    if (strcmp(m->u.m.kv[i].key, k) == 0) return m->u.m.kv[i].val;
  return NULL;
}

bool mg_map_str(const mg_value_t *m, const char *k, const char **out) {
  mg_value_t *v = mg_map_get(m, k);
  if (!v || v->type == MG_NIL) return true;
  if (v->type != MG_STR) {
    mg_error(-EINVAL, "field '%s' must be a string", k);
    return false;
  }
  if (strlen(v->u.s.p) != v->u.s.len) { /* C would read it cut short */
    mg_error(-EINVAL, "field '%s' may not contain a NUL byte", k);
    return false;
  }
  *out = v->u.s.p;
  return true;
}

bool mg_map_int(const mg_value_t *m, const char *k, int64_t *out) {
  mg_value_t *v = mg_map_get(m, k);
  if (!v || v->type == MG_NIL) return true;
  if (v->type == MG_NUM && v->u.n == floor(v->u.n) && fabs(v->u.n) < 9e18) {
    *out = (int64_t)v->u.n;
    return true;
  }
  if (v->type != MG_INT) {
    mg_error(-EINVAL, "field '%s' must be an integer", k);
    return false;
  }
  *out = v->u.i;
  return true;
}

/* 1e9 rather than 1e+09, and 0.001 */
static void fmtnum(char *out, size_t n, double x) {
  char t[32], *e;
  if (isnan(x)) { /* not "-nan" */
    snprintf(out, n, "nan");
    return;
  }
  snprintf(t, sizeof t, "%g", x);
  if ((e = strchr(t, 'e')) != NULL) { /* e+09 -> e9, e-05 -> e-5 */
    char *d = e + 1;
    bool neg = *d == '-';
    if (*d == '+' || *d == '-') d++;
    while (*d == '0' && d[1]) d++;
    snprintf(out, n, "%.*se%s%s", (int)(e - t), t, neg ? "-" : "", d);
  } else
    snprintf(out, n, "%s", t);
}

int mg_check_num(double x, const char *name, double min, double max) {
  if (x >= min && x <= max) return 0; /* false for NaN */
  char a[32], b[32], c[32];
  fmtnum(a, sizeof a, min);
  fmtnum(b, sizeof b, max);
  fmtnum(c, sizeof c, x);
  return mg_error(-EINVAL, "%s: must be a number from %s to %s, got %s", name, a, b, c);
}

int mg_map_num(const mg_value_t *m, const char *k, double min, double max, double *out) {
  mg_value_t *v = mg_map_get(m, k);
  if (!v || v->type == MG_NIL) return 0;
  double x;
  if (v->type == MG_INT) x = (double)v->u.i;
  else if (v->type == MG_NUM) x = v->u.n;
  else {
    char a[32], b[32];
    fmtnum(a, sizeof a, min);
    fmtnum(b, sizeof b, max);
    return mg_error(-EINVAL, "%s: must be a number from %s to %s, not a %s", k, a, b,
                    v->type == MG_STR ? "string" : "non-number");
  }
  int rc = mg_check_num(x, k, min, max);
  if (!rc) *out = x;
  return rc;
}

/*
** {======================================================
** Printing
** =======================================================
*/
static bool isident(const char *s) {
  if (!*s || !(isalpha((unsigned char)*s) || *s == '_')) return false;
  for (; *s; s++)
    if (!(isalnum((unsigned char)*s) || *s == '_')) return false;
  return true;
}

static void print_quoted(const char *p, size_t n, mg_sbuf_t *o) {
  mg_sbuf_add(o, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    switch (c) {
    case '"': mg_sbuf_add(o, "\\\"", 2); break;
    case '\\': mg_sbuf_add(o, "\\\\", 2); break;
    case '\n': mg_sbuf_add(o, "\\n", 2); break;
    case '\t': mg_sbuf_add(o, "\\t", 2); break;
    case '\r': mg_sbuf_add(o, "\\r", 2); break;
    default:
      if (c < 0x20 || c == 0x7f) mg_sbuf_printf(o, "\\x%02x", c);
      else mg_sbuf_add(o, (const char *)&c, 1);
    }
  }
  mg_sbuf_add(o, "\"", 1);
}

void mg_value_print(const mg_value_t *v, mg_sbuf_t *o) {
  if (!v) { mg_sbuf_add(o, "nil", 3); return; }
  switch (v->type) {
  case MG_NIL: mg_sbuf_add(o, "nil", 3); break;
  case MG_BOOL: v->u.b ? mg_sbuf_add(o, "true", 4) : mg_sbuf_add(o, "false", 5); break;
  case MG_INT: mg_sbuf_printf(o, "%lld", (long long)v->u.i); break;
  case MG_NUM: {
    char tmp[40];
    if (isnan(v->u.n)) snprintf(tmp, sizeof tmp, "nan");
    else if (isinf(v->u.n)) snprintf(tmp, sizeof tmp, v->u.n > 0 ? "inf" : "-inf");
    else {
      /* the shortest of 15, 16, 17 digits that reads back the same */
      for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v->u.n);
        if (strtod(tmp, NULL) == v->u.n) break;
      }
      if (!strpbrk(tmp, ".e")) strcat(tmp, ".0"); /* stays a number */
    }
    mg_sbuf_add(o, tmp, strlen(tmp));
    break;
  }
  case MG_STR: print_quoted(v->u.s.p, v->u.s.len, o); break;
  case MG_BYTES:
    mg_sbuf_add(o, "x\"", 2);
    for (size_t i = 0; i < v->u.s.len; i++)
      mg_sbuf_printf(o, "%02x", (unsigned char)v->u.s.p[i]);
    mg_sbuf_add(o, "\"", 1);
    break;
  case MG_ARRAY:
    if (!v->u.a.n) { mg_sbuf_add(o, "[]", 2); break; }
    mg_sbuf_add(o, "[", 1);
    for (uint32_t i = 0; i < v->u.a.n; i++) {
      mg_sbuf_add(o, " ", 1);
      mg_value_print(v->u.a.v[i], o);
    }
    mg_sbuf_add(o, " ]", 2);
    break;
  case MG_MAP:
    if (!v->u.m.n) { mg_sbuf_add(o, "{}", 2); break; }
    mg_sbuf_add(o, "{", 1);
    for (uint32_t i = 0; i < v->u.m.n; i++) {
      const char *k = v->u.m.kv[i].key;
      mg_sbuf_add(o, " ", 1);
      if (isident(k)) mg_sbuf_add(o, k, strlen(k));
      else print_quoted(k, strlen(k), o);
      mg_sbuf_add(o, "=", 1);
      mg_value_print(v->u.m.kv[i].val, o);
    }
    mg_sbuf_add(o, " }", 2);
    break;
  }
}

char *mg_value_text(const mg_value_t *v) {
  mg_sbuf_t b = {0};
  mg_value_print(v, &b);
  return b.p;
}
/* }====================================================== */

/*
** {======================================================
** Parsing
** =======================================================
*/
typedef struct {
  const char *s, *p;
  int depth;
} lexer_t;

static int perr(lexer_t *L, const char *what) {
  char got[24];
  if (!*L->p) snprintf(got, sizeof got, "end of text");
  else snprintf(got, sizeof got, "'%.12s'", L->p);
  return mg_error(-EINVAL, "bad value at offset %d: expected %s, got %s",
                  (int)(L->p - L->s), what, got);
}

static void skipws(lexer_t *L) {
  while (isspace((unsigned char)*L->p) || *L->p == ',') L->p++;
}

static bool wordch(char c) {
  return c && (isalnum((unsigned char)c) || strchr("_.:/-+@%", c));
}

static int parse_value(lexer_t *L, mg_value_t **out);

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = (char)tolower((unsigned char)c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

static int parse_string(lexer_t *L, mg_value_t **out) {
  mg_sbuf_t b = {0};
  L->p++; /* the quote */
  for (;;) {
    char c = *L->p;
    if (!c) { mg_sbuf_free(&b); return perr(L, "closing '\"'"); }
    L->p++;
    if (c == '"') break;
    if (c != '\\') { mg_sbuf_add(&b, &c, 1); continue; }
    c = *L->p++;
    switch (c) {
    case 'n': c = '\n'; break;
    case 't': c = '\t'; break;
    case 'r': c = '\r'; break;
    case 'a': c = '\a'; break;
    case 'b': c = '\b'; break;
    case 'f': c = '\f'; break;
    case 'v': c = '\v'; break;
    case '"': case '\\': case '\'': break;
    case 'x': {
      int h = hexval(L->p[0]), l = h < 0 ? -1 : hexval(L->p[1]);
      if (l < 0) { L->p--; mg_sbuf_free(&b); return perr(L, "two hex digits after \\x"); }
      c = (char)(h * 16 + l);
      L->p += 2;
      break;
    }
    default:
      if (c >= '0' && c <= '7') { /* up to three octal digits */
        int v = c - '0';
        for (int i = 0; i < 2 && *L->p >= '0' && *L->p <= '7'; i++)
          v = v * 8 + (*L->p++ - '0');
        if (v > 255) { mg_sbuf_free(&b); return perr(L, "an octal escape below \\400"); }
        c = (char)v;
        break;
      }
      L->p -= 2;
      mg_sbuf_free(&b);
      return perr(L, "a known escape");
    }
    mg_sbuf_add(&b, &c, 1);
  }
  *out = mg_strn(b.p ? b.p : "", b.len);
  mg_sbuf_free(&b);
  return 0;
}

static int parse_bytes(lexer_t *L, mg_value_t **out) {
  mg_sbuf_t b = {0};
  L->p += 2; /* x" */
  for (;;) {
    skipws(L);
    if (*L->p == '"') { L->p++; break; }
    int h = hexval(L->p[0]), l = h < 0 ? -1 : hexval(L->p[1]);
    if (l < 0) { mg_sbuf_free(&b); return perr(L, "hex byte pairs and a closing '\"'"); }
    char c = (char)(h * 16 + l);
    mg_sbuf_add(&b, &c, 1);
    L->p += 2;
  }
  *out = mg_bytes(b.p ? b.p : "", b.len);
  mg_sbuf_free(&b);
  return 0;
}

static int parse_word(lexer_t *L, mg_value_t **out) {
  const char *start = L->p;
  while (wordch(*L->p)) L->p++;
  size_t n = (size_t)(L->p - start);
  char w[128];
  if (n >= sizeof w) { L->p = start; return perr(L, "a shorter word (quote long strings)"); }
  memcpy(w, start, n);
  w[n] = '\0';
  if (!strcmp(w, "nil")) { *out = mg_nil(); return 0; }
  if (!strcmp(w, "true")) { *out = mg_bool(true); return 0; }
  if (!strcmp(w, "false")) { *out = mg_bool(false); return 0; }
  if (!strcmp(w, "inf") || !strcmp(w, "+inf")) { *out = mg_num(INFINITY); return 0; }
  if (!strcmp(w, "-inf")) { *out = mg_num(-INFINITY); return 0; }
  if (!strcmp(w, "nan")) { *out = mg_num(NAN); return 0; }
  char *end;
  const char *digits = (w[0] == '-' || w[0] == '+') ? w + 1 : w;
  bool hex = digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X');
  errno = 0;
  long long i = strtoll(w, &end, hex ? 16 : 10); /* no octal surprises */
  if (*end == '\0' && end != w) {
    if (errno == ERANGE) { L->p = start; return perr(L, "an integer that fits in 64 bits"); }
    *out = mg_int(i);
    return 0;
  }
  double d = strtod(w, &end);
  if (*end == '\0' && end != w && (isdigit((unsigned char)w[0]) || w[0] == '-' ||
                                   w[0] == '+' || w[0] == '.')) {
    /* "1.2.3.4" fails strtod's full match and stays a word below */
    *out = mg_num(d);
    return 0;
  }
  *out = mg_strn(w, n); /* a bare word: eth0, 10.0.0.1, roundrobin */
  return 0;
}

static int parse_map(lexer_t *L, mg_value_t **out) {
  mg_value_t *m = mg_map();
  L->p++;
  for (;;) {
    skipws(L);
    if (*L->p == '}') { L->p++; break; }
    char key[MG_NAMESIZ * 4];
    if (*L->p == '"') {
      const char *s = L->p;
      mg_value_t *k;
      int rc = parse_string(L, &k);
      if (rc) { mg_value_free(m); return rc; }
      /* keys are C strings of a bounded size: say so rather than cut */
      const char *why = k->u.s.len >= sizeof key ? "a shorter key"
                        : memchr(k->u.s.p, '\0', k->u.s.len) ? "a key without NUL"
                        : NULL;
      if (why) { mg_value_free(k); mg_value_free(m); L->p = s; return perr(L, why); }
      memcpy(key, k->u.s.p, k->u.s.len + 1);
      mg_value_free(k);
    } else {
      const char *s = L->p;
      while (isalnum((unsigned char)*L->p) || *L->p == '_') L->p++;
      size_t n = (size_t)(L->p - s);
      if (!n || n >= sizeof key) { mg_value_free(m); return perr(L, n ? "a shorter key" : "a key or '}'"); }
      memcpy(key, s, n);
      key[n] = '\0';
    }
    skipws(L);
    if (*L->p != '=') { mg_value_free(m); return perr(L, "'=' after a key"); }
    L->p++;
    mg_value_t *v;
    int rc = parse_value(L, &v);
    if (rc) { mg_value_free(m); return rc; }
    mg_map_set(m, key, v);
  }
  *out = m;
  return 0;
}

static int parse_array(lexer_t *L, mg_value_t **out) {
  mg_value_t *a = mg_array();
  L->p++;
  for (;;) {
    skipws(L);
    if (*L->p == ']') { L->p++; break; }
    mg_value_t *v;
    int rc = parse_value(L, &v);
    if (rc) { mg_value_free(a); return rc; }
    mg_array_push(a, v);
  }
  *out = a;
  return 0;
}

static int parse_value(lexer_t *L, mg_value_t **out) {
  skipws(L);
  if (++L->depth > 64) return perr(L, "less nesting (64 levels at most)");
  int rc;
  char c = *L->p;
  if (c == '{') rc = parse_map(L, out);
  else if (c == '[') rc = parse_array(L, out);
  else if (c == '"') rc = parse_string(L, out);
  else if (c == 'x' && L->p[1] == '"') rc = parse_bytes(L, out);
  else if (c && wordch(c)) rc = parse_word(L, out);
  else rc = perr(L, "a value");
  L->depth--;
  return rc;
}

int mg_value_parse(const char *text, mg_value_t **out) {
  lexer_t L = {text, text, 0};
  *out = NULL;
  mg_value_t *v;
  int rc = parse_value(&L, &v);
  if (rc) return rc;
  skipws(&L);
  if (*L.p) {
    mg_value_free(v);
    return perr(&L, "end of text after the value");
  }
  *out = v;
  return 0;
}
/* }====================================================== */

int mg_map_only(const mg_value_t *m, const char *cmd,
                const char *const *known, const char *form) {
  if (!m || m->type != MG_MAP) return mg_error(-EINVAL, "%s takes %s", cmd, form);
  for (uint32_t i = 0; i < m->u.m.n; i++) {
    const char *k = m->u.m.kv[i].key;
    int j = 0;
    while (known[j] && strcmp(known[j], k)) j++;
    if (!known[j])
      return mg_error(-EINVAL, "%s: unknown field '%s' (it takes %s)", cmd, k, form);
  }
  return 0;
}
