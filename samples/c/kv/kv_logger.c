/*
 * kv_logger - waits for the server's notifications and, for each, asks the
 * server for its statistics. Notifications coalesce: a burst of updates may
 * arrive as one.
 */
#include <m3ipc.h>
#include <stdio.h>

#include "kv_proto.h"

int
main(void)
{
    int ep = mnx_wait4bind_T(TIMEOUT_NOWAIT);
    if (ep < 0)
        ep = mnx_bind(KV_DC, KV_LOGGER);
    if (ep < 0) {
        fprintf(stderr, "kv_logger: bind: %s\n", mnx_strerror(ep));
        return 1;
    }
    for (;;) {
        message m;
        int rc = mnx_receive(ANY, &m);
        if (rc < 0) {
            fprintf(stderr, "kv_logger: receive: %s\n", mnx_strerror(rc));
            return rc == EMOLSHUTDOWN || rc == EMOLNOTBIND ? 0 : 1;
        }
        if (!IS_NOTIFY(m.m_type) || m.m_source != KV_SERVER)
            continue;
        message s = {0};
        s.m_type = KV_STATS;
        rc = mnx_sendrec(KV_SERVER, &s);
        if (rc < 0) {
            fprintf(stderr, "kv_logger: stats: %s\n", mnx_strerror(rc));
            continue;
        }
        printf("kv_logger: update from %d: %d keys, %ld puts, %ld gets\n",
               m.m_source, s.m2_i1, s.m2_l1, s.m2_l2);
        fflush(stdout);
    }
}
