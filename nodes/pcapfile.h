/*
** pcapfile.h -- classic pcap files read at the speed of the page cache.
**
** libpcap reads a record with two freads and a copy into its own buffer;
** a file in this machine's byte order is read here in large blocks and
** each record handed out where it lies.  libpcap stays the reader of
** record: it opens the file through the stream this gives it, and reads
** every record that is not plain (longer than the snaplen, cut short by
** the end, in a file of another version) from the same place, so that
** every packet, length, timestamp and error is the one libpcap gives.
*/
#ifndef MG_PCAPFILE_H
#define MG_PCAPFILE_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct mg_pcapfile mg_pcapfile_t;

/* Take fp, whose first n bytes are head, if it is a classic pcap file
** that can be walked here; NULL leaves fp to the caller.  A regular file:
** at is the offset head was read from (pread, stdio untouched); a stream
** (at = -1): fp's stdio stands just past head. */
mg_pcapfile_t *mg_pcapfile_new(FILE *fp, long at, const uint8_t *head, size_t n);
/* The stream to open libpcap on; closing it (pcap_close) closes fp and
** frees the reader.  NULL: out of memory, and the reader is freed. */
FILE *mg_pcapfile_stream(mg_pcapfile_t *f);
/* libpcap's handle on the stream (its filter, if any, is not run here:
** the caller filters every packet, whoever read it). */
void mg_pcapfile_bind(mg_pcapfile_t *f, pcap_t *p);
/* As pcap_next_ex: 1 a packet (good until the next call), PCAP_ERROR_BREAK
** at the end, PCAP_ERROR with pcap_geterr set. */
int mg_pcapfile_next(mg_pcapfile_t *f, struct pcap_pkthdr **h, const u_char **d);
/* Whether the next call hands out a record already in hand, leaving the
** ones before it where they lie (false for NULL): callers that lend
** records out keep them only while this holds. */
bool mg_pcapfile_holds_next(const mg_pcapfile_t *f);
/* Bytes of the file consumed so far. */
long mg_pcapfile_tell(const mg_pcapfile_t *f);

#endif
