/*
 * kv_proto.h - the protocol of the key-value sample, shared by its server,
 * logger and clients. Endpoints 1 and 2 are system slots (they may notify);
 * clients use user slots from 20 up.
 */
#ifndef KV_PROTO_H
#define KV_PROTO_H

#define KV_DC 0
#define KV_SERVER 1 /* rcvrqst/reply server holding the store */
#define KV_LOGGER 2 /* told of every update by notify */

/* Requests (client -> server, with sendrec). Values travel by vcopy: the
 * client passes the address of its buffer and the server copies. */
#define KV_PUT 1   /* m1_i1 key, m1_i2 length, m1_p1 value buffer */
#define KV_GET 2   /* m1_i1 key, m1_i2 buffer size, m1_p1 buffer */
#define KV_STATS 3 /* no fields */

/* Replies (server -> client, into the same message). */
#define KV_OK 100        /* m1_i1 key, m1_i2 length */
#define KV_NOTFOUND 101  /* m1_i1 key */
#define KV_ERROR 102     /* m1_i1 negative EMOL* code */
#define KV_STATS_REPLY 103 /* m2_i1 keys, m2_l1 puts, m2_l2 gets */

#define KV_MAX_KEYS 256
#define KV_MAX_VALUE 4096

#include <m3ipc.h>
#include <stdlib.h>

/* kv_bind: started by the launcher (`dvs run --ep`, which sets DVS_EP and
 * binds us with lclbind), wait to be bound; run by hand, bind ourselves. */
static inline int
kv_bind(int dflt)
{
    const char *ep = getenv("DVS_EP");
    if (ep && *ep)
        return mnx_wait4bind_T(10000);
    return mnx_bind(KV_DC, dflt);
}
#endif
