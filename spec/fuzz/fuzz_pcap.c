/*
** fuzz_pcap.c -- a capture file through the whole path a replay takes:
**
**   pcap out -- in bpf yes -- left tee right -- in pcapout
**
** The input is written to a temporary file, which the pcap node opens and
** reads to the end; pcapout writes to /dev/null, as pcapng for inputs of
** even size and as pcap of the input's link type for odd (which some link
** types cannot be: pcapout must refuse them and leak nothing).  A file the
** reader refuses is fine; crashes, leaks and sanitizer reports are not.
** Then the file is read again into a hole by each of the node's readers
** (its block reader and libpcap alone): they must open it alike and give
** the same packets and bytes.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *arg, int level, const char *line) {
  (void)arg; (void)level; (void)line;
}

/* The input as a file, gone again once every reader has had it (libFuzzer
** ends without running atexit handlers). */
static void write_input(const uint8_t *data, size_t size, char *path) {
  strcpy(path, "/tmp/mg-fuzz-pcap-XXXXXX");
  int fd = mkstemp(path);
  FILE *f = fd < 0 ? NULL : fdopen(fd, "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f)) {
    perror(path);
    abort();
  }
}

/* What reader makes of the file: -1 if it cannot open it. */
static int64_t read_with(const char *path, const char *reader, int64_t *bytes) {
  mg_engine_t *e = mg_engine_new(NULL);
  mg_builtin_register(e);
  mg_node_t *c = mg_ctl_new(e, "ctl");
  mg_set_log(e, quiet, NULL);
  char open[160];
  snprintf(open, sizeof open, "{ file=\"%s\" reader=\"%s\" }", path, reader);
  if (mg_mkpeer(c, ".", "hole", "x", "in") || mg_name(c, ".:x", "h") ||
      mg_mkpeer(c, "h:", "pcap", "src", "out") || mg_rmhook(c, ".", "x")) {
    fprintf(stderr, "fuzz_pcap: cannot build the graph: %s\n", mg_errmsg());
    abort();
  }
  int64_t packets = -1;
  *bytes = -1;
  mg_value_t *st = NULL;
  if (mg_ctl_call_text(c, "h:src", "open", open, NULL) == 0 &&
      mg_ctl_call(c, "h:src", "start", NULL, NULL) == 0) {
    mg_engine_run(e, MG_RUN_IDLE, 0);
    if (mg_ctl_call(c, "h:src", "getstats", NULL, &st) == 0 && st) {
      packets = mg_map_get(st, "packets")->u.i;
      *bytes = mg_map_get(st, "bytes")->u.i;
    }
    mg_value_free(st);
  }
  mg_node_unref(c);
  mg_engine_free(e);
  return packets;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[32];
  write_input(data, size, path);
  mg_engine_t *e = mg_engine_new(NULL);
  mg_builtin_register(e);
  mg_node_t *c = mg_ctl_new(e, "ctl");
  mg_set_log(e, quiet, NULL);
  char open[128];
  snprintf(open, sizeof open, "{ file=\"%s\" }", path);
  int rc = mg_mkpeer(c, ".", "pcapout", "x", "ctl") || mg_name(c, ".:x", "sink") ||
           mg_mkpeer(c, "sink:", "tee", "in", "right") || mg_name(c, "sink:in", "tee") ||
           mg_mkpeer(c, "tee:", "bpf", "left", "yes") || mg_name(c, "tee:left", "bpf") ||
           mg_mkpeer(c, "bpf:", "pcap", "in", "out") || mg_name(c, "bpf:in", "src") ||
           mg_rmhook(c, ".", "x") ||
           mg_ctl_call_text(c, "bpf:", "setprogram",
                            "{ thisHook=\"in\" ifMatch=\"yes\" ifNotMatch=\"yes\" expr=\"udp\" }",
                            NULL) ||
           mg_ctl_call_text(c, "sink:", "open",
                            size & 1 ? "{ file=\"/dev/null\" format=\"pcap\" }"
                                     : "{ file=\"/dev/null\" format=\"pcapng\" }",
                            NULL);
  if (rc) {
    fprintf(stderr, "fuzz_pcap: cannot build the graph: %s\n", mg_errmsg());
    abort();
  }
  int opened = mg_ctl_call_text(c, "src:", "open", open, NULL);
  if (opened == 0 && mg_ctl_call(c, "src:", "start", NULL, NULL) == 0)
    mg_engine_run(e, MG_RUN_IDLE, 0);
  mg_node_unref(c);
  mg_engine_free(e);
  int64_t b1, b2, n1 = read_with(path, "block", &b1), n2 = read_with(path, "libpcap", &b2);
  unlink(path);
  if (n1 != n2 || b1 != b2) {
    fprintf(stderr, "fuzz_pcap: the block reader read %lld packets, %lld bytes; "
            "libpcap %lld packets, %lld bytes\n", (long long)n1, (long long)b1,
            (long long)n2, (long long)b2);
    abort();
  }
  int64_t items, bufs;
  mg_pool_outstanding(&items, &bufs);
  if (items || bufs) {
    fprintf(stderr, "fuzz_pcap: %lld item(s), %lld buffer(s) not returned\n",
            (long long)items, (long long)bufs);
    abort();
  }
  return 0;
}
