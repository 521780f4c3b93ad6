/*
 * trace.c - recording IPC events into the table's trace ring, reading them
 * back, and the call-site entry points (mnx_*_at) of m3ipc.h.
 * See trace.h for the ring's rules.
 */
#define _GNU_SOURCE
#include "trace.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

__thread const char *dvst_site_file;
__thread int dvst_site_line;

static const char *const op_names[DVST_OP_MAX] = {
    [DVST_OP_SEND] = "send",     [DVST_OP_SENDREC] = "sendrec",
    [DVST_OP_REPLY] = "reply",   [DVST_OP_NOTIFY] = "notify",
    [DVST_OP_VCOPY] = "vcopy",   [DVST_OP_BIND] = "bind",
    [DVST_OP_UNBIND] = "unbind", [DVST_OP_ERROR] = "error",
    [DVST_OP_TIMEOUT] = "timeout", [DVST_OP_MIGR_START] = "migr_start",
    [DVST_OP_MIGR_COMMIT] = "migr_commit",
    [DVST_OP_MIGR_ROLLBACK] = "migr_rollback",
};

static const char *const call_names[DVST_CALL_MAX] = {
    [DVST_CALL_SEND] = "mnx_send",         [DVST_CALL_SEND_T] = "mnx_send_T",
    [DVST_CALL_RECEIVE] = "mnx_receive",   [DVST_CALL_RECEIVE_T] = "mnx_receive_T",
    [DVST_CALL_SENDREC] = "mnx_sendrec",   [DVST_CALL_SENDREC_T] = "mnx_sendrec_T",
    [DVST_CALL_RCVRQST] = "mnx_rcvrqst",   [DVST_CALL_RCVRQST_T] = "mnx_rcvrqst_T",
    [DVST_CALL_REPLY] = "mnx_reply",       [DVST_CALL_REPLY_T] = "mnx_reply_T",
    [DVST_CALL_NOTIFY] = "mnx_notify",     [DVST_CALL_NTFY_VALUE] = "mnx_ntfy_value",
    [DVST_CALL_VCOPY] = "mnx_vcopy",
};

const char *
dvst_trace_op_name(int op)
{
    return op > 0 && op < DVST_OP_MAX ? op_names[op] : "unknown";
}

const char *
dvst_trace_call_name(int call)
{
    return call > 0 && call < DVST_CALL_MAX ? call_names[call] : NULL;
}

static void
copy_site(char dst[DVST_TRACE_FILE], const char *file)
{
    if (!file) {
        dst[0] = 0;
        return;
    }
    const char *slash = strrchr(file, '/');
    if (slash)
        file = slash + 1;
    size_t n = strnlen(file, DVST_TRACE_FILE - 1);
    memcpy(dst, file, n);
    dst[n] = 0;
}

_Static_assert(sizeof(struct dvst_trace_rec) == 64,
               "a trace record is one cache line");
_Static_assert(offsetof(struct dvst_slot, trace_req) < 64,
               "a reply reads trace_req in the slot line it touches anyway");

#if defined(__x86_64__)
#include <x86intrin.h>
static inline uint64_t tsc_now(void) { return __rdtsc(); }
#else
static inline uint64_t tsc_now(void) { return 0; }
#endif

static uint64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* stamp is the time of a record: raw TSC ticks when the table says so. */
static inline uint64_t
stamp(const struct dvst_trace *tr)
{
    return tr->tsc ? tsc_now() : mono_ns();
}

/* begin claims the next ring record (lock held): its seq stays 0 until
 * commit, so a lock-free reader never takes a half-written record. */
static struct dvst_trace_rec *
begin(struct dvst_table *t, uint64_t *seq)
{
    struct dvst_trace *tr = &t->trace;
    *seq = atomic_load_explicit(&t->trace_head, memory_order_relaxed) + 1;
    struct dvst_trace_rec *e = &tr->ev[dvst_trace_index(*seq)];
    atomic_store_explicit(&e->seq, 0, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    e->ts = stamp(tr);
    e->lamport = ++t->trace_clock;
    e->call = DVST_CALL_NONE;
    e->reply_gap = 0;
    return e;
}

static void
commit(struct dvst_table *t, struct dvst_trace_rec *e, uint64_t seq)
{
    atomic_store_explicit(&e->seq, seq, memory_order_release);
    atomic_store_explicit(&t->trace_head, seq, memory_order_release);
}

/* set_site records the call site of this thread (line 0: none). */
static void
set_site(struct dvst_table *t, struct dvst_trace_rec *e, uint64_t seq)
{
    if (!dvst_site_file || dvst_site_line <= 0) {
        e->line = 0;
        return;
    }
    copy_site(t->trace.file_of[dvst_trace_index(seq)], dvst_site_file);
    e->line = dvst_site_line;
}

int
dvst_trace_kind(int op, const struct dvst_slot *dst, int src_ep,
                uint32_t *reply_to)
{
    *reply_to = 0;
    if (op == DVST_OP_SEND || op == DVST_OP_REPLY) {
        uint32_t f = atomic_load_explicit(&dst->rts_flags, memory_order_relaxed);
        /* A server may answer a sendrec with a plain send: still a reply. */
        if ((dst->misc_flags & MIS_SENDREC) && dst->getfrom == src_ep &&
            (f & RECEIVING) && !(f & SENDING)) {
            op = DVST_OP_REPLY;
            *reply_to = dst->trace_req;
        }
    }
    return op;
}

void
dvst_trace_msg(struct dvst_table *t, int op, struct dvst_slot *from,
               int src_ep, struct dvst_slot *dst, int m_type, int from_queue)
{
    uint32_t reply_to;
    op = dvst_trace_kind(op, dst, src_ep, &reply_to);
    dvst_trace_delivered(t, op, reply_to, from, src_ep, dst, m_type, from_queue);
}

void
dvst_trace_delivered(struct dvst_table *t, int op, uint32_t reply_to,
                     struct dvst_slot *from, int src_ep, struct dvst_slot *dst,
                     int m_type, int from_queue)
{
    uint64_t seq;
    struct dvst_trace_rec *e = begin(t, &seq);
    e->dc = (int16_t)dst->dcid;
    e->op = (int8_t)op;
    e->src = src_ep;
    e->dst = dst->endpoint;
    e->type = m_type;
    e->bytes = (int32_t)sizeof(message);
    e->result = OK;
    e->pid = from->lpid;
    e->reply_gap = reply_to ? (uint32_t)seq - reply_to : 0;
    if (from_queue == 1 && from->trace_line > 0) {
        memcpy(t->trace.file_of[dvst_trace_index(seq)],
               from->trace_file, DVST_TRACE_FILE);
        e->line = from->trace_line;
    } else if (from_queue == 0) {
        set_site(t, e, seq);
    } else {
        e->line = 0;
    }
    if (op == DVST_OP_SENDREC)
        from->trace_req = (uint32_t)seq;
    commit(t, e, seq);
}

void
dvst_trace_enqueue(struct dvst_slot *me)
{
    copy_site(me->trace_file, dvst_site_file);
    me->trace_line = dvst_site_file ? dvst_site_line : 0;
}

void
dvst_trace_op(struct dvst_table *t, int op, int dc, int src, int dst,
              int bytes, int result, int pid)
{
    uint64_t seq;
    struct dvst_trace_rec *e = begin(t, &seq);
    e->dc = (int16_t)dc;
    e->op = (int8_t)op;
    e->src = src;
    e->dst = dst;
    e->type = 0;
    e->bytes = bytes;
    e->result = result;
    e->pid = pid;
    set_site(t, e, seq);
    commit(t, e, seq);
}

int
dvst_trace_fail(int call, int peer, int rc)
{
    struct dvst_table *t;
    struct binding *b;
    if (proc_enter(&t, &b) == OK)
        return dvst_trace_fail_as(b, call, peer, rc);
    return dvst_trace_fail_as(NULL, call, peer, rc);
}

int
dvst_trace_fail_as(const struct binding *b, int call, int peer, int rc)
{
    struct dvst_table *t = proc_table();
    int self = b ? b->ep : NONE, dc = b ? b->dcid : 0;
    if (!t)
        return rc;
    if (!DVST_TRACING(t))
        return rc;
    int op = rc == EMOLTIMEDOUT || rc == EMOLAGAIN ? DVST_OP_TIMEOUT
                                                    : DVST_OP_ERROR;
    dvst_lock(t);
    uint64_t seq;
    struct dvst_trace_rec *e = begin(t, &seq);
    e->dc = (int16_t)dc;
    e->op = (int8_t)op;
    e->call = (int8_t)call;
    e->src = self;
    e->dst = peer;
    e->type = 0;
    e->bytes = 0;
    e->result = rc;
    e->pid = (int32_t)getpid();
    set_site(t, e, seq);
    commit(t, e, seq);
    dvst_unlock(t);
    return rc;
}

uint64_t
dvst_trace_merge_clock(struct dvst_table *t, uint64_t remote)
{
    if (remote > t->trace_clock)
        t->trace_clock = remote;
    return ++t->trace_clock;
}

/* ---- Time source ----------------------------------------------------- */

/* pair reads the TSC and CLOCK_MONOTONIC as close together as it can: the
 * narrowest of a few TSC windows around a clock read. */
static void
pair(uint64_t *tsc, uint64_t *ns)
{
    uint64_t best = UINT64_MAX;
    *tsc = *ns = 0;
    for (int i = 0; i < 5; i++) {
        uint64_t a = tsc_now(), n = mono_ns(), b = tsc_now();
        if (b - a < best) {
            best = b - a;
            *tsc = a + (b - a) / 2;
            *ns = n;
        }
    }
}

/* tsc_usable: the kernel keeps time with the TSC only when it found it
 * invariant and synchronised across CPUs; then so can we. */
static int
tsc_usable(void)
{
#if defined(__x86_64__)
    if (getenv("DVS_TRACE_CLOCK") && !strcmp(getenv("DVS_TRACE_CLOCK"), "monotonic"))
        return 0;
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "re");
    char cs[32] = "";
    if (f) {
        if (!fgets(cs, sizeof cs, f))
            cs[0] = 0;
        fclose(f);
    }
    return !strcmp(cs, "tsc\n");
#else
    return 0;
#endif
}

static void
cal_store(struct dvst_trace_cal *c, uint64_t tsc0, uint64_t ns0, uint64_t mult)
{
    uint32_t s = atomic_load_explicit(&c->seq, memory_order_relaxed);
    atomic_store_explicit(&c->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    c->tsc0 = tsc0;
    c->ns0 = ns0;
    c->mult = mult;
    atomic_store_explicit(&c->seq, s + 2, memory_order_release);
}

static uint64_t
rate(uint64_t dtsc, uint64_t dns)
{
    return dtsc ? (uint64_t)(((unsigned __int128)dns << 32) / dtsc) : 0;
}

void
dvst_trace_init(struct dvst_table *t)
{
    struct dvst_trace *tr = &t->trace;
    struct dvst_trace_cal *c = &tr->cal;
    tr->tsc = 0;
    if (!tsc_usable())
        return;
    uint64_t t0, n0, t1, n1;
    pair(&t0, &n0);
    struct timespec two_ms = {0, 2000000};
    nanosleep(&two_ms, NULL);
    pair(&t1, &n1);
    uint64_t m = rate(t1 - t0, n1 - n0);
    if (!m || t1 <= t0)
        return;
    c->first_tsc = t0;
    c->first_ns = n0;
    cal_store(c, t1, n1, m);
    tr->tsc = 1;
}

void
dvst_trace_calibrate(struct dvst_table *t)
{
    struct dvst_trace_cal *c = &t->trace.cal;
    if (!t->trace.tsc)
        return;
    uint64_t tn, nn;
    pair(&tn, &nn);
    if (tn <= c->first_tsc || nn <= c->first_ns)
        return;
    cal_store(c, tn, nn, rate(tn - c->first_tsc, nn - c->first_ns));
}

/* to_ns converts a record's time stamp (see dvst_trace_cal). */
static uint64_t
to_ns(struct dvst_table *t, uint64_t ts)
{
    struct dvst_trace_cal *c = &t->trace.cal;
    if (!t->trace.tsc)
        return ts;
    uint64_t tsc0, ns0, mult;
    uint32_t s;
    do {
        s = atomic_load_explicit(&c->seq, memory_order_acquire);
        tsc0 = c->tsc0;
        ns0 = c->ns0;
        mult = c->mult;
        atomic_thread_fence(memory_order_acquire);
    } while ((s & 1) || s != atomic_load_explicit(&c->seq, memory_order_relaxed));
    if (ts >= tsc0)
        return ns0 + (uint64_t)(((unsigned __int128)(ts - tsc0) * mult) >> 32);
    uint64_t back = (uint64_t)(((unsigned __int128)(tsc0 - ts) * mult) >> 32);
    return back < ns0 ? ns0 - back : 0;
}

int
dvst_trace_read(struct dvst_table *t, uint64_t after,
                struct dvst_trace_event *out, int max, uint64_t *next,
                uint64_t *lost)
{
    struct dvst_trace *tr = &t->trace;
    uint64_t head = atomic_load_explicit(&t->trace_head, memory_order_acquire);
    int n = 0;
    if (head > after + DVST_TRACE_EVENTS) {
        /* The writers lapped us: those events are gone. */
        *lost += head - DVST_TRACE_EVENTS - after;
        after = head - DVST_TRACE_EVENTS;
    }
    uint64_t s = after + 1;
    for (; s <= head && n < max; s++) {
        unsigned i = dvst_trace_index(s);
        struct dvst_trace_rec *e = &tr->ev[i];
        if (atomic_load_explicit(&e->seq, memory_order_acquire) != s) {
            (*lost)++; /* being overwritten right now */
            continue;
        }
        struct dvst_trace_rec r;
        memcpy((char *)&r + sizeof(r.seq), (char *)e + sizeof(e->seq),
               sizeof(r) - sizeof(r.seq));
        struct dvst_trace_event *o = &out[n];
        if (r.line > 0)
            memcpy(o->file, tr->file_of[i], DVST_TRACE_FILE);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&e->seq, memory_order_relaxed) != s) {
            (*lost)++;
            continue;
        }
        o->seq = s;
        o->ts = to_ns(t, r.ts);
        o->lamport = r.lamport;
        o->reply_to = r.reply_gap ? s - r.reply_gap : 0;
        o->node = t->dvs.d_nodeid;
        o->dc = r.dc;
        o->op = r.op;
        o->call = r.call;
        o->src = r.src;
        o->dst = r.dst;
        o->type = r.type;
        o->bytes = r.bytes;
        o->result = r.result;
        o->pid = r.pid;
        o->line = r.line > 0 ? r.line : 0;
        if (r.line <= 0)
            o->file[0] = 0;
        o->file[DVST_TRACE_FILE - 1] = 0;
        n++;
    }
    *next = s - 1;
    return n;
}

/* ---- Call-site entry points (m3ipc.h, -DDVS_TRACE_CALLSITES) ------------ */
#define AT(call)                                                         \
    const char *_of = dvst_site_file;                                    \
    int _ol = dvst_site_line;                                            \
    dvst_site_file = file;                                               \
    dvst_site_line = line;                                               \
    int _r = (call);                                                     \
    dvst_site_file = _of;                                                \
    dvst_site_line = _ol;                                                \
    return _r

int mnx_send_at(int d, message *m, const char *file, int line)
{ AT(mnx_send(d, m)); }
int mnx_receive_at(int s, message *m, const char *file, int line)
{ AT(mnx_receive(s, m)); }
int mnx_sendrec_at(int d, message *m, const char *file, int line)
{ AT(mnx_sendrec(d, m)); }
int mnx_rcvrqst_at(message *m, const char *file, int line)
{ AT(mnx_rcvrqst(m)); }
int mnx_reply_at(int d, message *m, const char *file, int line)
{ AT(mnx_reply(d, m)); }
int mnx_notify_at(int d, const char *file, int line)
{ AT(mnx_notify(d)); }
int mnx_send_T_at(int d, message *m, long to, const char *file, int line)
{ AT(mnx_send_T(d, m, to)); }
int mnx_receive_T_at(int s, message *m, long to, const char *file, int line)
{ AT(mnx_receive_T(s, m, to)); }
int mnx_sendrec_T_at(int d, message *m, long to, const char *file, int line)
{ AT(mnx_sendrec_T(d, m, to)); }
int mnx_rcvrqst_T_at(message *m, long to, const char *file, int line)
{ AT(mnx_rcvrqst_T(m, to)); }
int mnx_reply_T_at(int d, message *m, long to, const char *file, int line)
{ AT(mnx_reply_T(d, m, to)); }
int mnx_ntfy_value_at(int s, int d, long v, const char *file, int line)
{ AT(mnx_ntfy_value(s, d, v)); }
int mnx_vcopy_at(int s, const void *sa, int d, void *da, int n,
                 const char *file, int line)
{ AT(mnx_vcopy(s, sa, d, da, n)); }
int mnx_bind_at(int dc, int ep, const char *file, int line)
{ AT(mnx_bind(dc, ep)); }
int mnx_unbind_at(int dc, int ep, const char *file, int line)
{ AT(mnx_unbind(dc, ep)); }
