/* failover.h - the protocol of the primary/backup sample. */
#ifndef FAILOVER_H
#define FAILOVER_H

#define FO_SERVER 1 /* the server's endpoint, on its primary and its backups */
#define FO_PING 1   /* request: m1_i1 = a sequence number */
#define FO_PONG 2   /* reply: m1_i1 = the same number, m1_i2 = server pid, m1_i3 = its node */
#endif
