/*
 * remote.c - the proxy's side of remote IPC (see remote.h).
 *
 * A remote endpoint is a REMOTE slot (declared by rmtbind, or made on the
 * fly for an unknown remote sender: the original's auto-bind). A message
 * from a remote sender is parked in that surrogate exactly like a local
 * queued sender, so receive() needs no special case; when it is taken, the
 * surrogate owes its node a SEND_ACK, which keeps send a rendezvous across
 * nodes.
 */
#define _GNU_SOURCE
#include "remote.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "ipc_internal.h"
#include "trace.h"

static int
in_range(struct dvst_table *t, int dc, int ep)
{
    const dc_usr_t *u = &t->dcs[dc].usr;
    int p = _ENDPOINT_P(ep);
    return ep != ANY && ep != NONE && ep != SELF && p >= -u->dc_nr_tasks &&
           p < u->dc_nr_procs;
}

static struct dvst_slot *
slot_of(struct dvst_table *t, int dc, int ep)
{
    return dvst_slot(t, dc, _ENDPOINT_P(ep));
}

static uint32_t
flags_of(struct dvst_slot *s)
{
    return atomic_load_explicit(&s->rts_flags, memory_order_relaxed);
}

static void
set_flags(struct dvst_slot *s, uint32_t f)
{
    atomic_store_explicit(&s->rts_flags, f, memory_order_release);
}

/* end_local ends a local owner's remote wait with code. */
static void
end_local(struct dvst_slot *s, int code)
{
    s->px_cmd = 0;
    set_flags(s, flags_of(s) & ~RMTOPER);
    dvst_end_wait(s, code);
}

static int
link_up(struct dvst_table *t, int node)
{
    return (t->nodes[node].n_flags & NODE_UP) == NODE_UP;
}

int
dvsr_collect(struct dvst_table *t, struct px_out *out, int max)
{
    int n = 0, me = t->dvs.d_nodeid;
    for (int dc = 0; dc < NR_DCS; dc++) {
        if (!t->dcs[dc].running)
            continue;
        /* Only the DC's own slots: scanning all DVST_SLOTS (1088 cache
         * lines) on every wake-up cost microseconds under the lock. */
        const dc_usr_t *u = &t->dcs[dc].usr;
        for (int p = -u->dc_nr_tasks; p < u->dc_nr_procs && n < max; p++) {
            struct dvst_slot *s = dvst_slot(t, dc, p);
            uint32_t f = flags_of(s);
            if (!(f & RMTOPER))
                continue;
            int remote = f & REMOTE; /* a surrogate owing an ack */
            if (!link_up(t, s->px_node)) {
                if (remote) {
                    s->px_cmd = 0;
                    set_flags(s, f & ~RMTOPER);
                } else {
                    end_local(s, EMOLNOTCONN);
                }
                continue;
            }
            struct px_out *o = &out[n++];
            memset(o, 0, sizeof(*o));
            o->order = s->sendseq;
            struct wire_frame *w = &o->f;
            w->cmd = s->px_cmd;
            w->dcid = dc;
            w->snode = me;
            w->dnode = s->px_node;
            w->seq = s->sendseq;
            w->lamport = t->trace_clock;
            if (remote) {
                w->src = s->px_from;
                w->dst = s->px_peer;
                w->rcode = s->px_rcode;
                s->px_cmd = 0;
                set_flags(s, f & ~RMTOPER);
                continue;
            }
            w->src = s->endpoint;
            w->dst = s->px_peer;
            w->msg = s->msg;
            w->msg.m_source = s->endpoint;
            if (w->cmd == CMD_COPYIN_DATA || w->cmd == CMD_COPYOUT_RQST) {
                w->v_rqtr = s->endpoint;
                w->v_bytes = s->vc_bytes;
                w->v_saddr = s->vc_saddr;
                w->v_daddr = s->vc_daddr;
                w->src = s->vc_src;
                w->dst = s->vc_dst;
                if (w->cmd == CMD_COPYIN_DATA) {
                    o->read_pid = s->lpid; /* our own memory goes out */
                    o->read_addr = s->vc_saddr;
                    o->read_len = s->vc_bytes;
                }
            }
            set_flags(s, f & ~RMTOPER);
            if (w->cmd == CMD_NTFY_MSG) {
                /* notify: the caller is released once the proxy has it. */
                s->px_cmd = 0;
                dvst_end_wait(s, OK);
            }
        }
    }
    /* Commands leave in the order they were issued. */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && out[j - 1].order > out[j].order; j--) {
            struct px_out tmp = out[j];
            out[j] = out[j - 1];
            out[j - 1] = tmp;
        }
    return n;
}

static struct px_out *
reply_to(const struct wire_frame *f, struct px_out *out, int *n, int max,
         uint16_t cmd, int rcode)
{
    if (*n >= max)
        return NULL;
    struct px_out *o = &out[(*n)++];
    memset(o, 0, sizeof(*o));
    o->f.cmd = cmd;
    o->f.dcid = f->dcid;
    o->f.src = f->dst;
    o->f.dst = f->src;
    o->f.snode = f->dnode;
    o->f.dnode = f->snode;
    o->f.rcode = rcode;
    o->f.seq = f->seq;
    return o;
}

/* surrogate finds (or auto-binds) the REMOTE slot standing for src of
 * node snode; NULL if that endpoint is somebody else here. */
static struct dvst_slot *
surrogate(struct dvst_table *t, int dc, int src, int snode)
{
    struct dvst_slot *s = slot_of(t, dc, src);
    uint32_t f = flags_of(s);
    if (f & SLOT_FREE) {
        /* The original's auto-bind of an unknown remote sender. */
        s->endpoint = src;
        s->lpid = s->tid = PROC_NO_PID;
        s->nodeid = snode;
        s->getfrom = s->sendto = NONE;
        s->misc_flags = 0;
        s->nqueued = 0;
        memset(s->name, 0, sizeof(s->name));
        memcpy(s->name, "rclient", 8);
        s->bind_gen++;
        set_flags(s, REMOTE);
        return s;
    }
    if ((f & REMOTE) && s->nodeid == snode && s->endpoint == src)
        return s;
    return NULL;
}

static int
local_party(struct dvst_table *t, int dc, int ep, int dead,
            struct dvst_slot **out)
{
    if (!in_range(t, dc, ep))
        return EMOLRANGE;
    struct dvst_slot *s = slot_of(t, dc, ep);
    uint32_t f = flags_of(s);
    if ((f & SLOT_FREE) || s->endpoint != ep)
        return dead;
    if (f & REMOTE)
        return EMOLRMTPROC;
    *out = s;
    return OK;
}

/* sits_still: may a remote requester copy from/to p? It must be blocked
 * receiving; a remote sendrec keeps SENDING until its reply (no ack), so
 * a sendrec caller counts too. */
static int
sits_still(struct dvst_slot *p)
{
    uint32_t f = flags_of(p);
    return (f & RECEIVING) && (!(f & SENDING) || (p->misc_flags & MIS_SENDREC));
}

static int
copy_mem(pid_t pid, int write, uint64_t addr, const void *buf, size_t n,
         int dead)
{
    struct iovec l = {(void *)buf, n}, r = {(void *)(uintptr_t)addr, n};
    ssize_t k = write ? process_vm_writev(pid, &l, 1, &r, 1, 0)
                      : process_vm_readv(pid, &l, 1, &r, 1, 0);
    if (k == (ssize_t)n)
        return OK;
    if (k < 0 && errno == ESRCH)
        return dead;
    return EMOLMSGSIZE;
}

/* forget_abandoned: a node's endpoint makes one call at a time, so a new
 * message from it means its previous call here was abandoned (a timeout
 * on its node). If that call's request was never taken (parked in
 * WAITMIGR, or still queued) it is dropped, instead of refusing the new
 * one with EMOLBUSY until the old one would have been released. A request
 * already taken (the surrogate awaits the reply) stays: the new call
 * would otherwise get the old reply. */
static void
forget_abandoned(struct dvst_table *t, int dc, struct dvst_slot *sur)
{
    uint32_t f = flags_of(sur);
    if (f & WAITMIGR) {
        sur->waitmigr = NONE;
        set_flags(sur, f & ~WAITMIGR);
    } else if (f & SENDING) {
        if (in_range(t, dc, sur->sendto))
            slot_of(t, dc, sur->sendto)->nqueued--;
        sur->getfrom = sur->sendto = NONE;
        sur->misc_flags &= ~MIS_SENDREC;
        set_flags(sur, f & ~BLOCKED_MASK);
    }
}

/* arrive_migrating handles a message for an endpoint that is migrating
 * or has left this node; returns 0 if it is neither. A migrating one parks
 * the message's surrogate in WAITMIGR: the commit (or rollback) answers it
 * with EMOLMIGRATE, which makes the sender's node replay the call where
 * the endpoint is then. One that has left is refused the same way. */
static int
arrive_migrating(struct dvst_table *t, const struct wire_frame *f,
                 struct px_out *out, int *n, int max)
{
    if (!in_range(t, f->dcid, f->dst) || !in_range(t, f->dcid, f->src))
        return 0;
    struct dvst_slot *x = slot_of(t, f->dcid, f->dst), *sur;
    uint32_t xf = flags_of(x);
    if ((xf & SLOT_FREE) || x->endpoint != f->dst ||
        !(xf & (MIGRATING | REMOTE)))
        return 0;
    int rc = EMOLMIGRATE;
    if (xf & MIGRATING) {
        if (!(sur = surrogate(t, f->dcid, f->src, f->snode)))
            rc = EMOLENDPOINT;
        else if (forget_abandoned(t, f->dcid, sur), flags_of(sur) & BLOCKED_MASK)
            rc = EMOLBUSY;
        else {
            sur->waitmigr = f->dst;
            set_flags(sur, flags_of(sur) | WAITMIGR);
            return 1;
        }
    }
    reply_to(f, out, n, max, CMD_SEND_ACK, rc);
    return 1;
}

static void
arrive_message(struct dvst_table *t, const struct wire_frame *f,
               struct px_out *out, int *n, int max)
{
    int sndrec = f->cmd == CMD_SNDREC_MSG;
    struct dvst_slot *dst, *sur;
    if (arrive_migrating(t, f, out, n, max))
        return;
    int rc = local_party(t, f->dcid, f->dst, sndrec ? EMOLDEADSRCDST : EMOLDSTDIED,
                         &dst);
    if (rc == OK && !in_range(t, f->dcid, f->src))
        rc = EMOLRANGE;
    if (rc == OK && !(sur = surrogate(t, f->dcid, f->src, f->snode)))
        rc = EMOLENDPOINT;
    if (rc == OK)
        forget_abandoned(t, f->dcid, sur);
    if (rc == OK && (flags_of(sur) & BLOCKED_MASK))
        rc = EMOLBUSY; /* its previous call awaits its reply here */
    if (rc < 0) {
        reply_to(f, out, n, max, CMD_SEND_ACK, rc);
        return;
    }
    if (dvsi_ready_for(dst, f->src)) {
        if (DVST_TRACING(t))
            dvst_trace_msg(t, sndrec ? DVST_OP_SENDREC : DVST_OP_SEND, sur,
                           f->src, dst, f->msg.m_type, 2);
        dvsi_deliver(dst, &f->msg, f->src);
        if (sndrec) {
            sur->getfrom = f->dst;
            sur->misc_flags |= MIS_SENDREC;
            set_flags(sur, flags_of(sur) | RECEIVING);
        } else {
            reply_to(f, out, n, max, CMD_SEND_ACK, OK);
        }
        return;
    }
    /* Park it in the surrogate, queued like a local sender. */
    sur->msg = f->msg;
    sur->sendto = f->dst;
    sur->sendseq = ++t->sendseq;
    dst->nqueued++;
    uint32_t fl = SENDING;
    if (sndrec) {
        fl |= RECEIVING;
        sur->getfrom = f->dst;
        sur->misc_flags |= MIS_SENDREC;
    }
    set_flags(sur, flags_of(sur) | fl);
}

/* arrive_bkup_gone: node f->snode's standby of f->dst died (its own
 * daemon saw it through the pidfd). Only that node's bit is cleared: the
 * proxy checked that snode is the authenticated peer the frame came from,
 * so a node cannot withdraw another node's standby. A takeover started
 * meanwhile reads bkup_nodes when it picks the winner (backup.c), so it
 * no longer picks that node. */
static void
arrive_bkup_gone(struct dvst_table *t, const struct wire_frame *f)
{
    if (f->snode == t->dvs.d_nodeid || !in_range(t, f->dcid, f->dst))
        return;
    struct dvst_slot *s = slot_of(t, f->dcid, f->dst);
    if ((flags_of(s) & SLOT_FREE) || s->endpoint != f->dst)
        return;
    s->bkup_nodes &= ~(1u << f->snode);
}

/* arrive_bkup_reset: node f->snode's daemon has just started, so none of
 * the standbys we counted on there lives any more (its predecessor could
 * not announce their deaths). Only that node's bit is cleared. */
static void
arrive_bkup_reset(struct dvst_table *t, const struct wire_frame *f)
{
    if (f->snode == t->dvs.d_nodeid)
        return;
    uint32_t bit = 1u << f->snode;
    for (int dc = 0; dc < NR_DCS; dc++) {
        if (!t->dcs[dc].running)
            continue;
        for (int i = 0; i < DVST_SLOTS; i++)
            t->slots[dc][i].bkup_nodes &= ~bit;
    }
}

static void
arrive_notify(struct dvst_table *t, const struct wire_frame *f)
{
    struct dvst_slot *dst, *sur;
    if (local_party(t, f->dcid, f->dst, EMOLDSTDIED, &dst) < 0 ||
        !in_range(t, f->dcid, f->src) ||
        !(sur = surrogate(t, f->dcid, f->src, f->snode)))
        return; /* fire and forget: nobody to tell */
    const dc_usr_t *dc = &t->dcs[f->dcid].usr;
    int bit = dvsi_notify_bit(dc, sur->nr);
    if (bit < 0)
        return;
    if (dvsi_ready_for(dst, f->src) &&
        !(dst->misc_flags & (MIS_RCVRQST | MIS_SENDREC))) {
        message m;
        dvsi_build_notify(&m, f->src, sur->nr, f->msg.m9_l1 | dst->ntfy_value);
        dst->ntfy_value = 0;
        if (DVST_TRACING(t))
            dvst_trace_msg(t, DVST_OP_NOTIFY, sur, f->src, dst, m.m_type, 2);
        dvsi_deliver(dst, &m, f->src);
    } else if (dvsi_notify_bit(dc, dst->nr) >= 0) {
        dst->notify_pending[bit / 64] |= 1ULL << (bit % 64);
        dst->ntfy_value |= f->msg.m9_l1;
    }
}

/* waits_on: is local s blocked on a remote call to/from ep? */
static int
waits_on(struct dvst_slot *s, int ep)
{
    uint32_t f = flags_of(s);
    return ((f & SENDING) && s->sendto == ep) ||
           ((f & RECEIVING) && s->getfrom == ep);
}

static void
arrive_reply(struct dvst_table *t, const struct wire_frame *f,
             struct px_out *out, int *n, int max)
{
    struct dvst_slot *a;
    int rc = local_party(t, f->dcid, f->dst, EMOLDSTDIED, &a);
    if (rc == OK) {
        uint32_t fl = flags_of(a);
        if ((fl & RECEIVING) && a->getfrom == f->src &&
            (a->misc_flags & MIS_SENDREC)) {
            /* The reply also completes the send half. */
            a->px_cmd = 0;
            set_flags(a, fl & ~(SENDING | RMTOPER));
            if (DVST_TRACING(t))
                dvst_trace_msg(t, DVST_OP_REPLY, slot_of(t, f->dcid, f->src),
                               f->src, a, f->msg.m_type, 2);
            dvsi_deliver(a, &f->msg, f->src);
        } else {
            rc = EMOLPROCSTS;
        }
    }
    reply_to(f, out, n, max, CMD_REPLY_ACK, rc);
}

static void
arrive_ack(struct dvst_table *t, const struct wire_frame *f)
{
    struct dvst_slot *a;
    if (local_party(t, f->dcid, f->dst, EMOLDSTDIED, &a) < 0 ||
        !waits_on(a, f->src))
        return; /* it gave up (timeout) or died: nothing to do */
    uint32_t fl = flags_of(a);
    if (f->rcode < 0) {
        end_local(a, f->rcode);
    } else if (f->cmd == CMD_SEND_ACK && (fl & RECEIVING) &&
               (a->misc_flags & MIS_SENDREC)) {
        set_flags(a, fl & ~SENDING); /* sendrec: now wait for the reply */
    } else if (fl & SENDING) {
        a->px_cmd = 0;
        a->lclsent++;
        dvst_end_wait(a, OK);
    }
}

static void
arrive_copy(struct dvst_table *t, const struct wire_frame *f,
            const unsigned char *payload, struct px_out *out, int *n, int max)
{
    struct dvst_slot *p = NULL;
    int rc;
    switch (f->cmd) {
    case CMD_COPYOUT_RQST: {
        /* Read our local source (f->src) for the remote requester. */
        rc = local_party(t, f->dcid, f->src, EMOLSRCDIED, &p);
        if (rc == OK && !sits_still(p))
            rc = EMOLPROCSTS;
        struct px_out *o = reply_to(f, out, n, max, CMD_COPYOUT_DATA, rc);
        if (!o)
            return;
        o->f.src = f->src;
        o->f.dst = f->v_rqtr;
        o->f.v_rqtr = f->v_rqtr;
        o->f.v_bytes = f->v_bytes;
        o->f.v_saddr = f->v_saddr;
        o->f.v_daddr = f->v_daddr;
        o->f.flags = WF_LAST;
        if (rc == OK && f->v_bytes > 0) {
            o->read_pid = p->lpid;
            o->read_addr = f->v_saddr;
            o->read_len = f->v_bytes;
        }
        return;
    }
    case CMD_COPYIN_DATA:
        /* Data for our local destination (f->dst). */
        rc = local_party(t, f->dcid, f->dst, EMOLDSTDIED, &p);
        if (rc == OK && !sits_still(p))
            rc = EMOLPROCSTS;
        if (rc == OK && f->rcode < 0)
            rc = f->rcode;
        if (rc == OK && f->len)
            rc = copy_mem(p->lpid, 1, f->v_daddr + f->v_offset, payload, f->len,
                          EMOLDSTDIED);
        if (rc < 0 || (f->flags & WF_LAST)) {
            struct px_out *o = reply_to(f, out, n, max, CMD_COPYIN_ACK, rc);
            if (o) {
                o->f.dst = f->v_rqtr;
                o->f.v_rqtr = f->v_rqtr;
            }
        }
        return;
    case CMD_COPYOUT_DATA:
    case CMD_COPYIN_ACK: {
        /* For our requester (v_rqtr): data to write, or the end. */
        if (local_party(t, f->dcid, f->v_rqtr, EMOLDSTDIED, &p) < 0)
            return;
        uint32_t fl = flags_of(p);
        if (!(fl & SENDING) || p->px_cmd == 0)
            return;
        rc = f->rcode;
        if (rc == OK && f->cmd == CMD_COPYOUT_DATA && f->len)
            rc = copy_mem(p->lpid, 1, f->v_daddr + f->v_offset, payload, f->len,
                          EMOLDSTDIED);
        if (rc < 0 || (f->flags & WF_LAST) || f->cmd == CMD_COPYIN_ACK) {
            if (rc == OK)
                p->rmtcopy++;
            end_local(p, rc);
        }
        return;
    }
    }
}

int
dvsr_arrive(struct dvst_table *t, const struct wire_frame *f,
            const unsigned char *payload, struct px_out *out, int max)
{
    int n = 0;
    if (!t->dcs[f->dcid].running || f->dnode != t->dvs.d_nodeid) {
        if (f->cmd == CMD_SEND_MSG || f->cmd == CMD_SNDREC_MSG)
            reply_to(f, out, &n, max, CMD_SEND_ACK, EMOLDCNOTRUN);
        return n;
    }
    t->nodes[f->snode].n_pxrcvd++;
    dvst_trace_merge_clock(t, f->lamport); /* causal order across nodes */
    switch (f->cmd) {
    case CMD_SEND_MSG:
    case CMD_SNDREC_MSG:
        arrive_message(t, f, out, &n, max);
        break;
    case CMD_NTFY_MSG:
        arrive_notify(t, f);
        break;
    case CMD_REPLY_MSG:
        arrive_reply(t, f, out, &n, max);
        break;
    case CMD_SEND_ACK:
    case CMD_REPLY_ACK:
        arrive_ack(t, f);
        break;
    case CMD_COPYOUT_RQST:
    case CMD_COPYIN_DATA:
    case CMD_COPYOUT_DATA:
    case CMD_COPYIN_ACK:
        arrive_copy(t, f, payload, out, &n, max);
        break;
    case CMD_BKUP_GONE:
        arrive_bkup_gone(t, f);
        break;
    case CMD_BKUP_RESET:
        arrive_bkup_reset(t, f);
        break;
    default:
        break;
    }
    return n;
}

void
dvsr_link_down(struct dvst_table *t, int node)
{
    for (int dc = 0; dc < NR_DCS; dc++) {
        if (!t->dcs[dc].running)
            continue;
        const dc_usr_t *u = &t->dcs[dc].usr;
        for (int p = -u->dc_nr_tasks; p < u->dc_nr_procs; p++) {
            struct dvst_slot *s = dvst_slot(t, dc, p);
            uint32_t f = flags_of(s);
            if ((f & SLOT_FREE) || !(f & (BLOCKED_MASK | RMTOPER)))
                continue;
            if (f & REMOTE) {
                if (s->nodeid != node)
                    continue;
                /* A parked message of that node: drop it from the queue. */
                if ((f & SENDING) && in_range(t, dc, s->sendto))
                    slot_of(t, dc, s->sendto)->nqueued--;
                s->px_cmd = 0;
                s->getfrom = s->sendto = s->waitmigr = NONE;
                s->misc_flags &= ~(MIS_SENDREC | MIS_RCVRQST);
                set_flags(s, f & ~(BLOCKED_MASK | RMTOPER));
                continue;
            }
            int peer = (f & SENDING) ? s->sendto : s->getfrom;
            int on_node = (f & RMTOPER) && s->px_node == node;
            if (!on_node && peer != ANY && in_range(t, dc, peer)) {
                struct dvst_slot *o = slot_of(t, dc, peer);
                on_node = (flags_of(o) & REMOTE) && o->nodeid == node;
            }
            if (on_node || (s->px_cmd && s->px_node == node))
                end_local(s, EMOLNOTCONN);
        }
    }
}
