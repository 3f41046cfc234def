/* The value tree and its text form. */
#include <math.h>

#include "check.h"

static void roundtrip(const char *in, const char *want) {
  mg_value_t *v;
  int rc = mg_value_parse(in, &v);
  if (rc) {
    fprintf(stderr, "parse '%s': %s\n", in, mg_errmsg());
    check_failures++;
    return;
  }
  char *s = mg_value_text(v);
  if (strcmp(s, want) != 0) {
    fprintf(stderr, "'%s' printed as '%s', wanted '%s'\n", in, s, want);
    check_failures++;
  }
  mg_value_t *again;
  CHECK_OK(mg_value_parse(s, &again));
  CHECK(mg_value_equal(v, again));
  mg_value_free(again);
  free(s);
  mg_value_free(v);
}

static void t_scalars(void) {
  roundtrip("nil", "nil");
  roundtrip("true", "true");
  roundtrip("false", "false");
  roundtrip("42", "42");
  roundtrip("-7", "-7");
  roundtrip("0x1f", "31");
  roundtrip("010", "10"); /* decimal: no octal surprise */
  roundtrip("1.5", "1.5");
  roundtrip("2e3", "2000.0");
  roundtrip("-inf", "-inf");
  roundtrip("\"a \\\"q\\\" \\n\\x01\"", "\"a \\\"q\\\" \\n\\x01\"");
  roundtrip("x\"00ff10\"", "x\"00ff10\"");
  roundtrip("eth0", "\"eth0\"");
  roundtrip("10.0.0.1", "\"10.0.0.1\"");
  roundtrip("9223372036854775807", "9223372036854775807");
}

static void t_trees(void) {
  roundtrip("{ name=\"fred\" }", "{ name=\"fred\" }");
  roundtrip("{}", "{}");
  roundtrip("[]", "[]");
  roundtrip("[ 1 2 3 ]", "[ 1 2 3 ]");
  roundtrip("[1,2,3]", "[ 1 2 3 ]");
  roundtrip("{ a={ b=[ 1 { c=true } ] } \"odd key\"=1 }",
            "{ a={ b=[ 1 { c=true } ] } \"odd key\"=1 }");
  mg_value_t *m = mg_map();
  mg_map_set(m, "x", mg_int(1));
  mg_map_set(m, "x", mg_int(2)); /* replaces */
  CHECK_EQ(m->u.m.n, 1);
  CHECK_EQ(mg_map_get(m, "x")->u.i, 2);
  int64_t i = 0;
  const char *s = NULL;
  CHECK(mg_map_int(m, "x", &i) && i == 2);
  CHECK(!mg_map_str(m, "x", &s));
  CHECK(strstr(mg_errmsg(), "'x' must be a string"));
  mg_value_t *c = mg_value_copy(m);
  CHECK(mg_value_equal(m, c));
  mg_value_free(c);
  mg_value_free(m);
}

static void bad(const char *in, const char *needle) {
  mg_value_t *v = (mg_value_t *)1;
  int rc = mg_value_parse(in, &v);
  if (rc != -EINVAL || v != NULL || !strstr(mg_errmsg(), needle)) {
    fprintf(stderr, "parse '%s': wanted an error mentioning '%s', got %d: %s\n",
            in, needle, rc, mg_errmsg());
    check_failures++;
  }
}

static void t_errors(void) {
  bad("", "expected a value");
  bad("{ name=\"fred\" ", "a key or '}'");
  bad("{ name }", "'=' after a key");
  bad("[ 1 2", "a value");
  bad("\"open", "closing '\"'");
  bad("\"\\q\"", "a known escape");
  bad("x\"0g\"", "hex byte pairs");
  bad("1 2", "end of text after the value");
  bad("99999999999999999999", "fits in 64 bits");
  /* a quoted key is held to the bare key's limit, and has no NUL in it:
  ** neither may be cut short without a word */
  char longkey[200];
  snprintf(longkey, sizeof longkey, "{ \"%0150d\"=1 }", 0);
  bad(longkey, "a shorter key");
  bad("{ \"a\\x00b\"=1 }", "a key without NUL");
  char deep[200];
  memset(deep, '[', 100);
  deep[100] = '\0';
  bad(deep, "less nesting");
}

/* Every number a user names: within its range, or refused by name. */
static void t_ranges(void) {
  CHECK_OK(mg_check_num(0, "pps", 0, 1e9));
  CHECK_OK(mg_check_num(1e9, "pps", 0, 1e9));
  CHECK_ERR(mg_check_num(NAN, "pps", 0, 1e9), -EINVAL, "pps: must be a number from 0 to 1e9, got nan");
  CHECK_ERR(mg_check_num(-NAN, "pps", 0, 1e9), -EINVAL, "got nan");
  CHECK_ERR(mg_check_num(INFINITY, "x", 0.001, 1e6), -EINVAL, "x: must be a number from 0.001 to 1e6, got inf");
  CHECK_ERR(mg_check_num(-1, "x", 0, 1), -EINVAL, "got -1");
  CHECK_ERR(mg_check_num(1e-9, "period", 0.001, 1e9), -EINVAL, "got 1e-9");
  mg_value_t *m;
  CHECK_OK(mg_value_parse("{ a=5 b=2.5 c=\"x\" d=1e300 }", &m));
  double x = -1;
  CHECK_OK(mg_map_num(m, "none", 0, 10, &x));
  CHECK(x == -1);
  CHECK_OK(mg_map_num(m, "a", 0, 10, &x));
  CHECK(x == 5);
  CHECK_OK(mg_map_num(m, "b", 0, 10, &x));
  CHECK(x == 2.5);
  CHECK_ERR(mg_map_num(m, "c", 0, 10, &x), -EINVAL, "c: must be a number from 0 to 10, not a string");
  CHECK_ERR(mg_map_num(m, "d", 0, 10, &x), -EINVAL, "got 1e300");
  CHECK(x == 2.5);
  mg_value_free(m);
}

/* Error messages: a user's string quoted, cut and escaped; a message
** made from the last one; one too long for the buffer. */
static void t_messages(void) {
  char q[MG_QUOTESIZ], big[10001];
  CHECK(strcmp(mg_quote(q, "tee1"), "'tee1'") == 0);
  CHECK(strcmp(mg_quote(q, "a\001b\n'c\\"), "'a\\x01b\\n\\'c\\\\'") == 0);
  CHECK(strcmp(mg_quote(q, NULL), "''") == 0);
  memset(big, 'n', 10000);
  big[10000] = '\0';
  mg_quote(q, big);
  CHECK(strlen(q) == 64 + 5 && strcmp(q + 65, "'...") == 0);
  memset(big, 1, 10000); /* every byte escaped: the worst case fits */
  mg_quote(q, big);
  CHECK(strlen(q) == 64 * 4 + 5);
  /* "\xc3\xa9" (e acute) is not cut in two */
  for (int i = 0; i < 100; i += 2) big[i] = (char)0xc3, big[i + 1] = (char)0xa9;
  big[63] = 'x', big[64] = (char)0xc3, big[65] = (char)0xa9;
  for (int i = 0; i < 63; i++) big[i] = 'a';
  mg_quote(q, big);
  CHECK(strcmp(q + 1 + 63, "x'...") == 0);

  mg_error(-EINVAL, "first %d", 1);
  mg_error(-EINVAL, "second: %s", mg_errmsg()); /* reads what it writes */
  CHECK(strcmp(mg_errmsg(), "second: first 1") == 0);
  memset(big, 'x', 10000);
  big[10000] = '\0';
  mg_error(-EINVAL, "long: %s", big);
  size_t n = strlen(mg_errmsg());
  CHECK(n == 511 && strcmp(mg_errmsg() + n - 3, "...") == 0);
}

int main(void) {
  RUN(t_scalars);
  RUN(t_ranges);
  RUN(t_trees);
  RUN(t_errors);
  RUN(t_messages);
  CHECK_DONE();
}
