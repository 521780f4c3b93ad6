/*
 * peer.c - the C side of `npm run bench:ts` (runtime/src/ipc/bench.ts).
 *
 *   peer server EP          mnx_bind(0, EP), then rcvrqst/reply forever
 *   peer client EP SRV N    mnx_bind(0, EP), N timed mnx_sendrec(SRV):
 *                           prints "median_us p99_us"
 *   peer unix PATH          echo 48-byte messages on an AF_UNIX stream socket
 *
 * The node is $DVS_NODE. Built by bench.ts with the machine's cc against
 * runtime/build/libm3ipc_static.a.
 */
#define _GNU_SOURCE
#include <m3ipc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int
cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static long
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static int
bind_retry(int ep)
{
    int rc;
    /* The previous run's slot may still be in use for a few ms. */
    for (int i = 0; i < 400; i++) {
        if ((rc = mnx_bind(0, ep)) != EMOLSLOTUSED)
            break;
        usleep(5000);
    }
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "server")) {
        int rc = bind_retry(atoi(argv[2]));
        if (rc < 0) {
            fprintf(stderr, "peer: bind: %s\n", mnx_strerror(rc));
            return 1;
        }
        printf("ready\n");
        fflush(stdout);
        for (;;) {
            message m;
            if ((rc = mnx_rcvrqst(&m)) < 0)
                return 0;
            m.m_type++;
            mnx_reply(m.m_source, &m);
        }
    }
    if (argc >= 5 && !strcmp(argv[1], "client")) {
        int srv = atoi(argv[3]), n = atoi(argv[4]);
        int rc = bind_retry(atoi(argv[2]));
        if (rc < 0) {
            fprintf(stderr, "peer: bind: %s\n", mnx_strerror(rc));
            return 1;
        }
        long *t = calloc((size_t)n, sizeof(long));
        message m = {0};
        for (int i = -n / 10; i < n; i++) { /* a tenth as warm-up */
            m.m_type = 1;
            m.m1_i1 = i;
            long t0 = now_ns();
            if ((rc = mnx_sendrec(srv, &m)) < 0) {
                fprintf(stderr, "peer: sendrec: %s\n", mnx_strerror(rc));
                return 1;
            }
            if (i >= 0)
                t[i] = now_ns() - t0;
        }
        qsort(t, (size_t)n, sizeof(long), cmp_long);
        printf("%.3f %.3f\n", t[n / 2] / 1000.0, t[n * 99 / 100] / 1000.0);
        mnx_unbind(0, atoi(argv[2]));
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "unix")) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[2]);
        unlink(argv[2]);
        if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0) {
            perror("peer: unix");
            return 1;
        }
        printf("ready\n");
        fflush(stdout);
        int c = accept(s, NULL, NULL);
        char buf[48];
        for (;;) {
            size_t got = 0;
            while (got < sizeof(buf)) {
                ssize_t k = read(c, buf + got, sizeof(buf) - got);
                if (k <= 0)
                    return 0;
                got += (size_t)k;
            }
            if (write(c, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
                return 0;
        }
    }
    fprintf(stderr, "usage: peer server EP | client EP SRV N | unix PATH\n");
    return 2;
}
