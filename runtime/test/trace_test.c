/*
 * trace_test.c - the IPC trace ring (src/lib/trace.h): which events a
 * send, a sendrec and its reply, a notify, a vcopy, a timeout and an error
 * record, in which order and with which fields; nothing when tracing is
 * off; a ring overrun is counted, not corrupting.
 *
 * Compiled with -DDVS_TRACE_CALLSITES (test/CMakeLists.txt), so every
 * mnx_* call below goes through the mnx_*_at entry points and the events
 * carry "trace_test.c" and the line of the call. Tracing is switched on by
 * writing the table's flag directly (what dvsd does for a subscriber).
 */
#define _GNU_SOURCE
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "lib/proc.h"

const char *harness_dvsd_args[] = {"--dc", "0:dc0:64:8:16", NULL};

enum { SRV = 1, SYS2 = 2, U3 = 22 };
enum { T_SEND = 7, T_REQ = 8, T_COPY = 9, T_DONE = 99 };

static struct dvst_table *
table(void)
{
    struct dvst_table *t = proc_table();
    CHECK(t != NULL);
    return t;
}

static void
set_tracing(int on)
{
    atomic_store(&table()->trace.enabled, on ? 1u : 0u);
}

static uint64_t
head(void)
{
    return atomic_load(&table()->trace_head);
}

/* The peer: the lines of its calls travel in m1_i3 so the parent can
 * check the recorded call sites. */
static int
peer(void *arg)
{
    (void)arg;
    if (mnx_bind(0, SYS2) != SYS2)
        return 10;
    message m = {0};
    m.m_type = T_SEND;
    m.m1_i3 = __LINE__; if (mnx_send(SRV, &m) != OK) return 11;
    memset(&m, 0, sizeof(m));
    m.m_type = T_REQ;
    m.m1_i3 = __LINE__; if (mnx_sendrec(SRV, &m) != OK) return 12;
    if (m.m_type != T_REQ + 100)
        return 13;
    if (mnx_notify(SRV) != OK)
        return 14;
    char data[100];
    memset(data, 'x', sizeof(data));
    memset(&m, 0, sizeof(m));
    m.m_type = T_COPY;
    m.m1_p1 = data;
    m.m1_i1 = (int)sizeof(data);
    m.m1_i3 = __LINE__; if (mnx_sendrec(SRV, &m) != OK) return 15;
    if (mnx_receive(SRV, &m) != OK || m.m_type != T_DONE)
        return 16;
    return 0;
}

static struct dvst_trace_event evs[64];

static int
read_since(uint64_t from)
{
    uint64_t next, lost = 0;
    int n = dvst_trace_read(table(), from, evs, 64, &next, &lost);
    CHECK(lost == 0);
    return n;
}

static const struct dvst_trace_event *
expect(int *k, int n, int op, int src, int dst, int type, int result)
{
    if (*k >= n)
        fail_at(__FILE__, __LINE__, "event %d missing (op %s)", *k,
                dvst_trace_op_name(op));
    const struct dvst_trace_event *e = &evs[(*k)++];
    if (e->op != op || e->src != src || e->dst != dst ||
        (type >= 0 && e->type != type) || e->result != result)
        fail_at(__FILE__, __LINE__,
                "event %d: got %s %d->%d type %d result %d, expected %s "
                "%d->%d type %d result %d",
                *k - 1, dvst_trace_op_name(e->op), e->src, e->dst, e->type,
                e->result, dvst_trace_op_name(op), src, dst, type, result);
    return e;
}

static void
expect_site(const struct dvst_trace_event *e, int line)
{
    if (strcmp(e->file, "trace_test.c") || e->line != line)
        fail_at(__FILE__, __LINE__, "site of %s: '%s':%d, expected trace_test.c:%d",
                dvst_trace_op_name(e->op), e->file, e->line, line);
}

static void
test_each_step_is_one_event(void)
{
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    set_tracing(1);
    uint64_t start = head();
    pid_t p = spawn(peer, NULL);
    message m;
    int l_reply1, l_copy, l_reply2, l_timeout, l_error, l_done;
    int line_send, line_req, line_req2;

    EXPECT_RC(mnx_receive(ANY, &m), OK);
    CHECK(m.m_type == T_SEND && m.m_source == SYS2);
    line_send = m.m1_i3;
    EXPECT_RC(mnx_rcvrqst(&m), OK);
    CHECK(m.m_type == T_REQ);
    line_req = m.m1_i3;
    m.m_type = T_REQ + 100;
    l_reply1 = __LINE__; EXPECT_RC(mnx_reply(SYS2, &m), OK);
    EXPECT_RC(mnx_receive(ANY, &m), OK);
    CHECK(m.m_type == NOTIFY_FROM(SYS2));
    EXPECT_RC(mnx_rcvrqst(&m), OK);
    CHECK(m.m_type == T_COPY);
    line_req2 = m.m1_i3;
    char local[100];
    l_copy = __LINE__; EXPECT_RC(mnx_vcopy(SYS2, m.m1_p1, SELF, local, m.m1_i1), OK);
    CHECK(local[0] == 'x' && local[99] == 'x');
    m.m_type = T_COPY + 100;
    l_reply2 = __LINE__; EXPECT_RC(mnx_reply(SYS2, &m), OK);
    CHECK(wait_flags(0, SYS2, RECEIVING, RECEIVING, 3000) == 0);
    l_timeout = __LINE__; EXPECT_RC(mnx_receive_T(ANY, &m, 20), EMOLTIMEDOUT);
    l_error = __LINE__; EXPECT_RC(mnx_send(U3, &m), EMOLDSTDIED);
    m.m_type = T_DONE;
    l_done = __LINE__; EXPECT_RC(mnx_send(SYS2, &m), OK);
    CHECK(reap(p) == 0);
    CHECK(wait_bound(0, SYS2, 0, 3000) == 0);

    int n = read_since(start), k = 0;
    const struct dvst_trace_event *e;
    expect(&k, n, DVST_OP_BIND, SYS2, NONE, -1, OK);
    e = expect(&k, n, DVST_OP_SEND, SYS2, SRV, T_SEND, OK);
    expect_site(e, line_send);
    CHECK(e->bytes == (int)sizeof(message) && e->pid == p && e->reply_to == 0);
    const struct dvst_trace_event *req =
        expect(&k, n, DVST_OP_SENDREC, SYS2, SRV, T_REQ, OK);
    expect_site(req, line_req);
    e = expect(&k, n, DVST_OP_REPLY, SRV, SYS2, T_REQ + 100, OK);
    expect_site(e, l_reply1);
    CHECK(e->reply_to == req->seq);
    CHECK(e->pid == getpid());
    e = expect(&k, n, DVST_OP_NOTIFY, SYS2, SRV, NOTIFY_FROM(SYS2), OK);
    req = expect(&k, n, DVST_OP_SENDREC, SYS2, SRV, T_COPY, OK);
    expect_site(req, line_req2);
    e = expect(&k, n, DVST_OP_VCOPY, SYS2, SRV, -1, OK);
    CHECK(e->bytes == 100);
    expect_site(e, l_copy);
    e = expect(&k, n, DVST_OP_REPLY, SRV, SYS2, T_COPY + 100, OK);
    CHECK(e->reply_to == req->seq);
    expect_site(e, l_reply2);
    e = expect(&k, n, DVST_OP_TIMEOUT, SRV, ANY, -1, EMOLTIMEDOUT);
    CHECK(e->call == DVST_CALL_RECEIVE_T);
    expect_site(e, l_timeout);
    e = expect(&k, n, DVST_OP_ERROR, SRV, U3, -1, EMOLDSTDIED);
    CHECK(e->call == DVST_CALL_SEND);
    expect_site(e, l_error);
    e = expect(&k, n, DVST_OP_SEND, SRV, SYS2, T_DONE, OK);
    expect_site(e, l_done);
    e = expect(&k, n, DVST_OP_UNBIND, SYS2, NONE, -1, EMOLSRCDIED);
    CHECK(k == n);
    for (int i = 0; i < n; i++) {
        CHECK(evs[i].seq == start + 1 + (uint64_t)i);
        CHECK(evs[i].node == 0 && evs[i].dc == 0 && evs[i].ts > 0);
        if (i > 0) {
            CHECK(evs[i].lamport > evs[i - 1].lamport);
            CHECK(evs[i].ts >= evs[i - 1].ts);
        }
    }
}

static int
echo_once(void *arg)
{
    (void)arg;
    if (mnx_bind(0, SYS2) != SYS2)
        return 10;
    message m = {0};
    m.m_type = T_REQ;
    if (mnx_sendrec(SRV, &m) != OK)
        return 11;
    return 0;
}

static void
test_off_records_nothing(void)
{
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    set_tracing(0);
    uint64_t start = head();
    pid_t p = spawn(echo_once, NULL);
    message m;
    EXPECT_RC(mnx_rcvrqst(&m), OK);
    EXPECT_RC(mnx_reply(SYS2, &m), OK);
    EXPECT_RC(mnx_send(U3, &m), EMOLDSTDIED);
    CHECK(reap(p) == 0);
    CHECK(wait_bound(0, SYS2, 0, 3000) == 0);
    CHECK(head() == start);
}

static void
test_overrun_is_counted(void)
{
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    set_tracing(1);
    uint64_t start = head();
    int extra = 1000;
    message m = {0};
    for (int i = 0; i < DVST_TRACE_EVENTS + extra; i++)
        EXPECT_RC(mnx_send(U3, &m), EMOLDSTDIED);
    static struct dvst_trace_event all[DVST_TRACE_EVENTS];
    uint64_t next, lost = 0;
    int n = dvst_trace_read(table(), start, all, DVST_TRACE_EVENTS, &next,
                            &lost);
    CHECK(n == DVST_TRACE_EVENTS);
    CHECK(lost == (uint64_t)extra);
    CHECK(next == head());
    for (int i = 0; i < n; i++) {
        CHECK(all[i].seq == start + (uint64_t)extra + 1 + (uint64_t)i);
        CHECK(all[i].op == DVST_OP_ERROR && all[i].result == EMOLDSTDIED);
        CHECK(all[i].dst == U3 && all[i].call == DVST_CALL_SEND);
        CHECK(all[i].line > 0 && !strcmp(all[i].file, "trace_test.c"));
    }
    /* Nothing new: an empty read, no further loss. */
    n = dvst_trace_read(table(), next, all, 16, &next, &lost);
    CHECK(n == 0 && lost == (uint64_t)extra);
}

static uint64_t
mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Records may carry raw TSC ticks (trace.h); readers must still get
 * CLOCK_MONOTONIC nanoseconds, before and after dvsd refines the rate. */
static void
test_times_are_monotonic_ns(void)
{
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    set_tracing(1);
    struct dvst_table *t = table();
    message m = {0};
    for (int round = 0; round < 2; round++) {
        uint64_t start = head();
        uint64_t before = mono_now();
        EXPECT_RC(mnx_send(U3, &m), EMOLDSTDIED);
        uint64_t after = mono_now();
        struct dvst_trace_event e;
        uint64_t next, lost = 0;
        CHECK(dvst_trace_read(t, start, &e, 1, &next, &lost) == 1);
        /* 200 us of slack: the rate is measured over 2 ms at creation */
        CHECK(e.ts + 200000 >= before && e.ts <= after + 200000);
        struct timespec pause = {0, 30 * 1000000};
        nanosleep(&pause, NULL);
        dvst_trace_calibrate(t);
    }
}

static void
test_merge_clock(void)
{
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    struct dvst_table *t = table();
    dvst_lock(t);
    uint64_t now = t->trace_clock;
    CHECK(dvst_trace_merge_clock(t, now + 100) == now + 101);
    CHECK(dvst_trace_merge_clock(t, 3) == now + 102);
    dvst_unlock(t);
}

int
main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"each_step_is_one_event", test_each_step_is_one_event},
        {"off_records_nothing", test_off_records_nothing},
        {"overrun_is_counted", test_overrun_is_counted},
        {"merge_clock", test_merge_clock},
        {"times_are_monotonic_ns", test_times_are_monotonic_ns},
    };
    return test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
