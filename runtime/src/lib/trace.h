/*
 * trace.h - the IPC trace ring in the node's shared table (internal).
 *
 * Every completed IPC step appends one fixed-size binary record to a
 * bounded ring inside struct dvst_table. The record is written by the
 * process that completes the step while it holds the table lock, so
 * writers need no lock of their own. Messages are recorded when they are DELIVERED (the
 * receiver gets them), with src = the true sender and dst = the receiver,
 * so every message is exactly one event.
 *
 * Readers (dvsd, tests) never take the lock: each ring entry carries its
 * seq, written last with release ordering and zeroed first, so a reader
 * that sees the same seq before and after copying the entry has a
 * consistent copy; anything else means the writer lapped it (counted as
 * lost).
 *
 * Cost: with tracing off every hook is one predictable branch on
 * t->trace.enabled. With it on, a record costs one cache line and a time
 * stamp on the critical path of the call (SPEC §8: at most 10 % on a
 * 0.3 us round trip, i.e. ~15 ns per record), hence its layout:
 *  - a record is 64 bytes, one cache line; the call site's file name,
 *    present only in programs built with -DDVS_TRACE_CALLSITES, goes to a
 *    parallel array that is touched only then;
 *  - the ring head and the Lamport clock live in the table lock's cache
 *    line (struct dvst_table), which the writer owns anyway;
 *  - on the local delivery paths the record is written after the delivery
 *    rang the receiver (dvst_trace_kind / dvst_trace_delivered), so a
 *    receiver spinning on another CPU does not wait for the record's
 *    stores;
 *  - a reply finds its request's seq in the slot's first line (trace_req),
 *    which the replier touches anyway;
 *  - the time stamp is the raw TSC where the kernel itself keeps time with
 *    it (clocksource "tsc": synchronised across CPUs), 12 ns against 40 ns
 *    for clock_gettime on our VMs; readers convert it to CLOCK_MONOTONIC ns
 *    with a calibration that dvsd keeps (struct dvst_trace_cal).
 * Readers get the full event (struct dvst_trace_event) from
 * dvst_trace_read; the record layout is private to trace.c. dvsd sets enabled while at least one client subscribes
 * (control request "trace") or always with `dvsd --trace` / "trace on".
 */
#ifndef DVS_TRACE_H
#define DVS_TRACE_H

#include <stdatomic.h>
#include <stdint.h>

#define DVST_TRACE_EVENTS 16384 /* ring size: a power of two */
#define DVST_TRACE_FILE 48      /* basename of the call site, NUL padded */

enum dvst_trace_op {
    DVST_OP_SEND = 1, /* a message of a plain send delivered */
    DVST_OP_SENDREC,  /* a sendrec request delivered */
    DVST_OP_REPLY,    /* a reply delivered (reply, or send to a sendrec caller) */
    DVST_OP_NOTIFY,   /* a notification delivered */
    DVST_OP_VCOPY,    /* a vcopy done (bytes) */
    DVST_OP_BIND,
    DVST_OP_UNBIND,   /* result: 0 explicit, EMOLSRCDIED death, EMOLSHUTDOWN */
    DVST_OP_ERROR,    /* a call returned < 0 (call says which) */
    DVST_OP_TIMEOUT,  /* a call returned EMOLTIMEDOUT or EMOLAGAIN */
    DVST_OP_MIGR_START,    /* src: the endpoint; result */
    DVST_OP_MIGR_COMMIT,   /* src: the endpoint, dst: its new node */
    DVST_OP_MIGR_ROLLBACK, /* src: the endpoint */
    DVST_OP_MAX
};

/* The calls an error or timeout event names (event.call). */
enum dvst_trace_call {
    DVST_CALL_NONE = 0,
    DVST_CALL_SEND, DVST_CALL_SEND_T, DVST_CALL_RECEIVE, DVST_CALL_RECEIVE_T,
    DVST_CALL_SENDREC, DVST_CALL_SENDREC_T, DVST_CALL_RCVRQST,
    DVST_CALL_RCVRQST_T, DVST_CALL_REPLY, DVST_CALL_REPLY_T,
    DVST_CALL_NOTIFY, DVST_CALL_NTFY_VALUE, DVST_CALL_VCOPY,
    DVST_CALL_MAX
};

/* What a reader gets (dvst_trace_read): one event, in full. */
struct dvst_trace_event {
    uint64_t seq;         /* 1, 2, ... per node */
    uint64_t ts;          /* CLOCK_MONOTONIC ns */
    uint64_t lamport;
    uint64_t reply_to;    /* seq of the sendrec request a reply answers */
    int32_t node, dc;
    int16_t op, call;     /* enum dvst_trace_op, enum dvst_trace_call */
    int32_t src, dst;     /* endpoints */
    int32_t type;         /* m_type (messages) */
    int32_t bytes;
    int32_t result;
    int32_t pid;          /* the process that made the call */
    int32_t line;         /* 0 when unknown */
    char file[DVST_TRACE_FILE]; /* "" when unknown */
};

/* What the ring holds: one cache line per event (see the cost note). */
struct dvst_trace_rec {
    _Atomic uint64_t seq; /* 0 while being written */
    uint64_t ts;          /* raw TSC ticks, or ns (struct dvst_trace.tsc) */
    uint64_t lamport;
    uint32_t reply_gap;   /* seq - reply_to; 0: not a reply (or too far) */
    int32_t src, dst, type, bytes, result, pid;
    int32_t line;         /* != 0: file_of[] holds the site's file */
    int16_t dc;
    int8_t op, call;
} __attribute__((aligned(64)));

/* The TSC -> CLOCK_MONOTONIC conversion: ns = ns0 + (tsc - tsc0) * mult
 * >> 32. dvsd measures it when it creates the table and refines it while
 * recording (the longer the span, the better the rate); seq is a seqlock
 * (odd while dvsd updates). */
struct dvst_trace_cal {
    _Atomic uint32_t seq;
    uint64_t tsc0, ns0, mult;
    uint64_t first_tsc, first_ns; /* the table's first pair: the rate's base */
};

struct dvst_trace {
    /* Read by every hook: alone on its line, so that the writes below do
     * not bounce it between CPUs. */
    _Atomic uint32_t enabled __attribute__((aligned(64))); /* by dvsd, tests */
    uint32_t tsc;               /* set at creation: records carry TSC ticks */
    struct dvst_trace_cal cal __attribute__((aligned(64)));
    struct dvst_trace_rec ev[DVST_TRACE_EVENTS];
    char file_of[DVST_TRACE_EVENTS][DVST_TRACE_FILE];
};

/* dvst_trace_index is where record seq lives in the ring. Even seqs fill
 * the first half, odd ones the second: consecutive records, which two
 * processes ping-ponging on two CPUs write alternately, are never in the
 * same 128-byte pair of lines that x86 adjacent-line prefetchers fetch
 * together, so one CPU's record does not pull the other's line away (the
 * reason the records used to be 128 bytes). */
static inline unsigned
dvst_trace_index(uint64_t seq)
{
    return (unsigned)(((seq & 1) * (DVST_TRACE_EVENTS / 2)) |
                      ((seq >> 1) & (DVST_TRACE_EVENTS / 2 - 1)));
}

/* The call site of the current call (set by the mnx_*_at entry points of
 * m3ipc.h when a program is built with -DDVS_TRACE_CALLSITES). */
extern __thread const char *dvst_site_file;
extern __thread int dvst_site_line;

struct dvst_table;
struct dvst_slot;

/* DVST_TRACING is the one branch a hook costs when tracing is off. */
#define DVST_TRACING(t) \
    __builtin_expect(atomic_load_explicit(&(t)->trace.enabled, \
                                          memory_order_relaxed) != 0, 0)

/* dvst_trace_msg records a message from slot `from` (the true sender, src
 * endpoint src_ep) to dst (lock held). Call BEFORE the delivery changes
 * dst's flags. from_queue says that the message was queued, so the site
 * comes from the sender's slot instead of this thread. op may be
 * DVST_OP_SEND: it becomes REPLY when dst waits in sendrec for src_ep. */
void dvst_trace_msg(struct dvst_table *t, int op, struct dvst_slot *from,
                    int src_ep, struct dvst_slot *dst, int m_type,
                    int from_queue);
/* dvst_trace_msg in two steps, so that the record can be written after
 * the delivery has rung the receiver (its stores then do not queue behind
 * the record's): dvst_trace_kind classifies (before the delivery changes
 * dst's flags; returns the op, *reply_to the request's seq, low 32 bits),
 * dvst_trace_delivered records (lock still held). */
int dvst_trace_kind(int op, const struct dvst_slot *dst, int src_ep,
                    uint32_t *reply_to);
void dvst_trace_delivered(struct dvst_table *t, int op, uint32_t reply_to,
                          struct dvst_slot *from, int src_ep,
                          struct dvst_slot *dst, int m_type, int from_queue);
/* dvst_trace_enqueue stores this thread's call site in the sender's slot,
 * so that it travels with a queued message (lock held). */
void dvst_trace_enqueue(struct dvst_slot *me);
/* dvst_trace_op records a non-message event (lock held). */
void dvst_trace_op(struct dvst_table *t, int op, int dc, int src, int dst,
                   int bytes, int result, int pid);
/* dvst_trace_fail records an error or timeout event of call with peer
 * endpoint peer (takes the lock; does nothing when tracing is off).
 * Returns rc. */
int dvst_trace_fail(int call, int peer, int rc);
/* dvst_trace_fail_as is dvst_trace_fail for a call made with an explicit
 * binding (ipc_split.h); b NULL: an unbound caller. */
struct binding;
int dvst_trace_fail_as(const struct binding *b, int call, int peer, int rc);
/* DVST_TRACE_RET wraps a public call's return value: one branch on the
 * result; the flag is only looked at when the call failed. */
#define DVST_TRACE_RET(call, peer, expr)                            \
    __extension__({                                                 \
        int _dvst_rc = (expr);                                      \
        if (__builtin_expect(_dvst_rc < 0, 0))                      \
            dvst_trace_fail(call, peer, _dvst_rc);                  \
        _dvst_rc;                                                   \
    })

/* dvst_trace_init sets the time source of a new table up and measures
 * the TSC rate (dvsd, at creation; takes about 2 ms).
 * dvst_trace_calibrate refines the rate (dvsd, while recording). */
void dvst_trace_init(struct dvst_table *t);
void dvst_trace_calibrate(struct dvst_table *t);

/* dvst_trace_merge_clock folds a remote Lamport time into the node's clock
 * (clock = max(clock, remote) + 1) and returns the new value (lock held).
 * Proxies call it for every message that arrives from another node. */
uint64_t dvst_trace_merge_clock(struct dvst_table *t, uint64_t remote);

/* dvst_trace_read copies up to max events with seq > after into out, in
 * order, without the lock. *lost counts the events that were overwritten
 * before they could be read. Returns how many were copied; *next is the
 * seq to pass as `after` next time. */
int dvst_trace_read(struct dvst_table *t, uint64_t after,
                    struct dvst_trace_event *out, int max, uint64_t *next,
                    uint64_t *lost);

/* Names for the JSON form. */
const char *dvst_trace_op_name(int op);
const char *dvst_trace_call_name(int call);
#endif /* DVS_TRACE_H */
