/*
 * vcopy_test.c - copies between address spaces: sizes, content, errors.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

const char *harness_dvsd_args[] = {"--dc", "0:dc0:64:8:16", NULL};

enum { SRV = 1, U1 = 20, U2 = 21, U3 = 22, U4 = 23 };

static void
fill(unsigned char *p, int n, unsigned seed)
{
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(seed >> 16);
    }
}

static int
same(const unsigned char *p, int n, unsigned seed)
{
    unsigned char *want = malloc((size_t)n + 1);
    fill(want, n, seed);
    int ok = memcmp(p, want, (size_t)n) == 0;
    free(want);
    return ok;
}

/* client: offers a source buffer (m1_p1) and a destination (m1_p2) of
 * m1_i1 bytes inside its sendrec, then checks what the server wrote. */
static int
client(void *arg)
{
    int ep = (int)(long)arg, n = MAXCOPYLEN;
    unsigned char *src = malloc(n), *dst = calloc(1, n);
    if (mnx_bind(0, ep) != ep)
        return 10;
    fill(src, n, (unsigned)ep);
    static const int sizes[] = {1, 7, 4096, 65536, 65537, 300000, MAXCOPYLEN};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        message m = {0};
        m.m_type = 1;
        m.m1_i1 = sizes[i];
        m.m1_p1 = (char *)src;
        m.m1_p2 = (char *)dst;
        if (mnx_sendrec(SRV, &m) != OK || m.m_type != 0)
            return 11;
        if (!same(dst, sizes[i], 99u + (unsigned)i))
            return 12;
    }
    return 0;
}

static void
test_sizes_and_content(void)
{
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    pid_t c = spawn(client, (void *)(long)U1);
    unsigned char *buf = malloc(MAXCOPYLEN), *out = malloc(MAXCOPYLEN);
    for (int i = 0; i < 7; i++) {
        message m;
        EXPECT_RC(mnx_rcvrqst(&m), OK);
        int n = m.m1_i1;
        memset(buf, 0, (size_t)n);
        EXPECT_RC(mnx_vcopy(m.m_source, m.m1_p1, SELF, buf, n), OK);
        CHECK(same(buf, n, U1)); /* pulled the client's bytes */
        fill(out, n, 99u + (unsigned)i);
        EXPECT_RC(mnx_vcopy(SELF, out, m.m_source, m.m1_p2, n), OK);
        m.m_type = 0;
        EXPECT_RC(mnx_reply(m.m_source, &m), OK);
    }
    CHECK(reap(c) == 0);
    proc_usr_t pi;
    EXPECT_RC(mnx_getprocinfo(0, SRV, &pi), OK);
    CHECK(pi.p_lclcopy == 14);
}

static int
waiting_client(void *arg)
{
    int ep = (int)(long)arg;
    static unsigned char buf[8192];
    if (mnx_bind(0, ep) != ep)
        return 10;
    fill(buf, sizeof(buf), (unsigned)ep);
    message m = {0};
    m.m1_p1 = (char *)buf;
    if (mnx_sendrec(SRV, &m) != OK)
        return 11;
    /* U2 was the destination of a third-party copy from U1. */
    if (ep == U2 && !same(buf, 5000, U1))
        return 12;
    return 0;
}

/* The requester may copy between two other parties, both blocked. */
static void
test_third_party_copy(void)
{
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    pid_t a = spawn(waiting_client, (void *)(long)U1);
    pid_t b = spawn(waiting_client, (void *)(long)U2);
    message ma, mb;
    EXPECT_RC(mnx_receive(ANY, &ma), OK);
    EXPECT_RC(mnx_receive(ANY, &mb), OK);
    message *from = ma.m_source == U1 ? &ma : &mb;
    message *to = ma.m_source == U1 ? &mb : &ma;
    EXPECT_RC(mnx_vcopy(U1, from->m1_p1, U2, to->m1_p1, 5000), OK);
    EXPECT_RC(mnx_reply(U1, from), OK);
    EXPECT_RC(mnx_reply(U2, to), OK);
    CHECK(reap(a) == 0);
    CHECK(reap(b) == 0);
}

static void *
thread_in_sendrec(void *arg)
{
    (void)arg;
    static char buf[64];
    if (mnx_tbind(0, U3) != U3)
        return (void *)1;
    message m = {0};
    m.m1_p1 = buf;
    return (void *)(long)mnx_sendrec(SRV, &m);
}

static void
test_errors(void)
{
    char local[64] = {0};
    EXPECT_RC(mnx_vcopy(U1, local, SELF, local, 8), EMOLNOTBIND);
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    EXPECT_RC(mnx_vcopy(U1, local, SELF, local, 8), EMOLSRCDIED);
    EXPECT_RC(mnx_vcopy(SELF, local, U1, local, 8), EMOLDSTDIED);
    EXPECT_RC(mnx_vcopy(SELF, local, SELF, local, 8), EMOLENDPOINT);
    EXPECT_RC(mnx_vcopy(ANY, local, SELF, local, 8), EMOLENDPOINT);
    EXPECT_RC(mnx_vcopy(SELF, local, NONE, local, 8), EMOLENDPOINT);
    EXPECT_RC(mnx_vcopy(U1, local, SELF, local, MAXCOPYLEN + 1), EMOLRANGE);
    EXPECT_RC(mnx_vcopy(U1, local, SELF, local, -1), EMOLRANGE);

    /* A party that is not blocked receiving. */
    pid_t idle = fork();
    if (idle == 0)
        _exit(mnx_bind(0, U1) == U1 ? (sleep_ms(3000), 0) : 1);
    CHECK(wait_bound(0, U1, 1, 3000) == 0);
    EXPECT_RC(mnx_vcopy(U1, local, SELF, local, 8), EMOLPROCSTS);
    kill(idle, SIGKILL);
    reap(idle);

    /* A blocked party but a bad address in its space; zero bytes is fine. */
    pid_t c = spawn(waiting_client, (void *)(long)U4);
    message m;
    EXPECT_RC(mnx_receive(ANY, &m), OK);
    EXPECT_RC(mnx_vcopy(U4, (void *)8, SELF, local, 8), EMOLMSGSIZE);
    EXPECT_RC(mnx_vcopy(U4, m.m1_p1, SELF, local, 0), OK);
    EXPECT_RC(mnx_reply(U4, &m), OK);
    CHECK(reap(c) == 0);

    /* Two endpoints of one process: a copy is the process's own job. */
    pthread_t th;
    pthread_create(&th, NULL, thread_in_sendrec, NULL);
    EXPECT_RC(mnx_receive(ANY, &m), OK);
    CHECK(m.m_source == U3);
    EXPECT_RC(mnx_vcopy(SELF, local, U3, m.m1_p1, 8), EMOLPERM);
    EXPECT_RC(mnx_reply(U3, &m), OK);
    void *rc;
    pthread_join(th, &rc);
    CHECK(rc == NULL);
}

int
main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"vcopy sizes 1 B to 1 MiB, both directions", test_sizes_and_content},
        {"vcopy between two other parties", test_third_party_copy},
        {"vcopy errors", test_errors},
    };
    return test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
