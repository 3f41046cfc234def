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

int main(void) {
  RUN(t_scalars);
  RUN(t_trees);
  RUN(t_errors);
  CHECK_DONE();
}
