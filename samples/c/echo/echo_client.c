/*
 * echo_client - sends N requests to the TypeScript echo server with
 * sendrec and checks every reply. Usage: echo_client [N] (bound by the
 * launcher, or to endpoint ECHO_CLIENT when run by hand). On an IPC error
 * it prints the EMOL* name and exits with status 2.
 */
#include <m3ipc.h>
#include <stdio.h>
#include <stdlib.h>

#include "echo_proto.h"

int
main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10;
    const char *launched = getenv("DVS_EP");
    int ep = launched && *launched ? mnx_wait4bind_T(10000)
                                   : mnx_bind(ECHO_DC, ECHO_CLIENT);
    if (ep < 0) {
        fprintf(stderr, "echo_client: bind: %s\n", mnx_strerror(ep));
        return 1;
    }
    for (int i = 0; i < n; i++) {
        message m = {0};
        m.m_type = ECHO_REQUEST;
        m.m1_i1 = i;
        m.m1_i2 = 1000 + i;
        int rc = mnx_sendrec(ECHO_SERVER, &m);
        if (rc < 0) {
            printf("echo_client: sendrec: %s\n", mnx_errname(rc));
            return 2;
        }
        if (m.m_type != ECHO_REPLY || m.m1_i1 != i || m.m1_i2 != 2 * (1000 + i) ||
            m.m_source != ECHO_SERVER) {
            printf("echo_client: bad reply %d: type %d seq %d value %d\n", i,
                   m.m_type, m.m1_i1, m.m1_i2);
            return 1;
        }
    }
    printf("echo_client: %d round trips ok\n", n);
    return 0;
}
