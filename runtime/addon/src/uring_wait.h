/*
 * uring_wait.h - waiting for futex doorbells on an event loop: one
 * io_uring per addon instance (event loop), raw syscalls, no liburing.
 *
 * A call parked in the node table waits for its slot's doorbell (a futex
 * word in the shared table) to change. Instead of a thread sleeping in
 * futex_wait, the JS thread submits IORING_OP_FUTEX_WAIT (Linux >= 6.7)
 * on that word; the peer's ordinary FUTEX_WAKE completes it, the
 * completion makes the ring's fd readable, and libuv (uv_poll on that fd)
 * runs the call's continuation. Nothing changes on the waking side.
 */
#ifndef DVS_URING_WAIT_H
#define DVS_URING_WAIT_H

#include <stdint.h>
#ifdef __cplusplus
#include <atomic>
#define _Atomic(t) std::atomic<t>
extern "C" {
#else
#include <stdatomic.h>
#endif

struct dvs_uring;

/* dvs_uring_open sets a ring up and checks, with a real wait that must
 * fail with EAGAIN, that this kernel has IORING_OP_FUTEX_WAIT. Returns 0,
 * or a negative errno: io_uring missing (-ENOSYS), forbidden (-EPERM, e.g.
 * kernel.io_uring_disabled or seccomp), or without FUTEX_WAIT (-EINVAL,
 * -EOPNOTSUPP). *why then says what failed. */
int dvs_uring_open(struct dvs_uring **out, const char **why);
int dvs_uring_fd(const struct dvs_uring *r);
/* dvs_uring_futex_wait submits a wait for the shared futex word addr to
 * differ from val; its completion carries user_data (never 0). */
int dvs_uring_futex_wait(struct dvs_uring *r, _Atomic(uint32_t) *addr,
                         uint32_t val, uint64_t user_data);
/* dvs_uring_cancel withdraws the wait submitted with user_data (done
 * inline by the kernel: once it returns, that wait no longer exists). */
int dvs_uring_cancel(struct dvs_uring *r, uint64_t user_data);
/* dvs_uring_reap hands every completion but the cancels' own to fn;
 * returns how many. */
typedef void (*dvs_uring_fn)(uint64_t user_data, int32_t res, void *arg);
int dvs_uring_reap(struct dvs_uring *r, dvs_uring_fn fn, void *arg);
void dvs_uring_close(struct dvs_uring *r);

#ifdef __cplusplus
}
#endif
#endif
