/*
** check.h -- the few macros the C tests need.  A failed check prints where
** and why, and the test exits non-zero at the end.
*/
#ifndef MG_CHECK_H
#define MG_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moongraph.h"

static int check_failures;

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      check_failures++;                                                   \
    }                                                                     \
  } while (0)

#define CHECK_EQ(a, b)                                                    \
  do {                                                                    \
    long long a_ = (long long)(a), b_ = (long long)(b);                   \
    if (a_ != b_) {                                                       \
      fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, \
              __LINE__, #a, #b, a_, b_);                                  \
      check_failures++;                                                   \
    }                                                                     \
  } while (0)

/* expr returns 0, or the error code expected, and the message names it */
#define CHECK_OK(expr)                                                    \
  do {                                                                    \
    int rc_ = (expr);                                                     \
    if (rc_ != 0) {                                                       \
      fprintf(stderr, "%s:%d: %s failed: %s: %s\n", __FILE__, __LINE__,   \
              #expr, mg_errname(rc_), mg_errmsg());                       \
      check_failures++;                                                   \
    }                                                                     \
  } while (0)

#define CHECK_ERR(expr, code, needle)                                     \
  do {                                                                    \
    int rc_ = (expr);                                                     \
    if (rc_ != (code) || !strstr(mg_errmsg(), (needle))) {                \
      fprintf(stderr, "%s:%d: %s: wanted %s mentioning '%s', got %s: %s\n", \
              __FILE__, __LINE__, #expr, mg_errname(code), (needle),      \
              mg_errname(rc_), mg_errmsg());                              \
      check_failures++;                                                   \
    }                                                                     \
  } while (0)

#define RUN(t)                                                            \
  do {                                                                    \
    int before_ = check_failures;                                         \
    t();                                                                  \
    printf("%s %s\n", check_failures == before_ ? "ok  " : "FAIL", #t);   \
    fflush(stdout);                                                       \
  } while (0)

#define CHECK_DONE()                                                      \
  do {                                                                    \
    if (check_failures) fprintf(stderr, "%d check(s) failed\n", check_failures); \
    return check_failures ? 1 : 0;                                        \
  } while (0)

/* No pooled item or buffer is left over. */
static inline void check_pools_empty(const char *where) {
  int64_t items, bufs;
  mg_pool_outstanding(&items, &bufs);
  if (items || bufs) {
    fprintf(stderr, "%s: %lld item(s) and %lld buffer(s) not returned\n",
            where, (long long)items, (long long)bufs);
    check_failures++;
  }
}

#endif
