/*
 * t_fd.c - the kernel byte-stream baselines: a pipe pair, an AF_UNIX
 * SOCK_STREAM socketpair and a TCP connection over 127.0.0.1 with
 * TCP_NODELAY. SPEC §8 asks that ours beat all of them.
 *
 * All fds are created (and, for TCP, connected) by the parent in setup(),
 * before the fork, so both processes simply inherit their ends; nothing in
 * the timed loop but write(48 bytes) + read(48 bytes) on each side.
 */
#include "bench.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct fd_ends {
    int c_tx, c_rx; /* client's ends */
    int s_tx, s_rx; /* server's ends */
};

static struct fd_ends *ends_new(void)
{
    struct fd_ends *e = calloc(1, sizeof *e);
    if (e)
        e->c_tx = e->c_rx = e->s_tx = e->s_rx = -1;
    return e;
}

static int pipe_setup(struct bench_ctx *c)
{
    struct fd_ends *e = ends_new();
    int a[2], b[2];
    if (!e || pipe(a) || pipe(b)) {
        perror("bench: pipe");
        return -1;
    }
    e->c_tx = a[1];
    e->s_rx = a[0];
    e->s_tx = b[1];
    e->c_rx = b[0];
    c->priv = e;
    return 0;
}

static int unix_setup(struct bench_ctx *c)
{
    struct fd_ends *e = ends_new();
    int sv[2];
    if (!e || socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
        perror("bench: socketpair");
        return -1;
    }
    e->c_tx = e->c_rx = sv[0];
    e->s_tx = e->s_rx = sv[1];
    c->priv = e;
    return 0;
}

static int tcp_setup(struct bench_ctx *c)
{
    struct fd_ends *e = ends_new();
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    int one = 1;
    if (!e)
        return -1;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) || listen(l, 1) ||
        getsockname(l, (struct sockaddr *)&sa, &sl)) {
        perror("bench: tcp listen");
        return -1;
    }
    /* a loopback connect completes from the backlog, before accept() */
    int cs = socket(AF_INET, SOCK_STREAM, 0);
    if (cs < 0 || connect(cs, (struct sockaddr *)&sa, sizeof sa)) {
        perror("bench: tcp connect");
        return -1;
    }
    int ss = accept(l, NULL, NULL);
    if (ss < 0) {
        perror("bench: tcp accept");
        return -1;
    }
    close(l);
    /* without NODELAY, Nagle + delayed ACK would turn a 48-byte ping-pong
     * into a 40 ms one: that measures a default, not the transport */
    setsockopt(cs, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(ss, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    e->c_tx = e->c_rx = cs;
    e->s_tx = e->s_rx = ss;
    c->priv = e;
    return 0;
}

static int fd_server_loop(struct bench_ctx *c)
{
    struct fd_ends *e = c->priv;
    bench_msg m;
    for (;;) {
        if (bench_read_full(e->s_rx, &m, sizeof m)) {
            perror("bench: server read");
            return -1;
        }
        if (bench_write_full(e->s_tx, &m, sizeof m)) {
            perror("bench: server write");
            return -1;
        }
        if (m.type == BENCH_STOP)
            return 0;
    }
}

static int fd_roundtrip(struct bench_ctx *c, bench_msg *m)
{
    struct fd_ends *e = c->priv;
    if (bench_write_full(e->c_tx, m, sizeof *m) || bench_read_full(e->c_rx, m, sizeof *m))
        return -1;
    return 0;
}

static void fd_teardown(struct bench_ctx *c)
{
    struct fd_ends *e = c->priv;
    int fds[4] = {e->c_tx, e->c_rx, e->s_tx, e->s_rx};
    for (int i = 0; i < 4; i++) {
        int dup = 0;
        for (int j = 0; j < i; j++)
            dup |= fds[j] == fds[i];
        if (fds[i] >= 0 && !dup)
            close(fds[i]);
    }
    free(e);
}

const struct transport tr_pipe = {
    .name = "pipe",
    .family = "fd",
    .label = "pipe pair",
    .setup = pipe_setup,
    .server_loop = fd_server_loop,
    .roundtrip = fd_roundtrip,
    .teardown = fd_teardown,
};

const struct transport tr_unix = {
    .name = "unix",
    .family = "fd",
    .label = "AF_UNIX stream socketpair",
    .setup = unix_setup,
    .server_loop = fd_server_loop,
    .roundtrip = fd_roundtrip,
    .teardown = fd_teardown,
};

const struct transport tr_tcp = {
    .name = "tcp",
    .family = "fd",
    .label = "TCP 127.0.0.1 NODELAY",
    .setup = tcp_setup,
    .server_loop = fd_server_loop,
    .roundtrip = fd_roundtrip,
    .teardown = fd_teardown,
};
