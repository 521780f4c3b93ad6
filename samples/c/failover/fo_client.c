/*
 * fo_client - pings the failover sample's server N times and checks every
 * answer. A call that is in flight when the primary's node dies returns
 * EMOLNOTCONN (it may or may not have been served: the runtime does not
 * replay it, which would risk serving it twice); the client retries it.
 * Calls made during the takeover wait (WAITMIGR) and are served by the
 * backup without an error. It reports which servers answered.
 *
 * Usage: fo_client [N [PAUSE_US]]   (default 3000 calls, 2000 us apart)
 */
#include <m3ipc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "failover.h"

int
main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 3000;
    int pause_us = argc > 2 ? atoi(argv[2]) : 2000;
    int ep = mnx_wait4bind();
    if (ep < 0) {
        fprintf(stderr, "fo_client: wait4bind: %s\n", mnx_strerror(ep));
        return 1;
    }
    int retried = 0, errors = 0, last_pid = 0;
    for (int i = 0; i < n; i++) {
        message m = {0};
        m.m_type = FO_PING;
        m.m1_i1 = i;
        int rc = mnx_sendrec_T(FO_SERVER, &m, 15000);
        if (rc == EMOLNOTCONN && retried < 50) {
            retried++;
            usleep(100000);
            i--; /* the same call again */
            continue;
        }
        if (rc < 0 || m.m_type != FO_PONG || m.m1_i1 != i) {
            fprintf(stderr, "fo_client %d: call %d: %s\n", ep, i, rc < 0 ? mnx_strerror(rc) : "wrong answer");
            errors++;
            continue;
        }
        if (m.m1_i2 != last_pid) {
            printf("fo_client %d: call %d answered by pid %d on node %d\n", ep, i, m.m1_i2, m.m1_i3);
            fflush(stdout);
            last_pid = m.m1_i2;
        }
        if (pause_us)
            usleep((useconds_t)pause_us);
    }
    printf("fo_client %d: %d calls, %d errors, %d retried after EMOLNOTCONN\n", ep, n, errors, retried);
    return errors ? 1 : 0;
}
