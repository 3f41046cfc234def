/*
** fuzz_value.c -- the text form of values (engine/value.c).  Whatever
** parses must print as text that parses back to an equal value and prints
** the same again; whatever does not parse must say why and keep nothing.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moongraph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *in = malloc(size + 1);
  memcpy(in, data, size);
  in[size] = '\0';
  mg_clearerr();
  mg_value_t *v = (mg_value_t *)1;
  int rc = mg_value_parse(in, &v);
  if (rc) {
    if (rc > 0 || v || !*mg_errmsg()) {
      fprintf(stderr, "failed parse: rc %d, value %p, message '%s'\n", rc,
              (void *)v, mg_errmsg());
      abort();
    }
    free(in);
    return 0;
  }
  char *text = mg_value_text(v);
  mg_value_t *again = NULL;
  if (mg_value_parse(text, &again)) {
    fprintf(stderr, "'%s' printed as '%s', which does not parse: %s\n", in,
            text, mg_errmsg());
    abort();
  }
  char *text2 = mg_value_text(again);
  if (!mg_value_equal(v, again) || strcmp(text, text2) != 0) {
    fprintf(stderr, "'%s' printed as '%s', read back as '%s'\n", in, text, text2);
    abort();
  }
  mg_value_t *copy = mg_value_copy(v);
  if (!mg_value_equal(copy, v)) abort();
  mg_value_free(copy);
  free(text2);
  free(text);
  mg_value_free(again);
  mg_value_free(v);
  free(in);
  return 0;
}
