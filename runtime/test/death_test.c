/*
 * death_test.c - processes dying in every blocked state, inside the table
 * lock, and 1,000 random SIGKILLs against a serving server.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "lib/proc.h"

const char *harness_dvsd_args[] = {"--dc", "0:dc0:64:8:16", NULL};

enum { SRV = 1, U1 = 20, U2 = 21 };

static int
bound_sleeper(void *arg)
{
    int ep = (int)(long)arg;
    if (mnx_bind(0, ep) != ep)
        return 10;
    sleep_ms(30000);
    return 0;
}

static int
server_that_takes_one(void *arg)
{
    (void)arg;
    message m;
    if (mnx_bind(0, SRV) != SRV || mnx_receive(ANY, &m) != OK)
        return 10;
    sleep_ms(30000); /* never replies: it will be killed */
    return 0;
}

/* A peer dies: the caller gets its error within 2 s. */
static void
expect_error_within_2s(int (*call)(void), int want)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT_RC(call(), want);
    CHECK(elapsed_ms_since(&t0) < 2000);
}

static pid_t victim;

static void *
kill_soon(void *arg)
{
    (void)arg;
    sleep_ms(100);
    kill(victim, SIGKILL);
    return NULL;
}

#include <pthread.h>

static void
kill_victim_in_100ms(void)
{
    pthread_t th;
    pthread_create(&th, NULL, kill_soon, NULL);
    pthread_detach(th);
}

static int
call_send(void)
{
    message m = {0};
    return mnx_send(SRV, &m);
}

static int
call_sendrec(void)
{
    message m = {0};
    return mnx_sendrec(SRV, &m);
}

static int
call_receive_from_srv(void)
{
    message m;
    return mnx_receive(SRV, &m);
}

/* Destination dies while we are queued on it (SENDING). */
static void
test_dst_dies_while_queued(void)
{
    victim = spawn(bound_sleeper, (void *)(long)SRV);
    CHECK(wait_bound(0, SRV, 1, 3000) == 0);
    EXPECT_RC(mnx_bind(0, U1), U1);
    kill_victim_in_100ms();
    expect_error_within_2s(call_send, EMOLDSTDIED);
    reap(victim);
    CHECK(wait_bound(0, SRV, 0, 3000) == 0);
    EXPECT_RC(mnx_send_T(SRV, &(message){0}, 0), EMOLDSTDIED);
}

/* Server dies after taking our request (we wait for the reply). */
static void
test_server_dies_before_reply(void)
{
    victim = spawn(server_that_takes_one, NULL);
    CHECK(wait_flags(0, SRV, RECEIVING, RECEIVING, 3000) == 0);
    EXPECT_RC(mnx_bind(0, U1), U1);
    kill_victim_in_100ms();
    expect_error_within_2s(call_sendrec, EMOLSRCDIED);
    reap(victim);
}

/* Source dies while we receive from it specifically. */
static void
test_src_dies_while_received_from(void)
{
    victim = spawn(bound_sleeper, (void *)(long)SRV);
    CHECK(wait_bound(0, SRV, 1, 3000) == 0);
    EXPECT_RC(mnx_bind(0, U1), U1);
    kill_victim_in_100ms();
    expect_error_within_2s(call_receive_from_srv, EMOLSRCDIED);
    reap(victim);
}

static int
queued_sender(void *arg)
{
    (void)arg;
    message m = {0};
    if (mnx_bind(0, U1) != U1)
        return 10;
    return mnx_send(SRV, &m) == OK ? 0 : 11;
}

static int
blocked_receiver(void *arg)
{
    (void)arg;
    message m;
    if (mnx_bind(0, U2) != U2)
        return 10;
    mnx_receive(ANY, &m);
    return 0;
}

/* A queued sender and a blocked receiver die: queues shrink, slots free. */
static void
test_blocked_processes_die(void)
{
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    pid_t s = spawn(queued_sender, NULL), r = spawn(blocked_receiver, NULL);
    CHECK(wait_flags(0, U1, SENDING, SENDING, 3000) == 0);
    CHECK(wait_flags(0, U2, RECEIVING, RECEIVING, 3000) == 0);
    kill(s, SIGKILL);
    kill(r, SIGKILL);
    reap(s);
    reap(r);
    CHECK(wait_bound(0, U1, 0, 2000) == 0);
    CHECK(wait_bound(0, U2, 0, 2000) == 0);
    message m;
    EXPECT_RC(mnx_receive_T(ANY, &m, TIMEOUT_NOWAIT), EMOLAGAIN);
    EXPECT_RC(mnx_send_T(U2, &m, TIMEOUT_NOWAIT), EMOLDSTDIED);
    /* The slots are reusable at once. */
    pid_t again = spawn(queued_sender, NULL);
    EXPECT_RC(mnx_receive(ANY, &m), OK);
    CHECK(m.m_source == U1);
    CHECK(reap(again) == 0);
}

static int
die_holding_lock(void *arg)
{
    (void)arg;
    struct dvst_table *t = proc_table();
    if (!t)
        return 10;
    dvst_lock(t);
    _exit(0); /* with the table lock held */
}

/* A process that dies inside the table lock does not wedge the node. */
static void
test_death_inside_table_lock(void)
{
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    CHECK(reap(spawn(die_holding_lock, NULL)) == 0);
    pid_t s = spawn(queued_sender, NULL);
    message m;
    EXPECT_RC(mnx_receive_T(ANY, &m, 5000), OK);
    CHECK(m.m_source == U1);
    CHECK(reap(s) == 0);
    char out[2048];
    CHECK(control("info", out, sizeof(out)) == 0);
    CHECK(strstr(out, "\"repairs\":0") == NULL);
}

static int
echo_forever(void *arg)
{
    (void)arg;
    if (mnx_bind(0, SRV) != SRV)
        return 10;
    for (;;) {
        message m;
        int rc = mnx_rcvrqst(&m);
        if (rc != OK)
            return 11;
        m.m1_i2 = m.m1_i1 + 1;
        rc = mnx_reply(m.m_source, &m);
        /* The client may have been killed in between: that is its
         * business, not a reason to stop serving. */
        if (rc != OK && rc != EMOLPROCSTS && rc != EMOLDSTDIED)
            return 12;
    }
}

static int
hammering_client(void *arg)
{
    int ep = (int)(long)arg;
    if (mnx_bind(0, ep) != ep)
        return 10;
    for (int i = 0;; i++) {
        message m = {0};
        m.m1_i1 = i;
        if (mnx_sendrec(SRV, &m) != OK || m.m1_i2 != i + 1)
            return 11;
    }
}

/* 1,000 SIGKILLs of clients at random moments of their sendrec loops: the
 * server keeps serving and the table stays consistent. */
static void
test_thousand_random_kills(void)
{
    pid_t srv = spawn(echo_forever, NULL);
    CHECK(wait_bound(0, SRV, 1, 3000) == 0);
    unsigned seed = (unsigned)time(NULL);
    printf("  random kills: seed %u\n", seed);
    enum { POOL = 40, KILLS = 1000 };
    int bad_exits = 0;
    for (int k = 0; k < KILLS; k++) {
        int ep = 20 + k % POOL;
        /* The slot of the client killed POOL rounds ago must be free. */
        CHECK(wait_bound(0, ep, 0, 3000) == 0);
        pid_t c = spawn(hammering_client, (void *)(long)ep);
        seed = seed * 1103515245u + 12345u;
        int us = (int)((seed >> 8) % 1500);
        struct timespec ts = {0, us * 1000L};
        nanosleep(&ts, NULL);
        kill(c, SIGKILL);
        int rc = reap(c);
        if (rc != 128 + SIGKILL)
            bad_exits++; /* a client saw a wrong reply or error */
    }
    CHECK(bad_exits == 0);
    CHECK(kill(srv, 0) == 0); /* the server is alive */
    /* Every client slot is freed and nobody is left queued. */
    for (int ep = 20; ep < 20 + POOL; ep++)
        CHECK(wait_bound(0, ep, 0, 3000) == 0);
    if (wait_flags(0, SRV, SENDING | RECEIVING, RECEIVING, 10000) != 0) {
        proc_usr_t pi;
        int rc = mnx_getprocinfo(0, SRV, &pi);
        fail_at(__FILE__, __LINE__,
                "the server is not back in rcvrqst: getprocinfo %d, flags 0x%x, "
                "endpoint %d, pid %d (server pid %d, its exit: %d)",
                rc, pi.p_rts_flags, pi.p_endpoint, pi.p_lpid, (int)srv,
                reap_within(srv, 0));
    }
    char out[4096];
    CHECK(control("ps 0", out, sizeof(out)) == 0);
    CHECK(strstr(out, "\"nqueued\":0") != NULL);
    CHECK(strstr(out, "\"endpoint\":20") == NULL);
    /* And it still serves a fresh client correctly. */
    EXPECT_RC(mnx_bind(0, U1), U1);
    for (int i = 0; i < 100; i++) {
        message m = {0};
        m.m1_i1 = i * 3;
        EXPECT_RC(mnx_sendrec(SRV, &m), OK);
        CHECK(m.m1_i2 == i * 3 + 1);
    }
    kill(srv, SIGKILL);
    reap(srv);
}

static int
short_lived_owner(void *arg)
{
    (void)arg;
    /* Bind (retrying while the previous owner is being reaped), then
     * block: a stale death event of the previous owner must not unbind
     * us. */
    int rc;
    for (int i = 0; (rc = mnx_bind(0, U1)) == EMOLSLOTUSED && i < 500; i++)
        sleep_ms(1);
    if (rc != U1)
        return 10;
    message m;
    rc = mnx_receive_T(ANY, &m, 20);
    if (rc != EMOLTIMEDOUT)
        return 11;
    return mnx_unbind(0, U1) == OK ? 0 : 12;
}

/* A slot passed quickly from owner to owner stays with the new owner. */
static void
test_fast_rebinding(void)
{
    for (int i = 0; i < 150; i++)
        CHECK(reap(spawn(short_lived_owner, NULL)) == 0);
}

int
main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"destination dies while the sender is queued", test_dst_dies_while_queued},
        {"server dies before replying", test_server_dies_before_reply},
        {"source dies while received from", test_src_dies_while_received_from},
        {"blocked sender and receiver die", test_blocked_processes_die},
        {"death inside the table lock", test_death_inside_table_lock},
        {"1000 random client kills", test_thousand_random_kills},
        {"fast rebinding of one slot", test_fast_rebinding},
    };
    return test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
