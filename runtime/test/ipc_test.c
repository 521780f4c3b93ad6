/*
 * ipc_test.c - the message-passing rules of SPEC §2 on one node.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

const char *harness_dvsd_args[] = {"--dc", "0:dc0:64:8:16", "--dc",
                                   "1:dc1:64:8:16", NULL};

enum { SRV = 1, SYS2 = 2, SYS3 = 3, U1 = 20, U2 = 21, U3 = 22 };

struct peer {
    int dc, ep, dst, type, count, expect;
    long timeout;
};

static int
sender(void *arg)
{
    struct peer *p = arg;
    if (mnx_bind(p->dc, p->ep) != p->ep)
        return 10;
    message m = {0};
    m.m_type = p->type;
    m.m_source = 4242; /* must be overwritten on delivery */
    m.m1_i1 = p->ep;
    int rc = mnx_send_T(p->dst, &m, p->timeout ? p->timeout : TIMEOUT_FOREVER);
    return rc == p->expect ? 0 : 20 + (rc < 0 ? -rc % 100 : rc);
}

static int
echo_server(void *arg)
{
    struct peer *p = arg;
    if (mnx_bind(p->dc, p->ep) != p->ep)
        return 10;
    for (int i = 0; i < p->count; i++) {
        message m;
        if (mnx_rcvrqst(&m) != OK)
            return 11;
        m.m_type += 1000;
        m.m1_i2 = m.m1_i1 * 2;
        if (mnx_reply(m.m_source, &m) != OK)
            return 12;
    }
    return 0;
}

/* send is a rendezvous: the sender stays SENDING until the receiver takes
 * the message, and the receiver sees the true source. */
static void
test_send_is_rendezvous(void)
{
    struct peer p = {.dc = 0, .ep = U1, .dst = SRV, .type = 7};
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    pid_t s = spawn(sender, &p);
    CHECK(wait_flags(0, U1, SENDING, SENDING, 3000) == 0);
    sleep_ms(50);
    CHECK(reap_within(s, 0) == -1); /* still blocked in send */
    proc_usr_t pi;
    EXPECT_RC(mnx_getprocinfo(0, U1, &pi), OK);
    CHECK(pi.p_sendto == SRV);
    message m;
    EXPECT_RC(mnx_receive(ANY, &m), OK);
    CHECK(m.m_source == U1);
    CHECK(m.m_type == 7 && m.m1_i1 == U1);
    CHECK(reap(s) == 0);
}

/* receive blocks until a sender arrives, then gets its message. */
static void
test_receive_blocks_until_send(void)
{
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    struct peer p = {.dc = 0, .ep = U1, .dst = SRV, .type = 9};
    pid_t s = 0;
    /* The receiver is this process: start the sender after a delay. */
    pid_t delayer = fork();
    if (delayer == 0) {
        sleep_ms(100);
        _exit(sender(&p));
    }
    (void)s;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    message m;
    EXPECT_RC(mnx_receive(ANY, &m), OK);
    CHECK(elapsed_ms_since(&t0) >= 80);
    CHECK(m.m_type == 9 && m.m_source == U1);
    CHECK(reap(delayer) == 0);
}

/* Queued senders are served first in, first out. */
static void
test_queued_senders_are_fifo(void)
{
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    struct peer p[3] = {{0, U1, SRV, 1, 0, 0, 0},
                        {0, U2, SRV, 2, 0, 0, 0},
                        {0, U3, SRV, 3, 0, 0, 0}};
    pid_t pid[3];
    for (int i = 0; i < 3; i++) {
        pid[i] = spawn(sender, &p[i]);
        CHECK(wait_flags(0, p[i].ep, SENDING, SENDING, 3000) == 0);
    }
    for (int i = 0; i < 3; i++) {
        message m;
        EXPECT_RC(mnx_receive(ANY, &m), OK);
        CHECK(m.m_type == i + 1);
        CHECK(m.m_source == p[i].ep);
    }
    for (int i = 0; i < 3; i++)
        CHECK(reap(pid[i]) == 0);
}

/* receive(src) takes that source's message even when others queued
 * first; receive(ANY) then takes the older one. */
static void
test_receive_from_specific_source(void)
{
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    struct peer a = {0, U1, SRV, 1, 0, 0, 0}, b = {0, U2, SRV, 2, 0, 0, 0};
    pid_t pa = spawn(sender, &a);
    CHECK(wait_flags(0, U1, SENDING, SENDING, 3000) == 0);
    pid_t pb = spawn(sender, &b);
    CHECK(wait_flags(0, U2, SENDING, SENDING, 3000) == 0);
    message m;
    EXPECT_RC(mnx_receive(U2, &m), OK);
    CHECK(m.m_source == U2 && m.m_type == 2);
    CHECK(reap(pb) == 0);
    CHECK(reap_within(pa, 50) == -1); /* U1 still waits */
    EXPECT_RC(mnx_receive(ANY, &m), OK);
    CHECK(m.m_source == U1);
    CHECK(reap(pa) == 0);
}

/* A receiver waiting for U2 is not given U1's message. */
static void
test_waiting_receiver_ignores_other_sources(void)
{
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    EXPECT_RC(mnx_bind(0, SRV), EMOLBUSY);
    pid_t idle = fork();
    if (idle == 0)
        _exit(mnx_bind(0, U2) == U2 ? (sleep_ms(3000), 0) : 1);
    CHECK(wait_bound(0, U2, 1, 3000) == 0);
    struct peer a = {0, U1, SRV, 1, 0, EMOLTIMEDOUT, 300};
    pid_t pa = spawn(sender, &a);
    message m;
    EXPECT_RC(mnx_receive_T(U2, &m, 150), EMOLTIMEDOUT);
    CHECK(reap(pa) == 0); /* U1's send timed out: nobody took it */
    kill(idle, SIGKILL);
    reap(idle);
}

static int
sendrec_client(void *arg)
{
    struct peer *p = arg;
    if (mnx_bind(p->dc, p->ep) != p->ep)
        return 10;
    for (int i = 0; i < p->count; i++) {
        message m = {0};
        m.m_type = 5;
        m.m1_i1 = i;
        int rc = mnx_sendrec(p->dst, &m);
        if (rc != OK)
            return 11;
        /* The reply came back into the same buffer. */
        if (m.m_type != 1005 || m.m1_i2 != 2 * i || m.m_source != p->dst)
            return 12;
    }
    return 0;
}

static void
test_sendrec_rcvrqst_reply(void)
{
    struct peer srv = {0, SRV, 0, 0, 200, 0, 0};
    pid_t s = spawn(echo_server, &srv);
    CHECK(wait_bound(0, SRV, 1, 3000) == 0);
    struct peer c1 = {0, U1, SRV, 0, 100, 0, 0}, c2 = {0, U2, SRV, 0, 100, 0, 0};
    pid_t a = spawn(sendrec_client, &c1), b = spawn(sendrec_client, &c2);
    CHECK(reap(a) == 0);
    CHECK(reap(b) == 0);
    CHECK(reap(s) == 0);
}

static int
plain_sender_then_receive(void *arg)
{
    (void)arg;
    if (mnx_bind(0, U1) != U1)
        return 10;
    message m = {0};
    m.m_type = 1;
    if (mnx_send(SRV, &m) != OK)
        return 11;
    /* Not in sendrec: the server's reply must not reach us. */
    return mnx_receive_T(SRV, &m, 300) == EMOLTIMEDOUT ? 0 : 12;
}

/* reply never blocks and fails with EMOLPROCSTS unless the client waits
 * in sendrec for this server. */
static void
test_reply_requires_client_in_sendrec(void)
{
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    pid_t c = spawn(plain_sender_then_receive, NULL);
    message m;
    EXPECT_RC(mnx_receive(ANY, &m), OK);
    CHECK(m.m_source == U1);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT_RC(mnx_reply(U1, &m), EMOLPROCSTS);
    CHECK(elapsed_ms_since(&t0) < 100);
    /* Even while the client sits in receive(SRV) (not sendrec). */
    CHECK(wait_flags(0, U1, RECEIVING, RECEIVING, 3000) == 0);
    EXPECT_RC(mnx_reply(U1, &m), EMOLPROCSTS);
    CHECK(reap(c) == 0);
    EXPECT_RC(mnx_reply(U2, &m), EMOLDSTDIED); /* nobody bound there */
}

/* A server may answer a sendrec with a plain send, too. */
static void
test_send_answers_sendrec(void)
{
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    struct peer c = {0, U1, SRV, 0, 1, 0, 0};
    pid_t p = spawn(sendrec_client, &c);
    message m;
    EXPECT_RC(mnx_receive(ANY, &m), OK);
    m.m_type = 1005;
    m.m1_i2 = 0;
    EXPECT_RC(mnx_send(U1, &m), OK);
    CHECK(reap(p) == 0);
}

static void
test_self_and_special_destinations(void)
{
    message m = {0};
    EXPECT_RC(mnx_send(SRV, &m), EMOLNOTBIND);
    EXPECT_RC(mnx_bind(0, U1), U1);
    EXPECT_RC(mnx_send(U1, &m), EMOLENDPOINT);
    EXPECT_RC(mnx_send(SELF, &m), EMOLENDPOINT);
    EXPECT_RC(mnx_sendrec(U1, &m), EMOLENDPOINT);
    EXPECT_RC(mnx_receive(U1, &m), EMOLENDPOINT);
    EXPECT_RC(mnx_send(ANY, &m), EMOLENDPOINT);
    EXPECT_RC(mnx_send(NONE, &m), EMOLENDPOINT);
    EXPECT_RC(mnx_reply(ANY, &m), EMOLENDPOINT);
    EXPECT_RC(mnx_send(64, &m), EMOLRANGE);
    EXPECT_RC(mnx_send(-9, &m), EMOLRANGE);
    EXPECT_RC(mnx_send(SRV, NULL), EMOLINVAL);
    EXPECT_RC(mnx_send(U2, &m), EMOLDSTDIED);
    EXPECT_RC(mnx_sendrec(U2, &m), EMOLDEADSRCDST);
    EXPECT_RC(mnx_receive(U2, &m), EMOLSRCDIED);
    EXPECT_RC(mnx_send_T(SRV, &m, -5), EMOLINVAL);
}

/* TIMEOUT_NOWAIT fails at once with EMOLAGAIN; an expired timeout gives
 * EMOLTIMEDOUT and takes the caller off the queue. */
static void
test_timeouts(void)
{
    EXPECT_RC(mnx_bind(0, U1), U1);
    message m = {0};
    EXPECT_RC(mnx_receive_T(ANY, &m, TIMEOUT_NOWAIT), EMOLAGAIN);
    EXPECT_RC(mnx_rcvrqst_T(&m, TIMEOUT_NOWAIT), EMOLAGAIN);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT_RC(mnx_receive_T(ANY, &m, 120), EMOLTIMEDOUT);
    long ms = elapsed_ms_since(&t0);
    CHECK(ms >= 110 && ms < 2000);

    /* A server that exists but never receives. */
    pid_t srv = fork();
    if (srv == 0) {
        if (mnx_bind(0, SRV) != SRV)
            _exit(1);
        sleep_ms(3000);
        _exit(0);
    }
    CHECK(wait_bound(0, SRV, 1, 3000) == 0);
    EXPECT_RC(mnx_send_T(SRV, &m, TIMEOUT_NOWAIT), EMOLAGAIN);
    EXPECT_RC(mnx_sendrec_T(SRV, &m, TIMEOUT_NOWAIT), EMOLAGAIN);
    EXPECT_RC(mnx_send_T(SRV, &m, 100), EMOLTIMEDOUT);
    EXPECT_RC(mnx_sendrec_T(SRV, &m, 100), EMOLTIMEDOUT);
    proc_usr_t pi;
    EXPECT_RC(mnx_getprocinfo(0, U1, &pi), OK);
    CHECK((pi.p_rts_flags & (SENDING | RECEIVING)) == 0);
    CHECK(pi.p_sendto == NONE && pi.p_getfrom == NONE);
    /* The server's queue is empty again. */
    char out[4096];
    CHECK(control("ps 0", out, sizeof(out)) == 0);
    CHECK(strstr(out, "\"endpoint\":1,") != NULL);
    CHECK(strstr(out, "\"nqueued\":1") == NULL);
    kill(srv, 9);
    reap(srv);
}

static int
notifier(void *arg)
{
    struct peer *p = arg;
    if (mnx_bind(p->dc, p->ep) != p->ep)
        return 10;
    for (int i = 0; i < p->count; i++) {
        int rc = mnx_notify(p->dst);
        if (rc != p->expect)
            return 11;
    }
    return 0;
}

/* Pending notifications are delivered before queued senders, lowest
 * system slot first, and repeats coalesce into one. */
static void
test_notify_priority_and_coalescing(void)
{
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    struct peer s = {0, U1, SRV, 1, 0, 0, 0};
    pid_t ps = spawn(sender, &s);
    CHECK(wait_flags(0, U1, SENDING, SENDING, 3000) == 0);
    struct peer n3 = {0, SYS3, SRV, 0, 3, OK, 0}, n2 = {0, SYS2, SRV, 0, 1, OK, 0};
    CHECK(reap(spawn(notifier, &n3)) == 0);
    CHECK(reap(spawn(notifier, &n2)) == 0);
    message m;
    EXPECT_RC(mnx_receive(ANY, &m), OK);
    CHECK(m.m_type == NOTIFY_FROM(SYS2) && m.m_source == SYS2);
    CHECK(IS_NOTIFY(m.m_type));
    EXPECT_RC(mnx_receive(ANY, &m), OK);
    CHECK(m.m_type == NOTIFY_FROM(SYS3) && m.m_source == SYS3);
    CHECK(m.m9_t1.tv_sec > 0);
    /* Three notifies from SYS3 coalesced: next is the queued sender. */
    EXPECT_RC(mnx_receive(ANY, &m), OK);
    CHECK(m.m_source == U1 && m.m_type == 1);
    CHECK(reap(ps) == 0);
    EXPECT_RC(mnx_receive_T(ANY, &m, TIMEOUT_NOWAIT), EMOLAGAIN);
}

/* rcvrqst never delivers notifications; receive(src) takes only src's. */
static void
test_rcvrqst_skips_notifications(void)
{
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    struct peer n = {0, SYS2, SRV, 0, 1, OK, 0};
    CHECK(reap(spawn(notifier, &n)) == 0);
    message m;
    EXPECT_RC(mnx_rcvrqst_T(&m, 100), EMOLTIMEDOUT);
    EXPECT_RC(mnx_receive_T(SYS3, &m, TIMEOUT_NOWAIT), EMOLSRCDIED);
    /* The notification outlives its sender (notify is asynchronous). */
    CHECK(wait_bound(0, SYS2, 0, 3000) == 0);
    EXPECT_RC(mnx_receive_T(ANY, &m, TIMEOUT_NOWAIT), OK);
    CHECK(m.m_type == NOTIFY_FROM(SYS2) && m.m_source == SYS2);
    /* receive(SYS2) takes SYS2's notification, not another's. */
    pid_t keep = fork();
    if (keep == 0) {
        if (mnx_bind(0, SYS2) != SYS2 || mnx_notify(SRV) != OK)
            _exit(1);
        sleep_ms(2000);
        _exit(0);
    }
    CHECK(wait_bound(0, SYS2, 1, 3000) == 0);
    sleep_ms(50);
    EXPECT_RC(mnx_rcvrqst_T(&m, 100), EMOLTIMEDOUT);
    EXPECT_RC(mnx_receive_T(SYS2, &m, 1000), OK);
    CHECK(m.m_type == NOTIFY_FROM(SYS2));
    kill(keep, 9);
    reap(keep);
}

/* notify is for system slots, and may be queued only at system slots. */
static void
test_notify_privileges(void)
{
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    struct peer user = {0, U1, SRV, 0, 1, EMOLPRIVILEGES, 0};
    CHECK(reap(spawn(notifier, &user)) == 0);
    /* To a user slot that is not waiting: refused. */
    pid_t u = fork();
    if (u == 0) {
        if (mnx_bind(0, U2) != U2)
            _exit(1);
        sleep_ms(2000);
        _exit(0);
    }
    CHECK(wait_bound(0, U2, 1, 3000) == 0);
    EXPECT_RC(mnx_notify(U2), EMOLPRIVILEGES);
    kill(u, 9);
    reap(u);
    CHECK(wait_bound(0, U2, 0, 3000) == 0);
    /* To a user slot that waits in receive(ANY): delivered. */
    u = fork();
    if (u == 0) {
        message m;
        if (mnx_bind(0, U2) != U2 || mnx_receive(ANY, &m) != OK)
            _exit(1);
        _exit(m.m_type == NOTIFY_FROM(SRV) && m.m_source == SRV ? 0 : 2);
    }
    CHECK(wait_flags(0, U2, RECEIVING, RECEIVING, 3000) == 0);
    EXPECT_RC(mnx_notify(U2), OK);
    CHECK(reap(u) == 0);
    EXPECT_RC(mnx_notify(SRV), EMOLENDPOINT);
    EXPECT_RC(mnx_ntfy_value(SYS3, SRV, 1), EMOLSRCDIED);
}

/* mnx_ntfy_value ORs its values into m9_l1 of the coalesced notification. */
static void
test_notify_value(void)
{
    EXPECT_RC(mnx_bind(0, SYS2), SYS2);
    pid_t r = fork();
    if (r == 0) {
        message m;
        if (mnx_bind(0, SRV) != SRV)
            _exit(1);
        sleep_ms(200);
        if (mnx_receive(ANY, &m) != OK)
            _exit(2);
        _exit(m.m_type == NOTIFY_FROM(SYS2) && m.m9_l1 == 5 ? 0 : 3);
    }
    CHECK(wait_bound(0, SRV, 1, 3000) == 0);
    EXPECT_RC(mnx_ntfy_value(SYS2, SRV, 1), OK);
    EXPECT_RC(mnx_ntfy_value(SYS2, SRV, 4), OK);
    CHECK(reap(r) == 0);
}

static int
receiver_expecting(void *arg)
{
    struct peer *p = arg;
    if (mnx_bind(p->dc, p->ep) != p->ep)
        return 10;
    message m;
    int rc = mnx_receive(p->dst, &m);
    return rc == p->expect ? 0 : 11;
}

/* unbind wakes queued senders with EMOLDSTDIED and receivers from the
 * unbound endpoint with EMOLSRCDIED. */
static void
test_unbind_wakes_waiters(void)
{
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    struct peer s = {0, U1, SRV, 1, 0, EMOLDSTDIED, 0};
    struct peer r = {0, U2, SRV, 0, 0, EMOLSRCDIED, 0};
    struct peer c = {0, U3, SRV, 0, 1, 0, 0};
    pid_t ps = spawn(sender, &s), pr = spawn(receiver_expecting, &r);
    pid_t pc = spawn(sendrec_client, &c);
    CHECK(wait_flags(0, U1, SENDING, SENDING, 3000) == 0);
    CHECK(wait_flags(0, U2, RECEIVING, RECEIVING, 3000) == 0);
    CHECK(wait_flags(0, U3, SENDING, SENDING, 3000) == 0);
    EXPECT_RC(mnx_unbind(0, SRV), OK);
    CHECK(reap_within(ps, 2000) == 0);
    CHECK(reap_within(pr, 2000) == 0);
    CHECK(reap_within(pc, 2000) == 11); /* sendrec failed */
    message m;
    EXPECT_RC(mnx_receive(ANY, &m), EMOLNOTBIND);
    EXPECT_RC(mnx_unbind(0, SRV), EMOLNOTBIND);
    EXPECT_RC(mnx_bind(0, SRV), SRV); /* the slot is free again */
}

static int
blocked_receiver(void *arg)
{
    (void)arg;
    message m;
    if (mnx_bind(0, U1) != U1)
        return 10;
    int rc = mnx_receive(ANY, &m);
    if (rc != EMOLWOKENUP)
        return 11;
    /* Not blocked when woken: the next receive(ANY) returns at once. */
    return 0;
}

static void
test_wakeup(void)
{
    pid_t p = spawn(blocked_receiver, NULL);
    CHECK(wait_flags(0, U1, RECEIVING, RECEIVING, 3000) == 0);
    EXPECT_RC(mnx_wakeup(0, U1), OK);
    CHECK(reap_within(p, 2000) == 0);
    /* Not blocked: remembered for its next receive(ANY). */
    pid_t later = fork();
    if (later == 0) {
        message m;
        if (mnx_bind(0, U2) != U2)
            _exit(1);
        sleep_ms(300);
        if (mnx_receive_T(ANY, &m, 1000) != EMOLWOKENUP)
            _exit(2);
        _exit(mnx_receive_T(ANY, &m, TIMEOUT_NOWAIT) == EMOLAGAIN ? 0 : 3);
    }
    CHECK(wait_bound(0, U2, 1, 3000) == 0);
    EXPECT_RC(mnx_wakeup(0, U2), OK);
    CHECK(reap(later) == 0);
    EXPECT_RC(mnx_wakeup(0, U3), EMOLNOTBIND);
    EXPECT_RC(mnx_bind(0, U3), U3);
    EXPECT_RC(mnx_wakeup(0, U3), EMOLBADPROC); /* not oneself */
}

/* No message crosses DCs: endpoint 20 of DC 1 is another process. */
static void
test_dc_isolation(void)
{
    EXPECT_RC(mnx_bind(1, SRV), SRV);
    struct peer s = {0, U1, SRV, 1, 0, EMOLDSTDIED, 0};
    /* In DC 0, SRV is not bound: the sender fails, and DC 1's SRV sees
     * nothing. */
    CHECK(reap(spawn(sender, &s)) == 0);
    message m;
    EXPECT_RC(mnx_receive_T(ANY, &m, 100), EMOLTIMEDOUT);
    /* With DC 0's SRV bound, its message goes there, not here. */
    pid_t srv0 = fork();
    if (srv0 == 0) {
        message r;
        if (mnx_bind(0, SRV) != SRV || mnx_receive(ANY, &r) != OK)
            _exit(1);
        _exit(r.m_source == U1 ? 0 : 2);
    }
    CHECK(wait_flags(0, SRV, RECEIVING, RECEIVING, 3000) == 0);
    struct peer ok = {0, U1, SRV, 1, 0, OK, 0};
    CHECK(reap(spawn(sender, &ok)) == 0);
    CHECK(reap(srv0) == 0);
    EXPECT_RC(mnx_receive_T(ANY, &m, 100), EMOLTIMEDOUT);
    EXPECT_RC(mnx_bind(0, U1), EMOLBUSY); /* already bound in DC 1 */
}

static void
test_bind_errors(void)
{
    EXPECT_RC(mnx_bind(-1, U1), EMOLBADDCID);
    EXPECT_RC(mnx_bind(NR_DCS, U1), EMOLBADDCID);
    EXPECT_RC(mnx_bind(5, U1), EMOLDCNOTRUN);
    EXPECT_RC(mnx_bind(0, 64), EMOLRANGE);
    EXPECT_RC(mnx_bind(0, -9), EMOLRANGE);
    EXPECT_RC(mnx_bind(0, ANY), EMOLENDPOINT);
    EXPECT_RC(mnx_bind(0, _ENDPOINT(1, SRV)), EMOLENDPOINT); /* system: gen 0 */
    pid_t other = fork();
    if (other == 0) {
        _exit(mnx_bind(0, U1) == U1 ? (sleep_ms(2000), 0) : 1);
    }
    CHECK(wait_bound(0, U1, 1, 3000) == 0);
    EXPECT_RC(mnx_bind(0, U1), EMOLSLOTUSED);
    kill(other, 9);
    reap(other);
    /* A user slot may be bound with a new generation. */
    int ep = _ENDPOINT(3, U2);
    EXPECT_RC(mnx_bind(0, ep), ep);
    proc_usr_t pi;
    EXPECT_RC(mnx_getprocinfo(0, U2, &pi), OK);
    CHECK(pi.p_endpoint == ep && pi.p_lpid == getpid());
    EXPECT_RC(mnx_getep(getpid()), ep);
    /* Task slots (negative) exist too. */
    CHECK(wait_bound(0, U1, 0, 3000) == 0);
    EXPECT_RC(mnx_getprocinfo(0, -8, &pi), OK);
    EXPECT_RC(mnx_getprocinfo(0, -9, &pi), EMOLRANGE);
}

static void
test_wait4bind_and_lclbind(void)
{
    pid_t child = fork();
    if (child == 0) {
        int ep = mnx_wait4bind_T(5000);
        if (ep != U3)
            _exit(1);
        message m = {0};
        m.m_type = 77;
        _exit(mnx_send(SRV, &m) == OK ? 0 : 2);
    }
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    sleep_ms(50);
    EXPECT_RC(mnx_lclbind(0, child, U3), U3);
    EXPECT_RC(mnx_lclbind(0, child, U2), EMOLBUSY);
    message m;
    EXPECT_RC(mnx_receive(ANY, &m), OK);
    CHECK(m.m_source == U3 && m.m_type == 77);
    CHECK(reap(child) == 0);
    EXPECT_RC(mnx_wait4bind_T(TIMEOUT_NOWAIT), SRV); /* already bound */
    pid_t lonely = fork();
    if (lonely == 0)
        _exit(mnx_wait4bind_T(100) == EMOLTIMEDOUT ? 0 : 1);
    CHECK(reap(lonely) == 0);
    EXPECT_RC(mnx_lclbind(0, 999999, U2), EMOLBADPID);
}

struct tpeer {
    int ep, rc;
};

static void *
thread_client(void *arg)
{
    struct tpeer *t = arg;
    t->rc = mnx_tbind(0, t->ep);
    if (t->rc != t->ep)
        return NULL;
    message m = {0};
    m.m_type = 5;
    m.m1_i1 = t->ep;
    t->rc = mnx_sendrec(SRV, &m);
    if (t->rc == OK && (m.m_type != 1005 || m.m1_i2 != 2 * t->ep))
        t->rc = -1000;
    return NULL;
}

#include <pthread.h>

/* tbind gives each thread its own endpoint (after the leader binds). */
static void
test_tbind_threads(void)
{
    struct peer srv = {0, SRV, 0, 0, 2, 0, 0};
    pid_t s = spawn(echo_server, &srv);
    CHECK(wait_bound(0, SRV, 1, 3000) == 0);
    struct tpeer early = {U2, 0};
    pthread_t th;
    pthread_create(&th, NULL, thread_client, &early);
    pthread_join(th, NULL);
    EXPECT_RC(early.rc, EMOLGRPLEADER);
    EXPECT_RC(mnx_bind(0, U1), U1);
    struct tpeer a = {U2, 0}, b = {U3, 0};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, thread_client, &a);
    pthread_create(&tb, NULL, thread_client, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    EXPECT_RC(a.rc, OK);
    EXPECT_RC(b.rc, OK);
    CHECK(reap(s) == 0);
    /* The threads have exited: dvsd frees their slots. */
    CHECK(wait_bound(0, U2, 0, 3000) == 0);
    CHECK(wait_bound(0, U3, 0, 3000) == 0);
}

static void
test_info_calls(void)
{
    dvs_usr_t d;
    EXPECT_RC(mnx_getdvsinfo(&d), 0);
    CHECK(d.d_max_copylen == MAXCOPYLEN && d.d_nr_dcs == NR_DCS);
    dc_usr_t dc;
    EXPECT_RC(mnx_getdcinfo(1, &dc), OK);
    CHECK(dc.dc_nr_procs == 64 && dc.dc_nr_tasks == 8 && dc.dc_nr_sysprocs == 16);
    CHECK(strcmp(dc.dc_name, "dc1") == 0 && (dc.dc_nodes & 1));
    EXPECT_RC(mnx_getdcinfo(3, &dc), EMOLDCNOTRUN);
    node_usr_t n;
    EXPECT_RC(mnx_getnodeinfo(0, &n), OK);
    CHECK(n.n_dcs == 3);
    EXPECT_RC(mnx_getnodeinfo(40, &n), EMOLBADNODEID);
    /* Remote endpoints need proxies, which a one-node cluster lacks. */
    EXPECT_RC(mnx_add_node(0, 1), OK);
    EXPECT_RC(mnx_add_node(0, 1), EMOLDCNODE);
    EXPECT_RC(mnx_rmtbind(0, "far", U1, 1), EMOLNOPROXY);
    EXPECT_RC(mnx_rmtbind(0, "far", U1, 2), EMOLNODCNODE);
    EXPECT_RC(mnx_rmtbind(0, "far", U1, 0), EMOLBADNODEID);
    EXPECT_RC(mnx_del_node(0, 1), OK);
    /* A DC made and ended through the API. */
    dc_usr_t nd = {.dc_dcid = 5, .dc_nr_procs = 16, .dc_nr_tasks = 2,
                   .dc_nr_sysprocs = 4};
    strcpy(nd.dc_name, "extra");
    EXPECT_RC(mnx_dc_init(&nd), OK);
    EXPECT_RC(mnx_dc_init(&nd), EMOLDCRUN);
    EXPECT_RC(mnx_bind(5, 3), 3);
    EXPECT_RC(mnx_dc_end(5), OK);
    message m;
    EXPECT_RC(mnx_receive_T(ANY, &m, 0), EMOLNOTBIND);
}

int
main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"send is a rendezvous", test_send_is_rendezvous},
        {"receive blocks until send", test_receive_blocks_until_send},
        {"queued senders are FIFO", test_queued_senders_are_fifo},
        {"receive from a specific source", test_receive_from_specific_source},
        {"waiting receiver ignores other sources",
         test_waiting_receiver_ignores_other_sources},
        {"sendrec rcvrqst reply", test_sendrec_rcvrqst_reply},
        {"reply requires client in sendrec", test_reply_requires_client_in_sendrec},
        {"send answers sendrec", test_send_answers_sendrec},
        {"self and special destinations", test_self_and_special_destinations},
        {"timeouts", test_timeouts},
        {"notify priority and coalescing", test_notify_priority_and_coalescing},
        {"rcvrqst skips notifications", test_rcvrqst_skips_notifications},
        {"notify privileges", test_notify_privileges},
        {"notify value", test_notify_value},
        {"unbind wakes waiters", test_unbind_wakes_waiters},
        {"wakeup", test_wakeup},
        {"DC isolation", test_dc_isolation},
        {"bind errors", test_bind_errors},
        {"wait4bind and lclbind", test_wait4bind_and_lclbind},
        {"tbind threads", test_tbind_threads},
        {"info calls", test_info_calls},
    };
    return test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
