/*
 * kv_server - a key-value store served with rcvrqst/reply. Values move
 * between the client's memory and ours with vcopy while the client sits in
 * its sendrec; every update is announced to the logger with notify.
 */
#include <m3ipc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_proto.h"

static char values[KV_MAX_KEYS][KV_MAX_VALUE];
static int lengths[KV_MAX_KEYS];
static long puts_done, gets_done;

static int
handle(message *m)
{
    int key = m->m1_i1, len = m->m1_i2, rc;
    switch (m->m_type) {
    case KV_PUT:
        if (key < 0 || key >= KV_MAX_KEYS || len < 0 || len > KV_MAX_VALUE)
            return m->m_type = KV_ERROR, m->m1_i1 = EMOLINVAL, 0;
        rc = mnx_vcopy(m->m_source, m->m1_p1, SELF, values[key], len);
        if (rc < 0)
            return m->m_type = KV_ERROR, m->m1_i1 = rc, 0;
        lengths[key] = len;
        puts_done++;
        /* Asynchronous: the logger is told, we never wait for it. */
        rc = mnx_notify(KV_LOGGER);
        if (rc < 0 && rc != EMOLDSTDIED)
            fprintf(stderr, "kv_server: notify: %s\n", mnx_strerror(rc));
        m->m_type = KV_OK;
        return 0;
    case KV_GET:
        if (key < 0 || key >= KV_MAX_KEYS || !lengths[key])
            return m->m_type = KV_NOTFOUND, 0;
        if (len < lengths[key])
            return m->m_type = KV_ERROR, m->m1_i1 = EMOLMSGSIZE, 0;
        rc = mnx_vcopy(SELF, values[key], m->m_source, m->m1_p1, lengths[key]);
        if (rc < 0)
            return m->m_type = KV_ERROR, m->m1_i1 = rc, 0;
        gets_done++;
        m->m_type = KV_OK;
        m->m1_i2 = lengths[key];
        return 0;
    case KV_STATS: {
        int keys = 0;
        for (int k = 0; k < KV_MAX_KEYS; k++)
            keys += lengths[k] > 0;
        m->m_type = KV_STATS_REPLY;
        m->m2_i1 = keys;
        m->m2_l1 = puts_done;
        m->m2_l2 = gets_done;
        return 0;
    }
    default:
        m->m_type = KV_ERROR;
        m->m1_i1 = EMOLBADREQUEST;
        return 0;
    }
}

int
main(void)
{
    int ep = kv_bind(KV_SERVER);
    if (ep < 0) {
        fprintf(stderr, "kv_server: bind: %s\n", mnx_strerror(ep));
        return 1;
    }
    printf("kv_server: serving on endpoint %d\n", ep);
    fflush(stdout);
    for (;;) {
        message m;
        int rc = mnx_rcvrqst(&m);
        if (rc < 0) {
            fprintf(stderr, "kv_server: rcvrqst: %s\n", mnx_strerror(rc));
            return rc == EMOLSHUTDOWN || rc == EMOLNOTBIND ? 0 : 1;
        }
        handle(&m);
        rc = mnx_reply(m.m_source, &m);
        if (rc < 0) /* the client gave up or died: keep serving */
            fprintf(stderr, "kv_server: reply to %d: %s\n", m.m_source,
                    mnx_strerror(rc));
    }
}
