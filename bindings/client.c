/*
** client.c -- moongraph -c PATH: attached to an engine served on a Unix
** socket (moongraph -s, g:serve), as ngctl -s is to a running netgraph.
**
**   moongraph -c PATH COMMAND...     one command, its output, its status
**   moongraph -c PATH --dump HOOK [-f FILE | COMMAND...]
**                                    what reaches HOOK of our node, as pcap
**   moongraph -c PATH -f FILE        FILE's commands as one request: the
**                                    engine runs them together, between
**                                    two packets
**   moongraph -c PATH                the REPL's verbs (stdin off a terminal)
**
** The server runs the verbs (lserve.c); what names a file here (read,
** write -f, dot FILE) is done on this side.  Frames: frame.h.
*/
#define _GNU_SOURCE
#include <editline/readline.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "frame.h"
#include "host.h"

static int sock = -1;
static mgf_rx_t rx;
static const char *dump_hook;  /* --dump: data on this hook goes to stdout */
static bool dump_head;         /* the pcap file header is out */
static bool prompt_shown;      /* the REPL's prompt is on the screen */
static char *capture;          /* output kept rather than printed (dot FILE) */
static size_t caplen;

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("moongraph: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

/* {====================================================== frames */
static void next_frame(uint8_t *type, const uint8_t **p, uint32_t *len);

static void send_frame(uint8_t type, const void *p, size_t len) {
  if (len > MGF_MAX) die("a command of %zu bytes is over the limit of %u", len, MGF_MAX);
  uint8_t hdr[MGF_HDR];
  mgf_header(hdr, type, (uint32_t)len);
  struct iovec iov[2] = {{hdr, MGF_HDR}, {(void *)p, len}};
  struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
  size_t left = MGF_HDR + len;
  while (left) {
    ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EPIPE) { /* it hung up: say why, if it said */
      uint8_t t;
      const uint8_t *q;
      uint32_t qlen;
      for (;;) {
        next_frame(&t, &q, &qlen);
        if (t == MGF_FATAL) die("the engine hung up: %.*s", (int)qlen, q);
      }
    }
    if (n < 0) die("writing to the engine: %s", strerror(errno));
    left -= (size_t)n;
    while (n > 0) { /* step the iovecs past what went */
      size_t k = (size_t)n < mh.msg_iov->iov_len ? (size_t)n : mh.msg_iov->iov_len;
      mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + k;
      mh.msg_iov->iov_len -= k;
      n -= (ssize_t)k;
      if (!mh.msg_iov->iov_len) mh.msg_iov++, mh.msg_iovlen--;
    }
  }
}

/* The next frame; blocks. */
static void next_frame(uint8_t *type, const uint8_t **p, uint32_t *len) {
  char err[160];
  for (;;) {
    int r = mgf_next(&rx, type, p, len, err, sizeof err);
    if (r < 0) die("from the engine: %s", err);
    if (r > 0) return;
    char buf[16384];
    ssize_t n = read(sock, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("reading from the engine: %s", strerror(errno));
    if (n == 0 && dump_hook) { /* the dump ends with the engine */
      fflush(stdout);
      exit(0);
    }
    if (n == 0) die("the engine went away");
    if (mgf_feed(&rx, buf, (size_t)n)) die("out of memory");
  }
}

static void put32le(FILE *f, uint32_t v) { fwrite(&v, 4, 1, f); } /* pcap's own order */

/* A packet on one of our hooks: a pcap record on stdout (--dump), or a
** hex dump as the REPL shows one. */
static void got_data(const uint8_t *p, uint32_t len) {
  mgf_data_t d;
  char err[160];
  if (mgf_data_parse(p, len, &d, err, sizeof err)) die("from the engine: %s", err);
  if (dump_hook) {
    if (strcmp(d.hook, dump_hook)) return;
    if (!dump_head) { /* the link type is the first packet's */
      uint16_t v[2] = {2, 4};
      uint32_t head[5] = {0xa1b23c4d, 0, 0, 262144, d.linktype};
      fwrite(head, 4, 1, stdout);
      fwrite(v, 2, 2, stdout);
      fwrite(head + 1, 4, 4, stdout);
      dump_head = true;
    }
    put32le(stdout, (uint32_t)(d.ts / 1000000000u));
    put32le(stdout, (uint32_t)(d.ts % 1000000000u));
    put32le(stdout, d.caplen);
    put32le(stdout, d.wirelen ? d.wirelen : d.caplen);
    fwrite(d.bytes, 1, d.caplen, stdout);
    if (fflush(stdout)) exit(ferror(stdout) && errno == EPIPE ? 0 : 1);
    return;
  }
  if (prompt_shown) fputs("\r\033[K", stdout);
  printf("Rec'd data packet on hook \"%s\":\n", d.hook);
  for (uint32_t off = 0; off < d.caplen; off += 16) {
    char hex[50] = "", asc[17] = "";
    for (uint32_t i = off; i < off + 16 && i < d.caplen; i++) {
      snprintf(hex + strlen(hex), sizeof hex - strlen(hex), i > off ? " %02x" : "%02x",
               d.bytes[i]);
      asc[i - off] = d.bytes[i] >= 32 && d.bytes[i] < 127 ? (char)d.bytes[i] : '.';
    }
    printf("%04x:  %-47s  %s\n", off, hex, asc);
  }
  fflush(stdout);
  if (prompt_shown) rl_forced_update_display();
}

static void print_text(const uint8_t *p, uint32_t len) {
  if (capture) {
    capture = realloc(capture, caplen + len + 1);
    memcpy(capture + caplen, p, len);
    caplen += len;
    return;
  }
  if (prompt_shown) fputs("\r\033[K", stdout);
  fwrite(p, 1, len, stdout);
  fflush(stdout);
  if (prompt_shown && len && p[len - 1] == '\n') rl_forced_update_display();
}

/* A frame that came on its own or while we waited: false for the end of
** a command (its status in *ok, its error printed). */
static bool handle(uint8_t type, const uint8_t *p, uint32_t len, bool *ok) {
  switch (type) {
  case MGF_OUT:
  case MGF_NOTE:
    print_text(p, len);
    return true;
  case MGF_DATA:
    got_data(p, len);
    return true;
  case MGF_RESULT:
    *ok = len >= 1 && p[0] == '0';
    if (!*ok) fprintf(stderr, "%.*s\n", len > 1 ? (int)len - 1 : 0, p + 1);
    return false;
  case MGF_FATAL:
    die("the engine hung up: %.*s", (int)len, p);
    return false;
  default:
    die("from the engine: a frame of unknown type 0x%02x", type);
    return false;
  }
}

/* Send one request and print what comes until its result. */
static bool request(uint8_t type, const char *text) {
  send_frame(type, text, strlen(text));
  uint8_t t;
  const uint8_t *p;
  uint32_t len;
  bool ok = false;
  do next_frame(&t, &p, &len);
  while (handle(t, p, len, &ok));
  fflush(stdout);
  return ok;
}
/* }====================================================== */

/* {====================================================== our side's verbs */
static bool line(const char *l, bool *quit);

static int split(char *s, char **w, int max) {
  int n = 0;
  for (char *t = strtok(s, " \t"); t && n < max; t = strtok(NULL, " \t")) w[n++] = t;
  return n;
}

static bool read_file(const char *file, bool *quit) {
  FILE *f = fopen(file, "r");
  if (!f) {
    fprintf(stderr, "read: %s: %s\n", file, strerror(errno));
    return false;
  }
  char *l = NULL;
  size_t cap = 0;
  ssize_t n;
  bool ok = true;
  while (ok && !*quit && (n = getline(&l, &cap, f)) >= 0) {
    while (n > 0 && (l[n - 1] == '\n' || l[n - 1] == '\r')) l[--n] = '\0';
    ok = line(l, quit);
  }
  free(l);
  fclose(f);
  return ok;
}

/* write -f FILE HOOK: the file's first 8 KiB as bytes (ngctl's write). */
static bool write_file(const char *hook, const char *file) {
  FILE *f = fopen(file, "rb");
  if (!f) {
    fprintf(stderr, "write: can't read file \"%s\": %s\n", file, strerror(errno));
    return false;
  }
  uint8_t b[8192];
  size_t n = fread(b, 1, sizeof b, f);
  fclose(f);
  if (!n) {
    fprintf(stderr, "write: file \"%s\" is empty\n", file);
    return false;
  }
  char *cmd = malloc(16 + strlen(hook) + n * 5);
  char *o = cmd + sprintf(cmd, "write %s", hook);
  for (size_t i = 0; i < n; i++) o += sprintf(o, " 0x%02x", b[i]);
  bool ok = request(MGF_CMD, cmd);
  free(cmd);
  return ok;
}

/* dot [-s] FILE: the text from the engine, a picture drawn here. */
static bool dot_file(bool stats, const char *file) {
  capture = malloc(1);
  caplen = 0;
  bool ok = request(MGF_CMD, stats ? "dot -s" : "dot");
  char *text = capture;
  capture = NULL;
  const char *ext = strrchr(file, '.');
  bool pic = ext && (!strcmp(ext, ".svg") || !strcmp(ext, ".png") || !strcmp(ext, ".pdf"));
  FILE *f = NULL;
  if (ok && pic) {
    char *cmd;
    if (asprintf(&cmd, "dot -T%s -o '%s'", ext + 1, file) > 0 && !strchr(file, '\'')) {
      f = popen(cmd, "w");
    }
    free(cmd);
  } else if (ok)
    f = fopen(file, "w");
  if (ok && !f) {
    fprintf(stderr, "dot: cannot write %s: %s\n", file, pic ? "no Graphviz dot program?" : strerror(errno));
    ok = false;
  }
  if (f) {
    fwrite(text, 1, caplen, f);
    if ((pic ? pclose(f) : fclose(f)) != 0) {
      fprintf(stderr, "dot: writing %s failed\n", file);
      ok = false;
    }
  }
  free(text);
  return ok;
}

/* One line: ours to do, or the engine's. */
static bool line(const char *l, bool *quit) {
  char *copy = strdup(l), *w[8];
  int n = split(copy, w, 8);
  bool ok = true;
  if (n == 0 || w[0][0] == '#') ;
  else if (!strcmp(w[0], "quit") || !strcmp(w[0], "exit")) *quit = true;
  else if ((!strcmp(w[0], "read") || !strcmp(w[0], "source")) && n == 2) ok = read_file(w[1], quit);
  else if ((!strcmp(w[0], "write") || !strcmp(w[0], "w")) && n == 4 && !strcmp(w[1], "-f"))
    ok = write_file(w[3], w[2]);
  else if ((!strcmp(w[0], "write") || !strcmp(w[0], "w")) && n == 4 && !strcmp(w[2], "-f"))
    ok = write_file(w[1], w[3]);
  else if ((!strcmp(w[0], "dot") || !strcmp(w[0], "graphviz") || !strcmp(w[0], "confdot")) &&
           n >= 2 && strcmp(w[n - 1], "-s"))
    ok = dot_file(n == 3 && !strcmp(w[1], "-s"), w[n - 1]);
  else ok = request(MGF_CMD, l);
  free(copy);
  return ok;
}
/* }====================================================== */

/* {====================================================== the prompt */
static bool quit_repl, failed;

static void on_line(char *l) {
  if (!l) {
    quit_repl = true;
    return;
  }
  prompt_shown = false;
  if (*l) add_history(l);
  line(l, &quit_repl);
  free(l);
  fflush(stderr);
  if (!quit_repl) { /* libedit starts a fresh line (and prompt) on install */
    rl_callback_handler_install("mg> ", on_line);
    prompt_shown = true;
  }
}

static char **cands;
static size_t ncands;

static char *generator(const char *text, int state) {
  (void)text;
  static size_t i;
  if (!state) i = 0;
  return i < ncands ? strdup(cands[i++]) : NULL;
}

/* Tab: the engine's REPL completes the line so far (mg.repl.complete). */
static char **complete(const char *text, int start, int end) {
  (void)start;
  rl_attempted_completion_over = 1;
  for (size_t i = 0; i < ncands; i++) free(cands[i]);
  free(cands);
  cands = NULL;
  ncands = 0;
  char *so_far = strndup(rl_line_buffer, (size_t)end);
  capture = malloc(1);
  caplen = 0;
  bool ok = request(MGF_COMPLETE, so_far);
  free(so_far);
  capture[caplen] = '\0';
  for (char *t = strtok(capture, "\n"); ok && t; t = strtok(NULL, "\n")) {
    cands = realloc(cands, (ncands + 1) * sizeof *cands);
    cands[ncands++] = strdup(t);
  }
  free(capture);
  capture = NULL;
  return rl_completion_matches(text, generator);
}

static int prompt_loop(void) {
  rl_attempted_completion_function = complete;
  rl_callback_handler_install("mg> ", on_line);
  prompt_shown = true;
  while (!quit_repl) {
    struct pollfd pf[2] = {{STDIN_FILENO, POLLIN, 0}, {sock, POLLIN, 0}};
    if (poll(pf, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pf[1].revents) { /* a note or packet while the prompt waits */
      char buf[16384];
      ssize_t n = read(sock, buf, sizeof buf);
      if (n <= 0) {
        rl_callback_handler_remove();
        die("the engine went away");
      }
      mgf_feed(&rx, buf, (size_t)n);
      uint8_t t;
      const uint8_t *p;
      uint32_t len;
      char err[160];
      bool ok;
      int r;
      while ((r = mgf_next(&rx, &t, &p, &len, err, sizeof err)) > 0) handle(t, p, len, &ok);
      if (r < 0) die("from the engine: %s", err);
    }
    if (pf[0].revents) rl_callback_read_char();
  }
  rl_callback_handler_remove();
  fputc('\n', stdout);
  return 0;
}
/* }====================================================== */

int host_client(const char *path, int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  int i = 0;
  if (i < argc && !strcmp(argv[i], "--dump")) {
    if (i + 1 >= argc) {
      fprintf(stderr, "moongraph: --dump needs a hook name\n");
      return 2;
    }
    dump_hook = argv[i + 1];
    i += 2;
  }
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) die("%s: the path is too long for a socket", path);
  strcpy(sa.sun_path, path);
  sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof sa) < 0)
    die("cannot attach to %s: %s", path, strerror(errno));
  uint8_t t;
  const uint8_t *p;
  uint32_t len;
  next_frame(&t, &p, &len);
  if (t == MGF_FATAL) die("%s: %.*s", path, (int)len, p);
  if (t != MGF_HELLO) die("%s: not a moongraph engine", path);
  if (i + 1 < argc && !strcmp(argv[i], "-f")) { /* one request: run together */
    FILE *f = strcmp(argv[i + 1], "-") ? fopen(argv[i + 1], "r") : stdin;
    if (!f) die("cannot open %s: %s", argv[i + 1], strerror(errno));
    static char text[MGF_MAX + 1];
    size_t n = fread(text, 1, sizeof text, f);
    if (f != stdin) fclose(f);
    if (n > MGF_MAX) die("%s: over the limit of %u bytes for one request", argv[i + 1], MGF_MAX);
    text[n] = '\0';
    if (!request(MGF_CMD, text)) return 1;
    i += 2;
    if (!dump_hook) return 0;
  }
  if (i < argc) { /* a command: its words joined, as ngctl joins them */
    size_t n = 1;
    for (int k = i; k < argc; k++) n += strlen(argv[k]) + 1;
    char *cmd = calloc(1, n);
    for (int k = i; k < argc; k++) {
      if (k > i) strcat(cmd, " ");
      strcat(cmd, argv[k]);
    }
    bool quit = false, ok = line(cmd, &quit);
    free(cmd);
    if (!ok) return 1;
    if (!dump_hook) return 0;
  }
  if (dump_hook) { /* until the engine goes or stdout closes */
    bool ok;
    for (;;) {
      next_frame(&t, &p, &len);
      if (t == MGF_FATAL) {
        fflush(stdout);
        fprintf(stderr, "moongraph: the engine hung up: %.*s\n", (int)len, p);
        return 0;
      }
      handle(t, p, len, &ok);
    }
  }
  if (isatty(STDIN_FILENO)) return prompt_loop();
  char *l = NULL; /* stdin as a command file: stop at the first error */
  size_t cap = 0;
  ssize_t n;
  bool quit = false;
  int lineno = 0;
  while (!quit && (n = getline(&l, &cap, stdin)) >= 0) {
    lineno++;
    while (n > 0 && (l[n - 1] == '\n' || l[n - 1] == '\r')) l[--n] = '\0';
    if (!line(l, &quit)) {
      fprintf(stderr, "moongraph: stdin:%d: the command above failed\n", lineno);
      failed = true;
      break;
    }
  }
  free(l);
  return failed ? 1 : 0;
}
