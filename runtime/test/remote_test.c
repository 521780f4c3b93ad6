/*
 * remote_test.c - IPC across two nodes linked by their proxies over
 * loopback TCP: every primitive with the original results, vcopy content,
 * authentication, link cut and restore, a peer's death, and the wire
 * decoder under random input.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dvsd/sha256.h"
#include "harness.h"
#include "two_nodes.h"
#include "lib/proc.h"
#include "lib/wire.h"

enum { SRV = 1, SYS2 = 2, U1 = 20, U2 = 21 };

static char bad_secret_path[128];

/* Endpoints SRV and SYS2 live on node 0 (declared on node 1 with rmtbind),
 * U1 and U2 on node 1. */
static int
declare_on_node1(void *arg)
{
    (void)arg;
    int rc = mnx_rmtbind(0, "srv", SRV, 0);
    int rc2 = mnx_rmtbind(0, "sys2", SYS2, 0);
    return rc == SRV && rc2 == SYS2 ? 0 : 1;
}

static void
setup(void)
{
    node1_start(NULL);
    CHECK(links_up(5000) == 0);
    sleep_ms(100); /* both directions */
    pid_t d = on_node1(declare_on_node1, NULL);
    CHECK(reap(d) == 0);
    EXPECT_RC(mnx_rmtbind(0, "u1", U1, 1), U1);
}

struct call {
    int ep, dst, expect, delay_ms;
    long timeout;
};

static int
remote_sender(void *arg)
{
    struct call *c = arg;
    if (mnx_bind(0, c->ep) != c->ep)
        return 10;
    message m = {0};
    m.m_type = 42;
    m.m_source = 999; /* forged: must be overwritten */
    m.m1_i1 = 7;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = mnx_send_T(c->dst, &m, c->timeout ? c->timeout : TIMEOUT_FOREVER);
    if (rc != c->expect)
        return 11;
    /* A remote send returns only once the receiver has the message. */
    if (rc == OK && elapsed_ms_since(&t0) < c->delay_ms)
        return 12;
    return 0;
}

static void
test_remote_send_is_a_rendezvous(void)
{
    setup();
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    struct call c = {U1, SRV, OK, 200, 0};
    pid_t s = on_node1(remote_sender, &c);
    sleep_ms(250);
    message m;
    EXPECT_RC(mnx_receive(ANY, &m), OK);
    CHECK(m.m_source == U1 && m.m_type == 42 && m.m1_i1 == 7);
    CHECK(reap(s) == 0);
    proc_usr_t pi;
    EXPECT_RC(mnx_getprocinfo(0, U1, &pi), OK);
    CHECK((pi.p_rts_flags & REMOTE) && pi.p_nodeid == 1);
    node1_stop();
}

static int
remote_client(void *arg)
{
    struct call *c = arg;
    if (mnx_bind(0, c->ep) != c->ep)
        return 10;
    for (int i = 0; i < 200; i++) {
        message m = {0};
        m.m_type = 5;
        m.m1_i1 = i;
        int rc = mnx_sendrec(c->dst, &m);
        if (rc != OK)
            return 11;
        if (m.m_source != c->dst || m.m_type != 1005 || m.m1_i2 != 2 * i)
            return 12;
    }
    return 0;
}

static void
test_remote_sendrec_and_reply(void)
{
    setup();
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    struct call c = {U1, SRV, OK, 0, 0};
    pid_t cl = on_node1(remote_client, &c);
    for (int i = 0; i < 200; i++) {
        message m;
        EXPECT_RC(mnx_rcvrqst(&m), OK);
        CHECK(m.m_source == U1);
        m.m_type += 1000;
        m.m1_i2 = 2 * m.m1_i1;
        EXPECT_RC(mnx_reply(U1, &m), OK);
    }
    CHECK(reap(cl) == 0);
    /* A reply to a remote client that is not in sendrec is refused. */
    EXPECT_RC(mnx_reply(U1, &(message){0}), EMOLPROCSTS);
    node1_stop();
}

static int
remote_notified(void *arg)
{
    (void)arg;
    if (mnx_bind(0, U2) != U2)
        return 10;
    message m;
    int rc = mnx_receive(ANY, &m);
    if (rc != OK || m.m_source != SYS2 || m.m_type != NOTIFY_FROM(SYS2))
        return 11;
    return 0;
}

static void
test_remote_notify(void)
{
    setup();
    EXPECT_RC(mnx_rmtbind(0, "u2", U2, 1), U2);
    EXPECT_RC(mnx_bind(0, SYS2), SYS2);
    pid_t r = on_node1(remote_notified, NULL);
    sleep_ms(200);
    EXPECT_RC(mnx_notify(U2), OK);
    CHECK(reap_within(r, 3000) == 0);
    node1_stop();
}

static void
fill(unsigned char *p, int n, unsigned seed)
{
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(seed >> 16);
    }
}

static int
copy_client(void *arg)
{
    (void)arg;
    static unsigned char src[MAXCOPYLEN], dst[MAXCOPYLEN], want[MAXCOPYLEN];
    if (mnx_bind(0, U1) != U1)
        return 10;
    static const int sizes[] = {1, 4096, 65536, 65537, MAXCOPYLEN};
    for (int i = 0; i < 5; i++) {
        fill(src, sizes[i], 7u + (unsigned)i);
        memset(dst, 0, sizeof(dst));
        message m = {0};
        m.m1_i1 = sizes[i];
        m.m1_p1 = (char *)src;
        m.m1_p2 = (char *)dst;
        if (mnx_sendrec(SRV, &m) != OK || m.m_type != 0)
            return 11;
        fill(want, sizes[i], 100u + (unsigned)i);
        if (memcmp(dst, want, (size_t)sizes[i]))
            return 12;
    }
    return 0;
}

static void
test_remote_vcopy(void)
{
    setup();
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    pid_t c = on_node1(copy_client, NULL);
    static unsigned char buf[MAXCOPYLEN], want[MAXCOPYLEN];
    for (int i = 0; i < 5; i++) {
        message m;
        EXPECT_RC(mnx_rcvrqst(&m), OK);
        int n = m.m1_i1;
        memset(buf, 0, (size_t)n);
        EXPECT_RC(mnx_vcopy(U1, m.m1_p1, SELF, buf, n), OK);
        fill(want, n, 7u + (unsigned)i);
        CHECK(memcmp(buf, want, (size_t)n) == 0);
        fill(buf, n, 100u + (unsigned)i);
        EXPECT_RC(mnx_vcopy(SELF, buf, U1, m.m1_p2, n), OK);
        m.m_type = 0;
        EXPECT_RC(mnx_reply(U1, &m), OK);
    }
    CHECK(reap(c) == 0);
    node1_stop();
}

static int
blocked_on_remote(void *arg)
{
    (void)arg;
    if (mnx_bind(0, U1) != U1)
        return 10;
    message m = {0};
    int rc = mnx_sendrec(SRV, &m); /* the server never answers */
    if (rc != EMOLNOTCONN)
        return 11;
    /* While cut, new calls fail at once. */
    rc = mnx_sendrec(SRV, &m);
    return rc == EMOLNOTCONN ? 0 : 12;
}

/* Cutting a link wakes every caller waiting on that node with
 * EMOLNOTCONN; restoring it brings traffic back. */
static void
test_link_cut_and_restore(void)
{
    setup();
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    pid_t c = on_node1(blocked_on_remote, NULL);
    message m;
    EXPECT_RC(mnx_rcvrqst(&m), OK); /* it waits for our reply now */
    char out[512];
    CHECK(control("link cut 1", out, sizeof(out)) == 0 && strstr(out, "\"ok\":true"));
    CHECK(reap_within(c, 3000) == 0);
    EXPECT_RC(mnx_reply(U1, &m), EMOLPROCSTS); /* its surrogate was dropped */
    CHECK(control("links", out, sizeof(out)) == 0 && strstr(out, "\"cut\""));
    CHECK(control("link restore 1", out, sizeof(out)) == 0);
    CHECK(links_up(5000) == 0);
    sleep_ms(100);
    struct call ok = {U2, SRV, OK, 0, 0};
    pid_t again = on_node1(remote_client, &ok);
    for (int i = 0; i < 200; i++) {
        EXPECT_RC(mnx_rcvrqst(&m), OK);
        m.m_type += 1000;
        m.m1_i2 = 2 * m.m1_i1;
        EXPECT_RC(mnx_reply(m.m_source, &m), OK);
    }
    CHECK(reap(again) == 0);
    node1_stop();
}

static int
client_of_dying_server(void *arg)
{
    (void)arg;
    if (mnx_bind(0, U1) != U1)
        return 10;
    message m = {0};
    return mnx_sendrec(SRV, &m) == EMOLSRCDIED ? 0 : 11;
}

static void
test_remote_server_dies(void)
{
    setup();
    pid_t srv = fork();
    if (srv == 0) {
        message m;
        if (mnx_bind(0, SRV) != SRV || mnx_rcvrqst(&m) != OK)
            _exit(1);
        sleep_ms(10000);
        _exit(0);
    }
    CHECK(wait_flags(0, SRV, RECEIVING, RECEIVING, 3000) == 0); /* waits */
    pid_t c = on_node1(client_of_dying_server, NULL);
    CHECK(wait_flags(0, SRV, RECEIVING, 0, 3000) == 0); /* took the request */
    kill(srv, SIGKILL);
    reap(srv);
    CHECK(reap_within(c, 2000) == 0);
    node1_stop();
}

/* A node that does not hold the secret is refused. */
static void
test_unauthenticated_node_refused(void)
{
    node1_start(bad_secret_path);
    sleep_ms(1500);
    char out[512];
    CHECK(control("links", out, sizeof(out)) == 0);
    CHECK(strstr(out, "\"state\":\"up\"") == NULL);
    pid_t c = on_node1(blocked_on_remote, NULL);
    (void)c;
    EXPECT_RC(mnx_rmtbind(0, "u1", U1, 1), U1);
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    message m = {0};
    EXPECT_RC(mnx_send_T(U1, &m, 200), EMOLNOTCONN);
    kill(c, SIGKILL);
    reap(c);
    node1_stop();
}

static int
load_client(void *arg)
{
    int ep = (int)(long)arg;
    if (mnx_bind(0, ep) != ep)
        return 255;
    int ok = 0;
    for (int i = 0; i < 100000; i++) {
        message m = {0};
        m.m1_i1 = i;
        int rc = mnx_sendrec_T(SRV, &m, 2000);
        if (rc == OK) {
            if (m.m1_i2 != i + 1)
                return 254;
            ok++;
        } else if (rc != EMOLNOTCONN && rc != EMOLTIMEDOUT) {
            return 253;
        } else {
            break; /* the link is cut: report what completed */
        }
    }
    return ok > 250 ? 250 : ok; /* exit code carries a lower bound only */
}

/* Cut the link under load: every call completes or fails with an error;
 * the server's count of replies delivered equals the clients' successes. */
static void
test_link_cut_under_load(void)
{
    setup();
    EXPECT_RC(mnx_rmtbind(0, "u2", U2, 1), U2);
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    pid_t a = on_node1(load_client, (void *)(long)U1);
    pid_t b = on_node1(load_client, (void *)(long)U2);
    long served = 0, refused = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int cut = 0;
    for (;;) {
        message m;
        int rc = mnx_rcvrqst_T(&m, 500);
        if (rc == EMOLTIMEDOUT) {
            if (cut)
                break; /* every client has stopped calling */
            CHECK(elapsed_ms_since(&t0) < 20000);
            continue; /* clients still starting on a loaded machine */
        }
        EXPECT_RC(rc, OK);
        m.m1_i2 = m.m1_i1 + 1;
        rc = mnx_reply(m.m_source, &m);
        if (rc == OK)
            served++;
        else
            refused++; /* the client's node was cut off meanwhile */
        if (!cut && served > 200) {
            char out[256];
            CHECK(control("link cut 1", out, sizeof(out)) == 0);
            cut = 1;
        }
    }
    int ra = reap_within(a, 5000), rb = reap_within(b, 5000);
    CHECK(ra >= 0 && ra <= 250 && rb >= 0 && rb <= 250); /* no hang, no error */
    CHECK(served > 0);
    printf("  served %ld replies, %ld refused at the cut\n", served, refused);
    node1_stop();
}

/* The decoder rejects garbage and never reads past the header. */
static void
test_wire_decoder_fuzz(void)
{
    unsigned seed = (unsigned)time(NULL);
    printf("  wire fuzz seed %u\n", seed);
    struct wire_frame f = {.cmd = CMD_SEND_MSG, .dcid = 3, .src = 20, .dst = 1,
                           .snode = 1, .dnode = 2, .rcode = -11, .len = 16,
                           .seq = 77, .lamport = 99, .v_bytes = 4096};
    unsigned char h[WIRE_HDR_SIZE];
    wire_encode(&f, h);
    struct wire_frame g;
    EXPECT_RC(wire_decode(h, &g, NULL), OK);
    CHECK(g.cmd == f.cmd && g.dcid == 3 && g.src == 20 && g.rcode == -11 &&
          g.seq == 77 && g.lamport == 99 && g.len == 16);
    int accepted = 0;
    for (int i = 0; i < 200000; i++) {
        unsigned char x[WIRE_HDR_SIZE];
        memcpy(x, h, sizeof(x));
        int flips = 1 + (int)(seed % 8);
        for (int k = 0; k < flips; k++) {
            seed = seed * 1103515245u + 12345u;
            x[(seed >> 8) % WIRE_HDR_SIZE] ^= (unsigned char)(seed >> 20);
        }
        const char *why = NULL;
        int rc = wire_decode(x, &g, &why);
        if (rc == OK) {
            accepted++;
            CHECK(g.len <= WIRE_MAX_PAYLOAD && g.dcid >= 0 && g.dcid < NR_DCS);
            CHECK(g.snode >= 0 && g.snode < NR_NODES);
        } else {
            CHECK(why != NULL);
        }
    }
    printf("  %d of 200000 mutated headers were still valid\n", accepted);
    unsigned char zero[WIRE_HDR_SIZE] = {0};
    EXPECT_RC(wire_decode(zero, &g, NULL), EMOLBADREQUEST);
    /* BKUP_GONE: one endpoint, no payload. */
    struct wire_frame gone = {.cmd = CMD_BKUP_GONE, .dcid = 0, .src = NONE,
                              .dst = 1, .snode = 1, .dnode = 0};
    wire_encode(&gone, h);
    EXPECT_RC(wire_decode(h, &g, NULL), OK);
    CHECK(g.cmd == CMD_BKUP_GONE && g.dst == 1 && g.snode == 1);
    const char *why = NULL;
    gone.len = 16;
    wire_encode(&gone, h);
    EXPECT_RC(wire_decode(h, &g, &why), EMOLMSGSIZE);
    CHECK(why && strstr(why, "BKUP_GONE"));
    gone.len = 0;
    gone.dst = ANY;
    wire_encode(&gone, h);
    EXPECT_RC(wire_decode(h, &g, &why), EMOLBADREQUEST);
    struct wire_frame reset = {.cmd = CMD_BKUP_RESET, .snode = 2, .dnode = 0};
    wire_encode(&reset, h);
    EXPECT_RC(wire_decode(h, &g, NULL), OK);
    reset.len = 1;
    wire_encode(&reset, h);
    EXPECT_RC(wire_decode(h, &g, &why), EMOLMSGSIZE);
}

static void
test_sha256_vectors(void)
{
    uint8_t out[32];
    sha256("abc", 3, out);
    static const uint8_t abc[4] = {0xba, 0x78, 0x16, 0xbf};
    CHECK(memcmp(out, abc, 4) == 0 && out[31] == 0xad);
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256(two, strlen(two), out);
    CHECK(out[0] == 0x24 && out[1] == 0x8d && out[31] == 0xc1);
    /* RFC 4231 test case 2. */
    hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, out);
    CHECK(out[0] == 0x5b && out[1] == 0xdc && out[31] == 0x43);
}

int
main(int argc, char **argv)
{
    two_nodes_init();
    snprintf(bad_secret_path, sizeof(bad_secret_path), "/dev/shm/dvs-rtest-bad-%d", (int)getpid());
    FILE *f = fopen(bad_secret_path, "w");
    fputs("an entirely different secret!!!", f);
    fclose(f);
    static const struct test tests[] = {
        {"remote send is a rendezvous", test_remote_send_is_a_rendezvous},
        {"remote sendrec and reply", test_remote_sendrec_and_reply},
        {"remote notify", test_remote_notify},
        {"remote vcopy 1 B to 1 MiB both ways", test_remote_vcopy},
        {"link cut and restore", test_link_cut_and_restore},
        {"remote server dies", test_remote_server_dies},
        {"unauthenticated node refused", test_unauthenticated_node_refused},
        {"link cut under load", test_link_cut_under_load},
        {"wire decoder fuzz", test_wire_decoder_fuzz},
        {"sha256 vectors", test_sha256_vectors},
    };
    int rc = test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
    two_nodes_cleanup();
    unlink(bad_secret_path);
    return rc;
}
