/*
 * kv_logger - waits for the server's notifications and asks the server for
 * its statistics, printing them at most once a second. Notifications
 * coalesce: a burst of updates arrives as one, which the output shows.
 */
#include <m3ipc.h>
#include <stdio.h>
#include <time.h>

#include "kv_proto.h"

int
main(void)
{
    int ep = kv_bind(KV_LOGGER);
    if (ep < 0) {
        fprintf(stderr, "kv_logger: bind: %s\n", mnx_strerror(ep));
        return 1;
    }
    long notes = 0;
    time_t last = 0;
    for (;;) {
        message m;
        int rc = mnx_receive(ANY, &m);
        if (rc < 0) {
            fprintf(stderr, "kv_logger: receive: %s\n", mnx_strerror(rc));
            return rc == EMOLSHUTDOWN || rc == EMOLNOTBIND ? 0 : 1;
        }
        if (!IS_NOTIFY(m.m_type) || m.m_source != KV_SERVER)
            continue;
        notes++;
        if (time(NULL) == last)
            continue;
        last = time(NULL);
        message s = {0};
        s.m_type = KV_STATS;
        rc = mnx_sendrec(KV_SERVER, &s);
        if (rc < 0) {
            fprintf(stderr, "kv_logger: stats: %s\n", mnx_strerror(rc));
            continue;
        }
        printf("kv_logger: %ld notifications so far for %ld puts (they "
               "coalesce); %d keys, %ld gets\n",
               notes, s.m2_l1, s.m2_i1, s.m2_l2);
        fflush(stdout);
    }
}
