/*
 * trace.c - recording IPC events into the table's trace ring, reading them
 * back, and the call-site entry points (mnx_*_at) of m3ipc.h.
 * See trace.h for the ring's rules.
 */
#define _GNU_SOURCE
#include "trace.h"

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

/* begin claims the next ring entry (lock held): its seq stays 0 until
 * commit, so a lock-free reader never takes a half-written entry. */
static struct dvst_trace_event *
begin(struct dvst_table *t, uint64_t *seq)
{
    struct dvst_trace *tr = &t->trace;
    *seq = atomic_load_explicit(&tr->head, memory_order_relaxed) + 1;
    struct dvst_trace_event *e = &tr->ev[*seq & (DVST_TRACE_EVENTS - 1)];
    atomic_store_explicit(&e->seq, 0, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    e->ts = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    e->lamport = ++tr->clock;
    e->node = t->dvs.d_nodeid;
    e->call = DVST_CALL_NONE;
    e->reply_to = 0;
    return e;
}

static void
commit(struct dvst_table *t, struct dvst_trace_event *e, uint64_t seq)
{
    atomic_store_explicit(&e->seq, seq, memory_order_release);
    atomic_store_explicit(&t->trace.head, seq, memory_order_release);
}

void
dvst_trace_msg(struct dvst_table *t, int op, struct dvst_slot *from,
               int src_ep, struct dvst_slot *dst, int m_type, int from_queue)
{
    uint64_t reply_to = 0;
    if (op == DVST_OP_SEND || op == DVST_OP_REPLY) {
        uint32_t f = atomic_load_explicit(&dst->rts_flags, memory_order_relaxed);
        /* A server may answer a sendrec with a plain send: still a reply. */
        if ((dst->misc_flags & MIS_SENDREC) && dst->getfrom == src_ep &&
            (f & RECEIVING) && !(f & SENDING)) {
            op = DVST_OP_REPLY;
            reply_to = dst->trace_req;
        }
    }
    uint64_t seq;
    struct dvst_trace_event *e = begin(t, &seq);
    e->dc = dst->dcid;
    e->op = (int16_t)op;
    e->src = src_ep;
    e->dst = dst->endpoint;
    e->type = m_type;
    e->bytes = (int32_t)sizeof(message);
    e->result = OK;
    e->pid = from->lpid;
    e->reply_to = reply_to;
    if (from_queue == 1) {
        memcpy(e->file, from->trace_file, DVST_TRACE_FILE);
        e->line = from->trace_line;
    } else if (from_queue == 0 && dvst_site_file) {
        copy_site(e->file, dvst_site_file);
        e->line = dvst_site_line;
    } else {
        e->file[0] = 0;
        e->line = 0;
    }
    if (op == DVST_OP_SENDREC)
        from->trace_req = seq;
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
    struct dvst_trace_event *e = begin(t, &seq);
    e->dc = dc;
    e->op = (int16_t)op;
    e->src = src;
    e->dst = dst;
    e->type = 0;
    e->bytes = bytes;
    e->result = result;
    e->pid = pid;
    copy_site(e->file, dvst_site_file);
    e->line = dvst_site_file ? dvst_site_line : 0;
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
    struct dvst_trace_event *e = begin(t, &seq);
    e->dc = dc;
    e->op = (int16_t)op;
    e->call = (int16_t)call;
    e->src = self;
    e->dst = peer;
    e->type = 0;
    e->bytes = 0;
    e->result = rc;
    e->pid = (int32_t)getpid();
    copy_site(e->file, dvst_site_file);
    e->line = dvst_site_file ? dvst_site_line : 0;
    commit(t, e, seq);
    dvst_unlock(t);
    return rc;
}

uint64_t
dvst_trace_merge_clock(struct dvst_table *t, uint64_t remote)
{
    struct dvst_trace *tr = &t->trace;
    if (remote > tr->clock)
        tr->clock = remote;
    return ++tr->clock;
}

int
dvst_trace_read(struct dvst_table *t, uint64_t after,
                struct dvst_trace_event *out, int max, uint64_t *next,
                uint64_t *lost)
{
    struct dvst_trace *tr = &t->trace;
    uint64_t head = atomic_load_explicit(&tr->head, memory_order_acquire);
    int n = 0;
    if (head > after + DVST_TRACE_EVENTS) {
        /* The writers lapped us: those events are gone. */
        *lost += head - DVST_TRACE_EVENTS - after;
        after = head - DVST_TRACE_EVENTS;
    }
    uint64_t s = after + 1;
    for (; s <= head && n < max; s++) {
        struct dvst_trace_event *e = &tr->ev[s & (DVST_TRACE_EVENTS - 1)];
        if (atomic_load_explicit(&e->seq, memory_order_acquire) != s) {
            (*lost)++; /* being overwritten right now */
            continue;
        }
        memcpy((char *)&out[n] + sizeof(e->seq), (char *)e + sizeof(e->seq),
               sizeof(*e) - sizeof(e->seq));
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&e->seq, memory_order_relaxed) != s) {
            (*lost)++;
            continue;
        }
        atomic_store_explicit(&out[n].seq, s, memory_order_relaxed);
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
