/*
 * remote.h - what a node's proxy does to the table (internal; used by
 * dvsd). Every function runs with the table lock held, so remote commands
 * follow exactly the same rules as local calls (m3ipc-semantics.md §5.3).
 */
#ifndef DVS_REMOTE_H
#define DVS_REMOTE_H

#include <sys/types.h>

#include "table.h"
#include "wire.h"

/* An outgoing frame, and for COPYIN_DATA/COPYOUT_DATA the local memory the
 * daemon must read (after unlocking) to fill the payload chunks. */
struct px_out {
    struct wire_frame f;
    uint64_t order;
    pid_t read_pid;    /* > 0: payload = read_len bytes at read_addr */
    uint64_t read_addr;
    uint32_t read_len;
};

/* dvsr_collect takes every RMTOPER work item of the table, in FIFO order,
 * into out (at most max). Items for a node whose link is down fail their
 * owner with EMOLNOTCONN instead. Returns the count. */
int dvsr_collect(struct dvst_table *t, struct px_out *out, int max);

/* dvsr_arrive applies one command from node f->snode. Replies that go back
 * at once (acks, copy data) are appended to out (room for max); returns
 * their count. payload holds f->len bytes. */
int dvsr_arrive(struct dvst_table *t, const struct wire_frame *f,
                const unsigned char *payload, struct px_out *out, int max);

/* dvsr_link_down fails every call that waits on node, and drops the
 * node's surrogates from local queues. */
void dvsr_link_down(struct dvst_table *t, int node);
#endif /* DVS_REMOTE_H */
