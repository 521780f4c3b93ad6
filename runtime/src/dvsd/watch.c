/*
 * watch.c - noticing that a bound process died.
 *
 * A bound thread is watched through a pidfd (PIDFD_THREAD for threads that
 * are not their group's leader). The slot's start time is checked after
 * pidfd_open so that a recycled pid is never mistaken for the owner.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lib/migrate.h"
#include "backup.h"
#include "dvsd.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#include <fcntl.h>

struct watch {
    int fd; /* pidfd, -1 when none */
    pid_t tid;
    uint64_t gen;
};

static struct watch watches[NR_DCS][DVST_SLOTS];
static int nwatch[NR_DCS];       /* watches open per DC */
static int wlo[NR_DCS], whi[NR_DCS]; /* they all lie in [wlo, whi) */
static int bind_efd = -1;

static void *
bind_watcher(void *arg)
{
    struct dvsd *d = arg;
    for (;;) {
        uint32_t seq = atomic_load(&d->t->bind_seq);
        uint64_t one = 1;
        if (write(bind_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
            log_msg("watch: eventfd write failed: errno %d", errno);
        while (atomic_load(&d->t->bind_seq) == seq)
            dvst_futex_wait(&d->t->bind_seq, seq, NULL);
    }
    return NULL;
}

int
watch_start(struct dvsd *d)
{
    for (int dc = 0; dc < NR_DCS; dc++)
        for (int i = 0; i < DVST_SLOTS; i++)
            watches[dc][i].fd = -1;
    bind_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (bind_efd < 0)
        return -1;
    pthread_t th;
    if (pthread_create(&th, NULL, bind_watcher, d) != 0)
        return -1;
    pthread_detach(th);
    return bind_efd;
}

static int
open_pidfd(pid_t lpid, pid_t tid)
{
    if (tid != lpid) {
        int fd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
        if (fd >= 0 || errno != EINVAL)
            return fd;
        /* Kernels before 6.9 watch threads through their process. */
        tid = lpid;
    }
    return (int)syscall(SYS_pidfd_open, tid, 0);
}

static void
drop(struct dvsd *d, struct watch *w)
{
    if (w->fd >= 0) {
        epoll_ctl(d->epfd, EPOLL_CTL_DEL, w->fd, NULL);
        close(w->fd);
        nwatch[(w - &watches[0][0]) / DVST_SLOTS]--;
    }
    w->fd = -1;
    w->gen = 0;
    w->tid = 0;
}

/* reap unbinds a slot whose owner is gone (lock held). */
static void
reap(struct dvsd *d, struct dvst_slot *s, const char *why)
{
    int standby = (atomic_load(&s->rts_flags) & REMOTE) &&
                  (s->misc_flags & MIS_RMTBACKUP);
    if (dvsm_owner_died(d->t, s)) {
        /* The other nodes must stop counting on this standby (backup.c). */
        if (standby)
            backup_standby_gone(s->dcid, s->endpoint);
        log_msg("endpoint %d of DC %d (pid %d, %s) %s while %s: keeping its "
                "slot", s->endpoint, s->dcid, s->tid, s->name, why,
                (s->misc_flags & MIS_KILLED) ? "migrating (its callers wait "
                                               "for the commit)"
                                             : "a standby (backup)");
        return;
    }
    log_msg("endpoint %d of DC %d (pid %d, %s) %s: unbinding it", s->endpoint,
            s->dcid, s->tid, s->name, why);
    /* Its own blocked call cannot return: the code does not matter. */
    dvst_unbind(d->t, s, EMOLSRCDIED);
}

void
watch_scan(struct dvsd *d)
{
    uint64_t n;
    while (read(bind_efd, &n, sizeof(n)) > 0)
        ;
    struct dvst_table *t = d->t;
    dvst_lock(t);
    for (int dc = 0; dc < NR_DCS; dc++) {
        /* Only slots that can be bound (a running DC's range) or still
         * watched: a sweep of the whole table (32 x 1088 slots) on every
         * bind cost about a millisecond under the table lock and faulted
         * in its 13 MB. */
        int lo = 0, hi = 0;
        if (t->dcs[dc].running) {
            lo = NR_TASKS - t->dcs[dc].usr.dc_nr_tasks;
            hi = NR_TASKS + t->dcs[dc].usr.dc_nr_procs;
        }
        if (nwatch[dc] > 0) {
            lo = lo < hi && lo < wlo[dc] ? lo : wlo[dc];
            hi = hi > whi[dc] ? hi : whi[dc];
        } else {
            wlo[dc] = DVST_SLOTS;
            whi[dc] = 0;
        }
        for (int i = lo; i < hi; i++) {
            struct watch *w = &watches[dc][i];
            struct dvst_slot *s = &t->slots[dc][i];
            uint32_t f = atomic_load(&s->rts_flags);
            /* Watched: local owners, and standbys (REMOTE slots of a
             * backup process here); not an owner already found dead while
             * its endpoint migrates. */
            int standby = (f & REMOTE) && (s->misc_flags & MIS_RMTBACKUP);
            int local = t->dcs[dc].running && !(f & SLOT_FREE) &&
                        (!(f & REMOTE) || standby) && s->lpid > 0 &&
                        !(s->misc_flags & MIS_KILLED);
            if (!local) {
                if (w->fd >= 0)
                    drop(d, w);
                continue;
            }
            if (w->fd >= 0 && w->gen == s->bind_gen)
                continue;
            drop(d, w);
            int fd = open_pidfd(s->lpid, s->tid);
            if (fd < 0 || dvst_starttime(s->tid) != s->starttime) {
                if (fd >= 0)
                    close(fd);
                reap(d, s, "is gone");
                continue;
            }
            struct epoll_event ev = {.events = EPOLLIN,
                                     .data.u32 = WATCH_TAG_BASE +
                                                 (unsigned)(dc * DVST_SLOTS + i)};
            if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                log_msg("watch: epoll_ctl failed for pid %d: errno %d", s->tid,
                        errno);
                close(fd);
                continue;
            }
            w->fd = fd;
            nwatch[dc]++;
            if (i < wlo[dc])
                wlo[dc] = i;
            if (i >= whi[dc])
                whi[dc] = i + 1;
            w->tid = s->tid;
            w->gen = s->bind_gen;
        }
    }
    dvst_unlock(t);
}

void
watch_event(struct dvsd *d, unsigned tag)
{
    unsigned idx = tag - WATCH_TAG_BASE;
    int dc = (int)(idx / DVST_SLOTS), i = (int)(idx % DVST_SLOTS);
    if (dc >= NR_DCS)
        return;
    struct watch *w = &watches[dc][i];
    struct dvst_slot *s = &d->t->slots[dc][i];
    /* The event may be stale: an earlier scan of the same epoll batch can
     * have replaced this slot's watch with one for a new, live owner. Only
     * a readable pidfd means the watched thread exited. */
    struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
    if (w->fd < 0 || poll(&pfd, 1, 0) != 1)
        return;
    dvst_lock(d->t);
    if (s->bind_gen == w->gen && s->tid == w->tid &&
        !(atomic_load(&s->rts_flags) & SLOT_FREE))
        reap(d, s, "died");
    dvst_unlock(d->t);
    drop(d, w);
}
