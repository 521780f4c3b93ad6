/*
 * migrate_test.c - live migration (mnx_migr_start/commit/rollback) and
 * primary/backup (mnx_bkupbind, the daemons' takeover) on two nodes
 * linked over loopback TCP: the errors, callers held in WAITMIGR and
 * replayed (local and remote), queued senders flushed and replayed, a
 * death while migrating that does not fail the callers, rollback, and a
 * standby taking the endpoint over when its primary's node dies. Then, on
 * three nodes: a standby's death announced to the other nodes (BKUP_GONE),
 * so that the takeover goes to a live standby, and only from the node
 * that held it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "dvsd/sha256.h"
#include "harness.h"
#include "two_nodes.h"
#include "lib/wire.h"
#include "lib/ipc_split.h"
#include "lib/proc.h"

enum { SRV = 1, C1 = 20, C2 = 21, C3 = 22, R1 = 30, R2 = 31 };

/* node1_call runs one admin call on node 1: args[0] = op. */
struct admin {
    int op; /* 0 start, 1 commit, 2 rollback, 3 rmtbind, 4: wait until
             * ep's flags & node == want, 5 bkupbind */
    int ep, node, pid, want;
};

static int
admin_on_node1(void *arg)
{
    struct admin *a = arg;
    int rc;
    switch (a->op) {
    case 0:
        rc = mnx_migr_start(0, a->ep);
        break;
    case 1:
        rc = mnx_migr_commit(a->pid, 0, a->ep, a->node);
        break;
    case 2:
        rc = mnx_migr_rollback(0, a->ep);
        break;
    case 3:
        rc = mnx_rmtbind(0, "x", a->ep, a->node);
        rc = rc == a->ep ? OK : rc;
        break;
    case 5:
        rc = mnx_bkupbind(0, a->pid, a->ep, a->node);
        rc = rc == a->ep ? OK : rc;
        break;
    default:
        return wait_flags(0, _ENDPOINT_P(a->ep), a->node, a->want, 5000) ? 1 : 0;
    }
    return rc == a->want ? 0 : 1;
}

static int
node1(int op, int ep, int node, int pid, int want)
{
    struct admin a = {op, ep, node, pid, want};
    return reap(on_node1(admin_on_node1, &a));
}

/* at_node: the same admin call on node id. */
static int
at_node(int id, int op, int ep, int node, int pid, int want)
{
    struct admin a = {op, ep, node, pid, want};
    return reap(on_node(id, admin_on_node1, &a));
}

static void
setup(void)
{
    node1_start(NULL);
    CHECK(links_up(5000) == 0);
    sleep_ms(150); /* both directions */
}

/* srv_on_node1: node 1 runs `serve` (which binds SRV there); once node 1
 * shows SRV bound, this node declares it remote. Returns serve's pid. */
static pid_t
srv_on_node1(int (*serve)(void *))
{
    pid_t p = on_node1(serve, NULL);
    CHECK(node1(4, SRV, SLOT_FREE, 0, 0) == 0);
    EXPECT_RC(mnx_rmtbind(0, "srv", SRV, 1), SRV);
    return p;
}

/* ---- clients and servers ------------------------------------------------ */

struct client {
    int ep, dst, n, base;
};

/* client does n sendrecs; every answer must be its request + 1000, from
 * dst. Its exit code says what went wrong. */
static int
client(void *arg)
{
    struct client *c = arg;
    if (mnx_bind(0, c->ep) != c->ep)
        return 10;
    for (int i = 0; i < c->n; i++) {
        message m = {0};
        m.m_type = 7;
        m.m1_i1 = c->base + i;
        int rc = mnx_sendrec_T(c->dst, &m, 20000);
        if (rc != OK) {
            fprintf(stderr, "client %d: sendrec %d: %s\n", c->ep, i, mnx_strerror(rc));
            return 11;
        }
        if (m.m_source != c->dst || m.m1_i2 != c->base + i + 1000)
            return 12;
    }
    return 0;
}

/* serve answers n requests (bound by the caller). */
static int
serve(int n)
{
    for (int i = 0; i < n; i++) {
        message m;
        int rc = mnx_rcvrqst_T(&m, 20000);
        if (rc != OK) {
            fprintf(stderr, "server: rcvrqst: %s\n", mnx_strerror(rc));
            return 20;
        }
        m.m1_i2 = m.m1_i1 + 1000;
        if ((rc = mnx_reply(m.m_source, &m)) != OK) {
            fprintf(stderr, "server: reply to %d: %s\n", m.m_source, mnx_strerror(rc));
            return 21;
        }
    }
    return 0;
}

/* new_home is the program started on node 1: the commit there binds it
 * (it waits in mnx_wait4bind like any launched program), then it serves. */
static int
new_home(void *arg)
{
    int n = (int)(long)arg;
    if (mnx_migr_commit(getpid(), 0, SRV, 1) != OK)
        return 30;
    if (mnx_wait4bind_T(5000) != SRV)
        return 31;
    return serve(n);
}

/* ---- tests -------------------------------------------------------------- */

static void
test_errors(void)
{
    setup();
    EXPECT_RC(mnx_migr_start(0, SRV), EMOLNOTBIND);
    EXPECT_RC(mnx_migr_start(5, SRV), EMOLDCNOTRUN);
    EXPECT_RC(mnx_migr_start(0, ANY), EMOLENDPOINT);
    EXPECT_RC(mnx_migr_start(0, 1000), EMOLRANGE);
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    EXPECT_RC(mnx_migr_commit(-1, 0, SRV, 1), EMOLPROCSTS); /* not started */
    EXPECT_RC(mnx_migr_rollback(0, SRV), EMOLPROCSTS);
    EXPECT_RC(mnx_migr_start(0, SRV), OK);
    EXPECT_RC(mnx_migr_start(0, SRV), EMOLMIGRATE); /* already migrating */
    EXPECT_RC(mnx_migr_commit(-1, 0, SRV, 40), EMOLBADNODEID);
    EXPECT_RC(mnx_migr_commit(-1, 0, SRV, 2), EMOLNODCNODE);
    EXPECT_RC(mnx_migr_commit(-1, 0, SRV, 0), EMOLBADPID); /* here needs a pid */
    proc_usr_t pi;
    EXPECT_RC(mnx_getprocinfo(0, SRV, &pi), OK);
    CHECK(pi.p_rts_flags & MIGRATING);
    EXPECT_RC(mnx_migr_rollback(0, SRV), OK);
    EXPECT_RC(mnx_getprocinfo(0, SRV, &pi), OK);
    CHECK(!(pi.p_rts_flags & MIGRATING));
    /* bkupbind: the primary's node must be another node of the DC. */
    EXPECT_RC(mnx_bkupbind(0, getpid(), C1, 0), EMOLBADNODEID);
    EXPECT_RC(mnx_bkupbind(0, getpid(), C1, 2), EMOLNODCNODE);
    EXPECT_RC(mnx_bkupbind(0, 0, C1, 1), EMOLBADPID);
    EXPECT_RC(mnx_bkupbind(0, getpid(), C1, 1), EMOLBUSY); /* we own SRV */
    EXPECT_RC(mnx_bkupbind(0, getppid(), SRV, 1), EMOLSLOTUSED); /* local */
    node1_stop();
}

/* A local caller of a migrating endpoint waits in WAITMIGR, without
 * error, and resumes against the old location after a rollback; so do the
 * senders that were queued when the migration started. */
static void
test_waitmigr_and_rollback_local(void)
{
    setup();
    char out[16384];
    CHECK(control("trace on", out, sizeof(out)) == 0);
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    struct client queued = {C1, SRV, 1, 100}, held = {C2, SRV, 1, 200};
    pid_t a = spawn(client, &queued);
    CHECK(wait_flags(0, C1, SENDING, SENDING, 3000) == 0); /* queued on us */
    EXPECT_RC(mnx_migr_start(0, SRV), OK);
    pid_t b = spawn(client, &held);
    CHECK(wait_flags(0, C2, WAITMIGR, WAITMIGR, 3000) == 0);
    /* Frozen: a migrating endpoint takes nothing from its queue. */
    message m;
    EXPECT_RC(mnx_rcvrqst_T(&m, 100), EMOLTIMEDOUT);
    sleep_ms(100);
    CHECK(reap_within(a, 0) == -1 && reap_within(b, 0) == -1);
    EXPECT_RC(mnx_migr_rollback(0, SRV), OK);
    CHECK(serve(2) == 0);
    CHECK(reap_within(a, 3000) == 0 && reap_within(b, 3000) == 0);
    /* Migration is a traced event. */
    CHECK(control("trace history 100", out, sizeof(out)) == 0);
    CHECK(strstr(out, "\"op\":\"migr_start\"") && strstr(out, "\"op\":\"migr_rollback\""));
    node1_stop();
}

/* split_client makes one sendrec to SRV the way the Node addon does
 * (ipc_split.h): start it, sleep on the slot's doorbell itself, and ask
 * dvsi_check after every wake. Held in WAITMIGR, the call must be replayed
 * inside dvsi_check (which then answers DVSI_PENDING again) and complete
 * like any other. */
static int
split_client(void *arg)
{
    (void)arg;
    if (mnx_bind(0, C3) != C3)
        return 10;
    struct binding b;
    if (proc_get_binding(&b) != OK)
        return 11;
    struct dvsi_call c;
    message m = {0};
    m.m_type = 7;
    m.m1_i1 = 300;
    int rc = dvsi_start(&c, &b, DVSI_SENDREC, SRV, &m, 20000);
    int wakes = 0;
    while (rc == DVSI_PENDING) {
        uint32_t v;
        if (dvsi_arm(&c, &v)) {
            struct timespec to = {0, 50 * 1000000L};
            syscall(SYS_futex, dvsi_doorbell(&c), FUTEX_WAIT, v, &to, NULL, 0);
            dvsi_disarm(&c);
            wakes++;
        }
        rc = dvsi_check(&c);
    }
    if (rc != OK) {
        fprintf(stderr, "split client: %s\n", mnx_strerror(rc));
        return 12;
    }
    return m.m_source == SRV && m.m1_i2 == 1300 && wakes > 0 ? 0 : 13;
}

/* The same with the split calls of ipc_split.h (the Node addon's event-loop
 * path): the held call is replayed by dvsi_check after the rollback. */
static void
test_split_call_replayed(void)
{
    setup();
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    EXPECT_RC(mnx_migr_start(0, SRV), OK);
    pid_t a = spawn(split_client, NULL);
    CHECK(wait_flags(0, C3, WAITMIGR, WAITMIGR, 3000) == 0);
    sleep_ms(100);
    CHECK(reap_within(a, 0) == -1);
    EXPECT_RC(mnx_migr_rollback(0, SRV), OK);
    CHECK(serve(1) == 0);
    CHECK(reap_within(a, 3000) == 0);
    node1_stop();
}

/* The full migration of SRV from node 0 to node 1 under callers of every
 * kind: a local sender queued before the start (flushed, replayed to the
 * new home), a local one held in WAITMIGR, a remote one whose request was
 * already parked here when node 0 started the migration (NACK with
 * EMOLMIGRATE, replayed by node 1) and a remote one that node 1 itself
 * held. The old server is killed in between: its callers keep waiting. */
static void
test_migrate_local_to_remote_under_callers(void)
{
    setup();
    CHECK(node1(3, SRV, 0, 0, OK) == 0); /* node 1 knows SRV is on node 0 */
    pid_t old = fork();
    if (old == 0) {
        if (mnx_bind(0, SRV) != SRV)
            _exit(1);
        sleep_ms(20000); /* bound, busy: never receives */
        _exit(0);
    }
    CHECK(wait_bound(0, SRV, 1, 3000) == 0);
    struct client lq = {C1, SRV, 1, 100}, lw = {C2, SRV, 1, 200},
                  rq = {R1, SRV, 1, 300}, rw = {R2, SRV, 1, 400};
    pid_t a = spawn(client, &lq);
    pid_t r1 = on_node1(client, &rq);
    CHECK(wait_flags(0, C1, SENDING, SENDING, 3000) == 0);
    CHECK(wait_flags(0, R1, SENDING, SENDING, 3000) == 0); /* parked here */
    EXPECT_RC(mnx_migr_start(0, SRV), OK);
    pid_t b = spawn(client, &lw);
    CHECK(wait_flags(0, C2, WAITMIGR, WAITMIGR, 3000) == 0);
    CHECK(node1(0, SRV, 0, 0, OK) == 0); /* start on node 1 */
    pid_t r2 = on_node1(client, &rw);
    CHECK(node1(4, R2, WAITMIGR, 0, WAITMIGR) == 0); /* held on node 1 */
    /* The old process dies while migrating: nobody gets EMOLSRCDIED. */
    kill(old, SIGKILL);
    reap(old);
    sleep_ms(300);
    proc_usr_t pi;
    EXPECT_RC(mnx_getprocinfo(0, SRV, &pi), OK);
    CHECK(!(pi.p_rts_flags & SLOT_FREE) && (pi.p_rts_flags & MIGRATING));
    CHECK(reap_within(a, 0) == -1 && reap_within(b, 0) == -1);
    /* The new home first, then the old one. */
    pid_t nh = on_node1(new_home, (void *)7L);
    CHECK(node1(4, SRV, REMOTE, 0, 0) == 0); /* bound there now */
    EXPECT_RC(mnx_migr_commit(-1, 0, SRV, 1), OK);
    EXPECT_RC(mnx_getprocinfo(0, SRV, &pi), OK);
    CHECK((pi.p_rts_flags & REMOTE) && pi.p_nodeid == 1 && pi.p_lpid == -1);
    int ra = reap_within(a, 5000), rb = reap_within(b, 5000),
        rr1 = reap_within(r1, 5000), rr2 = reap_within(r2, 5000);
    if (ra || rb || rr1 || rr2) {
        char out[16384];
        control("ps 0", out, sizeof(out));
        printf("  clients %d %d %d %d\n  node 0: %s\n", ra, rb, rr1, rr2, out);
        char cmd[700];
        snprintf(cmd, sizeof(cmd), "python3 -c \"import socket;s=socket.socket(socket.AF_UNIX);s.connect('%s/control.sock');s.send(b'ps 0\\\\n');import time;time.sleep(0.3);print('  node 1:',s.recv(60000).decode())\"", node1_dir);
        (void)!system(cmd);
    }
    CHECK(ra == 0 && rb == 0 && rr1 == 0 && rr2 == 0);
    /* And calls after the migration go to node 1 directly; the new home
     * serves exactly 4 + 3 requests, so none was lost or duplicated. */
    struct client after = {C3, SRV, 3, 500};
    CHECK(reap_within(spawn(client, &after), 5000) == 0);
    CHECK(reap_within(nh, 5000) == 0);
    node1_stop();
}

/* A remote endpoint migrates to this node: the local caller held in
 * WAITMIGR is then served locally. */
static int
remote_old_home(void *arg)
{
    (void)arg;
    if (mnx_bind(0, SRV) != SRV)
        return 1;
    sleep_ms(20000);
    return 0;
}

static void
test_migrate_remote_to_local(void)
{
    setup();
    pid_t old = srv_on_node1(remote_old_home);
    EXPECT_RC(mnx_migr_start(0, SRV), OK);
    CHECK(node1(0, SRV, 0, 0, OK) == 0);
    struct client held = {C1, SRV, 2, 600};
    pid_t a = spawn(client, &held);
    CHECK(wait_flags(0, C1, WAITMIGR, WAITMIGR, 3000) == 0);
    kill(old, SIGKILL);
    reap(old);
    pid_t srv = fork();
    if (srv == 0) {
        if (mnx_wait4bind_T(5000) != SRV)
            _exit(1);
        _exit(serve(2));
    }
    EXPECT_RC(mnx_migr_commit(srv, 0, SRV, 0), OK);
    CHECK(node1(1, SRV, 0, -1, OK) == 0);
    CHECK(reap_within(a, 5000) == 0);
    CHECK(reap_within(srv, 5000) == 0);
    node1_stop();
}

/* A remote caller whose request reached this node while the endpoint was
 * migrating here (its own node had not started the migration) is parked
 * in its surrogate; the rollback answers its node with EMOLMIGRATE, and
 * the replayed call is served here. */
static void
test_remote_caller_parked_then_rollback(void)
{
    setup();
    CHECK(node1(3, SRV, 0, 0, OK) == 0);
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    EXPECT_RC(mnx_migr_start(0, SRV), OK); /* here only */
    struct client r = {R1, SRV, 1, 900};
    pid_t c = on_node1(client, &r);
    CHECK(wait_flags(0, R1, WAITMIGR, WAITMIGR, 3000) == 0); /* parked here */
    proc_usr_t pi;
    EXPECT_RC(mnx_getprocinfo(0, R1, &pi), OK);
    CHECK((pi.p_rts_flags & REMOTE) && pi.p_waitmigr == SRV);
    EXPECT_RC(mnx_migr_rollback(0, SRV), OK);
    CHECK(serve(1) == 0);
    CHECK(reap_within(c, 3000) == 0);
    node1_stop();
}

/* An owner still running when its endpoint is committed elsewhere is
 * displaced: its blocked call and its next calls return EMOLNOTBIND. */
static int
displaced(void *arg)
{
    (void)arg;
    if (mnx_bind(0, SRV) != SRV)
        return 10;
    message m;
    int rc = mnx_receive(ANY, &m);
    if (rc != EMOLNOTBIND)
        return 11;
    m.m_type = 1;
    return mnx_send(C1, &m) == EMOLNOTBIND ? 0 : 12;
}

static void
test_displaced_owner(void)
{
    setup();
    pid_t p = spawn(displaced, NULL);
    CHECK(wait_flags(0, SRV, RECEIVING, RECEIVING, 3000) == 0);
    EXPECT_RC(mnx_migr_start(0, SRV), OK);
    EXPECT_RC(mnx_migr_commit(-1, 0, SRV, 1), OK);
    CHECK(reap_within(p, 3000) == 0);
    proc_usr_t pi;
    EXPECT_RC(mnx_getprocinfo(0, SRV, &pi), OK);
    CHECK((pi.p_rts_flags & REMOTE) && pi.p_nodeid == 1);
    node1_stop();
}

/* A remote caller parked during a migration gives up (timeout); its next
 * call is not refused with EMOLBUSY by the abandoned one: it is parked in
 * its place and served after the rollback. */
static int
impatient(void *arg)
{
    (void)arg;
    if (mnx_bind(0, R1) != R1)
        return 10;
    message m = {0};
    m.m1_i1 = 1;
    if (mnx_sendrec_T(SRV, &m, 300) != EMOLTIMEDOUT)
        return 11;
    m.m1_i1 = 2;
    int rc = mnx_sendrec_T(SRV, &m, 10000);
    if (rc != OK) {
        fprintf(stderr, "impatient: %s\n", mnx_strerror(rc));
        return 12;
    }
    return m.m1_i2 == 1002 ? 0 : 13; /* the answer to the second call */
}

static void
test_abandoned_parked_call_replaced(void)
{
    setup();
    CHECK(node1(3, SRV, 0, 0, OK) == 0);
    EXPECT_RC(mnx_bind(0, SRV), SRV);
    EXPECT_RC(mnx_migr_start(0, SRV), OK);
    pid_t c = on_node1(impatient, NULL);
    CHECK(wait_flags(0, R1, WAITMIGR, WAITMIGR, 3000) == 0);
    sleep_ms(600); /* it timed out and called again */
    CHECK(wait_flags(0, R1, WAITMIGR, WAITMIGR, 3000) == 0);
    CHECK(reap_within(c, 0) == -1);
    EXPECT_RC(mnx_migr_rollback(0, SRV), OK);
    CHECK(serve(1) == 0); /* exactly one request arrives */
    message m;
    EXPECT_RC(mnx_rcvrqst_T(&m, 200), EMOLTIMEDOUT);
    CHECK(reap_within(c, 3000) == 0);
    node1_stop();
}

/* The owner dies while migrating and the migration is rolled back: the
 * endpoint is gone now, so the held caller's replay fails the way a call
 * to a dead endpoint does, instead of hanging. */
static int
caller_of_gone(void *arg)
{
    (void)arg;
    if (mnx_bind(0, C1) != C1)
        return 10;
    message m = {0};
    int rc = mnx_sendrec_T(SRV, &m, 10000);
    return rc == EMOLDEADSRCDST ? 0 : 11;
}

static void
test_owner_death_then_rollback(void)
{
    setup();
    pid_t old = fork();
    if (old == 0) {
        if (mnx_bind(0, SRV) != SRV)
            _exit(1);
        sleep_ms(20000);
        _exit(0);
    }
    CHECK(wait_bound(0, SRV, 1, 3000) == 0);
    EXPECT_RC(mnx_migr_start(0, SRV), OK);
    pid_t c = spawn(caller_of_gone, NULL);
    CHECK(wait_flags(0, C1, WAITMIGR, WAITMIGR, 3000) == 0);
    kill(old, SIGKILL);
    reap(old);
    sleep_ms(300);
    proc_usr_t pi;
    EXPECT_RC(mnx_getprocinfo(0, SRV, &pi), OK);
    CHECK(!(pi.p_rts_flags & SLOT_FREE) && (pi.p_misc_flags & MIS_KILLED));
    CHECK(reap_within(c, 0) == -1); /* still waiting, no EMOLSRCDIED */
    EXPECT_RC(mnx_migr_rollback(0, SRV), OK);
    CHECK(reap_within(c, 3000) == 0);
    CHECK(wait_bound(0, SRV, 0, 1000) == 0);
    node1_stop();
}

/* Primary on node 1, standby here. The standby waits in mnx_wait4bind;
 * when node 1's daemon dies, this node's daemon commits the endpoint to
 * the standby, and a caller that was held meanwhile is served by it. */
static int
primary(void *arg)
{
    (void)arg;
    if (mnx_bind(0, SRV) != SRV)
        return 1;
    return serve(1000000);
}

/* frozen: instead of dying, node 1's daemon stops answering (SIGSTOP): the
 * takeover then starts when the keepalives have been missing for 4 s. */
static void
backup_takeover(int frozen)
{
    setup();
    pid_t p = srv_on_node1(primary);
    pid_t standby = fork();
    if (standby == 0) {
        /* What a standby sees: it is not bound until the takeover. */
        int ep = mnx_wait4bind_T(20000);
        if (ep != SRV)
            _exit(1);
        int rc = serve(3);
        sleep_ms(500); /* still bound while the test looks */
        _exit(rc);
    }
    EXPECT_RC(mnx_bkupbind(0, standby, SRV, 1), SRV);
    EXPECT_RC(mnx_bkupbind(0, standby, SRV, 1), EMOLSLOTUSED); /* once */
    char out[8192];
    CHECK(control("ps 0", out, sizeof(out)) == 0);
    CHECK(strstr(out, "\"standby\":true") && strstr(out, "\"bkup_nodes\":[0]"));
    /* Served by the primary while it lives. */
    struct client one = {C1, SRV, 2, 700};
    CHECK(reap(spawn(client, &one)) == 0);
    EXPECT_RC(mnx_getep(standby), EMOLNOTBIND); /* a standby is not bound */
    /* Node 1 dies (or stops answering). */
    kill(node1_pid, frozen ? SIGSTOP : SIGKILL);
    if (!frozen) {
        reap(node1_pid);
        kill(p, SIGKILL);
        reap(p);
    }
    /* A call in flight when the node died gets EMOLNOTCONN (it may have
     * been served): the caller here comes once the death is noticed. */
    char links[512];
    for (int i = 0; i < (frozen ? 800 : 300); i++) {
        if (control("links", links, sizeof(links)) == 0 &&
            !strstr(links, "\"state\":\"up\""))
            break;
        sleep_ms(10);
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct client after = {C2, SRV, 3, 800};
    pid_t c = spawn(client, &after);
    CHECK(reap_within(c, 10000) == 0);
    printf("  takeover served the held caller after %ld ms\n", elapsed_ms_since(&t0));
    proc_usr_t pi;
    EXPECT_RC(mnx_getprocinfo(0, SRV, &pi), OK);
    CHECK(!(pi.p_rts_flags & REMOTE) && pi.p_nodeid == 0 && pi.p_lpid == standby);
    CHECK(reap_within(standby, 3000) == 0);
    if (frozen) {
        kill(node1_pid, SIGKILL);
        reap(node1_pid);
        kill(p, SIGKILL);
        reap(p);
    }
    node1_pid = 0;
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", node1_dir);
    (void)!system(cmd);
}

static void test_backup_takeover(void) { backup_takeover(0); }
static void test_backup_takeover_keepalive(void) { backup_takeover(1); }

/* A standby that dies leaves a plain surrogate of the primary. */
static void
test_standby_death_reverts(void)
{
    setup();
    EXPECT_RC(mnx_rmtbind(0, "srv", SRV, 1), SRV);
    pid_t standby = fork();
    if (standby == 0) {
        mnx_wait4bind_T(20000);
        _exit(0);
    }
    EXPECT_RC(mnx_bkupbind(0, standby, SRV, 1), SRV);
    kill(standby, SIGKILL);
    reap(standby);
    proc_usr_t pi;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        EXPECT_RC(mnx_getprocinfo(0, SRV, &pi), OK);
        if (!(pi.p_misc_flags & MIS_RMTBACKUP))
            break;
        sleep_ms(10);
    } while (elapsed_ms_since(&t0) < 3000);
    CHECK((pi.p_rts_flags & REMOTE) && pi.p_nodeid == 1 && pi.p_lpid == -1 &&
          !(pi.p_misc_flags & MIS_RMTBACKUP));
    node1_stop();
}


/* A caller whose sendrec to SRV must end with EMOLNOTCONN. */
static int
caller_expects_notconn(void *arg)
{
    (void)arg;
    if (mnx_bind(0, C1) != C1)
        return 10;
    message m = {0};
    int rc = mnx_sendrec_T(SRV, &m, 10000);
    if (rc != EMOLNOTCONN) {
        fprintf(stderr, "caller: %s\n", mnx_strerror(rc));
        return 11;
    }
    return 0;
}

/* The standby dies while its endpoint is held for a takeover (node 1
 * stopped answering): the takeover has nobody left and is rolled back, the
 * slot stays a surrogate of the primary (not unbound like a dead owner's),
 * callers get EMOLNOTCONN, and once node 1 answers again the primary
 * serves them. */
static void
test_standby_dies_while_held(void)
{
    setup();
    pid_t p = srv_on_node1(primary);
    pid_t standby = fork();
    if (standby == 0) {
        mnx_wait4bind_T(30000);
        _exit(0);
    }
    EXPECT_RC(mnx_bkupbind(0, standby, SRV, 1), SRV);
    kill(node1_pid, SIGSTOP);
    /* 4 s without keepalive, then held for 1.5 s: the standby dies then. */
    CHECK(wait_flags(0, SRV, MIGRATING, MIGRATING, 10000) == 0);
    kill(standby, SIGKILL);
    reap(standby);
    sleep_ms(2500); /* past the takeover delay */
    proc_usr_t pi;
    EXPECT_RC(mnx_getprocinfo(0, SRV, &pi), OK);
    CHECK((pi.p_rts_flags & REMOTE) && !(pi.p_rts_flags & MIGRATING) &&
          !(pi.p_rts_flags & SLOT_FREE) && pi.p_nodeid == 1 &&
          !(pi.p_misc_flags & MIS_RMTBACKUP));
    CHECK(reap_within(spawn(caller_expects_notconn, NULL), 12000) == 0);
    kill(node1_pid, SIGCONT);
    CHECK(links_up(10000) == 0);
    sleep_ms(300);
    struct client again = {C2, SRV, 2, 600};
    CHECK(reap_within(spawn(client, &again), 15000) == 0);
    kill(p, SIGKILL);
    reap(p);
    node1_stop();
}

/* ---- three nodes: a standby's death is announced (BKUP_GONE) ----------- */

static void
setup3(void)
{
    nodeN_start(1, NULL);
    nodeN_start(2, NULL);
    for (int id = 0; id < 3; id++)
        CHECK(links_all_up(id, 8000) == 0);
    sleep_ms(150); /* both directions everywhere */
}

/* nodeN_crash: node id's daemon dies (SIGKILL); its directory stays until
 * nodeN_stop. */
static void
nodeN_crash(int id)
{
    pid_t p = id == 1 ? node1_pid : node_pids[id];
    kill(p, SIGKILL);
    reap(p);
    node_pids[id] = 0;
    if (id == 1)
        node1_pid = 0;
}

/* bkup_of copies node id's bkup_nodes list of SRV ("[0,1]") into out. */
static int
bkup_of(int id, char *out, size_t n)
{
    char ps[16384];
    if (control_at(id, "ps 0", ps, sizeof(ps)) != 0)
        return -1;
    const char *row = strstr(ps, "\"endpoint\":1,");
    const char *b = row ? strstr(row, "\"bkup_nodes\":") : NULL;
    if (!b)
        return -1;
    b += strlen("\"bkup_nodes\":");
    const char *e = strchr(b, ']');
    if (!e || (size_t)(e - b + 2) > n)
        return -1;
    memcpy(out, b, (size_t)(e - b + 1));
    out[e - b + 1] = 0;
    return 0;
}

/* wait_bkup polls until node id lists exactly want as SRV's standbys. */
static int
wait_bkup(int id, const char *want, int ms)
{
    char got[64] = "";
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        if (bkup_of(id, got, sizeof(got)) == 0 && strcmp(got, want) == 0)
            return 0;
        sleep_ms(20);
    } while (elapsed_ms_since(&t0) < ms);
    fprintf(stderr, "  node %d lists %s as SRV's standbys, not %s\n", id, got, want);
    return -1;
}

static int
bound_here(void *arg)
{
    (void)arg;
    return wait_bound(0, SRV, 1, 5000) ? 1 : 0;
}

/* standby: waits for a takeover, then serves n requests. */
static int
standby_fn(void *arg)
{
    int n = (int)(long)arg;
    if (mnx_wait4bind_T(30000) != SRV)
        return 1;
    int rc = serve(n);
    sleep_ms(300);
    return rc;
}

static int
wait_link_down(int id, int peer, int ms)
{
    char links[1024], want[64];
    snprintf(want, sizeof(want), "{\"node\":%d,\"state\":\"up\"", peer);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        if (control_at(id, "links", links, sizeof(links)) == 0 && !strstr(links, want))
            return 0;
        sleep_ms(10);
    } while (elapsed_ms_since(&t0) < ms);
    return -1;
}

/* declare_backup tells node `at` that node `node` holds a standby of SRV
 * (the launcher's "backup" request). */
static void
declare_backup(int at, int node)
{
    char req[32], out[512];
    snprintf(req, sizeof(req), "backup 0 1 %d", node);
    CHECK(control_at(at, req, out, sizeof(out)) == 0 && strstr(out, "\"ok\":true"));
}

/* primary_on_node2 starts three nodes with SRV's primary on node 2,
 * declared on nodes 0 and 1; returns the primary's pid. */
static pid_t
primary_on_node2(void)
{
    setup3();
    pid_t prim = on_node(2, primary, NULL);
    CHECK(reap(on_node(2, bound_here, NULL)) == 0);
    EXPECT_RC(mnx_rmtbind(0, "srv", SRV, 2), SRV);
    CHECK(at_node(1, 3, SRV, 2, 0, OK) == 0);
    return prim;
}

/* standby_on_node1 starts a standby of SRV on node 1 and declares it on
 * nodes 0 and 2; returns its pid. */
static pid_t
standby_on_node1(void)
{
    pid_t sb1 = on_node(1, standby_fn, (void *)3L);
    CHECK(at_node(1, 5, SRV, 2, sb1, OK) == 0);
    declare_backup(0, 1);
    declare_backup(2, 1);
    return sb1;
}

/* Primary on node 2, standbys on nodes 0 and 1. The standby on node 0
 * dies: its daemon tells nodes 1 and 2, which stop listing node 0. Then
 * node 2 dies: every survivor picks node 1 (before BKUP_GONE, node 1 would
 * still have picked node 0, the lowest, while node 0 picked node 1: the
 * endpoint was lost), and a caller on node 0 is served by it. */
static void
test_dead_standby_withdrawn_takeover_to_live_one(void)
{
    pid_t prim = primary_on_node2();
    pid_t sb0 = spawn(standby_fn, (void *)3L);
    pid_t sb1 = on_node(1, standby_fn, (void *)3L);
    EXPECT_RC(mnx_bkupbind(0, sb0, SRV, 2), SRV);
    CHECK(at_node(1, 5, SRV, 2, sb1, OK) == 0);
    /* What the launcher does: every other node learns where they are. */
    declare_backup(1, 0);
    declare_backup(2, 0);
    declare_backup(0, 1);
    declare_backup(2, 1);
    for (int id = 0; id < 3; id++)
        CHECK(wait_bkup(id, "[0,1]", 1000) == 0);
    /* The standby on node 0 dies: everybody forgets it. */
    kill(sb0, SIGKILL);
    reap(sb0);
    for (int id = 0; id < 3; id++)
        CHECK(wait_bkup(id, "[1]", 3000) == 0);
    /* The primary's node dies: node 1's standby takes over. */
    nodeN_crash(2);
    kill(prim, SIGKILL);
    reap(prim);
    CHECK(wait_link_down(0, 2, 3000) == 0);
    struct client after = {C2, SRV, 3, 900};
    pid_t c = spawn(client, &after);
    CHECK(reap_within(c, 15000) == 0);
    CHECK(reap_within(sb1, 5000) == 0); /* it served the 3 calls */
    proc_usr_t pi;
    EXPECT_RC(mnx_getprocinfo(0, SRV, &pi), OK);
    CHECK((pi.p_rts_flags & REMOTE) && pi.p_nodeid == 1);
    nodeN_stop(1);
    nodeN_stop(2);
}

/* primary_node_dies_nothing_taken_over crashes node 2 (the primary's)
 * when no live standby is left: a caller gets EMOLNOTCONN, and past the
 * takeover delay SRV is still declared on node 2, not migrating. */
static void
primary_node_dies_nothing_taken_over(pid_t prim)
{
    nodeN_crash(2);
    kill(prim, SIGKILL);
    reap(prim);
    CHECK(wait_link_down(0, 2, 3000) == 0);
    CHECK(reap_within(spawn(caller_expects_notconn, NULL), 12000) == 0);
    sleep_ms(2500); /* past the takeover delay: nothing was committed */
    proc_usr_t pi;
    EXPECT_RC(mnx_getprocinfo(0, SRV, &pi), OK);
    CHECK((pi.p_rts_flags & REMOTE) && !(pi.p_rts_flags & MIGRATING) && pi.p_nodeid == 2);
}

/* Primary on node 2, its only standby on node 1 dies: node 0 forgets it,
 * so when node 2 dies nothing is held for a takeover that cannot happen:
 * a caller gets EMOLNOTCONN (no hang, no EMOLMIGRATE), and the endpoint
 * stays declared on node 2 (before BKUP_GONE, node 0 committed it to node
 * 1 after 1.5 s, whose standby was dead). */
static void
test_last_standby_gone_callers_notconn(void)
{
    pid_t prim = primary_on_node2();
    pid_t sb1 = standby_on_node1();
    CHECK(wait_bkup(0, "[1]", 1000) == 0);
    kill(sb1, SIGKILL);
    reap(sb1);
    CHECK(wait_bkup(0, "[]", 3000) == 0);
    CHECK(wait_bkup(2, "[]", 3000) == 0);
    primary_node_dies_nothing_taken_over(prim);
    nodeN_stop(1);
    nodeN_stop(2);
}

/* A node unreachable when the standby dies is told when its link is back. */
static void
test_bkup_gone_after_link_restore(void)
{
    pid_t prim = primary_on_node2();
    pid_t sb1 = standby_on_node1();
    char out[512];
    CHECK(control_at(0, "link cut 1", out, sizeof(out)) == 0 && strstr(out, "\"ok\":true"));
    CHECK(control_at(1, "link cut 0", out, sizeof(out)) == 0 && strstr(out, "\"ok\":true"));
    kill(sb1, SIGKILL);
    reap(sb1);
    CHECK(wait_bkup(2, "[]", 3000) == 0);
    sleep_ms(500);
    CHECK(wait_bkup(0, "[1]", 100) == 0); /* not told yet: unreachable */
    CHECK(control_at(0, "link restore 1", out, sizeof(out)) == 0);
    CHECK(control_at(1, "link restore 0", out, sizeof(out)) == 0);
    CHECK(wait_bkup(0, "[]", 5000) == 0);
    kill(prim, SIGKILL);
    reap(prim);
    nodeN_stop(1);
    nodeN_stop(2);
}

/* The standby's node dies with its daemon (nobody can announce the death):
 * the others keep counting on it until its daemon starts again, whose
 * first frame to each peer (BKUP_RESET) withdraws everything it held. A
 * takeover afterwards does not pick it. */
static void
test_restarted_daemon_resets_its_standbys(void)
{
    pid_t prim = primary_on_node2();
    pid_t sb1 = standby_on_node1();
    nodeN_crash(1);
    kill(sb1, SIGKILL);
    reap(sb1);
    CHECK(wait_link_down(0, 1, 3000) == 0);
    CHECK(wait_bkup(0, "[1]", 100) == 0); /* nobody could tell */
    nodeN_start(1, NULL);
    CHECK(wait_bkup(0, "[]", 8000) == 0);
    CHECK(wait_bkup(2, "[]", 3000) == 0);
    primary_node_dies_nothing_taken_over(prim);
    nodeN_stop(1);
    nodeN_stop(2);
}

/* ---- BKUP_GONE from the wrong sender ------------------------------------ */

/* peer_dial connects to node 0 as node `as` (a configured peer that is not
 * running); with secret, completes the handshake (runtime/docs/wire.md).
 * Returns the socket, -1 on failure. */
static int
peer_dial(int as, const char *secret)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)node_port(0))};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    struct timeval tmo = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
    if (!secret)
        return fd;
    unsigned char h[WIRE_HDR_SIZE + 48];
    uint8_t nd[16] = "dialer nonce 123", mac[32], msg[41];
    struct wire_frame f = {.cmd = CMD_HELLO, .flags = 1, .snode = as, .dnode = 0, .len = 16};
    wire_encode(&f, h);
    memcpy(h + WIRE_HDR_SIZE, nd, 16);
    if (write(fd, h, WIRE_HDR_SIZE + 16) != WIRE_HDR_SIZE + 16)
        return -1;
    size_t got = 0;
    while (got < sizeof(h)) {
        ssize_t k = read(fd, h + got, sizeof(h) - got);
        if (k <= 0)
            return -1;
        got += (size_t)k;
    }
    /* step 3: HMAC(secret, "D" | nonce_L | nonce_D | D | L) */
    msg[0] = 'D';
    memcpy(msg + 1, h + WIRE_HDR_SIZE, 16);
    memcpy(msg + 17, nd, 16);
    for (int i = 0; i < 4; i++) {
        msg[33 + i] = (uint8_t)(as >> (24 - 8 * i));
        msg[37 + i] = 0;
    }
    hmac_sha256(secret, strlen(secret), msg, sizeof(msg), mac);
    f = (struct wire_frame){.cmd = CMD_HELLO, .flags = 3, .snode = as, .dnode = 0, .len = 32};
    wire_encode(&f, h);
    memcpy(h + WIRE_HDR_SIZE, mac, 32);
    if (write(fd, h, WIRE_HDR_SIZE + 32) != WIRE_HDR_SIZE + 32)
        return -1;
    return fd;
}

static int
send_gone(int fd, int snode, int ep)
{
    unsigned char h[WIRE_HDR_SIZE];
    struct wire_frame f = {.cmd = CMD_BKUP_GONE, .dcid = 0, .src = NONE, .dst = ep,
                           .snode = snode, .dnode = 0};
    wire_encode(&f, h);
    return write(fd, h, sizeof(h)) == (ssize_t)sizeof(h) ? 0 : -1;
}

/* closed: node 0 closed the connection (within ms). */
static int
closed(int fd)
{
    char b[256];
    for (;;) {
        ssize_t k = read(fd, b, sizeof(b));
        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
            return 1;
        if (k < 0)
            return 0; /* timed out: still open */
    }
}

/* Only the node that held a standby can withdraw it: a BKUP_GONE on a
 * connection that did not authenticate is refused, one that names another
 * node than the link's peer closes the link, and the peer's own (GONE or
 * RESET) clears its bit only. */
static void
test_bkup_gone_only_from_its_node(void)
{
    pid_t prim = spawn(primary, NULL);
    CHECK(wait_bound(0, SRV, 1, 3000) == 0);
    char out[512];
    CHECK(control("backup 0 1 1", out, sizeof(out)) == 0 && strstr(out, "\"ok\":true"));
    CHECK(control("backup 0 1 2", out, sizeof(out)) == 0 && strstr(out, "\"ok\":true"));
    CHECK(wait_bkup(0, "[1,2]", 1000) == 0);
    /* No handshake: refused. */
    int fd = peer_dial(1, NULL);
    CHECK(fd >= 0);
    CHECK(send_gone(fd, 1, SRV) == 0);
    CHECK(closed(fd));
    close(fd);
    /* Wrong secret: refused at the handshake. */
    fd = peer_dial(1, "not the cluster secret at all");
    CHECK(fd >= 0);
    send_gone(fd, 1, SRV);
    CHECK(closed(fd));
    close(fd);
    CHECK(wait_bkup(0, "[1,2]", 300) == 0);
    /* Authenticated as node 1, speaking for node 2: the link is closed. */
    char secret[128] = "";
    FILE *sf = fopen(two_nodes_secret, "r");
    CHECK(sf && fgets(secret, sizeof(secret), sf));
    fclose(sf);
    fd = peer_dial(1, secret);
    CHECK(fd >= 0);
    CHECK(send_gone(fd, 2, SRV) == 0);
    CHECK(closed(fd));
    close(fd);
    CHECK(wait_bkup(0, "[1,2]", 300) == 0);
    /* Node 1 withdrawing its own standby: only its bit goes. */
    fd = peer_dial(1, secret);
    CHECK(fd >= 0);
    CHECK(send_gone(fd, 1, SRV) == 0);
    CHECK(wait_bkup(0, "[2]", 3000) == 0);
    /* Node 1 "restarted" (BKUP_RESET): again only its own bit goes. */
    CHECK(control("backup 0 1 1", out, sizeof(out)) == 0 && strstr(out, "\"ok\":true"));
    CHECK(wait_bkup(0, "[1,2]", 1000) == 0);
    unsigned char h[WIRE_HDR_SIZE];
    struct wire_frame r = {.cmd = CMD_BKUP_RESET, .snode = 1, .dnode = 0};
    wire_encode(&r, h);
    CHECK(write(fd, h, sizeof(h)) == (ssize_t)sizeof(h));
    CHECK(wait_bkup(0, "[2]", 3000) == 0);
    close(fd);
    kill(prim, SIGKILL);
    reap(prim);
}

int
main(int argc, char **argv)
{
    two_nodes_init();
    static const struct test tests[] = {
        {"migration errors", test_errors},
        {"WAITMIGR and rollback (local)", test_waitmigr_and_rollback_local},
        {"a split call (the addon's path) held, then replayed", test_split_call_replayed},
        {"migrate local to remote under callers", test_migrate_local_to_remote_under_callers},
        {"migrate remote to local", test_migrate_remote_to_local},
        {"remote caller parked, then rollback", test_remote_caller_parked_then_rollback},
        {"an owner still running is displaced by the commit", test_displaced_owner},
        {"owner dies while migrating, then rollback", test_owner_death_then_rollback},
        {"abandoned parked call replaced by the next one", test_abandoned_parked_call_replaced},
        {"backup takeover when the primary's node dies", test_backup_takeover},
        {"backup takeover when the primary's node stops answering (keepalive)", test_backup_takeover_keepalive},
        {"standby death reverts to a surrogate", test_standby_death_reverts},
        {"standby dies while its endpoint is held for a takeover", test_standby_dies_while_held},
    };
    int rc = test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
    /* The next tests run on three nodes (node 0 peers with 1 and 2). */
    nodes_init(3);
    static const struct test tests3[] = {
        {"a dead standby is withdrawn everywhere; the takeover goes to the live one", test_dead_standby_withdrawn_takeover_to_live_one},
        {"the last standby gone: callers get EMOLNOTCONN, nothing is committed", test_last_standby_gone_callers_notconn},
        {"BKUP_GONE only from the node that held the standby", test_bkup_gone_only_from_its_node},
        {"a node unreachable when a standby dies is told when its link is back", test_bkup_gone_after_link_restore},
        {"a restarted daemon withdraws the standbys its predecessor held (BKUP_RESET)", test_restarted_daemon_resets_its_standbys},
    };
    rc |= test_main(argc, argv, tests3, sizeof(tests3) / sizeof(tests3[0]));
    two_nodes_cleanup();
    return rc;
}
