/*
 * wire.h - the proxy wire format between node daemons (internal).
 *
 * Documented in runtime/docs/wire.md. Every frame is a fixed 144-byte header
 * followed by `len` payload bytes (vcopy data chunks, at most MAXCOPYBUF).
 * Header integers are big-endian. The embedded message is carried as its
 * x86-64 (LP64, little-endian) 48-byte image, the layout every DVS IPC node
 * uses; its m_source is ignored on arrival (the header's src is the truth).
 */
#ifndef DVS_WIRE_H
#define DVS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "m3ipc.h"

#define WIRE_MAGIC 0x44565350u /* "DVSP" */
#define WIRE_VERSION 2 /* 2: BKUP_GONE, BKUP_RESET */
#define WIRE_HDR_SIZE 144
#define WIRE_MAX_PAYLOAD MAXCOPYBUF

/* Commands: the original proxy commands (m3ipc-semantics.md §5.2), with
 * acknowledgements as command | WIRE_ACK. */
enum wire_cmd {
    CMD_NONE = 0, /* keepalive */
    CMD_SEND_MSG = 1,
    CMD_NTFY_MSG = 2,
    CMD_SNDREC_MSG = 3,
    CMD_REPLY_MSG = 4,
    CMD_COPYIN_DATA = 5,   /* data for a remote destination */
    CMD_COPYOUT_RQST = 6,  /* please send me data of your local source */
    CMD_HELLO = 10,        /* authentication (payload: see proxy.c) */
    CMD_SHUTDOWN = 11,
    CMD_UNBIND = 12,       /* an endpoint left its node: drop its surrogate */
    /* The sender's standby (mnx_bkupbind) of endpoint dst in dcid died:
     * the receiver clears the sender's bit in the slot's bkup_nodes. The
     * node is the frame's snode, which the receiving proxy has checked is
     * the authenticated peer of the link, so a node can only withdraw its
     * own standbys. No payload, no answer. */
    CMD_BKUP_GONE = 13,
    /* The sender's daemon has just started: it holds no standby (a
     * predecessor's died with it). Sent once per peer, as the first frame
     * on its first connection to that peer; the receiver clears the
     * sender's bit in every slot's bkup_nodes. No payload, no answer. */
    CMD_BKUP_RESET = 14,
};
#define WIRE_ACK 0x2000
#define CMD_SEND_ACK (CMD_SEND_MSG | WIRE_ACK)
#define CMD_REPLY_ACK (CMD_REPLY_MSG | WIRE_ACK)
#define CMD_COPYIN_ACK (CMD_COPYIN_DATA | WIRE_ACK)
#define CMD_COPYOUT_DATA (CMD_COPYOUT_RQST | WIRE_ACK)

/* Frame flags. */
#define WF_LAST 0x1 /* last chunk of a copy */

struct wire_frame {
    uint16_t cmd;
    uint16_t flags;
    int32_t dcid;
    int32_t src, dst;     /* endpoints */
    int32_t snode, dnode; /* nodes */
    int32_t rcode;
    uint32_t len;         /* payload bytes after the header */
    uint64_t seq;         /* sender's command number (diagnostics) */
    uint64_t lamport;
    /* vcopy: requester, addresses and offset of this chunk. */
    int32_t v_rqtr;
    uint32_t v_bytes;
    uint64_t v_saddr, v_daddr;
    uint32_t v_offset;
    message msg;
};

/* wire_encode writes f's 144-byte header into out. */
void wire_encode(const struct wire_frame *f, unsigned char out[WIRE_HDR_SIZE]);
/* wire_decode parses a header; returns 0, or a negative EMOL* code and a
 * reason: EMOLBADREQUEST (magic, version, command), EMOLMSGSIZE (length). */
int wire_decode(const unsigned char in[WIRE_HDR_SIZE], struct wire_frame *f,
                const char **why);
#endif /* DVS_WIRE_H */
