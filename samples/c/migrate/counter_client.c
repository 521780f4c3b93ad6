/*
 * counter_client - adds 1 to the counter N times (sendrec), with a pause
 * between calls, and checks every answer: the totals it sees only grow
 * (the server's state survived its migration) and every call is answered.
 * It reports how many answers came from each server process it met.
 *
 * Usage: counter_client [N [PAUSE_US]]   (default 2000 calls, 2000 us)
 */
#include <m3ipc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "counter.h"

int
main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    int pause_us = argc > 2 ? atoi(argv[2]) : 2000;
    int ep = mnx_wait4bind();
    if (ep < 0) {
        fprintf(stderr, "counter_client: wait4bind: %s\n", mnx_strerror(ep));
        return 1;
    }
    long last = 0;
    int answered = 0, errors = 0, servers = 0;
    int pids[8] = {0}, counts[8] = {0};
    for (int i = 0; i < n; i++) {
        message m = {0};
        m.m_type = CT_ADD;
        m.m2_l1 = 1;
        /* Bounded: a caller held by a migration waits, it never hangs. */
        int rc = mnx_sendrec_T(COUNTER, &m, 15000);
        if (rc < 0) {
            fprintf(stderr, "counter_client %d: call %d: %s\n", ep, i, mnx_strerror(rc));
            errors++;
            continue;
        }
        if (m.m_type != CT_TOTAL || m.m2_l1 <= last) {
            fprintf(stderr, "counter_client %d: call %d: total %ld after %ld\n", ep, i, m.m2_l1, last);
            errors++;
        }
        last = m.m2_l1;
        answered++;
        int k = 0;
        while (k < servers && pids[k] != m.m2_i1)
            k++;
        if (k == servers && servers < 8)
            pids[servers++] = m.m2_i1;
        if (k < 8)
            counts[k]++;
        if (pause_us)
            usleep((useconds_t)pause_us);
    }
    printf("counter_client %d: %d calls, %d answered, %d errors, last total %ld; by server:", ep, n,
           answered, errors, last);
    for (int k = 0; k < servers; k++)
        printf(" pid %d: %d", pids[k], counts[k]);
    printf("\n");
    return errors ? 1 : 0;
}
