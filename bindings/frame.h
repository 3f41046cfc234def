/*
** frame.h -- the control socket's frames (docs/design.md §10): what a
** served engine and `moongraph -c` say to each other over a Unix stream.
** No Lua and no libuv here, so that a fuzzer can take it alone.
**
** A frame: its payload's length (4 bytes, big-endian), its type (1 byte),
** the payload (at most MGF_MAX bytes).
*/
#ifndef MG_FRAME_H
#define MG_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MGF_MAX 65536u /* payload bytes of one frame */
#define MGF_HDR 5u

enum {
  /* client to server */
  MGF_CMD = 'C',      /* command lines (ngctl's verbs), run together */
  MGF_COMPLETE = 'K', /* a line to complete: candidates in an 'O' */
  /* both ways */
  MGF_DATA = 'D',     /* a packet on a hook of the client's node */
  /* server to client */
  MGF_HELLO = 'H',    /* "moongraph VERSION [ID]:": the client's node */
  MGF_OUT = 'O',      /* a command's output text */
  MGF_RESULT = 'R',   /* end of a command: "0", or "1" and the error */
  MGF_NOTE = 'M',     /* a message or reply nobody waited for, as text */
  MGF_FATAL = 'E',    /* why the server hangs up; then it does */
};

/* Bytes received and not yet taken as frames; at most one frame and one
** read beyond it. */
typedef struct mgf_rx {
  uint8_t *buf;
  size_t len, cap;
  size_t skip; /* the frame handed out last, dropped on the next call */
} mgf_rx_t;

/* Append n bytes (n <= MGF_MAX + MGF_HDR).  -1 when the buffer would pass
** its bound (a frame was left unread: a caller's bug), 0 otherwise. */
int mgf_feed(mgf_rx_t *rx, const void *p, size_t n);
/* The next whole frame: 1 and its type, payload and length (valid until
** the next call), 0 when more bytes are needed, -1 with a message in err
** when the header announces more than MGF_MAX. */
int mgf_next(mgf_rx_t *rx, uint8_t *type, const uint8_t **payload,
             uint32_t *len, char *err, size_t errsz);
void mgf_rx_free(mgf_rx_t *rx);

/* A frame's header for a payload of len bytes. */
void mgf_header(uint8_t hdr[MGF_HDR], uint8_t type, uint32_t len);

/* A data frame's payload: timestamp (ns, 8 bytes), length on the wire (4),
** link type (2), the hook name's length (1), the hook name, the bytes.
** From a client a timestamp of 0 means now and a length of 0 the bytes'. */
#define MGF_DATA_HEAD 15u
typedef struct mgf_data {
  uint64_t ts;
  uint32_t wirelen;
  uint16_t linktype;
  char hook[256];
  const uint8_t *bytes;
  uint32_t caplen;
} mgf_data_t;
/* 0, or -1 with err saying what is wrong (too short, a hook that is empty
** or holds a NUL byte, a wire length below the captured one). */
int mgf_data_parse(const uint8_t *p, uint32_t len, mgf_data_t *d, char *err,
                   size_t errsz);
/* Writes the head for hook into out (MGF_DATA_HEAD + strlen(hook) bytes,
** hook at most 255 bytes); returns its length. */
size_t mgf_data_head(uint8_t *out, uint64_t ts, uint32_t wirelen,
                     uint16_t linktype, const char *hook);

#endif
