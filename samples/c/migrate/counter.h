/* counter.h - the protocol of the migration sample. */
#ifndef COUNTER_H
#define COUNTER_H

#define COUNTER 1   /* the server's endpoint */
#define CT_ADD 1    /* request: m2_l1 = amount to add */
#define CT_TOTAL 2  /* reply: m2_l1 = the new total, m2_i1 = the server's pid */
#endif
