/*
 * ipc_internal.h - the message-passing steps shared by the local calls
 * (ipc.c) and the proxy's handling of remote commands (remote.c). All of
 * them run with the table lock held.
 */
#ifndef DVS_IPC_INTERNAL_H
#define DVS_IPC_INTERNAL_H

#include "table.h"
#include "wire.h"

/* dvsi_ready_for: may c hand a message to x right now (R(x, c))? */
int dvsi_ready_for(const struct dvst_slot *x, int c);
/* dvsi_deliver copies m into the waiting dst, stamps src_ep, wakes it. */
void dvsi_deliver(struct dvst_slot *dst, const message *m, int src_ep);
/* dvsi_take moves queued sender s's message into m for receiver me. */
void dvsi_take(struct dvst_slot *me, struct dvst_slot *s, message *m);
int dvsi_notify_bit(const dc_usr_t *dc, int p_nr);
void dvsi_build_notify(message *m, int src_ep, int src_nr, long value);
#endif /* DVS_IPC_INTERNAL_H */
