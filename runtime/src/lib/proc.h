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

/* proc_set_binding records a new binding for the process (thread == 0) or
 * the calling thread (thread == 1). */
void proc_set_binding(int thread, struct dvst_slot *s);
/* proc_is_bound says whether the calling process already has a binding. */
int proc_is_bound(void);

/* proc_dc maps the node and checks that DC dcid exists and runs:
 * EMOLDVSINIT, EMOLBADDCID or EMOLDCNOTRUN otherwise. */
int proc_dc(int dcid, struct dvst_table **t);

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
#endif /* DVS_PROC_H */
