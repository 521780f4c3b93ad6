/*
 * t_m3ipc_trace.c - "ours, trace on": switches the node's IPC trace on for
 * the round trip of tr_ours_trace (t_m3ipc.c) and off again, through the
 * node's control socket ("trace on" / "trace off", runtime/README.md), the
 * way `dvsd --trace` records: the daemon drains the ring every 10 ms into
 * its history while the two processes exchange messages. SPEC §8: at most
 * 10 % slower than with the trace off (the "ours" row).
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* ours_trace_set sends "trace on|off" to $DVS_NODE/control.sock; 0 when
 * the reply says recording is as asked. */
int ours_trace_set(int on)
{
    const char *dir = getenv("DVS_NODE");
    if (!dir)
        return -1;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s/control.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    const char *req = on ? "trace on\n" : "trace off\n";
    char reply[256] = "";
    ssize_t n = -1;
    if (write(fd, req, strlen(req)) == (ssize_t)strlen(req))
        n = read(fd, reply, sizeof reply - 1);
    close(fd);
    if (n <= 0)
        return -1;
    reply[n] = 0;
    const char *want = on ? "\"recording\":true" : "\"recording\":false";
    if (!strstr(reply, want)) {
        fprintf(stderr, "bench: trace %s: %s", on ? "on" : "off", reply);
        return -1;
    }
    return 0;
}
