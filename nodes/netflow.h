/*
** netflow.h -- what the netflow node's parts share: the flow key a packet
** is parsed into (netflow_parse.c), the flow record, and the encoders of
** NetFlow v5, v9 and IPFIX datagrams (netflow_export.c).
*/
#ifndef MG_NETFLOW_H
#define MG_NETFLOW_H

#include <stdbool.h>
#include <stdint.h>

/* What identifies a flow, as ng_netflow's flow_rec (plus IPv6): compared
** and hashed as bytes, so every byte of it is set, padding included. */
typedef struct mg_nf_key {
  uint8_t src[16], dst[16]; /* IPv4: the first 4 bytes, the rest 0 */
  uint16_t sport, dport;    /* ICMP: dport is type << 8 | code */
  uint16_t iface;           /* the ifaceN hook's N */
  uint8_t proto, tos;
  uint8_t v6, pad[3];
} mg_nf_key_t;

/* One packet as the flow cache sees it. */
typedef struct mg_nf_pkt {
  mg_nf_key_t k;
  uint32_t bytes;    /* the IP header's length: ip_len, or 40 + ip6_plen */
  uint8_t tcp_flags;
} mg_nf_pkt_t;

enum { MG_NF_OK, MG_NF_NOTIP, MG_NF_MALFORMED };

/* Parse a frame of link type dlt (DLT_/LINKTYPE_ numbers): MG_NF_OK with
** *p filled, MG_NF_NOTIP for a frame that carries no IP (ARP, say), or
** MG_NF_MALFORMED when a header the key needs is cut short or wrong.
** Reads no byte past p + len. */
int mg_nf_parse(const uint8_t *data, uint32_t len, int dlt, uint16_t iface,
                mg_nf_pkt_t *p);
/* Link types mg_nf_parse knows. */
bool mg_nf_dlt_known(int dlt);

/* A flow as it is exported: times in ms since the epoch. */
typedef struct mg_nf_rec {
  const mg_nf_key_t *k;
  uint64_t packets, bytes;
  int64_t first_ms, last_ms;
  uint16_t ifindex; /* the input interface's index (setifindex) */
  uint8_t tcp_flags;
} mg_nf_rec_t;

/* One datagram being filled. */
typedef struct mg_nf_dgram {
  uint8_t *buf;
  uint32_t len, cap;
  uint32_t nrec;   /* data records in it */
  uint32_t count;  /* v9: records and templates, the header's count */
  bool v6;         /* v9, IPFIX: which template its data set uses */
  uint32_t set;    /* offset of the open data set's header, 0: none */
} mg_nf_dgram_t;

/* Export state of one version. */
typedef struct mg_nf_exp {
  int version;          /* 5, 9 or 10 */
  mg_nf_dgram_t d[2];   /* v5: d[0] only; v9, IPFIX: IPv4 and IPv6 */
  uint32_t seq;         /* v5, IPFIX: flows sent; v9: datagrams sent */
  uint32_t tmpl_pkts;   /* datagrams since the templates were last sent */
  int64_t tmpl_ms;      /* when they were, -1: never */
} mg_nf_exp_t;

/* Templates are sent again after this many datagrams or seconds
** (ng_netflow's settemplate; RFC 7011 asks it of UDP). */
typedef struct mg_nf_tmplcfg {
  uint32_t packets, secs, mtu;
  int64_t boot_ms;      /* sysUptime's 0 (v5, v9) */
} mg_nf_tmplcfg_t;

/* The slot of x that r goes into (v9, IPFIX: by address family), or -1
** when this version cannot carry it (an IPv6 flow in v5). */
int mg_nf_slot(const mg_nf_exp_t *x, const mg_nf_rec_t *r);
/* Whether d[which] has room for one more record. */
bool mg_nf_room(const mg_nf_exp_t *x, const mg_nf_tmplcfg_t *c, int which);
/* Add r to d[which], which has room; opens the datagram if it is empty. */
void mg_nf_put(mg_nf_exp_t *x, const mg_nf_tmplcfg_t *c, int which,
               const mg_nf_rec_t *r);
/* The finished datagram d[which] (its header written as of now_ms, the
** templates put in when they are due: in the first one sent), its
** bytes handed to the caller (free them); the slot starts empty.  NULL
** when it holds no record. */
uint8_t *mg_nf_take(mg_nf_exp_t *x, const mg_nf_tmplcfg_t *c, int which,
                    int64_t now_ms, uint32_t *len);
void mg_nf_exp_free(mg_nf_exp_t *x);

#endif
