/*
 * t_zmq.c - ZeroMQ REQ/REP baselines over ipc:// and tcp:// (libzmq, C API).
 *
 * SPEC §8 asks that ours beat ZeroMQ REQ/REP; it is the message library a
 * user would otherwise reach for. Built only when CMake finds libzmq
 * (HAVE_ZMQ); otherwise the rows print "n/a (libzmq missing)".
 *
 * Each process creates its own zmq context after the fork (a context is
 * not fork-safe). The pinning done by the harness before server_init /
 * client_init is inherited by libzmq's I/O thread, so "one CPU" really
 * means everything, I/O thread included, on that CPU.
 */
#include "bench.h"

#ifdef HAVE_ZMQ
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

struct zq {
    void *ctx, *sock;
};
static struct zq zq; /* per process */

/* the endpoint the server bound, for the client (shared page) */
struct zq_shared {
    char endpoint[256];
};

static int zq_fail(const char *what)
{
    fprintf(stderr, "bench: zmq %s: %s\n", what, zmq_strerror(zmq_errno()));
    return -1;
}

static int zq_server_init(struct bench_ctx *c, int tcp)
{
    struct zq_shared *sh = c->shared;
    int linger = 0;
    zq.ctx = zmq_ctx_new();
    zq.sock = zq.ctx ? zmq_socket(zq.ctx, ZMQ_REP) : NULL;
    if (!zq.sock)
        return zq_fail("socket");
    zmq_setsockopt(zq.sock, ZMQ_LINGER, &linger, sizeof linger);
    char ep[256];
    if (tcp)
        snprintf(ep, sizeof ep, "tcp://127.0.0.1:*"); /* any free port */
    else
        snprintf(ep, sizeof ep, "ipc:///tmp/dvs-bench-zmq-%d.ipc", (int)getpid());
    if (zmq_bind(zq.sock, ep))
        return zq_fail("bind");
    size_t len = sizeof sh->endpoint;
    if (zmq_getsockopt(zq.sock, ZMQ_LAST_ENDPOINT, sh->endpoint, &len))
        return zq_fail("getsockopt");
    return 0;
}

static int zq_server_init_ipc(struct bench_ctx *c) { return zq_server_init(c, 0); }
static int zq_server_init_tcp(struct bench_ctx *c) { return zq_server_init(c, 1); }

static int zq_server_loop(struct bench_ctx *c)
{
    struct zq_shared *sh = c->shared;
    bench_msg m;
    int rc = 0;
    for (;;) {
        if (zmq_recv(zq.sock, &m, sizeof m, 0) != (int)sizeof m) {
            rc = zq_fail("recv");
            break;
        }
        if (zmq_send(zq.sock, &m, sizeof m, 0) != (int)sizeof m) {
            rc = zq_fail("send");
            break;
        }
        if (m.type == BENCH_STOP)
            break;
    }
    zmq_close(zq.sock);
    zmq_ctx_term(zq.ctx);
    if (!strncmp(sh->endpoint, "ipc://", 6))
        unlink(sh->endpoint + 6);
    return rc;
}

static int zq_client_init(struct bench_ctx *c)
{
    struct zq_shared *sh = c->shared;
    int linger = 0;
    zq.ctx = zmq_ctx_new();
    zq.sock = zq.ctx ? zmq_socket(zq.ctx, ZMQ_REQ) : NULL;
    if (!zq.sock)
        return zq_fail("socket");
    zmq_setsockopt(zq.sock, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(zq.sock, sh->endpoint))
        return zq_fail("connect");
    return 0;
}

static int zq_roundtrip(struct bench_ctx *c, bench_msg *m)
{
    (void)c;
    if (zmq_send(zq.sock, m, sizeof *m, 0) != (int)sizeof *m)
        return zq_fail("send");
    if (zmq_recv(zq.sock, m, sizeof *m, 0) != (int)sizeof *m)
        return zq_fail("recv");
    return 0;
}

static void zq_client_fini(struct bench_ctx *c)
{
    (void)c;
    zmq_close(zq.sock);
    zmq_ctx_term(zq.ctx);
}

const struct transport tr_zmq_ipc = {
    .name = "zmq-ipc",
    .family = "zmq",
    .label = "ZeroMQ REQ/REP ipc://",
    .server_init = zq_server_init_ipc,
    .server_loop = zq_server_loop,
    .client_init = zq_client_init,
    .roundtrip = zq_roundtrip,
    .client_fini = zq_client_fini,
};

const struct transport tr_zmq_tcp = {
    .name = "zmq-tcp",
    .family = "zmq",
    .label = "ZeroMQ REQ/REP tcp://",
    .server_init = zq_server_init_tcp,
    .server_loop = zq_server_loop,
    .client_init = zq_client_init,
    .roundtrip = zq_roundtrip,
    .client_fini = zq_client_fini,
};

#else /* !HAVE_ZMQ */

static const char *zq_missing(void) { return "libzmq missing"; }

const struct transport tr_zmq_ipc = {
    .name = "zmq-ipc", .family = "zmq", .label = "ZeroMQ REQ/REP ipc://", .unavailable = zq_missing};
const struct transport tr_zmq_tcp = {
    .name = "zmq-tcp", .family = "zmq", .label = "ZeroMQ REQ/REP tcp://", .unavailable = zq_missing};

#endif
