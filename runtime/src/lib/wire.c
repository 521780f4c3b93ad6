/*
 * wire.c - encoding and decoding proxy frame headers (see wire.h and
 * runtime/docs/wire.md for the byte layout).
 */
#include "wire.h"

#include <string.h>

static void
put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void
put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (24 - 8 * i));
}

static void
put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static uint16_t
get16(const unsigned char *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
get32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t
get64(const unsigned char *p)
{
    return ((uint64_t)get32(p) << 32) | get32(p + 4);
}

_Static_assert(sizeof(message) == 48, "the wire carries the LP64 message");

void
wire_encode(const struct wire_frame *f, unsigned char out[WIRE_HDR_SIZE])
{
    memset(out, 0, WIRE_HDR_SIZE);
    put32(out + 0, WIRE_MAGIC);
    put16(out + 4, WIRE_VERSION);
    put16(out + 6, f->cmd);
    put16(out + 8, f->flags);
    put32(out + 12, (uint32_t)f->dcid);
    put32(out + 16, (uint32_t)f->src);
    put32(out + 20, (uint32_t)f->dst);
    put32(out + 24, (uint32_t)f->snode);
    put32(out + 28, (uint32_t)f->dnode);
    put32(out + 32, (uint32_t)f->rcode);
    put32(out + 36, f->len);
    put64(out + 40, f->seq);
    put64(out + 48, f->lamport);
    put32(out + 56, (uint32_t)f->v_rqtr);
    put32(out + 60, f->v_bytes);
    put64(out + 64, f->v_saddr);
    put64(out + 72, f->v_daddr);
    put32(out + 80, f->v_offset);
    /* 84..95 reserved, zero. The message image is little-endian LP64. */
    memcpy(out + 96, &f->msg, sizeof(message));
}

static int
known_cmd(uint16_t c)
{
    switch (c) {
    case CMD_NONE: case CMD_SEND_MSG: case CMD_NTFY_MSG: case CMD_SNDREC_MSG:
    case CMD_REPLY_MSG: case CMD_COPYIN_DATA: case CMD_COPYOUT_RQST:
    case CMD_HELLO: case CMD_SHUTDOWN: case CMD_UNBIND: case CMD_BKUP_GONE:
    case CMD_BKUP_RESET:
    case CMD_SEND_ACK:
    case CMD_REPLY_ACK: case CMD_COPYIN_ACK: case CMD_COPYOUT_DATA:
        return 1;
    default:
        return 0;
    }
}

int
wire_decode(const unsigned char in[WIRE_HDR_SIZE], struct wire_frame *f,
            const char **why)
{
    static const char *unused;
    if (!why)
        why = &unused;
    memset(f, 0, sizeof(*f));
    if (get32(in) != WIRE_MAGIC)
        return *why = "bad magic", EMOLBADREQUEST;
    if (get16(in + 4) != WIRE_VERSION)
        return *why = "unsupported wire version", EMOLBADREQUEST;
    f->cmd = get16(in + 6);
    if (!known_cmd(f->cmd))
        return *why = "unknown command", EMOLBADREQUEST;
    f->flags = get16(in + 8);
    f->dcid = (int32_t)get32(in + 12);
    f->src = (int32_t)get32(in + 16);
    f->dst = (int32_t)get32(in + 20);
    f->snode = (int32_t)get32(in + 24);
    f->dnode = (int32_t)get32(in + 28);
    f->rcode = (int32_t)get32(in + 32);
    f->len = get32(in + 36);
    f->seq = get64(in + 40);
    f->lamport = get64(in + 48);
    f->v_rqtr = (int32_t)get32(in + 56);
    f->v_bytes = get32(in + 60);
    f->v_saddr = get64(in + 64);
    f->v_daddr = get64(in + 72);
    f->v_offset = get32(in + 80);
    memcpy(&f->msg, in + 96, sizeof(message));
    if (f->len > WIRE_MAX_PAYLOAD)
        return *why = "payload longer than 64 KiB", EMOLMSGSIZE;
    if (f->dcid < 0 || f->dcid >= NR_DCS || f->snode < 0 ||
        f->snode >= NR_NODES || f->dnode < 0 || f->dnode >= NR_NODES)
        return *why = "DC or node id out of range", EMOLBADREQUEST;
    if (f->v_bytes > MAXCOPYLEN || f->v_offset > MAXCOPYLEN)
        return *why = "copy size out of range", EMOLMSGSIZE;
    if (f->cmd == CMD_BKUP_RESET && f->len != 0)
        return *why = "BKUP_RESET with a payload", EMOLMSGSIZE;
    if (f->cmd == CMD_BKUP_GONE) {
        /* It names one endpoint and carries nothing else. */
        if (f->len != 0)
            return *why = "BKUP_GONE with a payload", EMOLMSGSIZE;
        if (f->dst == ANY || f->dst == NONE || f->dst == SELF)
            return *why = "BKUP_GONE without an endpoint", EMOLBADREQUEST;
    }
    return OK;
}
