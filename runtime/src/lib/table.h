/*
 * table.h - the node's descriptor table in shared memory (internal).
 *
 * Every process of a node maps the same file, <node dir>/table, and the
 * two parties of a local IPC call do the whole exchange themselves on it:
 * no daemon hop. The table plays the role of the kernel's process table in
 * the original module.
 *
 * Invariants (see ARCHITECTURE.md):
 *  - Every field that says "(lock)" is written only with the table lock
 *    held. rts_flags is also read without the lock by a blocked owner that
 *    is waiting for its blocked bits to clear: a waker writes the message
 *    and rcode first and clears the bits last (release ordering).
 *  - nqueued is derived state (the number of slots SENDING to this one); it
 *    is recomputed by dvst_repair() after a process died holding the lock.
 *  - wake is a pure doorbell: a waiter always re-checks its rts_flags, so a
 *    spurious wake is harmless and a repair may wake everybody.
 */
#ifndef DVS_TABLE_H
#define DVS_TABLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "m3ipc.h"
#include "trace.h"

#define DVST_MAGIC 0x31535644u /* "DVS1" */
#define DVST_VERSION 5 /* 2: proxy work; 3: trace ring, slot call sites;
                          4: migration, backups (bkup_nodes);
                          5: 64-byte trace records, head and clock in the
                             lock's line */
#define DVST_SLOTS (NR_TASKS + NR_PROCS)
#define DVST_NOTIFY_WORDS ((NR_TASKS + NR_SYS_PROCS + 63) / 64)

/* Internal misc flag: the owner is inside sendrec, so notifications stay
 * pending until the reply arrives (MINIX's REPLY_PENDING). */
#define MIS_SENDREC 0x20000

/* Node link flags (node_usr_t.n_flags), as in /proc/dvs/nodes. */
#define NODE_ATTACHED 0x2
#define NODE_SCONNECTED 0x4
#define NODE_RCONNECTED 0x8
#define NODE_UP (NODE_SCONNECTED | NODE_RCONNECTED)

/* The blocked bits a waiter waits on. WAITMIGR: waiting for the end of a
 * migration of endpoint `waitmigr` (the call is replayed then). */
#define BLOCKED_MASK (SENDING | RECEIVING | WAITMIGR)

struct dvst_slot {
    /* Cache line 1: what the two parties touch on every exchange. */
    _Atomic uint32_t wake;     /* futex doorbell */
    _Atomic uint32_t sleeping; /* owner is (about to be) in FUTEX_WAIT */
    _Atomic int32_t cpu;       /* CPU the owner last entered IPC on */
    _Atomic uint32_t slept_on; /* wake value the owner sleeps on */
    _Atomic uint32_t rts_flags; /* (lock) p_rts_flags */
    uint32_t misc_flags;        /* (lock) p_misc_flags */
    int32_t rcode;              /* (lock) result handed to a woken owner */
    int32_t getfrom, sendto;    /* (lock) */
    /* (lock) low 32 bits of the trace seq of this slot's last sendrec
     * request, which its reply points back to (trace.h): here, because
     * the replier reads it in the line it touches anyway. */
    uint32_t trace_req;
    uint64_t sendseq;           /* (lock) FIFO position while SENDING */
    int32_t nqueued;            /* (lock) derived: senders queued to me */
    int32_t endpoint;           /* (lock) */
    int32_t nr, dcid;           /* fixed per slot */
    int32_t lpid, tid;          /* (lock) owner; -1 when none */
    uint64_t bind_gen;          /* (lock) bumped on every bind and unbind */

    /* Cache line 2+: the message buffer and the rest. */
    message msg __attribute__((aligned(64))); /* (lock) */
    uint64_t starttime;        /* (lock) owner's start time, /proc stat #22 */
    int32_t nodeid;            /* (lock) node of the primary */
    int32_t waitmigr;          /* (lock) */
    uint64_t notify_pending[DVST_NOTIFY_WORDS]; /* (lock) by sender s_id */
    long ntfy_value;           /* (lock) ORed mnx_ntfy_value arguments */
    uint64_t lclsent, rmtsent, lclcopy, rmtcopy; /* (lock) counters */
    char name[MAXPROCNAME];    /* (lock) */

    /* Work for the node's proxy (valid while RMTOPER is set), and the
     * state of a remote operation the owner waits for. */
    uint16_t px_cmd;           /* (lock) wire command to send */
    int32_t px_node;           /* (lock) node it goes to */
    int32_t px_peer;           /* (lock) endpoint it is for */
    int32_t px_from;           /* (lock) acks from surrogates: our endpoint */
    int32_t px_rcode;          /* (lock) result carried by an ack */
    int32_t vc_src, vc_dst;    /* (lock) remote vcopy parties */
    uint64_t vc_saddr, vc_daddr;
    uint32_t vc_bytes;
    /* Trace (trace.h): the call site of a queued message. */
    char trace_file[DVST_TRACE_FILE]; /* (lock) */
    int32_t trace_line;        /* (lock) */
    /* Primary/backup: the nodes that hold a standby of this endpoint
     * (bit n = node n), declared on every node (dvsd "backup"); on the
     * backup's own node the slot is REMOTE with MIS_RMTBACKUP and lpid is
     * the standby process (migrate.c). */
    uint32_t bkup_nodes;       /* (lock) */
} __attribute__((aligned(64)));

struct dvst_dc {
    dc_usr_t usr;     /* (lock) */
    int32_t running;  /* (lock) 1 between dc_init and dc_end */
};

struct dvst_table {
    /* The first cache line is the lock's: every IPC call writes it, and
     * the trace's head and Lamport clock, written under the lock by every
     * recorded event, ride along instead of moving a line of their own
     * between CPUs (trace.h). magic and version are only read at open. */
    uint32_t magic, version;
    pthread_mutex_t lock;     /* robust, process-shared */
    _Atomic uint64_t trace_head; /* (lock) seq of the last trace record */
    uint64_t trace_clock;     /* (lock) the node's Lamport clock */
    uint64_t size;            /* bytes mapped */
    _Atomic uint32_t bind_seq; /* futex: bumped on every bind/unbind */
    _Atomic int32_t daemon_pid;
    _Atomic uint32_t px_armed; /* dvsd waits for work: ring its FIFO */
    uint64_t sendseq;         /* (lock) source of slot sendseq */
    uint64_t repairs;         /* (lock) how many times a dead owner was repaired */
    dvs_usr_t dvs;            /* (lock) */
    node_usr_t nodes[NR_NODES];     /* (lock) */
    struct dvst_dc dcs[NR_DCS];     /* (lock) */
    struct dvst_slot slots[NR_DCS][DVST_SLOTS];
    struct dvst_trace trace;  /* the event ring (trace.h) */
};

/* dvst_create makes a new table file at path (which must not exist) for
 * node nodeid; used by dvsd. Returns the mapping or NULL with errno set. */
struct dvst_table *dvst_create(const char *path, int nodeid,
                               const char *name);
/* dvst_open maps an existing table; NULL with errno set on failure. */
struct dvst_table *dvst_open(const char *path);
void dvst_close(struct dvst_table *t);

/* dvst_lock takes the table lock; if its previous owner died holding it,
 * the table is repaired before dvst_lock returns. */
void dvst_lock(struct dvst_table *t);
void dvst_unlock(struct dvst_table *t);
/* dvst_repair recomputes derived state and wakes every slot (lock held). */
void dvst_repair(struct dvst_table *t);

/* dvst_slot returns the slot of p_nr in dcid (no range check). */
static inline struct dvst_slot *
dvst_slot(struct dvst_table *t, int dcid, int p_nr)
{
    return &t->slots[dcid][p_nr + NR_TASKS];
}

/* dvst_wake rings a slot's doorbell and enters the kernel only if the
 * owner sleeps. Under the table lock the FUTEX_WAKE is deferred to
 * dvst_unlock: a woken peer that preempts us would otherwise block at once
 * on the lock we still hold, costing two more context switches. */
void dvst_wake(struct dvst_slot *s);
/* dvst_asleep says whether the owner sleeps in the kernel and nobody has
 * rung its doorbell since (it is not about to run). */
static inline int
dvst_asleep(struct dvst_slot *s)
{
    return atomic_load_explicit(&s->sleeping, memory_order_relaxed) &&
           atomic_load_explicit(&s->wake, memory_order_relaxed) ==
               atomic_load_explicit(&s->slept_on, memory_order_relaxed);
}
/* dvst_wake_all rings every doorbell of the table and bind_seq. */
void dvst_wake_all(struct dvst_table *t);
/* dvst_bump_bind_seq announces a bind or unbind to wait4bind and dvsd. */
void dvst_bump_bind_seq(struct dvst_table *t);

/* dvst_dc_init sets DC usr->dc_dcid up (lock held). */
int dvst_dc_init(struct dvst_table *t, const dc_usr_t *usr);
/* dvst_unbind frees a slot and wakes everyone waiting on it with the
 * original codes (lock held). why is the code the owner gets if it is
 * blocked itself. */
void dvst_unbind(struct dvst_table *t, struct dvst_slot *s, int why);
/* dvst_end_wait ends the blocked call of s with code and wakes it (lock
 * held). */
void dvst_end_wait(struct dvst_slot *s, int code);
/* dvst_fill_procinfo copies a slot into the user view (lock held). */
void dvst_fill_procinfo(const struct dvst_slot *s, proc_usr_t *p);
/* dvst_starttime reads field 22 of /proc/<pid>/stat; 0 if it cannot. */
uint64_t dvst_starttime(pid_t pid);

/* dvst_px_ring tells the node's proxy that a slot has RMTOPER work;
 * dvst_px_note asks dvst_unlock to do it once the lock is released. */
void dvst_px_ring(struct dvst_table *t);
void dvst_px_note(void);
/* dvst_px_forget drops the FIFO of the node this process used so far. */
void dvst_px_forget(void);

/* futex helpers on shared (not private) mappings. */
int dvst_futex_wait(_Atomic uint32_t *addr, uint32_t val,
                    const struct timespec *abs_deadline);
void dvst_futex_wake(_Atomic uint32_t *addr, int n);

/* Node directory resolution: $DVS_NODE, else the default node. */
const char *dvst_default_node_dir(void);
#endif /* DVS_TABLE_H */
