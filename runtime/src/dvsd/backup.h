/*
 * backup.h - primary/backup takeover by the daemons (see backup.c).
 */
#ifndef DVSD_BACKUP_H
#define DVSD_BACKUP_H

#include "dvsd.h"

void backup_init(struct dvsd *d);
/* backup_declare records that node holds a standby of ep ("backup DC EP
 * NODE"); < 0 is an EMOL* code. */
int backup_declare(int dcid, int ep, int node);
/* The proxy's link events: a link that was up went down (cut: by
 * request), came up; backup_tick runs with the proxy's timer. */
void backup_link_down(int node, int cut);
void backup_link_up(int node);
void backup_tick(void);
/* backup_standby_gone (table lock held): the standby of ep here died; the
 * other nodes of the DC are told by backup_announce (BKUP_GONE), which
 * runs after the death and with every tick until each has been told. */
void backup_standby_gone(int dcid, int ep);
void backup_announce(void);
#endif
