/*
 * endpoint_thread.h - one thread per bound endpoint (the addon's C core; it
 * never includes napi.h).
 *
 * libm3ipc keeps a binding per process (mnx_bind) or per thread (mnx_tbind,
 * thread-local), and its blocking calls must run on the bound thread. So
 * every endpoint of a Node process owns one thread that binds (the first
 * live endpoint of the process takes the process binding with mnx_bind, the
 * others mnx_tbind, which needs the process binding first) and then runs
 * every call of that endpoint, one at a time, in submission order. A
 * blocked receive therefore blocks only its own endpoint, never the event
 * loop nor libuv's thread pool.
 */
#ifndef DVS_ENDPOINT_THREAD_H
#define DVS_ENDPOINT_THREAD_H

#include <pthread.h>
#include <stdint.h>
#ifdef __cplusplus
#include <atomic>
#define _Atomic(t) std::atomic<t>
#else
#include <stdatomic.h>
#endif

#include "m3ipc.h"

#ifdef __cplusplus
extern "C" {
#endif

enum dvs_op {
    DVS_OP_BIND,      /* a = dcid, b = ep */
    DVS_OP_WAIT4BIND, /* (to_ms) */
    DVS_OP_SEND,      /* a = dst */
    DVS_OP_RECEIVE,   /* a = src */
    DVS_OP_SENDREC,   /* a = dst */
    DVS_OP_RCVRQST,
    DVS_OP_REPLY,     /* a = dst */
    DVS_OP_NOTIFY,    /* a = dst */
    DVS_OP_VCOPY,     /* a = src ep, b = dst ep, src/dst/bytes */
};

struct binding; /* libm3ipc's (proc.h), opaque here */

struct dvs_call {
    int op;
    int a, b;
    long to_ms;
    message m;
    const void *src;
    void *dst;
    int bytes;
    int rc;             /* result, written by the endpoint thread */
    int sync;           /* a synchronous caller waits for done */
    int done;           /* (ept mutex) for sync callers */
    struct dvs_call *next;
    void *user;         /* the binding layer's own state */
    /* A call run in split form on the caller's thread (dvs_ept_split_*):
     * libm3ipc's struct dvsi_call lives here (checked in C). */
    uint64_t split[16];
};

struct dvs_ept;
/* Called on the endpoint thread when an asynchronous call has completed. */
typedef void (*dvs_done_fn)(struct dvs_call *call, void *arg);

struct dvs_ept {
    pthread_t thread;
    pthread_mutex_t mu;     /* the queue and the flags below */
    pthread_cond_t sync_cv; /* a synchronous call completed */
    /* The thread sleeps on this futex doorbell, not on a condition
     * variable: a submitter rings it after releasing mu, so the woken
     * thread never preempts the submitter only to block on mu (on one CPU
     * that doubled the context switches of an async call). */
    _Atomic(unsigned) bell;
    _Atomic(int) sleeping;
    struct dvs_call *head, *tail;
    int running;            /* a call is executing on the thread */
    int stopping;
    int orphaned;           /* the owner is gone: drop results, then exit */
    int dcid, ep;           /* known after a successful bind */
    int process_binding;    /* bound with mnx_bind / mnx_wait4bind */
    dvs_done_fn done;
    void *arg;
    /* A copy of the endpoint's binding, taken by its thread once bound:
     * what the split calls use on another thread (the JS thread). */
    struct binding *copy;
};

/* dvs_ept_start starts the endpoint's thread; its first call must be a
 * DVS_OP_BIND or DVS_OP_WAIT4BIND. Returns 0 or an errno value. */
int dvs_ept_start(struct dvs_ept *e, dvs_done_fn done, void *arg);
/* dvs_ept_submit queues call for the thread. */
void dvs_ept_submit(struct dvs_ept *e, struct dvs_call *call);
/* dvs_ept_run_sync runs call and waits for its result: directly on the
 * calling thread when the endpoint holds the process binding and is idle
 * (the process binding is usable from any thread that has no thread
 * binding of its own), otherwise on the endpoint thread. */
int dvs_ept_run_sync(struct dvs_ept *e, struct dvs_call *call);
/* dvs_ept_claim reserves an idle endpoint that holds the process binding
 * for one call on another thread (returns 1), else 0; dvs_ept_release ends
 * it. Used by the libuv-pool comparison of the benchmark. */
int dvs_ept_claim(struct dvs_ept *e);
void dvs_ept_release(struct dvs_ept *e);
/* dvs_ept_stop makes the thread exit after the queued calls and joins it.
 * Queued calls still complete (normally with EMOLNOTBIND after unbind). */
void dvs_ept_stop(struct dvs_ept *e);
/* dvs_ept_orphan is dvs_ept_stop for a thread that may stay blocked (in
 * wait4bind, which nothing can wake): it is detached, drops the results
 * of its remaining calls, and e must stay allocated (it is leaked). */
void dvs_ept_orphan(struct dvs_ept *e);
/* dvs_ept_wait_done waits until the thread has run call (submitted with
 * dvs_ept_submit); its done callback may still be on its way. */
void dvs_ept_wait_done(struct dvs_ept *e, struct dvs_call *call);
/* dvs_ept_execute performs one call on the calling thread. */
int dvs_ept_execute(struct dvs_ept *e, struct dvs_call *call);

/* ---- Split calls: the message-passing calls run on the caller's thread
 * (the JS thread) in two parts around a wait that the caller does itself
 * (an io_uring FUTEX_WAIT watched by its event loop: uring_wait.h). One
 * call per endpoint at a time; the call must stay put until it is done. */

/* The call is parked; wait for the doorbell (dvs_ept_split_arm). */
#define DVS_PENDING 1
/* dvs_ept_split_ok: can op run in split form on e (bound, message op)? */
int dvs_ept_split_ok(const struct dvs_ept *e, int op);
/* dvs_ept_split_start: the call's result, or DVS_PENDING. */
int dvs_ept_split_start(struct dvs_ept *e, struct dvs_call *call);
/* dvs_ept_split_arm: 0 = ask dvs_ept_split_check now; 1 = wait until the
 * shared futex word *addr differs from val, then dvs_ept_split_disarm. */
int dvs_ept_split_arm(struct dvs_call *call, _Atomic(uint32_t) **addr,
                      uint32_t *val);
void dvs_ept_split_disarm(struct dvs_call *call);
/* dvs_ept_split_check: DVS_PENDING (keep waiting) or the result. */
int dvs_ept_split_check(struct dvs_call *call);
/* dvs_ept_split_wait blocks the calling thread until the result. */
int dvs_ept_split_wait(struct dvs_call *call);
/* dvs_ept_split_remaining_ms: ms to the call's deadline (rounded up, 0 =
 * passed), -1 = none. */
long dvs_ept_split_remaining_ms(struct dvs_call *call);

#ifdef __cplusplus
}
#endif
#endif
