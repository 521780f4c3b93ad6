/*
 * fo_server - a stateless server for the primary/backup sample.
 *
 * The same program runs as the primary (bound by the launcher) and as a
 * standby on each backup node (registered with mnx_bkupbind). A standby is
 * not bound: mnx_wait4bind() blocks until the primary's node dies and the
 * daemons commit the endpoint to it; then it serves, under the same
 * endpoint. It keeps no state, so nothing has to be replicated (a stateful
 * server would replicate its state to its backups itself).
 */
#include <m3ipc.h>
#include <stdio.h>
#include <unistd.h>

#include "failover.h"

int
main(void)
{
    int ep = mnx_wait4bind(); /* a standby waits here until the takeover */
    if (ep < 0) {
        fprintf(stderr, "fo_server: wait4bind: %s\n", mnx_strerror(ep));
        return 1;
    }
    int node = mnx_getdvsinfo(&(dvs_usr_t){0});
    fprintf(stderr, "fo_server %d: serving endpoint %d on node %d\n", (int)getpid(), ep, node);
    long served = 0;
    for (;;) {
        message m;
        int rc = mnx_rcvrqst(&m);
        if (rc < 0) {
            fprintf(stderr, "fo_server: rcvrqst: %s\n", mnx_strerror(rc));
            return 1;
        }
        m.m_type = FO_PONG;
        m.m1_i2 = getpid();
        m.m1_i3 = node;
        if ((rc = mnx_reply(m.m_source, &m)) < 0)
            fprintf(stderr, "fo_server: reply to %d: %s\n", m.m_source, mnx_strerror(rc));
        else if (++served % 1000 == 0)
            fprintf(stderr, "fo_server %d: %ld requests served\n", (int)getpid(), served);
    }
}
