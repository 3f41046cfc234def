/*
** ptydrive.c -- drive a program through a real pseudo-terminal, as a
** person at a keyboard would: a small expect(1) for the REPL's specs.
**
**   ptydrive SCRIPT -- program args...
** SCRIPT lines:  send TEXT      (C escapes: \n \t \r \e \xHH \\)
**                expect TEXT    wait (5 s at most) until TEXT is printed
**                sleep MS
**                exit CODE      wait for the program to end with CODE
** The whole transcript goes to stdout; exit status 0 when every step held.
*/
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char out[1 << 20];
static size_t outlen, seen; /* seen: where the last expect matched */
static int master;
static pid_t child;

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/* Read what the program printed, for up to ms milliseconds. */
static int pump(int ms) {
  struct pollfd p = {master, POLLIN, 0};
  int r = poll(&p, 1, ms);
  if (r <= 0) return r;
  ssize_t n = read(master, out + outlen, sizeof out - outlen - 1);
  if (n <= 0) return -1;
  outlen += (size_t)n;
  out[outlen] = '\0';
  return 1;
}

static size_t unescape(const char *s, char *d) {
  size_t n = 0;
  for (; *s; s++) {
    if (*s != '\\') { d[n++] = *s; continue; }
    s++;
    switch (*s) {
    case 'n': d[n++] = '\n'; break;
    case 't': d[n++] = '\t'; break;
    case 'r': d[n++] = '\r'; break;
    case 'e': d[n++] = 27; break;
    case 'x': {
      char hex[3] = {s[1], s[2], 0};
      d[n++] = (char)strtol(hex, NULL, 16);
      s += 2;
      break;
    }
    case '\0': s--; break;
    default: d[n++] = *s;
    }
  }
  return n;
}

static int fail(const char *why, const char *arg) {
  fwrite(out, 1, outlen, stdout);
  fprintf(stdout, "\n--- ptydrive: %s: %s\n", why, arg);
  kill(child, SIGKILL);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 4 || strcmp(argv[2], "--")) {
    fprintf(stderr, "usage: ptydrive SCRIPT -- program args...\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "r");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  struct winsize ws = {24, 80, 0, 0};
  child = forkpty(&master, NULL, NULL, &ws);
  if (child < 0) {
    perror("forkpty");
    return 2;
  }
  if (child == 0) {
    execvp(argv[3], argv + 3);
    perror(argv[3]);
    _exit(127);
  }
  char line[4096], buf[4096];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    if (!strncmp(line, "send ", 5)) {
      size_t n = unescape(line + 5, buf);
      if (write(master, buf, n) != (ssize_t)n) return fail("write failed", line);
      pump(20);
    } else if (!strncmp(line, "expect ", 7)) {
      size_t n = unescape(line + 7, buf);
      buf[n] = '\0';
      long long end = now_ms() + 5000;
      char *hit;
      while (!(hit = strstr(out + seen, buf))) {
        long long left = end - now_ms();
        if (left <= 0 || pump((int)left) < 0) {
          if ((hit = strstr(out + seen, buf))) break;
          return fail("never printed", line + 7);
        }
      }
      seen = (size_t)(hit - out) + n;
    } else if (!strncmp(line, "sleep ", 6)) {
      long long end = now_ms() + atoi(line + 6);
      while (now_ms() < end) pump((int)(end - now_ms()));
    } else if (!strncmp(line, "exit ", 5)) {
      int want = atoi(line + 5), st = 0;
      long long end = now_ms() + 5000;
      while (waitpid(child, &st, WNOHANG) == 0) {
        if (now_ms() > end) return fail("did not exit", line);
        pump(50);
      }
      while (pump(10) > 0) {
      }
      if (!WIFEXITED(st) || WEXITSTATUS(st) != want) {
        char why[64];
        snprintf(why, sizeof why, "status %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return fail("wrong exit", why);
      }
      child = -1;
    }
  }
  fwrite(out, 1, outlen, stdout);
  if (child > 0) kill(child, SIGKILL);
  return 0;
}
