/*
 * t_m3ipc.c - "ours": DVS IPC's m3ipc library, through its public API only
 * (runtime/include/m3ipc.h), so the benchmark measures what a user program
 * gets.
 *
 *   round trip: server mnx_bind(0, 1), loop mnx_rcvrqst / mnx_reply;
 *               client mnx_bind(0, 10), timed mnx_sendrec(1, &m).
 *   vcopy:      the client blocks in mnx_sendrec(1, &m) with its buffer's
 *               address in m.m1_p1 and the size in m.m1_i1; the server (the
 *               caller) loops mnx_vcopy(m.m_source, m.m1_p1, SELF, local, n),
 *               timed on its side, then replies.
 *
 * The node daemon must run first: the harness starts `dvsd --dir <tmp>/node
 * --dc 0:bench` once (ours_node_start), waits for "ready" on its stderr and
 * exports DVS_NODE before forking any case. The dvsd binary comes from the
 * DVSD environment variable, else from DVSD_PATH (set by CMake to
 * $<TARGET_FILE:dvsd>).
 *
 * Compiled for real only with -DWITH_M3IPC (CMake does that when the
 * m3ipc target exists); otherwise the rows print "n/a".
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef WITH_M3IPC
#include <m3ipc.h>

_Static_assert(sizeof(message) == BENCH_MSG_SIZE, "the baselines move sizeof(message) bytes");

#define OURS_DC 0
#define OURS_SERVER_EP 1
#define OURS_CLIENT_EP 10
#define OURS_VCOPY 3 /* m_type of the vcopy request */

/* ---- the node daemon ------------------------------------------------------ */
static pid_t dvsd_pid = -1;
static int node_state;        /* 0 not tried, 1 up, -1 failed */
static char base_dir[64];     /* /tmp/dvs-bench-XXXXXX: node/ + dvsd.log */
static char node_dir[128];
static char log_path[128];

static const char *dvsd_path(void)
{
    const char *p = getenv("DVSD");
    if (p && *p)
        return p;
#ifdef DVSD_PATH
    return DVSD_PATH;
#else
    return NULL;
#endif
}

static const char *ours_unavailable(void)
{
    const char *p = dvsd_path();
    if (!p)
        return "dvsd not found: set DVSD";
    if (access(p, X_OK))
        return "dvsd not executable: set DVSD";
    if (node_state < 0)
        return "dvsd failed to start";
    return NULL;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static int log_has_ready(void)
{
    char buf[4096];
    int fd = open(log_path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    return strstr(buf, "ready") != NULL;
}

static void show_log(void)
{
    char buf[2048];
    int fd = open(log_path, O_RDONLY);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0) {
        buf[n] = 0;
        fprintf(stderr, "bench: dvsd log (%s):\n%s\n", log_path, buf);
    }
}

int ours_node_start(void)
{
    if (node_state)
        return node_state > 0 ? 0 : -1;
    node_state = -1;
    const char *dvsd = dvsd_path();
    if (!dvsd)
        return -1;
    snprintf(base_dir, sizeof base_dir, "/tmp/dvs-bench-XXXXXX");
    if (!mkdtemp(base_dir)) {
        perror("bench: mkdtemp");
        return -1;
    }
    snprintf(node_dir, sizeof node_dir, "%s/node", base_dir);
    snprintf(log_path, sizeof log_path, "%s/dvsd.log", base_dir);
    mkdir(node_dir, 0700);
    /* stderr goes to a file, not a pipe: a chatty daemon must never block on
     * a pipe nobody drains while the benchmark runs */
    int logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (logfd < 0) {
        perror("bench: dvsd log");
        return -1;
    }
    dvsd_pid = fork();
    if (dvsd_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the harness */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        dup2(logfd, 2);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        execl(dvsd, dvsd, "--dir", node_dir, "--dc", "0:bench", (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", dvsd, strerror(errno));
        _exit(127);
    }
    close(logfd);
    if (dvsd_pid < 0) {
        perror("bench: fork dvsd");
        return -1;
    }
    for (int i = 0; i < 1000; i++) { /* up to 10 s */
        if (log_has_ready()) {
            setenv("DVS_NODE", node_dir, 1); /* inherited by every case's children */
            node_state = 1;
            return 0;
        }
        int st;
        if (waitpid(dvsd_pid, &st, WNOHANG) == dvsd_pid) {
            fprintf(stderr, "bench: dvsd exited before it was ready\n");
            dvsd_pid = -1;
            show_log();
            return -1;
        }
        usleep(10000);
    }
    fprintf(stderr, "bench: dvsd not ready after 10 s\n");
    show_log();
    ours_node_stop();
    node_state = -1;
    return -1;
}

void ours_node_stop(void)
{
    if (dvsd_pid > 0) {
        kill(dvsd_pid, SIGTERM);
        int st;
        for (int i = 0; i < 300 && waitpid(dvsd_pid, &st, WNOHANG) != dvsd_pid; i++)
            usleep(10000);
        if (waitpid(dvsd_pid, &st, WNOHANG) == 0) {
            kill(dvsd_pid, SIGKILL);
            waitpid(dvsd_pid, &st, 0);
        }
        dvsd_pid = -1;
    }
    if (base_dir[0]) {
        nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        base_dir[0] = 0;
    }
    if (node_state > 0)
        node_state = 0;
}

/* ---- binding ---------------------------------------------------------------- */
static int ours_bind(int ep)
{
    /* the previous case's processes may still be being reaped by the daemon:
     * retry "slot in use" for up to 2 s */
    int r = 0;
    for (int i = 0; i < 200; i++) {
        r = mnx_bind(OURS_DC, ep);
        if (r >= 0)
            return 0;
        if (r != EMOLSLOTUSED && r != EMOLBUSY)
            break;
        usleep(10000);
    }
    fprintf(stderr, "bench: mnx_bind(%d, %d): %s\n", OURS_DC, ep, mnx_strerror(r));
    return -1;
}

static int ours_server_init(struct bench_ctx *c)
{
    (void)c;
    return ours_bind(OURS_SERVER_EP);
}

static int ours_client_init(struct bench_ctx *c)
{
    (void)c;
    return ours_bind(OURS_CLIENT_EP);
}

/* ---- round trip ----------------------------------------------------------- */
static int ours_server_loop(struct bench_ctx *c)
{
    (void)c;
    message m;
    int r;
    for (;;) {
        if ((r = mnx_rcvrqst(&m)) < 0) {
            fprintf(stderr, "bench: mnx_rcvrqst: %s\n", mnx_strerror(r));
            return -1;
        }
        int stop = m.m_type == BENCH_STOP;
        int src = m.m_source;
        if ((r = mnx_reply(src, &m)) < 0) { /* echo the 48 bytes back */
            fprintf(stderr, "bench: mnx_reply: %s\n", mnx_strerror(r));
            return -1;
        }
        if (stop)
            break;
    }
    mnx_unbind(OURS_DC, OURS_SERVER_EP);
    return 0;
}

static int ours_roundtrip(struct bench_ctx *c, bench_msg *bm)
{
    (void)c;
    /* bench_msg's first word would land on m_source, which the runtime
     * overwrites: carry type and seq in m_type / m1_i1 instead */
    message m;
    memset(&m, 0, sizeof m);
    m.m_type = bm->type;
    m.m1_i1 = bm->seq;
    int r = mnx_sendrec(OURS_SERVER_EP, &m);
    if (r < 0) {
        fprintf(stderr, "bench: mnx_sendrec: %s\n", mnx_strerror(r));
        return -1;
    }
    bm->type = m.m_type;
    bm->seq = m.m1_i1;
    return 0;
}

static void ours_client_fini(struct bench_ctx *c)
{
    (void)c;
    mnx_unbind(OURS_DC, OURS_CLIENT_EP);
}

const struct transport tr_ours = {
    .name = "ours",
    .family = "ours",
    .label = "ours: m3ipc sendrec",
    .unavailable = ours_unavailable,
    .server_init = ours_server_init,
    .server_loop = ours_server_loop,
    .client_init = ours_client_init,
    .roundtrip = ours_roundtrip,
    .client_fini = ours_client_fini,
};

/* "ours, trace on": the same round trip while the node records the trace
 * (t_m3ipc_trace.c switches it on and off through the control socket). */
static int ours_trace_on(struct bench_ctx *c) { (void)c; return ours_trace_set(1); }
static void ours_trace_off(struct bench_ctx *c) { (void)c; ours_trace_set(0); }
const struct transport tr_ours_trace = {
    .name = "ours-trace",
    .family = "ours",
    .label = "ours: sendrec, trace on",
    .unavailable = ours_unavailable,
    .setup = ours_trace_on,
    .server_init = ours_server_init,
    .server_loop = ours_server_loop,
    .client_init = ours_client_init,
    .roundtrip = ours_roundtrip,
    .client_fini = ours_client_fini,
    .teardown = ours_trace_off,
};

/* ---- vcopy ------------------------------------------------------------------ */
static int ours_copy_server(struct bench_ctx *c)
{
    struct copy_result *res = c->shared;
    message m;
    int r, rc = 0;
    char *local = bench_alloc_touched(c->block);
    if (!local)
        return -1;
    if ((r = mnx_rcvrqst(&m)) < 0) {
        fprintf(stderr, "bench: mnx_rcvrqst: %s\n", mnx_strerror(r));
        return -1;
    }
    int n = m.m1_i1;
    uint64_t ops = 0, t0, t1, limit = (uint64_t)(c->run_s * 1e9);
    for (int i = 0; i < 8 && rc == 0; i++) /* warm-up, as for the baseline */
        if ((r = mnx_vcopy(m.m_source, m.m1_p1, SELF, local, n)) < 0)
            rc = -1;
    t0 = t1 = bench_now_ns();
    while (rc == 0) {
        if ((r = mnx_vcopy(m.m_source, m.m1_p1, SELF, local, n)) < 0) {
            rc = -1;
            break;
        }
        ops++;
        if ((t1 = bench_now_ns()) - t0 >= limit)
            break;
    }
    if (rc)
        fprintf(stderr, "bench: mnx_vcopy(%d bytes): %s\n", n, mnx_strerror(r));
    res->ops = ops;
    res->ns = t1 - t0;
    res->status = rc;
    m.m_type = rc ? -1 : 0;
    if ((r = mnx_reply(m.m_source, &m)) < 0) {
        fprintf(stderr, "bench: mnx_reply: %s\n", mnx_strerror(r));
        rc = -1;
    }
    mnx_unbind(OURS_DC, OURS_SERVER_EP);
    return rc;
}

static int ours_copy_client(struct bench_ctx *c)
{
    char *buf = bench_alloc_touched(c->block);
    message m;
    int r;
    if (!buf || ours_bind(OURS_CLIENT_EP))
        return -1;
    memset(&m, 0, sizeof m);
    m.m_type = OURS_VCOPY;
    m.m1_p1 = buf;
    m.m1_i1 = (int)c->block;
    r = mnx_sendrec(OURS_SERVER_EP, &m); /* blocked here while the server copies */
    mnx_unbind(OURS_DC, OURS_CLIENT_EP);
    if (r < 0) {
        fprintf(stderr, "bench: mnx_sendrec: %s\n", mnx_strerror(r));
        return -1;
    }
    return m.m_type == 0 ? 0 : -1;
}

const struct copier cp_ours = {
    .name = "vcopy-ours",
    .family = "ours",
    .label = "ours: mnx_vcopy",
    .unavailable = ours_unavailable,
    .caller_is_server = 1,
    .server_init = ours_server_init,
    .server_main = ours_copy_server,
    .client_main = ours_copy_client,
};

#else /* !WITH_M3IPC */

static const char *ours_unavailable(void) { return "not built: needs the m3ipc library"; }
int ours_node_start(void) { return -1; }
void ours_node_stop(void) {}

const struct transport tr_ours = {
    .name = "ours", .family = "ours", .label = "ours: m3ipc sendrec", .unavailable = ours_unavailable};
const struct transport tr_ours_trace = {
    .name = "ours-trace", .family = "ours", .label = "ours: sendrec, trace on", .unavailable = ours_unavailable};
const struct copier cp_ours = {
    .name = "vcopy-ours", .family = "ours", .label = "ours: mnx_vcopy", .unavailable = ours_unavailable};

#endif
