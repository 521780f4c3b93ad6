/*
 * bind.c - binding processes and threads to endpoints, and unbinding.
 *
 * Bind is a privileged call in the original (root). Here the node belongs
 * to the uid that started its daemon and only that uid can map the table
 * (its directory is 0700), so every process that reaches these calls is
 * the node's owner (runtime/README.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

/* owner_bound: is this pid (or tid) bound anywhere on the node? */
static int
owner_bound(struct dvst_table *t, pid_t lpid, pid_t tid)
{
    for (int d = 0; d < NR_DCS; d++) {
        if (!t->dcs[d].running)
            continue;
        for (int i = 0; i < DVST_SLOTS; i++) {
            struct dvst_slot *s = &t->slots[d][i];
            if (s->lpid == lpid && s->tid == tid &&
                !(atomic_load(&s->rts_flags) & SLOT_FREE))
                return 1;
        }
    }
    return 0;
}

static void
read_comm(pid_t tid, char name[MAXPROCNAME])
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)tid);
    memset(name, 0, MAXPROCNAME);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, name, MAXPROCNAME - 1);
    close(fd);
    if (n > 0 && name[n - 1] == '\n')
        name[n - 1] = 0;
}

/* claim fills free slot of ep for a local owner (lock held). */
static int
claim(struct dvst_table *t, int dcid, int ep, pid_t lpid, pid_t tid,
      struct dvst_slot **out)
{
    struct dvst_slot *s;
    int rc = proc_lookup(t, dcid, ep, &s);
    if (rc < 0)
        return rc;
    const dc_usr_t *dc = &t->dcs[dcid].usr;
    /* System slots always use generation 0 (ep == p_nr). */
    if (s->nr < dc->dc_nr_sysprocs && ep != s->nr)
        return EMOLENDPOINT;
    if (owner_bound(t, lpid, tid))
        return EMOLBUSY;
    if (!(atomic_load(&s->rts_flags) & SLOT_FREE))
        return EMOLSLOTUSED;
    uint64_t start = dvst_starttime(tid);
    if (!start)
        return EMOLBADPID;
    s->endpoint = ep;
    s->lpid = lpid;
    s->tid = tid;
    s->starttime = start;
    s->nodeid = t->dvs.d_nodeid;
    s->getfrom = s->sendto = s->waitmigr = NONE;
    s->misc_flags = tid == lpid ? MIS_GRPLEADER : 0;
    s->nqueued = 0;
    s->rcode = OK;
    s->lclsent = s->rmtsent = s->lclcopy = s->rmtcopy = 0;
    memset(s->notify_pending, 0, sizeof(s->notify_pending));
    s->ntfy_value = 0;
    read_comm(tid, s->name);
    s->bind_gen++;
    atomic_store_explicit(&s->rts_flags, 0, memory_order_release);
    if (DVST_TRACING(t))
        dvst_trace_op(t, DVST_OP_BIND, dcid, ep, NONE, 0, OK, lpid);
    *out = s;
    return ep;
}

static int
bind_self(int dcid, int ep, int thread)
{
    struct dvst_table *t;
    int rc = proc_dc(dcid, &t);
    if (rc < 0)
        return rc;
    pid_t pid = getpid(), tid = thread ? gettid() : pid;
    if (thread) {
        /* A thread binds on its own only after its group leader. */
        if (!proc_is_bound())
            return EMOLGRPLEADER;
        if (tid == pid)
            return EMOLBUSY;
    }
    struct dvst_slot *s = NULL;
    dvst_lock(t);
    rc = claim(t, dcid, ep, pid, tid, &s);
    if (rc >= 0)
        proc_set_binding(thread, s);
    dvst_unlock(t);
    if (rc >= 0) {
        dvst_bump_bind_seq(t);
        /* vcopy peers read and write our memory with process_vm_*; allow it
         * even where Yama restricts ptrace to descendants. */
        prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
    }
    return rc;
}

int mnx_bind(int dcid, int ep) { return bind_self(dcid, ep, 0); }
int mnx_tbind(int dcid, int ep) { return bind_self(dcid, ep, 1); }

int
mnx_lclbind(int dcid, pid_t pid, int ep)
{
    struct dvst_table *t;
    int rc = proc_dc(dcid, &t);
    if (rc < 0)
        return rc;
    if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
        return EMOLBADPID;
    struct dvst_slot *s;
    dvst_lock(t);
    rc = claim(t, dcid, ep, pid, pid, &s);
    dvst_unlock(t);
    if (rc >= 0)
        dvst_bump_bind_seq(t);
    return rc;
}

int
proc_remote_dc(int dcid, int nodeid, struct dvst_table **tp)
{
    int rc = proc_dc(dcid, tp);
    if (rc < 0)
        return rc;
    struct dvst_table *t = *tp;
    if (nodeid < 0 || nodeid >= NR_NODES || nodeid == t->dvs.d_nodeid)
        return EMOLBADNODEID;
    if (!(t->dcs[dcid].usr.dc_nodes & (1UL << nodeid)))
        return EMOLNODCNODE;
    /* A remote endpoint is reached only through the node's proxies. */
    if (t->nodes[nodeid].n_proxies <= 0)
        return EMOLNOPROXY;
    return OK;
}

int
mnx_rmtbind(int dcid, const char *name, int ep, int nodeid)
{
    struct dvst_table *t;
    int rc = proc_remote_dc(dcid, nodeid, &t);
    if (rc < 0)
        return rc;
    if (name && strlen(name) >= MAXPROCNAME)
        return EMOLNAMETOOLONG;
    struct dvst_slot *s;
    if ((rc = proc_lookup(t, dcid, ep, &s)) < 0)
        return rc;
    dvst_lock(t);
    if (!(atomic_load(&s->rts_flags) & SLOT_FREE)) {
        rc = EMOLSLOTUSED;
    } else {
        s->endpoint = ep;
        s->lpid = s->tid = PROC_NO_PID;
        s->nodeid = nodeid;
        s->getfrom = s->sendto = NONE;
        s->misc_flags = 0;
        memset(s->name, 0, sizeof(s->name));
        if (name)
            memcpy(s->name, name, strlen(name));
        s->bind_gen++;
        atomic_store(&s->rts_flags, REMOTE);
        rc = ep;
    }
    dvst_unlock(t);
    if (rc >= 0)
        dvst_bump_bind_seq(t);
    return rc;
}

int
mnx_unbind(int dcid, int ep)
{
    struct dvst_table *t;
    int rc = proc_dc(dcid, &t);
    if (rc < 0)
        return rc;
    struct dvst_slot *s;
    if ((rc = proc_lookup(t, dcid, ep, &s)) < 0)
        return rc;
    dvst_lock(t);
    uint32_t f = atomic_load(&s->rts_flags);
    if ((f & SLOT_FREE) || s->endpoint != ep)
        rc = EMOLNOTBIND;
    else
        dvst_unbind(t, s, EMOLNOTBIND);
    dvst_unlock(t);
    return rc;
}

/* find_own_slot: the slot a manager bound this process to, if any. A
 * standby (bkupbind: a REMOTE slot naming this pid) is not bound yet: it
 * waits here until a takeover commits the endpoint to it. */
static struct dvst_slot *
find_own_slot(struct dvst_table *t, pid_t pid)
{
    for (int d = 0; d < NR_DCS; d++) {
        if (!t->dcs[d].running)
            continue;
        for (int i = 0; i < DVST_SLOTS; i++) {
            struct dvst_slot *s = &t->slots[d][i];
            if (s->lpid == pid && s->tid == pid &&
                !(atomic_load(&s->rts_flags) & (SLOT_FREE | REMOTE)))
                return s;
        }
    }
    return NULL;
}

int
mnx_wait4bind_T(long to_ms)
{
    struct dvst_table *t = proc_table();
    if (!t)
        return EMOLDVSINIT;
    struct timespec dl;
    int has_dl, rc;
    if ((rc = proc_deadline(to_ms, &dl, &has_dl)) < 0)
        return rc;
    pid_t pid = getpid();
    for (;;) {
        uint32_t seq = atomic_load(&t->bind_seq);
        dvst_lock(t);
        struct dvst_slot *s = find_own_slot(t, pid);
        if (s) {
            proc_set_binding(0, s);
            rc = s->endpoint;
        }
        dvst_unlock(t);
        if (s) {
            prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
            return rc;
        }
        if (to_ms == TIMEOUT_NOWAIT)
            return EMOLAGAIN;
        rc = dvst_futex_wait(&t->bind_seq, seq, has_dl ? &dl : NULL);
        if (rc == -ETIMEDOUT)
            return EMOLTIMEDOUT;
    }
}

int mnx_wait4bind(void) { return mnx_wait4bind_T(TIMEOUT_FOREVER); }

int
mnx_getep(pid_t pid)
{
    struct dvst_table *t = proc_table();
    if (!t)
        return EMOLDVSINIT;
    dvst_lock(t);
    struct dvst_slot *s = find_own_slot(t, pid);
    int rc = s ? s->endpoint : EMOLNOTBIND;
    dvst_unlock(t);
    return rc;
}
