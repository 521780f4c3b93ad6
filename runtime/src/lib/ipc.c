/*
 * ipc.c - the message-passing primitives on one node, with the M3-IPC
 * rules (m3ipc-semantics.md §2.1, §4.3). Write R(x, c) for "x is RECEIVING
 * and not SENDING, with getfrom in {ANY, c}".
 *
 * The caller does the whole exchange on the shared table under its lock:
 * it either hands its message straight to a waiting partner, or parks in
 * its own slot and sleeps until the partner completes the exchange.
 */
#define _GNU_SOURCE
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc_internal.h"
#include "ipc_split.h"
#include "proc.h"

/* Who may take a message from c right now? */
int
dvsi_ready_for(const struct dvst_slot *x, int c)
{
    uint32_t f = atomic_load_explicit(&x->rts_flags, memory_order_relaxed);
    /* A migrating endpoint takes nothing: its callers wait (WAITMIGR). */
    return (f & RECEIVING) && !(f & (SENDING | MIGRATING)) &&
           (x->getfrom == ANY || x->getfrom == c);
}

/* deliver copies m into the waiting dst, stamps the true source and wakes
 * it. The blocked bit is cleared last so that dst, which may be spinning
 * on its flags without the lock, sees a complete message. */
void
dvsi_deliver(struct dvst_slot *dst, const message *m, int src_ep)
{
    dst->msg = *m;
    dst->msg.m_source = src_ep;
    dst->rcode = OK;
    dst->getfrom = NONE;
    dst->misc_flags &= ~(MIS_SENDREC | MIS_RCVRQST);
    uint32_t f = atomic_load_explicit(&dst->rts_flags, memory_order_relaxed);
    atomic_store_explicit(&dst->rts_flags, f & ~RECEIVING,
                          memory_order_release);
    dvst_wake(dst);
}

/* TRACE_DELIVERY delivers m from me (endpoint ep) to dst, recorded in the
 * trace after the delivery rang dst (trace.h: dvst_trace_kind). */
#define TRACE_DELIVERY(t, op, me, ep, dst, m)                             \
    do {                                                                  \
        int _op = 0;                                                      \
        uint32_t _req = 0;                                                \
        if (DVST_TRACING(t))                                              \
            _op = dvst_trace_kind((op), (dst), (ep), &_req);              \
        dvsi_deliver((dst), (m), (ep));                                   \
        if (_op)                                                          \
            dvst_trace_delivered((t), _op, _req, (me), (ep), (dst),       \
                                 (m)->m_type, 0);                         \
    } while (0)

static void
enqueue(struct dvst_table *t, struct dvst_slot *me, struct dvst_slot *dst,
        const message *m, uint32_t flags)
{
    me->msg = *m;
    me->sendto = dst->endpoint;
    me->sendseq = ++t->sendseq;
    if (DVST_TRACING(t))
        dvst_trace_enqueue(me);
    dst->nqueued++;
    atomic_store_explicit(&me->rts_flags,
                          atomic_load(&me->rts_flags) | flags,
                          memory_order_relaxed);
}

/* first_sender finds the oldest slot queued on me that src accepts. */
static struct dvst_slot *
dvsi_first_sender(struct dvst_table *t, struct dvst_slot *me, int src)
{
    /* A migrating endpoint's queue is flushed to its new home at the
     * commit (or resumes at a rollback): nothing is taken meanwhile. */
    if (me->nqueued <= 0 || (atomic_load_explicit(&me->rts_flags,
                                                  memory_order_relaxed) &
                             MIGRATING))
        return NULL;
    const dc_usr_t *dc = &t->dcs[me->dcid].usr;
    struct dvst_slot *best = NULL;
    for (int p = -dc->dc_nr_tasks; p < dc->dc_nr_procs; p++) {
        struct dvst_slot *s = dvst_slot(t, me->dcid, p);
        uint32_t f = atomic_load_explicit(&s->rts_flags, memory_order_relaxed);
        if (!(f & SENDING) || s->sendto != me->endpoint)
            continue;
        /* A local caller whose request went to another node (px_cmd) is
         * not queued here, even though its endpoint may have migrated here
         * since: it waits for that node's answer (an EMOLMIGRATE one makes
         * it replay). */
        if (s->px_cmd && !(f & REMOTE))
            continue;
        if (src != ANY && s->endpoint != src)
            continue;
        if (!best || s->sendseq < best->sendseq)
            best = s;
    }
    return best;
}

/* take copies the queued sender's message out and releases the sender: a
 * plain send returns OK, a sendrec goes on waiting for the reply. */
void
dvsi_take(struct dvst_slot *me, struct dvst_slot *s, message *m)
{
    *m = s->msg;
    m->m_source = s->endpoint;
    me->nqueued--;
    s->sendto = NONE;
    s->lclsent++;
    uint32_t f = atomic_load_explicit(&s->rts_flags, memory_order_relaxed);
    if (f & RECEIVING) {
        atomic_store_explicit(&s->rts_flags, f & ~SENDING,
                              memory_order_release);
    } else if (f & REMOTE) {
        /* A surrogate's sender waits on another node: acknowledge the
         * receipt only now, keeping the rendezvous end to end. */
        s->px_cmd = CMD_SEND_ACK;
        s->px_rcode = OK;
        s->px_from = me->endpoint;
        s->px_node = s->nodeid;
        s->px_peer = s->endpoint;
        atomic_store(&s->rts_flags, (f & ~SENDING) | RMTOPER);
        dvst_px_note();
    } else {
        s->rcode = OK;
        atomic_store_explicit(&s->rts_flags, f & ~SENDING,
                              memory_order_release);
        dvst_wake(s);
    }
}

/* notify_bit returns the s_id of a system slot (its bit in the pending
 * bitmaps), or -1 for a user slot. */
int
dvsi_notify_bit(const dc_usr_t *dc, int p_nr)
{
    return p_nr < dc->dc_nr_sysprocs ? p_nr + dc->dc_nr_tasks : -1;
}

void
dvsi_build_notify(message *m, int src_ep, int src_nr, long value)
{
    memset(m, 0, sizeof(*m));
    m->m_source = src_ep;
    m->m_type = NOTIFY_FROM(src_nr);
    clock_gettime(CLOCK_REALTIME, &m->m9_t1);
    m->m9_l1 = value;
}

/* take_notify delivers the lowest pending notification accepted by src
 * into m; returns 1 if there was one. */
static int
dvsi_take_notify(struct dvst_table *t, struct dvst_slot *me, int src, message *m)
{
    const dc_usr_t *dc = &t->dcs[me->dcid].usr;
    for (int w = 0; w < (int)DVST_NOTIFY_WORDS; w++) {
        uint64_t bits = me->notify_pending[w];
        while (bits) {
            int bit = w * 64 + __builtin_ctzll(bits);
            bits &= bits - 1;
            int nr = bit - dc->dc_nr_tasks;
            struct dvst_slot *s = dvst_slot(t, me->dcid, nr);
            if (src != ANY && s->endpoint != src)
                continue;
            me->notify_pending[w] &= ~(1ULL << (bit % 64));
            dvsi_build_notify(m, s->endpoint, nr, me->ntfy_value);
            if (DVST_TRACING(t))
                dvst_trace_msg(t, DVST_OP_NOTIFY, s, s->endpoint, me, m->m_type, 2);
            me->ntfy_value = 0;
            return 1;
        }
    }
    return 0;
}

static int
is_remote(const struct dvst_slot *s)
{
    return atomic_load_explicit(&s->rts_flags, memory_order_relaxed) & REMOTE;
}

/* cancel undoes a blocked call that timed out (lock held). */
static void
cancel(struct dvst_table *t, struct dvst_slot *me)
{
    uint32_t f = atomic_load(&me->rts_flags);
    if ((f & SENDING) && !(f & RMTOPER) && !me->px_cmd) {
        struct dvst_slot *dst;
        if (proc_lookup(t, me->dcid, me->sendto, &dst) == OK && !is_remote(dst))
            dst->nqueued--;
    }
    /* A remote call abandoned here may still complete on the peer node;
     * its late acknowledgement finds nobody waiting and is dropped. */
    me->px_cmd = 0;
    f &= ~RMTOPER;
    me->sendto = me->getfrom = me->waitmigr = NONE;
    me->misc_flags &= ~(MIS_SENDREC | MIS_RCVRQST);
    atomic_store(&me->rts_flags, f & ~BLOCKED_MASK);
}

/* A call that blocked is finished in one of two ways: the public calls
 * wait in proc_wait (finish); a caller of ipc_split.h waits on the
 * doorbell itself and then asks dvsi_check. Both collect the result the
 * same way. */

/* collect takes the result of a blocked call whose blocked bits cleared. */
static int
collect(struct dvsi_call *c)
{
    struct dvst_slot *me = c->b->slot;
    int rc = me->rcode;
    if (rc == OK && c->into)
        *c->into = me->msg;
    if (rc == OK && c->receive) {
        struct dvst_slot *from;
        if (proc_lookup(c->t, c->b->dcid, c->into->m_source, &from) == OK)
            c->b->last_peer = from;
    }
    return rc;
}

/* expire ends a blocked call whose deadline passed, unless the partner
 * made it just in time. */
static int
expire(struct dvsi_call *c)
{
    struct dvst_slot *me = c->b->slot;
    dvst_lock(c->t);
    if (atomic_load(&me->rts_flags) & BLOCKED_MASK) {
        cancel(c->t, me);
        dvst_unlock(c->t);
        return EMOLTIMEDOUT;
    }
    dvst_unlock(c->t);
    return collect(c);
}

/* finish waits for the partner and collects the result of a blocked call. */
static int
finish(struct dvsi_call *c)
{
    int rc = proc_wait(c->b, c->peer, c->has_dl ? &c->dl : NULL);
    if (rc == EMOLTIMEDOUT)
        return expire(c);
    return collect(c);
}

/* park records what the wait of a call that blocks needs (peer: the spin
 * hint; into: where the delivered message goes). */
static int
park(struct dvsi_call *c, struct dvst_slot *peer, message *into)
{
    c->peer = peer;
    c->into = into;
    return DVSI_PENDING;
}

/* park_migr parks the caller in WAITMIGR until dst_ep's migration is
 * committed or rolled back (lock held on entry, released). The wait ends
 * with EMOLMIGRATE, and the call is started again against the endpoint's
 * new (or old) location (settle), like the original's `goto send_replay`. */
static int
park_migr(struct dvsi_call *c, struct dvst_slot *me, int dst_ep)
{
    me->waitmigr = dst_ep;
    atomic_store_explicit(&me->rts_flags,
                          atomic_load(&me->rts_flags) | WAITMIGR,
                          memory_order_relaxed);
    dvst_unlock(c->t);
    return park(c, NULL, NULL);
}

/* migrating: is the destination in the middle of a migration? */
static int
migrating(const struct dvst_slot *dst)
{
    return atomic_load_explicit(&dst->rts_flags, memory_order_relaxed) &
           MIGRATING;
}

static int
resolve_self(struct binding *b, int ep)
{
    return ep == SELF ? b->ep : ep;
}

/* dst_slot resolves a destination and applies the common checks. */
static int
dst_slot(struct dvst_table *t, struct binding *b, int ep, int dead_code,
         struct dvst_slot **out)
{
    int rc = proc_lookup(t, b->dcid, ep, out);
    if (rc < 0)
        return rc;
    if (*out == b->slot)
        return EMOLENDPOINT;
    uint32_t f = atomic_load(&(*out)->rts_flags);
    if ((f & SLOT_FREE) || (*out)->endpoint != ep)
        return dead_code;
    return OK;
}

/* queue_remote hands the caller's call to the node's proxy: the caller
 * blocks (flags) until the peer node answers (lock held). */
static int
queue_remote(struct dvst_table *t, struct dvst_slot *me, struct dvst_slot *dst,
             const message *m, uint16_t cmd, uint32_t flags)
{
    if ((t->nodes[dst->nodeid].n_flags & NODE_UP) != NODE_UP)
        return EMOLNOTCONN;
    if (m)
        me->msg = *m;
    me->px_cmd = cmd;
    me->px_node = dst->nodeid;
    me->px_peer = dst->endpoint;
    me->sendto = dst->endpoint;
    me->sendseq = ++t->sendseq;
    me->rmtsent++;
    atomic_store_explicit(&me->rts_flags,
                          atomic_load(&me->rts_flags) | flags | RMTOPER,
                          memory_order_relaxed);
    dvst_px_note();
    return OK;
}

/* enter checks that the caller is bound in a running DC: with the calling
 * thread's binding (xb NULL) or an explicit one (ipc_split.h). */
static inline int
enter(struct dvsi_call *c, struct binding *xb)
{
    c->peer = NULL;
    c->into = NULL;
    c->receive = 0;
    c->has_dl = 0;
    if (xb) {
        c->b = xb;
        return proc_enter_binding(&c->t, xb);
    }
    return proc_enter(&c->t, &c->b);
}

/* begin_call checks what every message-passing call shares: the caller is
 * bound in a running DC, its message buffer exists, its timeout is valid
 * (turned into an absolute deadline). */
static int
begin_call(struct dvsi_call *c, struct binding *xb, const message *m,
           long to_ms)
{
    int rc = enter(c, xb);
    if (rc < 0)
        return rc;
    if (!m)
        return EMOLINVAL;
    return proc_deadline(to_ms, &c->dl, &c->has_dl);
}

/* The *_start functions do a call up to the point where it would block:
 * they return its result, or DVSI_PENDING with the caller parked in its
 * slot (blocked bits set, lock released) and c ready for finish or
 * dvsi_check. */
static int
send_start(struct dvsi_call *c, struct binding *xb, int dst_ep, message *m,
           long to_ms)
{
    int rc = begin_call(c, xb, m, to_ms);
    if (rc < 0)
        return rc;
    struct dvst_table *t = c->t;
    struct binding *b = c->b;
    struct dvst_slot *me = b->slot, *dst;
    dst_ep = resolve_self(b, dst_ep);
    dvst_lock(t);
    if ((rc = dst_slot(t, b, dst_ep, EMOLDSTDIED, &dst)) < 0)
        goto out;
    if (migrating(dst)) {
        if (to_ms == TIMEOUT_NOWAIT) {
            rc = EMOLAGAIN;
            goto out;
        }
        return park_migr(c, me, dst_ep);
    }
    if (is_remote(dst)) {
        if (to_ms == TIMEOUT_NOWAIT) {
            rc = EMOLAGAIN; /* a remote rendezvous always waits */
            goto out;
        }
        if ((rc = queue_remote(t, me, dst, m, CMD_SEND_MSG, SENDING)) < 0)
            goto out;
        dvst_unlock(t);
        return park(c, NULL, NULL);
    }
    if (dvsi_ready_for(dst, b->ep)) {
        TRACE_DELIVERY(t, DVST_OP_SEND, me, b->ep, dst, m);
        me->lclsent++;
        goto out;
    }
    if (to_ms == TIMEOUT_NOWAIT) {
        rc = EMOLAGAIN;
        goto out;
    }
    enqueue(t, me, dst, m, SENDING);
    dvst_unlock(t);
    return park(c, dst, NULL);
out:
    dvst_unlock(t);
    return rc;
}

static int
receive_start(struct dvsi_call *c, struct binding *xb, int src_ep,
              message *m, long to_ms, int rcvrqst)
{
    int rc = begin_call(c, xb, m, to_ms);
    if (rc < 0)
        return rc;
    struct dvst_table *t = c->t;
    struct binding *b = c->b;
    struct dvst_slot *me = b->slot, *src = NULL;
    src_ep = resolve_self(b, src_ep);
    dvst_lock(t);
    if (src_ep != ANY) {
        if ((rc = dst_slot(t, b, src_ep, EMOLSRCDIED, &src)) < 0)
            goto out;
    }
    if ((me->misc_flags & MIS_WOKENUP) && src_ep == ANY) {
        me->misc_flags &= ~MIS_WOKENUP;
        rc = EMOLWOKENUP;
        goto out;
    }
    /* Pending notifications go first; rcvrqst never looks at them. */
    if (!rcvrqst && dvsi_take_notify(t, me, src_ep, m))
        goto out;
    struct dvst_slot *s = dvsi_first_sender(t, me, src_ep);
    if (s) {
        if (DVST_TRACING(t))
            dvst_trace_msg(t, (atomic_load(&s->rts_flags) & RECEIVING) ? DVST_OP_SENDREC : DVST_OP_SEND, s, s->endpoint, me, s->msg.m_type, 1);
        dvsi_take(me, s, m);
        b->last_peer = s;
        goto out;
    }
    if (to_ms == TIMEOUT_NOWAIT) {
        rc = EMOLAGAIN;
        goto out;
    }
    me->getfrom = src_ep;
    if (rcvrqst)
        me->misc_flags |= MIS_RCVRQST;
    atomic_store_explicit(&me->rts_flags,
                          atomic_load(&me->rts_flags) | RECEIVING,
                          memory_order_relaxed);
    dvst_unlock(t);
    c->receive = 1;
    return park(c, src ? src : b->last_peer, m);
out:
    dvst_unlock(t);
    return rc;
}

static int
sendrec_start(struct dvsi_call *c, struct binding *xb, int dst_ep,
              message *m, long to_ms)
{
    int rc = begin_call(c, xb, m, to_ms);
    if (rc < 0)
        return rc;
    struct dvst_table *t = c->t;
    struct binding *b = c->b;
    struct dvst_slot *me = b->slot, *dst;
    dst_ep = resolve_self(b, dst_ep);
    dvst_lock(t);
    if ((rc = dst_slot(t, b, dst_ep, EMOLDEADSRCDST, &dst)) < 0)
        goto out;
    if (migrating(dst)) {
        if (to_ms == TIMEOUT_NOWAIT) {
            rc = EMOLAGAIN;
            goto out;
        }
        return park_migr(c, me, dst_ep);
    }
    if (is_remote(dst)) {
        /* No acknowledgement for a remote sendrec: the reply is one. */
        if (to_ms == TIMEOUT_NOWAIT) {
            rc = EMOLAGAIN;
            goto out;
        }
        if ((rc = queue_remote(t, me, dst, m, CMD_SNDREC_MSG,
                               SENDING | RECEIVING)) < 0)
            goto out;
        me->getfrom = dst_ep;
        me->misc_flags |= MIS_SENDREC;
        dvst_unlock(t);
        return park(c, NULL, m);
    }
    uint32_t flags = RECEIVING;
    if (dvsi_ready_for(dst, b->ep)) {
        TRACE_DELIVERY(t, DVST_OP_SENDREC, me, b->ep, dst, m);
        me->lclsent++;
    } else if (to_ms == TIMEOUT_NOWAIT) {
        rc = EMOLAGAIN;
        goto out;
    } else {
        flags |= SENDING;
        enqueue(t, me, dst, m, 0);
    }
    if (to_ms == TIMEOUT_NOWAIT) {
        /* The request went out but the reply cannot be there yet. */
        rc = EMOLAGAIN;
        goto out;
    }
    me->getfrom = dst_ep;
    me->misc_flags |= MIS_SENDREC;
    atomic_store_explicit(&me->rts_flags, atomic_load(&me->rts_flags) | flags,
                          memory_order_relaxed);
    dvst_unlock(t);
    return park(c, dst, m);
out:
    dvst_unlock(t);
    return rc;
}

static int
reply_start(struct dvsi_call *c, struct binding *xb, int dst_ep, message *m)
{
    int rc = enter(c, xb);
    if (rc < 0)
        return rc;
    if (!m)
        return EMOLINVAL;
    struct dvst_table *t = c->t;
    struct binding *b = c->b;
    struct dvst_slot *me = b->slot, *dst;
    dst_ep = resolve_self(b, dst_ep);
    dvst_lock(t);
    if ((rc = dst_slot(t, b, dst_ep, EMOLDSTDIED, &dst)) < 0)
        goto out;
    /* reply never blocks: the client must be parked in the receive half
     * of a sendrec to us (SPEC §2), not merely receiving from us. */
    uint32_t f = atomic_load(&dst->rts_flags);
    if (!(f & RECEIVING) || (f & SENDING) || dst->getfrom != b->ep ||
        !(dst->misc_flags & MIS_SENDREC)) {
        rc = EMOLPROCSTS;
        goto out;
    }
    if (is_remote(dst)) {
        /* The client's node delivers it and acknowledges: like the
         * original, a remote reply returns only then. */
        atomic_store(&dst->rts_flags, f & ~RECEIVING);
        dst->getfrom = NONE;
        dst->misc_flags &= ~MIS_SENDREC;
        if ((rc = queue_remote(t, me, dst, m, CMD_REPLY_MSG, SENDING)) < 0)
            goto out;
        dvst_unlock(t);
        return park(c, NULL, NULL);
    }
    TRACE_DELIVERY(t, DVST_OP_REPLY, me, b->ep, dst, m);
    me->lclsent++;
out:
    dvst_unlock(t);
    return rc;
}

static int
notify_start(struct dvsi_call *c, struct binding *xb, int src_nr_override,
             int dst_ep, long value)
{
    int rc = enter(c, xb);
    if (rc < 0)
        return rc;
    struct dvst_table *t = c->t;
    struct binding *b = c->b;
    struct dvst_slot *me = b->slot, *dst, *from = me;
    const dc_usr_t *dc = &t->dcs[b->dcid].usr;
    dst_ep = resolve_self(b, dst_ep);
    dvst_lock(t);
    if (src_nr_override != SELF) {
        /* mnx_ntfy_value names the notifying system slot explicitly. */
        if (src_nr_override < -dc->dc_nr_tasks ||
            src_nr_override >= dc->dc_nr_procs) {
            rc = EMOLRANGE;
            goto out;
        }
        from = dvst_slot(t, b->dcid, src_nr_override);
        if (atomic_load(&from->rts_flags) & SLOT_FREE) {
            rc = EMOLSRCDIED;
            goto out;
        }
    }
    int bit = dvsi_notify_bit(dc, from->nr);
    if (bit < 0 || dvsi_notify_bit(dc, me->nr) < 0) {
        rc = EMOLPRIVILEGES; /* only system processes notify */
        goto out;
    }
    if ((rc = dst_slot(t, b, dst_ep, EMOLDSTDIED, &dst)) < 0)
        goto out;
    if (dst == from) {
        rc = EMOLENDPOINT;
        goto out;
    }
    if (migrating(dst))
        return park_migr(c, me, dst_ep); /* its pending bits would stay
                                            * behind on the old home */
    if (is_remote(dst)) {
        /* Fire and forget: released once the proxy has taken it. */
        message n;
        dvsi_build_notify(&n, from->endpoint, from->nr, value);
        if ((rc = queue_remote(t, me, dst, &n, CMD_NTFY_MSG, SENDING)) < 0)
            goto out;
        dvst_unlock(t);
        return park(c, NULL, NULL);
    }
    if (dvsi_ready_for(dst, from->endpoint) &&
        !(dst->misc_flags & (MIS_RCVRQST | MIS_SENDREC))) {
        message n;
        dvsi_build_notify(&n, from->endpoint, from->nr, value | dst->ntfy_value);
        dst->ntfy_value = 0;
        if (DVST_TRACING(t))
            dvst_trace_msg(t, DVST_OP_NOTIFY, from, from->endpoint, dst, n.m_type, 0);
        dvsi_deliver(dst, &n, from->endpoint);
        me->lclsent++;
        goto out;
    }
    if (dvsi_notify_bit(dc, dst->nr) < 0) {
        rc = EMOLPRIVILEGES; /* no pending bitmap for user slots */
        goto out;
    }
    /* Repeats coalesce in the bit until the destination receives. */
    dst->notify_pending[bit / 64] |= 1ULL << (bit % 64);
    dst->ntfy_value |= value;
    me->lclsent++;
out:
    dvst_unlock(t);
    return rc;
}

/* A call is replayed after each migration of its destination, and after
 * each EMOLMIGRATE refusal of a node the endpoint has left. Nodes that
 * disagree forever on where an endpoint is (a migration that did not run
 * on every node) would bounce a call endlessly: after this many replays
 * the caller gets EMOLMIGRATE. */
#define MAX_REPLAYS 64

/* start runs the *_start function of c's call (again, for a replay). */
static int
start(struct dvsi_call *c, long to_ms)
{
    switch (c->op) {
    case DVSI_SEND: return send_start(c, c->xb, c->ep, c->m, to_ms);
    case DVSI_RECEIVE: return receive_start(c, c->xb, c->ep, c->m, to_ms, 0);
    case DVSI_SENDREC: return sendrec_start(c, c->xb, c->ep, c->m, to_ms);
    case DVSI_RCVRQST: return receive_start(c, c->xb, ANY, c->m, to_ms, 1);
    case DVSI_REPLY: return reply_start(c, c->xb, c->ep, c->m);
    case DVSI_NOTIFY:
        return notify_start(c, c->xb, c->ntfy_src, c->ep, c->ntfy_value);
    }
    return EMOLBADCALL;
}

/* begin records a call in c and starts it. */
static int
begin(struct dvsi_call *c, struct binding *xb, int op, int ep, message *m,
      long to_ms, int ntfy_src, long ntfy_value)
{
    c->b = NULL;
    c->xb = xb;
    c->op = op;
    c->ep = op == DVSI_RCVRQST ? ANY : ep;
    c->m = m;
    c->ntfy_src = ntfy_src;
    c->ntfy_value = ntfy_value;
    c->replays = 0;
    return start(c, to_ms);
}

static int expired(const struct dvsi_call *c);

/* settle turns a call's result into its final one. EMOLMIGRATE says that
 * the destination migrated (or its migration was rolled back) while the
 * caller waited: the call starts again against the endpoint's current
 * location, within the original deadline (m still holds the request: only
 * a reply overwrites it). With wait, a call that blocks is waited for in
 * proc_wait (the public calls); without, DVSI_PENDING is returned
 * (ipc_split.h). */
static int
settle(struct dvsi_call *c, int rc, int wait)
{
    for (;;) {
        if (rc == DVSI_PENDING) {
            if (!wait)
                return rc;
            rc = finish(c);
        }
        if (rc != EMOLMIGRATE || ++c->replays >= MAX_REPLAYS)
            return rc;
        long to_ms = TIMEOUT_FOREVER;
        if (c->has_dl) {
            if (expired(c))
                return EMOLTIMEDOUT;
            to_ms = dvsi_remaining_ms(c);
        }
        rc = start(c, to_ms);
    }
}

/* The blocking calls: start, then wait in proc_wait if needed. */
#define RUN(op, ep, m, to, nsrc, nvalue)                                  \
    __extension__({                                                       \
        struct dvsi_call _c;                                              \
        settle(&_c, begin(&_c, NULL, op, ep, m, to, nsrc, nvalue), 1);    \
    })
#define do_send(dst, m, to) RUN(DVSI_SEND, dst, m, to, SELF, 0)
#define do_receive(src, m, to, rq) \
    RUN((rq) ? DVSI_RCVRQST : DVSI_RECEIVE, src, m, to, SELF, 0)
#define do_sendrec(dst, m, to) RUN(DVSI_SENDREC, dst, m, to, SELF, 0)
#define do_reply(dst, m) RUN(DVSI_REPLY, dst, m, TIMEOUT_FOREVER, SELF, 0)
#define do_notify(src_nr, dst, value) \
    RUN(DVSI_NOTIFY, dst, NULL, TIMEOUT_FOREVER, src_nr, value)

/* ---- ipc_split.h ---- */

static int
trace_call(int op, long to_ms)
{
    int timed = to_ms != TIMEOUT_FOREVER;
    switch (op) {
    case DVSI_SEND: return timed ? DVST_CALL_SEND_T : DVST_CALL_SEND;
    case DVSI_RECEIVE: return timed ? DVST_CALL_RECEIVE_T : DVST_CALL_RECEIVE;
    case DVSI_SENDREC: return timed ? DVST_CALL_SENDREC_T : DVST_CALL_SENDREC;
    case DVSI_RCVRQST: return timed ? DVST_CALL_RCVRQST_T : DVST_CALL_RCVRQST;
    case DVSI_REPLY: return timed ? DVST_CALL_REPLY_T : DVST_CALL_REPLY;
    default: return DVST_CALL_NOTIFY;
    }
}

/* done records a failure in the trace, as DVST_TRACE_RET does for the
 * public calls. */
static int
done(struct dvsi_call *c, int rc)
{
    if (__builtin_expect(rc < 0, 0))
        dvst_trace_fail_as(c->b && c->b->slot ? c->b : NULL, c->call,
                           c->ep, rc);
    return rc;
}

int
dvsi_start(struct dvsi_call *c, struct binding *b, int op, int ep,
           message *m, long to_ms)
{
    if (op < DVSI_SEND || op > DVSI_NOTIFY)
        return EMOLBADCALL;
    int rc = begin(c, b, op, ep, m, to_ms, SELF, 0);
    c->call = trace_call(op, to_ms);
    rc = settle(c, rc, 0);
    return rc == DVSI_PENDING ? rc : done(c, rc);
}

_Atomic uint32_t *
dvsi_doorbell(const struct dvsi_call *c)
{
    return &c->b->slot->wake;
}

int
dvsi_arm(struct dvsi_call *c, uint32_t *val)
{
    return proc_wait_arm(c->b->slot, val);
}

void
dvsi_disarm(struct dvsi_call *c)
{
    proc_wait_disarm(c->b->slot);
}

static int
expired(const struct dvsi_call *c)
{
    if (!c->has_dl)
        return 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > c->dl.tv_sec ||
           (now.tv_sec == c->dl.tv_sec && now.tv_nsec >= c->dl.tv_nsec);
}

int
dvsi_check(struct dvsi_call *c)
{
    int rc;
    if (atomic_load_explicit(&c->b->slot->rts_flags, memory_order_acquire) &
        BLOCKED_MASK) {
        if (!expired(c))
            return DVSI_PENDING;
        rc = expire(c);
    } else {
        rc = collect(c);
    }
    rc = settle(c, rc, 0);
    return rc == DVSI_PENDING ? rc : done(c, rc);
}

int
dvsi_wait(struct dvsi_call *c)
{
    return done(c, settle(c, DVSI_PENDING, 1));
}

long
dvsi_remaining_ms(const struct dvsi_call *c)
{
    if (!c->has_dl)
        return -1;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ns = (c->dl.tv_sec - now.tv_sec) * 1000000000L +
              (c->dl.tv_nsec - now.tv_nsec);
    return ns <= 0 ? 0 : (ns + 999999) / 1000000;
}

#define TR DVST_TRACE_RET
int mnx_send(int dst, message *m)
{
    return TR(DVST_CALL_SEND, dst, do_send(dst, m, TIMEOUT_FOREVER));
}
int mnx_send_T(int dst, message *m, long to)
{
    return TR(DVST_CALL_SEND_T, dst, do_send(dst, m, to));
}
int mnx_receive(int src, message *m)
{
    return TR(DVST_CALL_RECEIVE, src, do_receive(src, m, TIMEOUT_FOREVER, 0));
}
int mnx_receive_T(int src, message *m, long to)
{
    return TR(DVST_CALL_RECEIVE_T, src, do_receive(src, m, to, 0));
}
int mnx_rcvrqst(message *m)
{
    return TR(DVST_CALL_RCVRQST, ANY, do_receive(ANY, m, TIMEOUT_FOREVER, 1));
}
int mnx_rcvrqst_T(message *m, long to)
{
    return TR(DVST_CALL_RCVRQST_T, ANY, do_receive(ANY, m, to, 1));
}
int mnx_sendrec(int ep, message *m)
{
    return TR(DVST_CALL_SENDREC, ep, do_sendrec(ep, m, TIMEOUT_FOREVER));
}
int mnx_sendrec_T(int ep, message *m, long to)
{
    return TR(DVST_CALL_SENDREC_T, ep, do_sendrec(ep, m, to));
}
int mnx_reply(int dst, message *m)
{
    return TR(DVST_CALL_REPLY, dst, do_reply(dst, m));
}
int mnx_reply_T(int dst, message *m, long to)
{
    /* A local reply never blocks, so the timeout only guards remote
     * replies (acknowledged by the peer node). */
    (void)to;
    return TR(DVST_CALL_REPLY_T, dst, do_reply(dst, m));
}
int mnx_notify(int dst)
{
    return TR(DVST_CALL_NOTIFY, dst, do_notify(SELF, dst, 0));
}
int mnx_ntfy_value(int src_nr, int dst, long value)
{
    return TR(DVST_CALL_NTFY_VALUE, dst, do_notify(src_nr, dst, value));
}

int
mnx_wakeup(int dcid, int ep)
{
    struct dvst_table *t;
    struct dvst_slot *s;
    int rc = proc_dc(dcid, &t);
    if (rc < 0)
        return rc;
    rc = proc_lookup(t, dcid, ep, &s);
    if (rc < 0)
        return rc;
    dvst_lock(t);
    uint32_t f = atomic_load(&s->rts_flags);
    if ((f & SLOT_FREE) || s->endpoint != ep)
        rc = EMOLNOTBIND;
    else if (f & REMOTE)
        rc = EMOLRMTPROC;
    else if (s->tid == gettid())
        rc = EMOLBADPROC;
    else if ((f & RECEIVING) && !(f & SENDING) && s->getfrom == ANY)
        dvst_end_wait(s, EMOLWOKENUP);
    else
        s->misc_flags |= MIS_WOKENUP;
    dvst_unlock(t);
    return rc;
}
