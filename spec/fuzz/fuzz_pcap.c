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

/* The input as a file, gone again once the node has it open (libFuzzer
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
  unlink(path);
  if (opened == 0 && mg_ctl_call(c, "src:", "start", NULL, NULL) == 0)
    mg_engine_run(e, MG_RUN_IDLE, 0);
  mg_node_unref(c);
  mg_engine_free(e);
  int64_t items, bufs;
  mg_pool_outstanding(&items, &bufs);
  if (items || bufs) {
    fprintf(stderr, "fuzz_pcap: %lld item(s), %lld buffer(s) not returned\n",
            (long long)items, (long long)bufs);
    abort();
  }
  return 0;
}
