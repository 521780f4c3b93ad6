/*
 * uring_wait.c - see uring_wait.h.
 */
#define _GNU_SOURCE
#include "uring_wait.h"

#include <errno.h>
#include <linux/io_uring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Debian's headers may predate Linux 6.7's futex operations. */
#ifndef IORING_OP_FUTEX_WAIT_NR
#define IORING_OP_FUTEX_WAIT_NR 51 /* IORING_OP_FUTEX_WAIT */
#endif
#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U32 0x02 /* no FUTEX2_PRIVATE: the table is shared */
#endif
#ifndef FUTEX_BITSET_MATCH_ANY
#define FUTEX_BITSET_MATCH_ANY 0xffffffffu
#endif

struct dvs_uring {
    int fd;
    void *sq_ptr, *cq_ptr;
    size_t sq_len, cq_len;
    struct io_uring_sqe *sqes;
    size_t sqes_len;
    unsigned *sq_head, *sq_tail, *sq_mask, *sq_array, *sq_flags;
    unsigned *cq_head, *cq_tail, *cq_mask;
    struct io_uring_cqe *cqes;
};

static int
sys_setup(unsigned entries, struct io_uring_params *p)
{
    long rc = syscall(__NR_io_uring_setup, entries, p);
    return rc < 0 ? -errno : (int)rc;
}

static int
sys_enter(int fd, unsigned submit, unsigned min_complete, unsigned flags)
{
    long rc;
    do
        rc = syscall(__NR_io_uring_enter, fd, submit, min_complete, flags,
                     NULL, 0);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? -errno : (int)rc;
}

static struct io_uring_sqe *
get_sqe(struct dvs_uring *r)
{
    unsigned tail = *r->sq_tail;
    unsigned head = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
    if (tail - head > *r->sq_mask)
        return NULL; /* never: every SQE is submitted at once */
    unsigned idx = tail & *r->sq_mask;
    struct io_uring_sqe *sqe = &r->sqes[idx];
    memset(sqe, 0, sizeof(*sqe));
    r->sq_array[idx] = idx;
    return sqe;
}

static int
submit(struct dvs_uring *r)
{
    __atomic_store_n(r->sq_tail, *r->sq_tail + 1, __ATOMIC_RELEASE);
    int rc = sys_enter(r->fd, 1, 0, 0);
    return rc < 0 ? rc : 0;
}

int
dvs_uring_fd(const struct dvs_uring *r)
{
    return r->fd;
}

int
dvs_uring_futex_wait(struct dvs_uring *r, _Atomic uint32_t *addr,
                     uint32_t val, uint64_t user_data)
{
    struct io_uring_sqe *sqe = get_sqe(r);
    if (!sqe)
        return -EBUSY;
    sqe->opcode = IORING_OP_FUTEX_WAIT_NR;
    sqe->fd = FUTEX2_SIZE_U32;          /* futex2 flags */
    sqe->addr = (uint64_t)(uintptr_t)addr;
    sqe->off = val;                     /* addr2: the expected value */
    sqe->addr3 = FUTEX_BITSET_MATCH_ANY; /* mask: FUTEX_WAKE wakes all */
    sqe->user_data = user_data;
    return submit(r);
}

int
dvs_uring_cancel(struct dvs_uring *r, uint64_t user_data)
{
    struct io_uring_sqe *sqe = get_sqe(r);
    if (!sqe)
        return -EBUSY;
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->fd = -1;
    sqe->addr = user_data;
    sqe->user_data = 0; /* the cancel's own completion is dropped */
    return submit(r);
}

int
dvs_uring_reap(struct dvs_uring *r, dvs_uring_fn fn, void *arg)
{
    int n = 0;
    for (;;) {
        /* Completions that overflowed the CQ wait in the kernel
         * (IORING_FEAT_NODROP) until an enter flushes them. */
        if (__atomic_load_n(r->sq_flags, __ATOMIC_ACQUIRE) & IORING_SQ_CQ_OVERFLOW)
            sys_enter(r->fd, 0, 0, IORING_ENTER_GETEVENTS);
        unsigned head = *r->cq_head;
        unsigned tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
        if (head == tail)
            return n;
        while (head != tail) {
            struct io_uring_cqe *cqe = &r->cqes[head & *r->cq_mask];
            uint64_t ud = cqe->user_data;
            int32_t res = cqe->res;
            head++;
            /* Released before fn runs: fn may submit (and so complete)
             * more work. */
            __atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
            if (ud) {
                fn(ud, res, arg);
                n++;
            }
        }
    }
}

void
dvs_uring_close(struct dvs_uring *r)
{
    if (!r)
        return;
    if (r->sqes)
        munmap(r->sqes, r->sqes_len);
    if (r->cq_ptr && r->cq_ptr != r->sq_ptr)
        munmap(r->cq_ptr, r->cq_len);
    if (r->sq_ptr)
        munmap(r->sq_ptr, r->sq_len);
    if (r->fd >= 0)
        close(r->fd);
    free(r);
}

/* probe: a FUTEX_WAIT whose value does not match completes at once with
 * -EAGAIN where the kernel has the operation, -EINVAL where it has not. */
static int
probe(struct dvs_uring *r)
{
    static _Atomic uint32_t word = 1;
    int rc = dvs_uring_futex_wait(r, &word, 0, 1);
    if (rc < 0)
        return rc;
    rc = sys_enter(r->fd, 0, 1, IORING_ENTER_GETEVENTS);
    if (rc < 0)
        return rc;
    unsigned head = *r->cq_head;
    if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
        return -EIO;
    int32_t res = r->cqes[head & *r->cq_mask].res;
    __atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
    return res == -EAGAIN ? 0 : (res < 0 ? res : -EIO);
}

int
dvs_uring_open(struct dvs_uring **out, const char **why)
{
    struct dvs_uring *r = calloc(1, sizeof(*r));
    if (!r) {
        *why = "out of memory";
        return -ENOMEM;
    }
    r->fd = -1;
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    /* Small: one wait per endpoint plus cancels in flight; the CQ (twice
     * as big) never overflows in practice, and NODROP covers it if so. */
    int fd = sys_setup(64, &p);
    int rc;
    if (fd < 0) {
        *why = "io_uring_setup failed";
        rc = fd;
        goto fail;
    }
    r->fd = fd;
    if (!(p.features & IORING_FEAT_NODROP) ||
        !(p.features & IORING_FEAT_SINGLE_MMAP)) {
        *why = "io_uring too old (no NODROP / SINGLE_MMAP)";
        rc = -EOPNOTSUPP;
        goto fail;
    }
    r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    if (r->cq_len > r->sq_len)
        r->sq_len = r->cq_len;
    r->cq_len = r->sq_len;
    r->sq_ptr = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    if (r->sq_ptr == MAP_FAILED) {
        r->sq_ptr = NULL;
        *why = "mmap of the io_uring rings failed";
        rc = -errno;
        goto fail;
    }
    r->cq_ptr = r->sq_ptr;
    r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
    r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
    if (r->sqes == MAP_FAILED) {
        r->sqes = NULL;
        *why = "mmap of the io_uring SQEs failed";
        rc = -errno;
        goto fail;
    }
    char *sq = r->sq_ptr, *cq = r->cq_ptr;
    r->sq_head = (unsigned *)(sq + p.sq_off.head);
    r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
    r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
    r->sq_flags = (unsigned *)(sq + p.sq_off.flags);
    r->sq_array = (unsigned *)(sq + p.sq_off.array);
    r->cq_head = (unsigned *)(cq + p.cq_off.head);
    r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
    r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
    if ((rc = probe(r)) < 0) {
        *why = "io_uring has no FUTEX_WAIT (Linux < 6.7)";
        goto fail;
    }
    *out = r;
    *why = NULL;
    return 0;
fail:
    dvs_uring_close(r);
    return rc;
}
