/*
 * table.c - creating, mapping, locking and repairing the node table.
 */
#define _GNU_SOURCE
#include "table.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int
dvst_futex_wait(_Atomic uint32_t *addr, uint32_t val,
                const struct timespec *abs_deadline)
{
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so a
     * wait interrupted by a signal resumes without stretching a timeout. */
    if (syscall(SYS_futex, addr, FUTEX_WAIT_BITSET, val, abs_deadline, NULL,
                FUTEX_BITSET_MATCH_ANY) == 0)
        return 0;
    return -errno;
}

void
dvst_futex_wake(_Atomic uint32_t *addr, int n)
{
    syscall(SYS_futex, addr, FUTEX_WAKE, n, NULL, NULL, 0);
}

/* Wakes owed by the thread that holds the table lock. */
#define MAX_DEFERRED 16
static __thread struct dvst_slot *deferred[MAX_DEFERRED];
static __thread int ndeferred, holding_lock, px_pending;

void
dvst_px_note(void)
{
    px_pending = 1;
}

static void
ring(struct dvst_slot *s)
{
    /* Dekker pairing with the waiter, which sets sleeping and then
     * re-reads its flags: one of the two sides sees the other. */
    if (atomic_load_explicit(&s->sleeping, memory_order_seq_cst))
        dvst_futex_wake(&s->wake, INT_MAX);
}

void
dvst_wake(struct dvst_slot *s)
{
    atomic_fetch_add_explicit(&s->wake, 1, memory_order_seq_cst);
    if (holding_lock && ndeferred < MAX_DEFERRED)
        deferred[ndeferred++] = s;
    else
        ring(s);
}

/* This process's write end of its node's px.fifo (opened on first use). */
static int px_fifo = -1;

void
dvst_px_forget(void)
{
    if (px_fifo >= 0)
        close(px_fifo);
    px_fifo = -1;
}

void
dvst_px_ring(struct dvst_table *t)
{
    /* The daemon sleeps in epoll on <node dir>/px.fifo and arms px_armed
     * before it looks for work: one byte wakes it, and only when it may be
     * asleep. */
    int fd = px_fifo;
    if (!atomic_exchange(&t->px_armed, 0))
        return;
    if (fd < 0) {
        char path[512];
        snprintf(path, sizeof(path), "%s/px.fifo", dvst_default_node_dir());
        fd = px_fifo = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            return; /* no proxy runs: the work fails when links are checked */
    }
    char c = 'x';
    (void)!write(fd, &c, 1);
}

void
dvst_bump_bind_seq(struct dvst_table *t)
{
    atomic_fetch_add(&t->bind_seq, 1);
    dvst_futex_wake(&t->bind_seq, INT_MAX);
}

void
dvst_wake_all(struct dvst_table *t)
{
    for (int d = 0; d < NR_DCS; d++) {
        if (!t->dcs[d].running)
            continue;
        for (int i = 0; i < DVST_SLOTS; i++)
            if (t->slots[d][i].lpid > 0)
                dvst_wake(&t->slots[d][i]);
    }
    dvst_bump_bind_seq(t);
}

static void
init_slot(struct dvst_slot *s, int dcid, int nr)
{
    memset(s, 0, sizeof(*s));
    s->nr = nr;
    s->dcid = dcid;
    s->endpoint = nr; /* generation 0 until bound */
    atomic_store(&s->rts_flags, SLOT_FREE);
    s->getfrom = s->sendto = s->waitmigr = NONE;
    s->lpid = s->tid = PROC_NO_PID;
    s->nodeid = LOCALNODE;
}

struct dvst_table *
dvst_create(const char *path, int nodeid, const char *name)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    size_t size = sizeof(struct dvst_table);
    if (ftruncate(fd, (off_t)size) < 0) {
        int e = errno;
        close(fd);
        unlink(path);
        errno = e;
        return NULL;
    }
    struct dvst_table *t =
        mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (t == MAP_FAILED) {
        int e = errno;
        unlink(path);
        errno = e;
        return NULL;
    }
    /* The file is sparse on tmpfs: only the configured DCs' slots are
     * touched, so the memory cost follows what is used. */
    t->size = size;
    t->version = DVST_VERSION;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&t->lock, &a);
    pthread_mutexattr_destroy(&a);

    dvs_usr_t *d = &t->dvs;
    d->d_nodeid = nodeid;
    d->d_nr_dcs = NR_DCS;
    d->d_nr_nodes = NR_NODES;
    d->d_nr_procs = NR_PROCS;
    d->d_nr_tasks = NR_TASKS;
    d->d_nr_sysprocs = NR_SYS_PROCS;
    d->d_max_copybuf = MAXCOPYBUF;
    d->d_max_copylen = MAXCOPYLEN;
    d->d_version = M3IPC_VERSION;
    d->d_subver = M3IPC_SUBVERSION;
    d->d_size_proc = (int)sizeof(struct dvst_slot);
    snprintf(d->d_name, sizeof(d->d_name), "%s", name ? name : "node");
    for (int n = 0; n < NR_NODES; n++)
        t->nodes[n].n_nodeid = n;
    snprintf(t->nodes[nodeid].n_name, MAXPROCNAME, "%s", d->d_name);
    t->nodes[nodeid].n_flags = 0x2; /* ATTACHED */
    atomic_store(&t->daemon_pid, getpid());
    dvst_trace_init(t);
    /* Readers check the magic last: a half-built table is never used. */
    atomic_thread_fence(memory_order_release);
    t->magic = DVST_MAGIC;
    return t;
}

struct dvst_table *
dvst_open(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) < 0 || (size_t)st.st_size != sizeof(struct dvst_table)) {
        close(fd);
        errno = EPROTO;
        return NULL;
    }
    struct dvst_table *t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE,
                                MAP_SHARED, fd, 0);
    close(fd);
    if (t == MAP_FAILED)
        return NULL;
    if (t->magic != DVST_MAGIC || t->version != DVST_VERSION) {
        munmap(t, sizeof(*t));
        errno = EPROTO;
        return NULL;
    }
    return t;
}

void
dvst_close(struct dvst_table *t)
{
    if (t)
        munmap(t, sizeof(*t));
}

void
dvst_lock(struct dvst_table *t)
{
    int rc = pthread_mutex_lock(&t->lock);
    holding_lock = 1;
    if (rc == EOWNERDEAD) {
        /* A process died inside the lock. Its own slot is freed by dvsd
         * when it sees the death; what it may have left half-done in
         * other slots is made consistent here. */
        pthread_mutex_consistent(&t->lock);
        dvst_repair(t);
    }
}

void
dvst_unlock(struct dvst_table *t)
{
    holding_lock = 0;
    pthread_mutex_unlock(&t->lock);
    /* A slot rebound meanwhile only gets a spurious, harmless wake. */
    for (int i = 0; i < ndeferred; i++)
        ring(deferred[i]);
    ndeferred = 0;
    if (px_pending) {
        px_pending = 0;
        dvst_px_ring(t);
    }
}

void
dvst_repair(struct dvst_table *t)
{
    t->repairs++;
    for (int d = 0; d < NR_DCS; d++) {
        if (!t->dcs[d].running)
            continue;
        for (int i = 0; i < DVST_SLOTS; i++)
            t->slots[d][i].nqueued = 0;
        for (int i = 0; i < DVST_SLOTS; i++) {
            struct dvst_slot *s = &t->slots[d][i];
            uint32_t f = atomic_load(&s->rts_flags);
            if ((f & SLOT_FREE) || !(f & SENDING) ||
                (s->px_cmd && !(f & REMOTE)))
                continue; /* not queued here: a request sent to a node */
            int p = _ENDPOINT_P(s->sendto);
            struct dvst_dc *dc = &t->dcs[d];
            if (p < -dc->usr.dc_nr_tasks || p >= dc->usr.dc_nr_procs) {
                /* A sender whose target no longer makes sense is failed
                 * rather than left hanging. */
                s->rcode = EMOLDSTDIED;
                s->sendto = NONE;
                atomic_store(&s->rts_flags, f & ~BLOCKED_MASK);
                continue;
            }
            dvst_slot(t, d, p)->nqueued++;
        }
    }
    /* Every waiter re-checks its own state when woken. */
    dvst_wake_all(t);
}

int
dvst_dc_init(struct dvst_table *t, const dc_usr_t *usr)
{
    int id = usr->dc_dcid;
    if (id < 0 || id >= NR_DCS)
        return EMOLBADDCID;
    if (t->dcs[id].running)
        return EMOLDCRUN;
    if (usr->dc_nr_procs <= 0 || usr->dc_nr_procs > NR_PROCS ||
        usr->dc_nr_tasks < 0 || usr->dc_nr_tasks > NR_TASKS ||
        usr->dc_nr_sysprocs < 0 || usr->dc_nr_sysprocs > NR_SYS_PROCS ||
        usr->dc_nr_sysprocs > usr->dc_nr_procs)
        return EMOLBADRANGE;
    if (memchr(usr->dc_name, 0, MAXPROCNAME) == NULL)
        return EMOLNAMETOOLONG;
    for (int d = 0; d < NR_DCS; d++)
        if (t->dcs[d].running &&
            strcmp(t->dcs[d].usr.dc_name, usr->dc_name) == 0)
            return EMOLEXIST;
    for (int i = 0; i < DVST_SLOTS; i++)
        init_slot(&t->slots[id][i], id, i - NR_TASKS);
    struct dvst_dc *dc = &t->dcs[id];
    dc->usr = *usr;
    dc->usr.dc_flags = DC_RUNNING;
    dc->usr.dc_nodes |= 1UL << t->dvs.d_nodeid;
    dc->usr.dc_nr_nodes = __builtin_popcountl(dc->usr.dc_nodes);
    dc->running = 1;
    t->nodes[t->dvs.d_nodeid].n_dcs |= 1UL << id;
    return OK;
}

void
dvst_end_wait(struct dvst_slot *s, int code)
{
    uint32_t f0 = atomic_load(&s->rts_flags);
    if ((f0 & REMOTE) && (f0 & BLOCKED_MASK)) {
        /* A surrogate waits for a process on another node: tell that node,
         * through our proxy, with the error as the acknowledgement. */
        s->px_cmd = 0x2001; /* CMD_SEND_ACK, see wire.h */
        s->px_rcode = code;
        s->px_from = (f0 & WAITMIGR) ? s->waitmigr
                     : (f0 & SENDING) ? s->sendto : s->getfrom;
        s->px_node = s->nodeid;
        s->px_peer = s->endpoint;
        s->getfrom = s->sendto = s->waitmigr = NONE;
        s->misc_flags &= ~(MIS_SENDREC | MIS_RCVRQST);
        atomic_store(&s->rts_flags, (f0 & ~BLOCKED_MASK) | RMTOPER);
        s->rcode = code;
        px_pending = 1; /* dvst_unlock rings the proxy */
        return;
    }
    s->rcode = code;
    s->getfrom = s->sendto = s->waitmigr = NONE;
    s->misc_flags &= ~(MIS_SENDREC | MIS_RCVRQST);
    atomic_store_explicit(&s->rts_flags,
                          atomic_load(&s->rts_flags) & ~BLOCKED_MASK,
                          memory_order_release);
    dvst_wake(s);
}

void
dvst_unbind(struct dvst_table *t, struct dvst_slot *s, int why)
{
    struct dvst_dc *dc = &t->dcs[s->dcid];
    int ep = s->endpoint;
    uint32_t f = atomic_load(&s->rts_flags);
    if (f & SLOT_FREE)
        return;
    if (DVST_TRACING(t))
        dvst_trace_op(t, DVST_OP_UNBIND, s->dcid, ep, NONE, 0, why == EMOLNOTBIND ? OK : why, s->lpid);
    /* If it was queued on somebody, leave that queue (a request that
     * went to another node, px_cmd, is queued there, not here). */
    if ((f & SENDING) && !(s->px_cmd && !(f & REMOTE))) {
        int p = _ENDPOINT_P(s->sendto);
        if (p >= -dc->usr.dc_nr_tasks && p < dc->usr.dc_nr_procs)
            dvst_slot(t, s->dcid, p)->nqueued--;
    }
    if (f & BLOCKED_MASK)
        dvst_end_wait(s, why);
    int lo = -dc->usr.dc_nr_tasks, hi = dc->usr.dc_nr_procs;
    for (int p = lo; p < hi; p++) {
        struct dvst_slot *o = dvst_slot(t, s->dcid, p);
        uint32_t of = atomic_load(&o->rts_flags);
        if (o == s || (of & SLOT_FREE))
            continue;
        if ((of & SENDING) && o->sendto == ep) {
            s->nqueued--;
            dvst_end_wait(o, EMOLDSTDIED);
        } else if ((of & RECEIVING) && o->getfrom == ep) {
            dvst_end_wait(o, EMOLSRCDIED);
        } else if ((of & WAITMIGR) && o->waitmigr == ep) {
            /* It waited for a migration that ends with the endpoint gone. */
            dvst_end_wait(o, EMOLDSTDIED);
        }
    }
    /* Its own pending notifications are dropped; those it sent stay
     * pending at their destinations (notify is asynchronous). */
    memset(s->notify_pending, 0, sizeof(s->notify_pending));
    s->ntfy_value = 0;
    s->nqueued = 0;
    s->misc_flags = 0;
    s->lpid = s->tid = PROC_NO_PID;
    s->starttime = 0;
    s->nodeid = LOCALNODE;
    s->bkup_nodes = 0;
    s->bind_gen++;
    memset(s->name, 0, sizeof(s->name));
    atomic_store(&s->rts_flags, SLOT_FREE);
    dvst_bump_bind_seq(t);
}

void
dvst_fill_procinfo(const struct dvst_slot *s, proc_usr_t *p)
{
    memset(p, 0, sizeof(*p));
    p->p_nr = s->nr;
    p->p_endpoint = s->endpoint;
    p->p_dcid = s->dcid;
    p->p_rts_flags = (int)atomic_load(&s->rts_flags);
    p->p_misc_flags = (int)s->misc_flags;
    p->p_lpid = s->lpid;
    p->p_nodeid = s->nodeid;
    p->p_getfrom = s->getfrom;
    p->p_sendto = s->sendto;
    p->p_waitmigr = s->waitmigr;
    p->p_waitunbind = NONE;
    p->p_proxy = -1;
    p->p_lclsent = s->lclsent;
    p->p_rmtsent = s->rmtsent;
    p->p_lclcopy = s->lclcopy;
    p->p_rmtcopy = s->rmtcopy;
    memcpy(p->p_name, s->name, MAXPROCNAME);
    p->p_name[MAXPROCNAME - 1] = 0;
}

uint64_t
dvst_starttime(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    /* The command name may hold spaces and parentheses: skip past the
     * last ')' before counting fields. */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    int field = 2;
    for (; *p && field < 22; p++)
        if (*p == ' ')
            field++;
    return strtoull(p, NULL, 10);
}

const char *
dvst_default_node_dir(void)
{
    static char dir[256];
    const char *env = getenv("DVS_NODE");
    if (env && *env)
        return env;
    if (!dir[0]) {
        const char *root = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof(dir), "%s/dvs-%u/default", root,
                 (unsigned)getuid());
    }
    return dir;
}
