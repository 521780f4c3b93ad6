/*
 * proc.h - what one process of the library knows (internal): the mapped
 * node table and which slot the calling thread is bound to.
 */
#ifndef DVS_PROC_H
#define DVS_PROC_H

#include <time.h>

#include "table.h"

/* A binding is this process's (or thread's) claim on a slot. It is valid
 * while the slot's bind_gen still equals gen: anybody who unbinds the slot
 * bumps bind_gen, which is how a stale binding is noticed. */
struct binding {
    struct dvst_slot *slot;
    struct dvst_slot *last_peer; /* spin hint for receive(ANY) */
    int ep, dcid;
    uint64_t gen;
};

/* proc_table maps the node table on first use; NULL if there is none. */
struct dvst_table *proc_table(void);

/* proc_forget_node unmaps the node so that the next call maps the one
 * DVS_NODE names now (a forked child moving to another node; tests). */
void proc_forget_node(void);

/* proc_enter checks that the caller is bound, in a running DC, and returns
 * its binding; < 0 is the error to return. */
int proc_enter(struct dvst_table **t, struct binding **b);

/* proc_enter_binding is proc_enter with an explicit binding: the calls of
 * ipc_split.h, made by a thread (the addon's event loop) on behalf of an
 * endpoint whose binding belongs to another thread. A stale b is zeroed. */
int proc_enter_binding(struct dvst_table **t, struct binding *b);
/* proc_get_binding copies the calling thread's binding (its mnx_tbind one,
 * else the process's); EMOLNOTBIND if it has none. */
int proc_get_binding(struct binding *out);

/* proc_set_binding records a new binding for the process (thread == 0) or
 * the calling thread (thread == 1). */
void proc_set_binding(int thread, struct dvst_slot *s);
/* proc_is_bound says whether the calling process already has a binding. */
int proc_is_bound(void);

/* proc_dc maps the node and checks that DC dcid exists and runs:
 * EMOLDVSINIT, EMOLBADDCID or EMOLDCNOTRUN otherwise. */
int proc_dc(int dcid, struct dvst_table **t);
/* proc_remote_dc is proc_dc plus what rmtbind and bkupbind need of the
 * other node: another node of the DC (EMOLBADNODEID, EMOLNODCNODE),
 * reachable through a proxy (EMOLNOPROXY). Defined in bind.c. */
int proc_remote_dc(int dcid, int nodeid, struct dvst_table **t);

/* proc_lookup resolves ep in dcid to its slot; SELF must already have been
 * replaced. Errors: EMOLENDPOINT for ANY/NONE, EMOLRANGE. The slot may be
 * free: the caller picks the error that fits its call. */
int proc_lookup(struct dvst_table *t, int dcid, int ep, struct dvst_slot **s);

/* proc_deadline turns a _T timeout into an absolute monotonic deadline:
 * returns 0 and sets *has (0 = forever), or EMOLINVAL. */
int proc_deadline(long to_ms, struct timespec *deadline, int *has);

/* proc_wait blocks until the caller's blocked bits clear or the deadline
 * passes (EMOLTIMEDOUT). It spins first only while peer runs on another
 * CPU. */
int proc_wait(struct binding *b, struct dvst_slot *peer,
              const struct timespec *deadline);
/* proc_wait_arm and proc_wait_disarm are proc_wait's sleep protocol for
 * a waiter that sleeps somewhere else than in futex_wait (an io_uring
 * FUTEX_WAIT watched by an event loop): arm returns 0 if the caller is no
 * longer blocked, else 1 with *val, the doorbell value to wait on; the
 * slot then counts as asleep (wakers enter the kernel) until disarm, which
 * the waiter calls once its wait has completed. */
int proc_wait_arm(struct dvst_slot *me, uint32_t *val);
void proc_wait_disarm(struct dvst_slot *me);
#endif /* DVS_PROC_H */
