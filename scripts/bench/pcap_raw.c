/*
** pcap_raw.c -- the yardstick for the pcap benchmarks: libpcap's own
** pcap_next_ex loop over a file, touching each packet's first byte, and
** nothing else.  Usage: pcap_raw FILE  ->  "packets N bytes B seconds S"
** pcap_raw -r FILE is the ceiling beside it: the file read with 256 KiB
** read() calls and its records walked where they lie (a classic pcap file
** in this machine's byte order only).
*/
#include <pcap/pcap.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 << 10)

static int walk(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    perror(path);
    return 1;
  }
  static uint8_t buf[CHUNK + (256 << 10) + 16];
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  size_t lo = 24, hi = 0; /* the file header is skipped: it comes whole in the first read */
  unsigned long long n = 0, bytes = 0, sum = 0;
  for (;;) {
    if (hi >= lo) { /* what is left of a record moves to the front */
      memmove(buf, buf + lo, hi - lo);
      hi -= lo;
      lo = 0;
    }
    ssize_t k = read(fd, buf + hi, CHUNK);
    if (k <= 0) break;
    hi += (size_t)k;
    while (hi - lo >= 16) {
      uint32_t caplen;
      memcpy(&caplen, buf + lo + 8, 4);
      if (hi - lo < 16 + (size_t)caplen) break;
      n++;
      bytes += caplen;
      sum += buf[lo + 16];
      lo += 16 + caplen;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  close(fd);
  double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  printf("packets %llu bytes %llu seconds %.6f check %llu\n", n, bytes, s, sum & 1);
  return 0;
}

int main(int argc, char **argv) {
  char err[PCAP_ERRBUF_SIZE];
  if (argc == 3 && !strcmp(argv[1], "-r")) return walk(argv[2]);
  if (argc != 2) {
    fprintf(stderr, "usage: pcap_raw [-r] FILE\n");
    return 2;
  }
  pcap_t *p = pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, err);
  if (!p) {
    fprintf(stderr, "pcap_raw: %s\n", err);
    return 1;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  struct pcap_pkthdr *h;
  const u_char *d;
  unsigned long long n = 0, bytes = 0, sum = 0;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
    n++;
    bytes += h->caplen;
    sum += d[0]; /* so the read is not optimised away */
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (rc != PCAP_ERROR_BREAK) {
    fprintf(stderr, "pcap_raw: %s: %s\n", argv[1], pcap_geterr(p));
    return 1;
  }
  pcap_close(p);
  double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  printf("packets %llu bytes %llu seconds %.6f check %llu\n", n, bytes, s, sum & 1);
  return 0;
}
