/*
** pcap_raw.c -- the yardstick for the pcap benchmarks: libpcap's own
** pcap_next_ex loop over a file, touching each packet's first byte, and
** nothing else.  Usage: pcap_raw FILE  ->  "packets N bytes B seconds S"
*/
#include <pcap/pcap.h>
#include <stdio.h>
#include <time.h>

int main(int argc, char **argv) {
  char err[PCAP_ERRBUF_SIZE];
  if (argc != 2) {
    fprintf(stderr, "usage: pcap_raw FILE\n");
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
