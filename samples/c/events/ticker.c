/*
 * ticker - every PERIOD_MS, counts a tick and notifies each watcher endpoint
 * given on the command line; in between, answers EV_GET_TICK requests.
 * Usage: ticker PERIOD_MS WATCHER_EP...
 * The wait for requests is a receive with a timeout, so the ticks keep
 * coming whether or not anybody asks.
 */
#include <m3ipc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "events.h"

static long
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int
main(int argc, char **argv)
{
    int period = argc > 1 ? atoi(argv[1]) : 500;
    if (period <= 0 || argc < 3) {
        fprintf(stderr, "usage: ticker PERIOD_MS WATCHER_EP...\n");
        return 2;
    }
    int ep = ev_bind(EV_TICKER);
    if (ep < 0) {
        fprintf(stderr, "ticker: bind: %s\n", mnx_strerror(ep));
        return 1;
    }
    printf("ticker: endpoint %d, a tick every %d ms for %d watcher(s)\n", ep,
           period, argc - 2);
    fflush(stdout);
    long tick = 0, sent = 0, next = now_ms() + period;
    for (;;) {
        long wait = next - now_ms();
        if (wait <= 0) {
            tick++;
            next += period;
            for (int i = 2; i < argc; i++) {
                int w = atoi(argv[i]);
                int rc = mnx_notify(w);
                if (rc < 0)
                    fprintf(stderr, "ticker: tick %ld: notify %d: %s\n", tick, w,
                            mnx_strerror(rc));
                else
                    sent++;
            }
            continue;
        }
        message m;
        int rc = mnx_receive_T(ANY, &m, wait);
        if (rc == EMOLTIMEDOUT)
            continue;
        if (rc < 0) {
            fprintf(stderr, "ticker: receive: %s\n", mnx_strerror(rc));
            if (rc == EMOLSHUTDOWN || rc == EMOLNOTBIND)
                return 0;
            continue;
        }
        if (IS_NOTIFY(m.m_type))
            continue; /* a notification: nobody waits for an answer */
        if (m.m_type == EV_GET_TICK) {
            m.m_type = EV_TICK;
            m.m2_l1 = tick;
            m.m2_l2 = sent;
        } else {
            /* Answer requests we do not serve too: their sender waits in sendrec. */
            m.m_type = EMOLBADREQUEST;
        }
        rc = mnx_reply(m.m_source, &m);
        if (rc < 0)
            fprintf(stderr, "ticker: reply to %d: %s\n", m.m_source, mnx_strerror(rc));
    }
}
