/*
 * counter_server - keeps a running total that clients add to (sendrec).
 *
 * It is the migration sample's server: `dvs migrate 1 node1` stops it with
 * SIGTERM and starts it again on node1, with DVS_MIGRATED_FROM set. The
 * runtime moves the endpoint and replays the callers held meanwhile; the
 * total is the program's own state, so it hands it over itself: on SIGTERM
 * it writes the total to a state file, and an instance started by a
 * migration reads it back. (Nodes of one host share the file; across hosts
 * the program would send its state to its successor instead.)
 *
 * Usage: counter_server [STATE_FILE]   (default counter.state)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <m3ipc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "counter.h"

static const char *state_file = "counter.state";
static volatile long total, served;

/* On SIGTERM: save the state, say how much this instance served, go.
 * Only async-signal-safe calls here. */
static void
on_term(int sig)
{
    (void)sig;
    char buf[96];
    int fd = open(state_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        int n = snprintf(buf, sizeof(buf), "%ld\n", total);
        (void)!write(fd, buf, (size_t)n);
        close(fd);
    }
    int n = snprintf(buf, sizeof(buf), "counter_server %d: served %ld, total %ld, state saved\n",
                     (int)getpid(), served, total);
    (void)!write(2, buf, (size_t)n);
    _exit(0);
}

int
main(int argc, char **argv)
{
    if (argc > 1)
        state_file = argv[1];
    int ep = mnx_wait4bind();
    if (ep < 0) {
        fprintf(stderr, "counter_server: wait4bind: %s\n", mnx_strerror(ep));
        return 1;
    }
    int node = mnx_getdvsinfo(&(dvs_usr_t){0});
    const char *from = getenv("DVS_MIGRATED_FROM");
    if (from) {
        FILE *f = fopen(state_file, "r");
        long t = 0;
        if (!f || fscanf(f, "%ld", &t) != 1) {
            fprintf(stderr, "counter_server: migrated from node %s but no state in %s\n", from, state_file);
            return 1;
        }
        fclose(f);
        total = t;
        fprintf(stderr, "counter_server %d: endpoint %d on node %d, migrated from node %s, total %ld handed over\n",
                (int)getpid(), ep, node, from, total);
    } else {
        unlink(state_file); /* a fresh start */
        fprintf(stderr, "counter_server %d: endpoint %d on node %d\n", (int)getpid(), ep, node);
    }
    struct sigaction sa = {.sa_handler = on_term};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    for (;;) {
        message m;
        int rc = mnx_rcvrqst(&m);
        if (rc < 0) {
            fprintf(stderr, "counter_server: rcvrqst: %s\n", mnx_strerror(rc));
            return 1;
        }
        if (m.m_type != CT_ADD) {
            /* Answer requests we do not serve too: their sender waits in sendrec. */
            m.m_type = EMOLBADREQUEST;
            if ((rc = mnx_reply(m.m_source, &m)) < 0)
                fprintf(stderr, "counter_server: reply to %d: %s\n", m.m_source, mnx_strerror(rc));
            continue;
        }
        /* Block SIGTERM while the state changes and the reply goes out: a
         * stop lands between requests, never inside one. */
        sigset_t s, old;
        sigemptyset(&s);
        sigaddset(&s, SIGTERM);
        sigprocmask(SIG_BLOCK, &s, &old);
        total += m.m2_l1;
        served++;
        m.m_type = CT_TOTAL;
        m.m2_l1 = total;
        m.m2_i1 = getpid();
        rc = mnx_reply(m.m_source, &m);
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (rc < 0)
            fprintf(stderr, "counter_server: reply to %d: %s\n", m.m_source, mnx_strerror(rc));
    }
}
