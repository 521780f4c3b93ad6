/*
 * t_futex.c - the raw futex baselines: one request slot and one reply slot
 * in a MAP_SHARED mapping, a sequence number per direction, FUTEX_WAIT /
 * FUTEX_WAKE on that number.
 *
 * This is the floor that SPEC §8 measures "ours" against (within 1.25x on
 * one CPU): the least a blocking shared-memory rendezvous can cost, with no
 * endpoint table, no permission check, no trace hook. Two variants:
 *   futex       sleep at once (FUTEX_WAIT as soon as the answer is not there)
 *   futex-spin  poll for up to spin_ns (20 us) first, then sleep; this is the
 *               "peer is running on the other CPU" floor (~0.1 us there),
 *               and shows how bad spinning is when both share one CPU.
 * The waker skips FUTEX_WAKE when nobody sleeps (a `sleeping` flag next to
 * the sequence number), as any serious implementation would; otherwise the
 * baseline would pay a ~0.3 us wake syscall per message that ours need not.
 * The futexes are shared (no FUTEX_PRIVATE_FLAG): the waiters are in two
 * processes.
 */
#include "bench.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

struct fx_cell {
    _Alignas(64) _Atomic uint32_t seq; /* bumped by the writer of this direction */
    _Atomic uint32_t sleeping;         /* the reader is (about to be) in FUTEX_WAIT */
};

struct fx_slot {
    struct fx_cell req, rep;
    _Alignas(64) bench_msg reqmsg;
    _Alignas(64) bench_msg repmsg;
};

static uint32_t my_seq; /* per process: each process plays one role */

static long sys_futex(_Atomic uint32_t *addr, int op, uint32_t val)
{
    return syscall(SYS_futex, (uint32_t *)addr, op, val, NULL, NULL, 0);
}

/* Wait until c->seq differs from `old`; return the new value. */
static uint32_t fx_wait(struct fx_cell *c, uint32_t old, long spin_ns)
{
    uint32_t v;
    if (spin_ns > 0) {
        uint64_t t0 = bench_now_ns();
        for (unsigned i = 0;; i++) {
            v = atomic_load_explicit(&c->seq, memory_order_acquire);
            if (v != old)
                return v;
            bench_cpu_relax();
            /* read the clock only every 64 polls: it costs ~20 ns */
            if ((i & 63) == 63 && bench_now_ns() - t0 > (uint64_t)spin_ns)
                break;
        }
    }
    for (;;) {
        /* seq_cst store then load, against the waker's seq_cst store of seq
         * then load of sleeping: one of the two always sees the other, so a
         * wake-up cannot be lost. */
        atomic_store(&c->sleeping, 1);
        v = atomic_load(&c->seq);
        if (v != old)
            break;
        if (sys_futex(&c->seq, FUTEX_WAIT, old) < 0 && errno != EAGAIN && errno != EINTR) {
            perror("futex wait");
            exit(3);
        }
    }
    atomic_store_explicit(&c->sleeping, 0, memory_order_relaxed);
    return v;
}

static void fx_post(struct fx_cell *c, uint32_t v)
{
    atomic_store(&c->seq, v);
    if (atomic_load(&c->sleeping))
        sys_futex(&c->seq, FUTEX_WAKE, 1);
}

static int fx_setup(struct bench_ctx *c)
{
    c->priv = bench_alloc_shared(sizeof(struct fx_slot));
    return c->priv ? 0 : -1;
}

static int fx_server_loop_impl(struct bench_ctx *c, long spin_ns)
{
    struct fx_slot *s = c->priv;
    uint32_t seen = 0;
    for (;;) {
        seen = fx_wait(&s->req, seen, spin_ns);
        s->repmsg = s->reqmsg; /* "handle" the request: echo 48 bytes */
        int stop = s->reqmsg.type == BENCH_STOP;
        fx_post(&s->rep, seen);
        if (stop)
            return 0;
    }
}

static int fx_roundtrip_impl(struct bench_ctx *c, bench_msg *m, long spin_ns)
{
    struct fx_slot *s = c->priv;
    s->reqmsg = *m;
    fx_post(&s->req, ++my_seq);
    while (fx_wait(&s->rep, my_seq - 1, spin_ns) != my_seq)
        ;
    *m = s->repmsg;
    return 0;
}

static int fx_server_loop(struct bench_ctx *c) { return fx_server_loop_impl(c, 0); }
static int fx_roundtrip(struct bench_ctx *c, bench_msg *m) { return fx_roundtrip_impl(c, m, 0); }
static int fxs_server_loop(struct bench_ctx *c) { return fx_server_loop_impl(c, c->spin_ns); }
static int fxs_roundtrip(struct bench_ctx *c, bench_msg *m) { return fx_roundtrip_impl(c, m, c->spin_ns); }

static void fx_teardown(struct bench_ctx *c)
{
    munmap(c->priv, sizeof(struct fx_slot));
}

const struct transport tr_futex = {
    .name = "futex",
    .family = "futex",
    .label = "raw futex (sleep at once)",
    .setup = fx_setup,
    .server_loop = fx_server_loop,
    .roundtrip = fx_roundtrip,
    .teardown = fx_teardown,
};

const struct transport tr_futex_spin = {
    .name = "futex-spin",
    .family = "futex",
    .label = "raw futex, spin <=20us first",
    .setup = fx_setup,
    .server_loop = fxs_server_loop,
    .roundtrip = fxs_roundtrip,
    .teardown = fx_teardown,
    .spins = 1,
};
