/*
 * migrate.c - live migration of an endpoint between nodes, and the
 * primary/backup binding (m3ipc-semantics.md §2.4, §6).
 *
 * The endpoint never changes; only where it lives does. A manager runs
 *   1. mnx_migr_start(dc, ep) on every node: the endpoint's slot gets
 *      MIGRATING. From then on nothing is delivered to it: local callers
 *      of send/sendrec/notify park in WAITMIGR (ipc.c), remote ones are
 *      parked in their surrogate (remote.c), and the endpoint's own
 *      queue is frozen (dvsi_first_sender skips a migrating receiver).
 *   2. moves the process (here: stops it and starts the program on the
 *      new node; the state is the application's job);
 *   3. mnx_migr_commit(pid, dc, ep, new_node) on every node: the new home
 *      binds pid locally, the others (the old home included) turn the
 *      slot into a REMOTE surrogate for new_node.
 *   or, on failure, mnx_migr_rollback(dc, ep) on every node.
 * Commit and rollback release every caller the migration held: WAITMIGR
 * waiters and the senders queued on the endpoint end their wait with
 * EMOLMIGRATE, which the primitives take as "replay the call" (ipc.c), and
 * a parked remote caller's node gets an EMOLMIGRATE acknowledgement that
 * makes it replay there. No application sees EMOLMIGRATE unless nodes
 * disagree about the endpoint for good (MAX_REPLAYS in ipc.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "migrate.h"
#include "proc.h"

static uint32_t
flags_of(const struct dvst_slot *s)
{
    return atomic_load_explicit(&s->rts_flags, memory_order_relaxed);
}

/* bound_slot resolves ep to its slot and checks that ep is bound there. */
static int
bound_slot(int dcid, int ep, struct dvst_table **t, struct dvst_slot **s)
{
    int rc = proc_dc(dcid, t);
    if (rc < 0)
        return rc;
    if ((rc = proc_lookup(*t, dcid, ep, s)) < 0)
        return rc;
    return OK;
}

static int
is_bound(const struct dvst_slot *s, int ep)
{
    return !(flags_of(s) & SLOT_FREE) && s->endpoint == ep;
}

/* release ends the waits a migration of s held (lock held): callers parked
 * in WAITMIGR on it and the senders queued on it replay their call
 * (EMOLMIGRATE); a remote caller gets that as a NACK from its surrogate
 * and its node replays. Queued senders are released rather than handed
 * over because the queue may be on the wrong node now, and a receiver
 * that slept while the endpoint was frozen must see them arrive again. */
static void
release(struct dvst_table *t, struct dvst_slot *s)
{
    const dc_usr_t *dc = &t->dcs[s->dcid].usr;
    int ep = s->endpoint;
    for (int p = -dc->dc_nr_tasks; p < dc->dc_nr_procs; p++) {
        struct dvst_slot *o = dvst_slot(t, s->dcid, p);
        uint32_t f = flags_of(o);
        if (o == s || (f & SLOT_FREE))
            continue;
        if ((f & WAITMIGR) && o->waitmigr == ep) {
            dvst_end_wait(o, EMOLMIGRATE);
        } else if ((f & SENDING) && o->sendto == ep && !(f & RMTOPER) &&
                   !o->px_cmd) {
            /* Queued here (a local sender, or a remote one parked in its
             * surrogate); a caller whose request already left for another
             * node (px_cmd) waits for that node's answer instead. */
            s->nqueued--;
            dvst_end_wait(o, EMOLMIGRATE);
        }
    }
    if (s->nqueued < 0)
        s->nqueued = 0;
}

int
mnx_migr_start(int dcid, int ep)
{
    struct dvst_table *t;
    struct dvst_slot *s;
    int rc = bound_slot(dcid, ep, &t, &s);
    if (rc < 0)
        return rc;
    dvst_lock(t);
    uint32_t f = flags_of(s);
    if (!is_bound(s, ep))
        rc = EMOLNOTBIND;
    else if (f & MIGRATING)
        rc = EMOLMIGRATE; /* already migrating */
    else if (!(f & REMOTE) && (f & ONCOPY))
        rc = EMOLONCOPY;
    else if (!(f & REMOTE) && ((f & RMTOPER) || s->px_cmd))
        rc = EMOLBUSY; /* its own remote operation is in flight */
    else {
        s->misc_flags &= ~MIS_KILLED;
        atomic_store(&s->rts_flags, f | MIGRATING);
    }
    if (DVST_TRACING(t))
        dvst_trace_op(t, DVST_OP_MIGR_START, dcid, ep, NONE, 0, rc, s->lpid);
    dvst_unlock(t);
    return rc;
}

static void
read_comm(pid_t pid, char name[MAXPROCNAME])
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[MAXPROCNAME] = {0};
    ssize_t n = read(fd, buf, MAXPROCNAME - 1);
    close(fd);
    if (n <= 0)
        return;
    if (buf[n - 1] == '\n')
        buf[n - 1] = 0;
    memcpy(name, buf, MAXPROCNAME);
}

/* other_binding: is pid bound to (or a standby of) a slot other than s? */
static int
other_binding(struct dvst_table *t, struct dvst_slot *s, pid_t pid)
{
    for (int d = 0; d < NR_DCS; d++) {
        if (!t->dcs[d].running)
            continue;
        for (int i = 0; i < DVST_SLOTS; i++) {
            struct dvst_slot *o = &t->slots[d][i];
            if (o != s && o->lpid == pid && !(flags_of(o) & SLOT_FREE))
                return 1;
        }
    }
    return 0;
}

int
mnx_migr_commit(pid_t pid, int dcid, int ep, int new_node)
{
    struct dvst_table *t;
    struct dvst_slot *s;
    int rc = bound_slot(dcid, ep, &t, &s);
    if (rc < 0)
        return rc;
    if (new_node < 0 || new_node >= NR_NODES)
        return EMOLBADNODEID;
    int here = new_node == t->dvs.d_nodeid;
    uint64_t start = 0;
    if (here) {
        /* The new home binds the process that takes the endpoint over. */
        if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
            return EMOLBADPID;
        if (!(start = dvst_starttime(pid)))
            return EMOLBADPID;
    }
    dvst_lock(t);
    uint32_t f = flags_of(s);
    const dc_usr_t *dc = &t->dcs[dcid].usr;
    if (!is_bound(s, ep))
        rc = EMOLNOTBIND;
    else if (!(f & MIGRATING))
        rc = EMOLPROCSTS; /* commit without start */
    else if (!(dc->dc_nodes & (1UL << new_node)))
        rc = EMOLNODCNODE;
    else if (!here && t->nodes[new_node].n_proxies <= 0)
        rc = EMOLNOPROXY;
    else if (here && other_binding(t, s, pid))
        rc = EMOLBUSY;
    if (rc < 0)
        goto out;
    int was_local = !(f & REMOTE);
    release(t, s);
    s->nqueued = 0;
    /* Notifications pending for the old home stay behind (as in the
     * original, pending bits are per node). */
    memset(s->notify_pending, 0, sizeof(s->notify_pending));
    s->ntfy_value = 0;
    s->getfrom = s->sendto = s->waitmigr = NONE;
    s->bkup_nodes &= ~(1u << new_node);
    s->bind_gen++; /* an old owner's binding is stale from now on */
    if (here) {
        s->lpid = s->tid = pid;
        s->starttime = start;
        s->nodeid = new_node;
        s->misc_flags = MIS_GRPLEADER;
        s->px_cmd = 0;
        /* A displaced owner still blocked here wakes to this; the new
         * owner sets its own rcode whenever it blocks. */
        s->rcode = EMOLNOTBIND;
        s->lclsent = s->rmtsent = s->lclcopy = s->rmtcopy = 0;
        read_comm(pid, s->name);
        atomic_store_explicit(&s->rts_flags, 0, memory_order_release);
    } else {
        uint32_t keep = 0;
        if (!was_local)
            keep = f & RMTOPER; /* an acknowledgement it still owes */
        else
            s->px_cmd = 0;
        if (!(s->misc_flags & MIS_RMTBACKUP)) {
            s->lpid = s->tid = PROC_NO_PID;
            s->starttime = 0;
        }
        s->misc_flags &= MIS_RMTBACKUP; /* a standby here stays one */
        s->nodeid = new_node;
        s->rcode = EMOLNOTBIND; /* what a displaced owner still blocked sees */
        atomic_store_explicit(&s->rts_flags, REMOTE | keep,
                              memory_order_release);
    }
    if (was_local)
        dvst_wake(s); /* a displaced owner re-checks and finds itself gone */
out:
    if (DVST_TRACING(t))
        dvst_trace_op(t, DVST_OP_MIGR_COMMIT, dcid, ep, new_node, 0, rc,
                      here ? pid : s->lpid);
    dvst_unlock(t);
    if (rc == OK)
        dvst_bump_bind_seq(t); /* wakes the new owner's mnx_wait4bind */
    return rc;
}

int
mnx_migr_rollback(int dcid, int ep)
{
    struct dvst_table *t;
    struct dvst_slot *s;
    int rc = bound_slot(dcid, ep, &t, &s);
    if (rc < 0)
        return rc;
    dvst_lock(t);
    uint32_t f = flags_of(s);
    if (!is_bound(s, ep))
        rc = EMOLNOTBIND;
    else if (!(f & MIGRATING))
        rc = EMOLPROCSTS;
    if (DVST_TRACING(t))
        dvst_trace_op(t, DVST_OP_MIGR_ROLLBACK, dcid, ep, NONE, 0, rc, s->lpid);
    if (rc == OK) {
        atomic_store(&s->rts_flags, f & ~MIGRATING);
        release(t, s); /* they resume against the old location */
        if (s->misc_flags & MIS_KILLED) {
            /* Its owner died while it was migrating: now it is dead. The
             * callers just released replay after the lock and find it so. */
            dvst_unbind(t, s, EMOLSRCDIED);
        }
    }
    dvst_unlock(t);
    return rc;
}

int
dvsm_owner_died(struct dvst_table *t, struct dvst_slot *s)
{
    uint32_t f = flags_of(s);
    if ((f & REMOTE) && (s->misc_flags & MIS_RMTBACKUP)) {
        /* A standby died: the slot is a plain surrogate of the primary.
         * Also while the endpoint is held for a takeover (MIGRATING): the
         * slot stays held, only the standby goes, so the takeover no
         * longer picks this node (and the surrogate is not unbound by the
         * rollback as a dead owner's would be). */
        s->misc_flags &= ~MIS_RMTBACKUP;
        s->lpid = s->tid = PROC_NO_PID;
        s->starttime = 0;
        s->bkup_nodes &= ~(1u << t->dvs.d_nodeid);
        s->bind_gen++;
        return 1;
    }
    if (f & MIGRATING) {
        /* The manager stops the old process between start and commit: its
         * callers keep waiting for the new home, not EMOLSRCDIED. */
        s->misc_flags |= MIS_KILLED;
        if (f & BLOCKED_MASK) {
            s->getfrom = s->sendto = s->waitmigr = NONE;
            s->misc_flags &= ~(MIS_SENDREC | MIS_RCVRQST);
            atomic_store(&s->rts_flags, f & ~BLOCKED_MASK);
        }
        return 1;
    }
    return 0;
}

int
mnx_bkupbind(int dcid, pid_t pid, int ep, int nodeid)
{
    struct dvst_table *t;
    /* A backup shadows a primary on another node: without proxies to
     * that node there is nothing to back up. */
    int rc = proc_remote_dc(dcid, nodeid, &t);
    if (rc < 0)
        return rc;
    if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
        return EMOLBADPID;
    uint64_t start = dvst_starttime(pid);
    if (!start)
        return EMOLBADPID;
    struct dvst_slot *s;
    if ((rc = proc_lookup(t, dcid, ep, &s)) < 0)
        return rc;
    dvst_lock(t);
    uint32_t f = flags_of(s);
    if (other_binding(t, s, pid)) {
        rc = EMOLBUSY;
    } else if (f & SLOT_FREE) {
        /* Not declared yet: declare it, as rmtbind would. */
        s->endpoint = ep;
        s->getfrom = s->sendto = s->waitmigr = NONE;
        s->nqueued = 0;
        s->px_cmd = 0;
        memset(s->name, 0, sizeof(s->name));
        read_comm(pid, s->name);
        rc = ep;
    } else if ((f & REMOTE) && s->endpoint == ep && s->nodeid == nodeid &&
               !(s->misc_flags & MIS_RMTBACKUP) && !(f & MIGRATING)) {
        rc = ep;
    } else {
        rc = EMOLSLOTUSED; /* local, elsewhere, or a standby already */
    }
    if (rc >= 0) {
        s->lpid = s->tid = pid;
        s->starttime = start;
        s->nodeid = nodeid;
        s->misc_flags = MIS_RMTBACKUP;
        s->bkup_nodes |= 1u << t->dvs.d_nodeid;
        s->bind_gen++;
        atomic_store(&s->rts_flags, (f & RMTOPER) | REMOTE);
        if (DVST_TRACING(t))
            dvst_trace_op(t, DVST_OP_BIND, dcid, ep, nodeid, 0, OK, pid);
    }
    dvst_unlock(t);
    if (rc >= 0)
        dvst_bump_bind_seq(t); /* dvsd watches the standby from now on */
    return rc;
}
