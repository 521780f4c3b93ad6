/*
 * kv_client - puts N values into the store and reads them back, checking
 * every byte. Usage: kv_client [N [ROUNDS [PAUSE_MS]]] (bound by the
 * launcher, or to endpoint 20 when run by hand). It does ROUNDS rounds of N
 * puts and gets (default 1; 0 = until stopped), PAUSE_MS apart, and prints
 * one line per round. A round stops at its first failed call (a cut link
 * gives EMOLNOTCONN); the exit status is 1 if any round failed.
 */
#include <m3ipc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kv_proto.h"

static char value[KV_MAX_VALUE], back[KV_MAX_VALUE];

/* one_round does n puts and gets; returns the number of errors (0 or 1:
 * it stops at the first). */
static int
one_round(int ep, int n)
{
    for (int i = 0; i < n; i++) {
        /* Each client endpoint owns 64 keys, so concurrent clients never
         * overwrite each other's values. */
        int key = (((ep - 20) & 3) * 64 + i % 64) % KV_MAX_KEYS;
        int len = snprintf(value, sizeof(value), "value %d written by %d", i, ep);
        message m = {0};
        m.m_type = KV_PUT;
        m.m1_i1 = key;
        m.m1_i2 = len;
        m.m1_p1 = value;
        int rc = mnx_sendrec(KV_SERVER, &m);
        if (rc < 0 || m.m_type != KV_OK) {
            fprintf(stderr, "kv_client %d: put %d: %s\n", ep, key,
                    rc < 0 ? mnx_strerror(rc) : "refused");
            return 1;
        }
        memset(&m, 0, sizeof(m));
        m.m_type = KV_GET;
        m.m1_i1 = key;
        m.m1_i2 = sizeof(back);
        m.m1_p1 = back;
        rc = mnx_sendrec(KV_SERVER, &m);
        if (rc < 0 || m.m_type != KV_OK) {
            fprintf(stderr, "kv_client %d: get %d: %s\n", ep, key,
                    rc < 0 ? mnx_strerror(rc) : "not found");
            return 1;
        }
        if (m.m1_i2 != len || memcmp(back, value, (size_t)len) != 0) {
            fprintf(stderr, "kv_client %d: key %d read back wrong\n", ep, key);
            return 1;
        }
    }
    return 0;
}

int
main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20;
    int rounds = argc > 2 ? atoi(argv[2]) : 1;
    int pause_ms = argc > 3 ? atoi(argv[3]) : 0;
    int ep = kv_bind(20);
    if (ep < 0) {
        fprintf(stderr, "kv_client: bind: %s\n", mnx_strerror(ep));
        return 1;
    }
    int failed = 0;
    for (int round = 1; rounds <= 0 || round <= rounds; round++) {
        if (round > 1 && pause_ms > 0) {
            struct timespec ts = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        int errors = one_round(ep, n);
        failed += errors;
        if (rounds == 1)
            printf("kv_client %d: %d puts and gets, %d errors\n", ep, n, errors);
        else
            printf("kv_client %d: round %d: %d puts and gets, %d errors\n", ep,
                   round, n, errors);
        fflush(stdout);
    }
    return failed ? 1 : 0;
}
