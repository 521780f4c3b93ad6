/*
 * proc.c - per-process library state: mapping the node, bindings, and the
 * wait policy (spin while the peer runs elsewhere, then futex).
 */
#define _GNU_SOURCE
#include "proc.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct dvst_table *g_table;
static pthread_mutex_t g_open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct binding g_proc;          /* mnx_bind / lclbind */
static __thread struct binding t_bind; /* mnx_tbind */
static int g_ncpus;
/* Adaptive spin budget in ns: halves when a spin ends without the answer,
 * grows back when spinning pays. The baseline (performance-baseline.md
 * §2.2) shows a cross-CPU wake costs 20-50 us on these VMs and a spin
 * handoff 0.12 us, so spinning up to ~20 us is worth it - but only when the
 * peer is actually running on another CPU. */
#define SPIN_MAX_NS 20000
#define SPIN_MIN_NS 500
static _Thread_local long t_spin_ns = SPIN_MAX_NS;

static void
forget_bindings_in_child(void)
{
    /* A forked child is a different process: it is not bound. */
    memset(&g_proc, 0, sizeof(g_proc));
    memset(&t_bind, 0, sizeof(t_bind));
}

static void
init_once(void)
{
    pthread_atfork(NULL, NULL, forget_bindings_in_child);
    g_ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
}

struct dvst_table *
proc_table(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_once);
    struct dvst_table *t = __atomic_load_n(&g_table, __ATOMIC_ACQUIRE);
    if (t)
        return t;
    pthread_mutex_lock(&g_open_lock);
    if (!g_table) {
        char path[512];
        snprintf(path, sizeof(path), "%s/table", dvst_default_node_dir());
        __atomic_store_n(&g_table, dvst_open(path), __ATOMIC_RELEASE);
    }
    t = g_table;
    pthread_mutex_unlock(&g_open_lock);
    return t;
}

void
proc_forget_node(void)
{
    pthread_mutex_lock(&g_open_lock);
    if (g_table)
        dvst_close(g_table);
    __atomic_store_n(&g_table, NULL, __ATOMIC_RELEASE);
    dvst_px_forget();
    memset(&g_proc, 0, sizeof(g_proc));
    memset(&t_bind, 0, sizeof(t_bind));
    pthread_mutex_unlock(&g_open_lock);
}

int
proc_is_bound(void)
{
    return g_proc.slot && g_proc.slot->bind_gen == g_proc.gen;
}

void
proc_set_binding(int thread, struct dvst_slot *s)
{
    struct binding *b = thread ? &t_bind : &g_proc;
    b->slot = s;
    b->last_peer = NULL;
    b->ep = s->endpoint;
    b->dcid = s->dcid;
    b->gen = s->bind_gen;
}

int
proc_get_binding(struct binding *out)
{
    struct binding *b = t_bind.slot ? &t_bind : &g_proc;
    if (!b->slot)
        return EMOLNOTBIND;
    *out = *b;
    return OK;
}

int
proc_enter(struct dvst_table **tp, struct binding **bp)
{
    struct binding *b = t_bind.slot ? &t_bind : &g_proc;
    int rc = proc_enter_binding(tp, b);
    if (rc == OK)
        *bp = b;
    return rc;
}

int
proc_enter_binding(struct dvst_table **tp, struct binding *b)
{
    struct dvst_table *t = proc_table();
    if (!t)
        return EMOLDVSINIT;
    if (!b->slot)
        return EMOLNOTBIND;
    if (__atomic_load_n(&b->slot->bind_gen, __ATOMIC_ACQUIRE) != b->gen) {
        /* Somebody unbound us (mnx_unbind, dc_end, daemon shutdown). */
        memset(b, 0, sizeof(*b));
        return EMOLNOTBIND;
    }
    if (!t->dcs[b->dcid].running)
        return EMOLDCNOTRUN;
    atomic_store_explicit(&b->slot->cpu, sched_getcpu(), memory_order_relaxed);
    *tp = t;
    return OK;
}

int
proc_dc(int dcid, struct dvst_table **tp)
{
    struct dvst_table *t = proc_table();
    if (!t)
        return EMOLDVSINIT;
    if (dcid < 0 || dcid >= NR_DCS)
        return EMOLBADDCID;
    if (!t->dcs[dcid].running)
        return EMOLDCNOTRUN;
    *tp = t;
    return OK;
}

int
proc_lookup(struct dvst_table *t, int dcid, int ep, struct dvst_slot **s)
{
    if (ep == ANY || ep == NONE)
        return EMOLENDPOINT;
    const dc_usr_t *dc = &t->dcs[dcid].usr;
    int p = _ENDPOINT_P(ep);
    if (p < -dc->dc_nr_tasks || p >= dc->dc_nr_procs)
        return EMOLRANGE;
    *s = dvst_slot(t, dcid, p);
    return OK;
}

int
proc_deadline(long to_ms, struct timespec *deadline, int *has)
{
    if (to_ms < TIMEOUT_FOREVER)
        return EMOLINVAL;
    *has = to_ms > 0;
    if (to_ms > 0) {
        clock_gettime(CLOCK_MONOTONIC, deadline);
        deadline->tv_sec += to_ms / 1000;
        deadline->tv_nsec += (to_ms % 1000) * 1000000L;
        if (deadline->tv_nsec >= 1000000000L) {
            deadline->tv_sec++;
            deadline->tv_nsec -= 1000000000L;
        }
    }
    return OK;
}

static inline long
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static inline int
blocked(struct dvst_slot *me)
{
    return atomic_load_explicit(&me->rts_flags, memory_order_acquire) &
           BLOCKED_MASK;
}

/* peer_runs_elsewhere: spinning only helps if the peer is on-CPU right now
 * and not on ours; on the same CPU a spin steals the time the peer needs. */
static int
peer_runs_elsewhere(struct dvst_slot *me, struct dvst_slot *peer)
{
    if (!peer || peer == me || g_ncpus < 2 || dvst_asleep(peer))
        return 0;
    /* A remote peer's surrogate has no owner running anywhere: what we
     * wait for comes through our node's daemon after a network hop, and
     * a spin only takes the CPU that daemon may need. */
    if (atomic_load_explicit(&peer->rts_flags, memory_order_relaxed) & REMOTE)
        return 0;
    return atomic_load_explicit(&peer->cpu, memory_order_relaxed) !=
           atomic_load_explicit(&me->cpu, memory_order_relaxed);
}

static int
spin(struct dvst_slot *me, struct dvst_slot *peer)
{
    long start = now_ns();
    for (unsigned i = 1;; i++) {
        if (!blocked(me)) {
            if (t_spin_ns < SPIN_MAX_NS)
                t_spin_ns *= 2;
            return 1;
        }
        __builtin_ia32_pause();
        if ((i & 63) == 0) {
            if (now_ns() - start > t_spin_ns || dvst_asleep(peer))
                break;
        }
    }
    if (t_spin_ns > SPIN_MIN_NS)
        t_spin_ns /= 2;
    return 0;
}

int
proc_wait(struct binding *b, struct dvst_slot *peer,
          const struct timespec *deadline)
{
    struct dvst_slot *me = b->slot;
    if (peer_runs_elsewhere(me, peer) && spin(me, peer))
        return OK;
    for (;;) {
        uint32_t w = atomic_load(&me->wake);
        atomic_store_explicit(&me->slept_on, w, memory_order_relaxed);
        atomic_store(&me->sleeping, 1);
        if (!blocked(me)) {
            atomic_store(&me->sleeping, 0);
            return OK;
        }
        int rc = dvst_futex_wait(&me->wake, w, deadline);
        atomic_store(&me->sleeping, 0);
        atomic_store_explicit(&me->cpu, sched_getcpu(), memory_order_relaxed);
        if (rc == -ETIMEDOUT && blocked(me))
            return EMOLTIMEDOUT;
        /* EINTR: a signal handler ran; like SA_RESTART we keep waiting
         * (runtime/README.md, differences from the kernel module). */
    }
}

int
proc_wait_arm(struct dvst_slot *me, uint32_t *val)
{
    /* The same Dekker pairing as proc_wait: publish "asleep" first, then
     * re-read the flags; a waker that cleared them after our read sees
     * sleeping and enters the kernel to wake the doorbell's waiters. */
    uint32_t w = atomic_load(&me->wake);
    atomic_store_explicit(&me->slept_on, w, memory_order_relaxed);
    atomic_store(&me->sleeping, 1);
    if (!blocked(me)) {
        atomic_store(&me->sleeping, 0);
        return 0;
    }
    *val = w;
    return 1;
}

void
proc_wait_disarm(struct dvst_slot *me)
{
    atomic_store(&me->sleeping, 0);
    atomic_store_explicit(&me->cpu, sched_getcpu(), memory_order_relaxed);
}
