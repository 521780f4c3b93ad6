/*
 * ipc_split.h - the message-passing calls split in two (internal), for a
 * caller that must not sleep in futex_wait: the Node addon's event loop
 * (runtime/addon) starts a call on the JS thread, waits for the slot's
 * doorbell through an io_uring FUTEX_WAIT watched by libuv, and finishes
 * the call there. The public m3ipc.h calls are dvsi_start + proc_wait +
 * the same collection of the result, so both behave identically:
 * timeouts (EMOLTIMEDOUT after cancelling the queued request), unbind and
 * death wakes (the codes dvst_end_wait hands over), NOWAIT, notifications
 * first in receive, and the transparent replay of a call whose
 * destination migrated while it waited (dvsi_check may start the call
 * again and go on answering DVSI_PENDING). Nothing changes on the waking side: a waker rings the
 * doorbell and enters the kernel because the slot counts as asleep.
 *
 * Usage (one call at a time per binding, on any one thread):
 *
 *   struct dvsi_call c;
 *   int rc = dvsi_start(&c, &b, DVSI_SENDREC, ep, &m, to_ms);
 *   while (rc == DVSI_PENDING) {
 *       uint32_t v;
 *       if (dvsi_arm(&c, &v)) {
 *           wait until *dvsi_doorbell(&c) != v (or the deadline);
 *           dvsi_disarm(&c);
 *       }
 *       rc = dvsi_check(&c);
 *   }
 *
 * or dvsi_wait(&c) to block like the public calls.
 */
#ifndef DVS_IPC_SPLIT_H
#define DVS_IPC_SPLIT_H

#include <time.h>

#include "proc.h"

#ifdef __cplusplus
extern "C" {
#endif

enum dvsi_op {
    DVSI_SEND,    /* ep = destination */
    DVSI_RECEIVE, /* ep = source or ANY */
    DVSI_SENDREC, /* ep = server */
    DVSI_RCVRQST, /* ep unused */
    DVSI_REPLY,   /* ep = client; to_ms unused (a local reply never blocks) */
    DVSI_NOTIFY,  /* ep = destination; m, to_ms unused */
};

/* dvsi_start's "the caller is parked and must wait" (results are <= 0). */
#define DVSI_PENDING 1

/* An in-flight call. Opaque to callers; it must stay where it is (and
 * the binding and message it points to) until the call's result is
 * known. */
struct dvsi_call {
    struct dvst_table *t;
    struct binding *b;
    struct dvst_slot *peer; /* spin hint for proc_wait */
    message *into;          /* receives the delivered message, or NULL */
    struct timespec dl;     /* absolute CLOCK_MONOTONIC deadline if has_dl */
    int has_dl;
    int receive;            /* remember the sender as the next spin hint */
    int call, ep;           /* what a failure records in the trace */
    /* What a replay starts again (EMOLMIGRATE: the destination migrated
     * while the call waited; ipc.c, settle). */
    int op, replays;
    struct binding *xb;     /* the explicit binding, or NULL: the thread's */
    message *m;
    int ntfy_src;
    long ntfy_value;
};

/* dvsi_start does the part of call op that never blocks, with binding b
 * (a copy of the endpoint's binding: proc_get_binding; its bind_gen check
 * makes a stale copy fail with EMOLNOTBIND). Returns the call's result, or
 * DVSI_PENDING: the request is parked in the shared table (no user buffer
 * is needed until the end) and the caller waits for its doorbell. */
int dvsi_start(struct dvsi_call *c, struct binding *b, int op, int ep,
               message *m, long to_ms);
/* dvsi_doorbell is the futex word (shared mapping) the waiter waits on. */
_Atomic uint32_t *dvsi_doorbell(const struct dvsi_call *c);
/* dvsi_arm prepares a sleep: 0 if the call is no longer blocked (ask
 * dvsi_check now), else 1 and *val, the doorbell value to wait on. After
 * 1 the slot counts as asleep until dvsi_disarm, which the waiter calls
 * once its wait is over (woken, value changed, timed out or cancelled). */
int dvsi_arm(struct dvsi_call *c, uint32_t *val);
void dvsi_disarm(struct dvsi_call *c);
/* dvsi_check never blocks: DVSI_PENDING while the call is blocked and
 * its deadline has not passed; else its result (EMOLTIMEDOUT once the
 * deadline passed, the request withdrawn). Spurious wakes are fine. */
int dvsi_check(struct dvsi_call *c);
/* dvsi_wait blocks in proc_wait until the result (as the public calls). */
int dvsi_wait(struct dvsi_call *c);
/* dvsi_remaining_ms: milliseconds to the deadline, rounded up (0 if it
 * passed), or -1 for none. */
long dvsi_remaining_ms(const struct dvsi_call *c);

#ifdef __cplusplus
}
#endif
#endif /* DVS_IPC_SPLIT_H */
