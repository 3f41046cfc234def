/*
** replay.c -- runs a fuzz harness over files and directories of inputs,
** without libFuzzer: found crashes stay fixed under any compiler (and
** under the ASan build of scripts/test).  A missing directory is skipped.
*/
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ran;

static void one(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(1); }
  size_t cap = 4096, n = 0, got;
  uint8_t *buf = malloc(cap);
  while ((got = fread(buf + n, 1, cap - n, f)) > 0)
    if ((n += got) == cap) buf = realloc(buf, cap *= 2);
  fclose(f);
  uint8_t *exact = malloc(n ? n : 1); /* ASan sees reads past the input */
  memcpy(exact, buf, n);
  free(buf);
  printf("%s\n", path);
  fflush(stdout);
  LLVMFuzzerTestOneInput(exact, n);
  free(exact);
  ran++;
}

static void walk(const char *path) {
  struct stat st;
  if (stat(path, &st)) return;
  if (!S_ISDIR(st.st_mode)) { one(path); return; }
  struct dirent **names;
  int k = scandir(path, &names, NULL, alphasort);
  for (int i = 0; i < k; i++) {
    if (names[i]->d_name[0] != '.') {
      char p[4096];
      snprintf(p, sizeof p, "%s/%s", path, names[i]->d_name);
      walk(p);
    }
    free(names[i]);
  }
  if (k >= 0) free(names);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) walk(argv[i]);
  printf("replayed %d input(s)\n", ran);
  return 0;
}
