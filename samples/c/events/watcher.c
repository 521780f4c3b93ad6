/*
 * watcher - waits for the ticker's notifications; on each one asks the
 * ticker for the current tick with sendrec and prints it. Notifications
 * coalesce: if the watcher is slow, several ticks arrive as one, which the
 * output shows. Usage: watcher [COUNT] (0 or absent: until stopped; with
 * COUNT it exits 0 after COUNT notifications).
 */
#include <m3ipc.h>
#include <stdio.h>
#include <stdlib.h>

#include "events.h"

int
main(int argc, char **argv)
{
    long count = argc > 1 ? atol(argv[1]) : 0;
    int ep = ev_bind(10);
    if (ep < 0) {
        fprintf(stderr, "watcher: bind: %s\n", mnx_strerror(ep));
        return 1;
    }
    long notes = 0, last = 0;
    while (count <= 0 || notes < count) {
        message m;
        int rc = mnx_receive(ANY, &m);
        if (rc < 0) {
            fprintf(stderr, "watcher %d: receive: %s\n", ep, mnx_strerror(rc));
            if (rc == EMOLSHUTDOWN || rc == EMOLNOTBIND)
                return 0;
            continue;
        }
        if (!IS_NOTIFY(m.m_type) || m.m_source != EV_TICKER)
            continue;
        notes++;
        message q = {0};
        q.m_type = EV_GET_TICK;
        rc = mnx_sendrec(EV_TICKER, &q);
        if (rc < 0) {
            fprintf(stderr, "watcher %d: get tick: %s\n", ep, mnx_strerror(rc));
            continue;
        }
        printf("watcher %d: notification %ld, tick %ld%s\n", ep, notes, q.m2_l1,
               last && q.m2_l1 > last + 1 ? " (ticks coalesced)" : "");
        fflush(stdout);
        last = q.m2_l1;
    }
    return 0;
}
