/*
 * kv_client - puts N values into the store and reads them back, checking
 * every byte. Usage: kv_client [N] (bound by the launcher, or to endpoint 20
 * when run by hand).
 */
#include <m3ipc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_proto.h"

int
main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20;
    int ep = kv_bind(20);
    if (ep < 0) {
        fprintf(stderr, "kv_client: bind: %s\n", mnx_strerror(ep));
        return 1;
    }
    char value[KV_MAX_VALUE], back[KV_MAX_VALUE];
    int errors = 0;
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
            errors++;
            continue;
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
            errors++;
            continue;
        }
        if (m.m1_i2 != len || memcmp(back, value, (size_t)len) != 0) {
            fprintf(stderr, "kv_client %d: key %d read back wrong\n", ep, key);
            errors++;
        }
    }
    printf("kv_client %d: %d puts and gets, %d errors\n", ep, n, errors);
    return errors ? 1 : 0;
}
