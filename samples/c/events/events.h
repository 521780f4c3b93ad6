/*
 * events.h - the protocol of the events sample: a ticker announces each tick
 * with notify (asynchronous, coalescing); watchers on other nodes then pull
 * the current tick with sendrec. System slots (below nr_sysprocs) only:
 * notify is allowed from and to system processes.
 */
#ifndef EVENTS_H
#define EVENTS_H

#define EV_DC 0
#define EV_TICKER 3 /* notifies the watchers, answers EV_GET_TICK */

#define EV_GET_TICK 1    /* watcher -> ticker, with sendrec; no fields */
#define EV_TICK 2        /* the reply: m2_l1 tick number, m2_l2 notifications sent */

#include <m3ipc.h>
#include <stdlib.h>

/* ev_bind: started by the launcher (DVS_EP set), wait for its lclbind;
 * run by hand, bind ourselves to dflt. */
static inline int
ev_bind(int dflt)
{
    const char *ep = getenv("DVS_EP");
    if (ep && *ep)
        return mnx_wait4bind_T(10000);
    return mnx_bind(EV_DC, dflt);
}
#endif
