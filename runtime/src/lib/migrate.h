/*
 * migrate.h - what the daemon needs of migrate.c (internal).
 */
#ifndef DVS_MIGRATE_H
#define DVS_MIGRATE_H

#include "table.h"

/* dvsm_owner_died handles the death of s's owner when it is special
 * (lock held): a MIGRATING endpoint keeps its slot (MIS_KILLED; its
 * callers wait for the commit, a rollback unbinds it), a standby's slot
 * reverts to a plain surrogate of the primary. Returns 1 if it did, 0 if
 * the caller must unbind as usual. */
int dvsm_owner_died(struct dvst_table *t, struct dvst_slot *s);
#endif
