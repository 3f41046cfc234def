/*
** sockpoke.c -- a bad client for spec/ctlsock_spec.lua: talks to a served
** engine's socket in ways moongraph -c never does, then prints each frame
** the engine sent back (type letter, a space, the payload) until it hangs
** up or a second passes.
**
**   sockpoke PATH garbage       4 KiB of bytes that are no frames
**   sockpoke PATH huge          a command frame announcing 1 GiB, then
**                               bytes for it until the engine hangs up
**   sockpoke PATH half          half a command frame, then gone
**   sockpoke PATH hold SECONDS  half a frame, then nothing for SECONDS
**   sockpoke PATH type          a frame of a type nobody knows
**   sockpoke PATH hello         nothing: just the greeting
**   sockpoke PATH data COMMAND HOOK
**                               sends COMMAND, a data frame of 5 bytes
**                               on HOOK, then one with an empty hook name
**   sockpoke PATH deaf SECONDS COMMAND
**                               sends COMMAND, then reads nothing for
**                               SECONDS (what is sent to it piles up)
*/
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void put(int fd, const void *p, size_t n) {
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return; /* the engine hung up: what it said is still there */
    p = (const char *)p + w;
    n -= (size_t)w;
  }
}

static void frames(int fd) {
  static uint8_t buf[1 << 20];
  size_t len = 0;
  for (;;) {
    struct pollfd pf = {fd, POLLIN, 0};
    if (poll(&pf, 1, 1000) <= 0) break;
    ssize_t n = read(fd, buf + len, sizeof buf - len);
    if (n <= 0) break;
    len += (size_t)n;
  }
  size_t off = 0;
  while (len - off >= 5) {
    uint32_t n = (uint32_t)buf[off] << 24 | buf[off + 1] << 16 | buf[off + 2] << 8 | buf[off + 3];
    if (n > len - off - 5) break;
    printf("%c %.*s\n", buf[off + 4], (int)n, buf + off + 5);
    off += 5 + n;
  }
  printf("end\n");
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
    printf("connect: %s\n", strerror(errno));
    return 1;
  }
  const char *m = argv[2];
  if (!strcmp(m, "garbage")) {
    uint8_t b[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof b; i++) b[i] = (uint8_t)((x = x * 1103515245 + 12345) >> 16);
    put(fd, b, sizeof b);
  } else if (!strcmp(m, "huge")) {
    uint8_t h[5] = {0x40, 0, 0, 0, 'C'}; /* 1 GiB */
    put(fd, h, 5);
    static char b[1 << 16];
    memset(b, 'x', sizeof b);
    for (int i = 0; i < 16384; i++) { /* up to 1 GiB, until refused */
      ssize_t w = send(fd, b, sizeof b, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0 && errno == EAGAIN) { usleep(1000); continue; }
      if (w <= 0) break;
    }
  } else if (!strcmp(m, "half")) {
    uint8_t h[10] = {0, 0, 0, 100, 'C', 'l', 'i', 's', 't', ' '};
    put(fd, h, sizeof h);
    close(fd);
    return 0;
  } else if (!strcmp(m, "hold")) {
    uint8_t h[7] = {0, 0, 0, 100, 'C', 'l', 'i'};
    put(fd, h, sizeof h);
    sleep((unsigned)atoi(argc > 3 ? argv[3] : "1"));
    close(fd);
    return 0;
  } else if (!strcmp(m, "data") && argc > 4) {
    uint32_t n = (uint32_t)strlen(argv[3]);
    uint8_t h[5] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, 'C'};
    put(fd, h, 5);
    put(fd, argv[3], n);
    uint8_t d[5 + 15 + 255 + 5] = {0};
    size_t hl = strlen(argv[4]) & 255;
    d[3] = (uint8_t)(15 + hl + 5);
    d[4] = 'D';
    d[5 + 13] = 1; /* Ethernet */
    d[5 + 14] = (uint8_t)hl;
    memcpy(d + 20, argv[4], hl);
    memcpy(d + 20 + hl, "hello", 5);
    put(fd, d, 20 + hl + 5);
    uint8_t bad[5 + 15] = {0, 0, 0, 15, 'D'}; /* no hook name */
    put(fd, bad, sizeof bad);
  } else if (!strcmp(m, "deaf") && argc > 4) {
    uint32_t n = (uint32_t)strlen(argv[4]);
    uint8_t h[5] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, 'C'};
    put(fd, h, 5);
    put(fd, argv[4], n);
    sleep((unsigned)atoi(argv[3]));
    close(fd);
    return 0;
  } else if (!strcmp(m, "type")) {
    uint8_t h[7] = {0, 0, 0, 2, 'Z', 'h', 'i'};
    put(fd, h, sizeof h);
  }
  frames(fd);
  return 0;
}
