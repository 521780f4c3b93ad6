/*
 * bench_main.c - bench_local: the local IPC benchmark of DVS IPC.
 *
 * In one run, on one machine, it measures the 48-byte request/reply round
 * trip of every transport in the registry below with both processes on one
 * CPU and on two CPUs, and the one-copy bulk transfer of the vcopy
 * copiers, then checks "ours" against the SPEC §8 quality bars. Absolute
 * times on shared VMs are noise; only ratios within one run mean something,
 * which is why the baselines live in the same binary and run the same way.
 *
 * Method (the same for every row):
 *  - two processes forked from this one, each pinned with sched_setaffinity
 *    before it touches the transport; the server is made ready before the
 *    client is forked;
 *  - the client times every round trip with clock_gettime(CLOCK_MONOTONIC)
 *    after a warm-up, sorts the samples and keeps median / p99 / p99.9;
 *  - the number of timed round trips is chosen from the warm-up's speed so
 *    that each repetition takes about 1.5 s (5k..50k round trips): a
 *    cross-CPU blocking round trip costs ~45 us on the CI VM, a same-CPU
 *    futex one ~4 us;
 *  - 3 repetitions; the table shows the median of the repetition medians
 *    (and of the p99s).
 * The harness itself (this process) is not pinned and sleeps in
 * sigtimedwait while a case runs, so it neither competes for the CPUs nor
 * wakes them up (waking a halted vCPU changes cross-CPU latencies).
 *
 * Exit status: 0 when every selected case ran (even if a target is missed:
 * this is a report, not a test), 1 when a transport failed, crashed or hung,
 * 2 on a usage error.
 */
#include "bench.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- Registry: add a transport here (and its file to CMakeLists.txt) ---- */
static const struct transport *const transports[] = {
    &tr_futex, &tr_futex_spin, &tr_pipe, &tr_unix, &tr_tcp, &tr_zmq_ipc, &tr_zmq_tcp, &tr_ours,
    &tr_ours_trace,
};
#define N_TRANSPORTS (sizeof transports / sizeof transports[0])
static const struct copier *const copiers[] = {&cp_pvm, &cp_ours};
#define N_COPIERS (sizeof copiers / sizeof copiers[0])
static const size_t copy_sizes[] = {4096, 65536, 1048576};
#define N_SIZES (sizeof copy_sizes / sizeof copy_sizes[0])

#define MAX_REPS 9
#define SPIN_NS 20000 /* bounded spin of futex-spin: 20 us */

/* ---- Options ------------------------------------------------------------ */
static struct {
    int quick;
    int reps;
    const char *json;
    const char *only; /* comma-separated names or families */
    long n_min, n_max, warm;
    double budget_s;  /* target duration of one repetition of a latency case */
    double copy_s;    /* duration of one repetition of a copy case */
    int timeout_s;    /* a case taking longer is killed and counted as failed */
} opt = {.reps = 3, .n_min = 5000, .n_max = 50000, .warm = 2000, .budget_s = 1.5, .copy_s = 0.25,
         .timeout_s = 120};

/* ---- Results ------------------------------------------------------------- */
enum status { ST_NONE, ST_OK, ST_NA, ST_SKIP, ST_FAIL };

struct lat_rep {
    double med_us, p99_us, p999_us, min_us, mean_us;
    long n;
};

struct lat_cell { /* one transport x one placement */
    enum status st;
    const char *why;
    int nreps;
    struct lat_rep rep[MAX_REPS];
    double med_us, p99_us, p999_us, lo_us, hi_us; /* aggregated */
};

struct copy_cell {
    enum status st;
    const char *why;
    int nreps;
    double gbps[MAX_REPS], us[MAX_REPS];
    double med_gbps, med_us;
};

static struct lat_cell lat[N_TRANSPORTS][2]; /* [t][0] one CPU, [t][1] two CPUs */
static struct copy_cell cpy[N_COPIERS][N_SIZES];
static int failures;

/* memory the client writes its statistics into (MAP_SHARED, survives its exit) */
static struct lat_rep *client_out;
static void *case_shared; /* the transports' shared page */

static int cpu_a = 0, cpu_b = -1, ncpus_allowed;

/* ---- Helpers --------------------------------------------------------------- */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_of(const double *v, int n)
{
    double t[MAX_REPS];
    memcpy(t, v, sizeof(double) * (size_t)n);
    qsort(t, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static int selected(const char *name, const char *family)
{
    if (!opt.only)
        return 1;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", opt.only);
    for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (!strcmp(tok, name) || !strcmp(tok, family))
            return 1;
    return 0;
}

/* ---- Running two processes ------------------------------------------------ */
static void child_prologue(int cpu)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* no orphan spinning on a CPU if we die */
    if (bench_pin(cpu))
        _exit(20);
}

static const char *describe_exit(int st, char *buf, size_t n)
{
    if (WIFSIGNALED(st))
        snprintf(buf, n, "killed by signal %d", WTERMSIG(st));
    else
        snprintf(buf, n, "exit status %d", WEXITSTATUS(st));
    return buf;
}

/* Fork the server (init, signal ready, main), then the client; wait for both
 * with a deadline. Returns 0 if both exited 0. */
static int run_pair(struct bench_ctx *c, const char *what, int (*s_init)(struct bench_ctx *),
                    int (*s_main)(struct bench_ctx *), int (*c_main)(struct bench_ctx *))
{
    int ready[2];
    char b1[64];
    if (pipe(ready)) {
        perror("bench: pipe");
        return -1;
    }
    fflush(NULL);
    pid_t srv = fork();
    if (srv == 0) {
        close(ready[0]);
        child_prologue(c->server_cpu);
        if (s_init && s_init(c))
            _exit(10);
        if (write(ready[1], "r", 1) != 1)
            _exit(10);
        close(ready[1]);
        _exit(s_main(c) ? 11 : 0);
    }
    close(ready[1]);
    if (srv < 0) {
        perror("bench: fork");
        close(ready[0]);
        return -1;
    }
    struct pollfd pfd = {.fd = ready[0], .events = POLLIN};
    char r = 0;
    int got = poll(&pfd, 1, 20000) == 1 && read(ready[0], &r, 1) == 1;
    close(ready[0]);
    int st;
    if (!got) {
        kill(srv, SIGKILL);
        waitpid(srv, &st, 0);
        fprintf(stderr, "bench: %s: server did not get ready (%s)\n", what,
                describe_exit(st, b1, sizeof b1));
        return -1;
    }
    c->server_pid = srv;
    pid_t cli = fork();
    if (cli == 0) {
        child_prologue(c->client_cpu);
        _exit(c_main(c) ? 12 : 0);
    }
    if (cli < 0) {
        perror("bench: fork");
        kill(srv, SIGKILL);
        waitpid(srv, &st, 0);
        return -1;
    }

    /* Wait for both, sleeping in sigtimedwait (SIGCHLD is blocked in this
     * process): no polling wake-ups while the case runs. */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    uint64_t deadline = bench_now_ns() + (uint64_t)opt.timeout_s * 1000000000ull;
    int s_st = 0, c_st = 0, s_done = 0, c_done = 0, rc = 0;
    while (!(s_done && c_done)) {
        if (!s_done && waitpid(srv, &s_st, WNOHANG) == srv) {
            s_done = 1;
            if (!(WIFEXITED(s_st) && WEXITSTATUS(s_st) == 0) && !c_done) {
                fprintf(stderr, "bench: %s: server failed (%s)\n", what, describe_exit(s_st, b1, sizeof b1));
                kill(cli, SIGKILL); /* the client would wait forever for a reply */
                rc = -1;
            }
        }
        if (!c_done && waitpid(cli, &c_st, WNOHANG) == cli) {
            c_done = 1;
            if (!(WIFEXITED(c_st) && WEXITSTATUS(c_st) == 0) && !s_done) {
                fprintf(stderr, "bench: %s: client failed (%s)\n", what, describe_exit(c_st, b1, sizeof b1));
                kill(srv, SIGKILL);
                rc = -1;
            }
        }
        if (s_done && c_done)
            break;
        uint64_t now = bench_now_ns();
        if (now >= deadline) {
            fprintf(stderr, "bench: %s: no result after %d s, killed\n", what, opt.timeout_s);
            kill(srv, SIGKILL);
            kill(cli, SIGKILL);
            waitpid(srv, &s_st, 0);
            waitpid(cli, &c_st, 0);
            return -1;
        }
        uint64_t left = deadline - now;
        struct timespec ts = {.tv_sec = (time_t)(left / 1000000000ull), .tv_nsec = (long)(left % 1000000000ull)};
        sigtimedwait(&chld, NULL, &ts);
    }
    if (rc == 0 && !(WIFEXITED(s_st) && WEXITSTATUS(s_st) == 0)) {
        fprintf(stderr, "bench: %s: server failed (%s)\n", what, describe_exit(s_st, b1, sizeof b1));
        rc = -1;
    }
    if (rc == 0 && !(WIFEXITED(c_st) && WEXITSTATUS(c_st) == 0)) {
        fprintf(stderr, "bench: %s: client failed (%s)\n", what, describe_exit(c_st, b1, sizeof b1));
        rc = -1;
    }
    return rc;
}

/* ---- Latency case ------------------------------------------------------------ */
static const struct transport *cur_tr; /* inherited by the forked client */

static int lat_server_init(struct bench_ctx *c)
{
    return cur_tr->server_init ? cur_tr->server_init(c) : 0;
}

static int lat_server_main(struct bench_ctx *c) { return cur_tr->server_loop(c); }

static int lat_client_main(struct bench_ctx *c)
{
    const struct transport *t = cur_tr;
    bench_msg m;
    memset(&m, 0xab, sizeof m);
    if (t->client_init && t->client_init(c))
        return -1;
    /* warm-up: caches, page tables, lazy socket buffers, CPU frequency; also
     * gives the speed from which the timed count is chosen */
    uint64_t w0 = bench_now_ns();
    for (long i = 0; i < opt.warm; i++) {
        m.type = BENCH_REQ;
        m.seq = (int32_t)i;
        if (t->roundtrip(c, &m) || m.seq != (int32_t)i) {
            fprintf(stderr, "bench: %s: bad reply in warm-up\n", t->name);
            return -1;
        }
    }
    double per = (double)(bench_now_ns() - w0) / (double)opt.warm;
    long n = (long)(opt.budget_s * 1e9 / (per > 1 ? per : 1));
    if (n < opt.n_min)
        n = opt.n_min;
    if (n > opt.n_max)
        n = opt.n_max;
    uint64_t *s = malloc(sizeof *s * (size_t)n);
    if (!s)
        return -1;
    for (long i = 0; i < n; i++) {
        m.type = BENCH_REQ;
        m.seq = (int32_t)i;
        uint64_t t0 = bench_now_ns();
        int r = t->roundtrip(c, &m);
        uint64_t t1 = bench_now_ns();
        if (r || m.seq != (int32_t)i) {
            fprintf(stderr, "bench: %s: bad reply at %ld\n", t->name, i);
            return -1;
        }
        s[i] = t1 - t0;
    }
    m.type = BENCH_STOP;
    m.seq = -1;
    if (t->roundtrip(c, &m))
        return -1;
    if (t->client_fini)
        t->client_fini(c);
    double sum = 0;
    for (long i = 0; i < n; i++)
        sum += (double)s[i];
    bench_sort_u64(s, (size_t)n);
    client_out->n = n;
    client_out->med_us = (double)bench_pct(s, (size_t)n, 0.5) / 1e3;
    client_out->p99_us = (double)bench_pct(s, (size_t)n, 0.99) / 1e3;
    client_out->p999_us = (double)bench_pct(s, (size_t)n, 0.999) / 1e3;
    client_out->min_us = (double)s[0] / 1e3;
    client_out->mean_us = sum / (double)n / 1e3;
    free(s);
    return 0;
}

/* latency_rep runs one repetition of transport ti (cross: peer on the other
 * CPU) into its cell; 0 on success. A failure marks the cell failed. */
static int latency_rep(int ti, int cross)
{
    const struct transport *t = transports[ti];
    struct lat_cell *cell = &lat[ti][cross];
    if (cell->st == ST_FAIL)
        return -1;
    int scpu = cross ? cpu_b : cpu_a;
    char what[96];
    snprintf(what, sizeof what, "%s cpu%d/cpu%d", t->name, cpu_a, scpu);
    cur_tr = t;
    struct bench_ctx c = {.shared = case_shared, .server_cpu = scpu, .client_cpu = cpu_a,
                          .spin_ns = SPIN_NS};
    memset(case_shared, 0, BENCH_SHARED_SIZE);
    memset(client_out, 0, sizeof *client_out);
    if (t->setup && t->setup(&c)) {
        cell->st = ST_FAIL;
        cell->why = "setup failed";
        failures++;
        return -1;
    }
    int rc = run_pair(&c, what, lat_server_init, lat_server_main, lat_client_main);
    if (t->teardown)
        t->teardown(&c);
    if (rc || client_out->n == 0) {
        cell->st = ST_FAIL;
        cell->why = "crashed or hung, see stderr";
        failures++;
        return -1;
    }
    cell->rep[cell->nreps++] = *client_out;
    return 0;
}

/* latency_finish aggregates the repetitions of a cell (medians). */
static void latency_finish(int ti, int cross)
{
    const struct transport *t = transports[ti];
    struct lat_cell *cell = &lat[ti][cross];
    if (cell->st == ST_FAIL)
        return;
    double med[MAX_REPS], p99[MAX_REPS], p999[MAX_REPS];
    cell->lo_us = 1e300;
    cell->hi_us = 0;
    for (int i = 0; i < cell->nreps; i++) {
        med[i] = cell->rep[i].med_us;
        p99[i] = cell->rep[i].p99_us;
        p999[i] = cell->rep[i].p999_us;
        if (med[i] < cell->lo_us)
            cell->lo_us = med[i];
        if (med[i] > cell->hi_us)
            cell->hi_us = med[i];
    }
    cell->med_us = median_of(med, cell->nreps);
    cell->p99_us = median_of(p99, cell->nreps);
    cell->p999_us = median_of(p999, cell->nreps);
    cell->st = ST_OK;
    fprintf(stderr, "  %-12s %s  median %8.3f us  p99 %8.3f us  (reps %.3f..%.3f, n=%ld)\n", t->name,
            cross ? "2 CPUs" : "1 CPU ", cell->med_us, cell->p99_us, cell->lo_us, cell->hi_us,
            cell->rep[0].n);
}

/* run_latency measures transport ti; with a partner (>= 0) the repetitions
 * of the two alternate (a, b, a, b, ...), so that a change of the machine's
 * load during the run hits both rows alike: their ratio is what the trace
 * target compares. */
static void run_latency(int ti, int partner, int cross)
{
    for (int r = 0; r < opt.reps; r++) {
        latency_rep(ti, cross);
        if (partner >= 0)
            latency_rep(partner, cross);
    }
    latency_finish(ti, cross);
    if (partner >= 0)
        latency_finish(partner, cross);
}

/* ---- Copy case ------------------------------------------------------------------ */
static const struct copier *cur_cp;
static int cp_server_init(struct bench_ctx *c) { return cur_cp->server_init ? cur_cp->server_init(c) : 0; }
static int cp_server_main(struct bench_ctx *c) { return cur_cp->server_main(c); }
static int cp_client_main(struct bench_ctx *c) { return cur_cp->client_main(c); }

static void run_copy(int ci, int si)
{
    const struct copier *k = copiers[ci];
    struct copy_cell *cell = &cpy[ci][si];
    int peer = cpu_b >= 0 ? cpu_b : cpu_a;
    char what[96];
    snprintf(what, sizeof what, "%s %zu B", k->name, copy_sizes[si]);
    cur_cp = k;
    for (int r = 0; r < opt.reps; r++) {
        struct bench_ctx c = {.shared = case_shared, .spin_ns = SPIN_NS, .block = copy_sizes[si],
                              .run_s = opt.copy_s};
        /* the caller (the process that copies) on cpu_a, the blocked owner
         * of the buffer on the other CPU, as in the reference measurement */
        c.server_cpu = k->caller_is_server ? cpu_a : peer;
        c.client_cpu = k->caller_is_server ? peer : cpu_a;
        memset(case_shared, 0, BENCH_SHARED_SIZE);
        if (k->setup && k->setup(&c)) {
            cell->st = ST_FAIL;
            cell->why = "setup failed";
            failures++;
            return;
        }
        int rc = run_pair(&c, what, cp_server_init, cp_server_main, cp_client_main);
        if (k->teardown)
            k->teardown(&c);
        struct copy_result *res = case_shared;
        if (rc || res->status || res->ops == 0 || res->ns == 0) {
            cell->st = ST_FAIL;
            cell->why = "crashed or hung, see stderr";
            failures++;
            return;
        }
        cell->gbps[cell->nreps] = (double)res->ops * (double)copy_sizes[si] / (double)res->ns;
        cell->us[cell->nreps] = (double)res->ns / (double)res->ops / 1e3;
        cell->nreps++;
    }
    cell->med_gbps = median_of(cell->gbps, cell->nreps);
    cell->med_us = median_of(cell->us, cell->nreps);
    cell->st = ST_OK;
    fprintf(stderr, "  %-12s %7zu B  %7.2f GB/s  %9.3f us/copy\n", k->name, copy_sizes[si], cell->med_gbps,
            cell->med_us);
}

/* ---- Report ------------------------------------------------------------------------ */
static char cpu_model[128] = "?";
static struct utsname uts;
static char started[64];

static void machine_info(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    if (f) {
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "model name", 10)) {
                char *p = strchr(line, ':');
                if (p) {
                    p++;
                    while (*p == ' ')
                        p++;
                    p[strcspn(p, "\n")] = 0;
                    snprintf(cpu_model, sizeof cpu_model, "%s", p);
                }
                break;
            }
        fclose(f);
    }
    uname(&uts);
    time_t now = time(NULL);
    strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
}

static void fmt_lat(char *buf, size_t n, const struct lat_cell *c)
{
    switch (c->st) {
    case ST_OK:
        snprintf(buf, n, "%9.3f %9.3f", c->med_us, c->p99_us);
        break;
    case ST_NA:
        snprintf(buf, n, "n/a (%s)", c->why);
        break;
    case ST_SKIP:
        snprintf(buf, n, "skipped (%s)", c->why);
        break;
    case ST_FAIL:
        snprintf(buf, n, "FAILED (%s)", c->why);
        break;
    default:
        snprintf(buf, n, "-");
    }
}

static void fmt_copy(char *buf, size_t n, const struct copy_cell *c)
{
    switch (c->st) {
    case ST_OK:
        snprintf(buf, n, "%6.2f GB/s %9.2f us", c->med_gbps, c->med_us);
        break;
    case ST_NA:
        snprintf(buf, n, "n/a (%s)", c->why);
        break;
    case ST_FAIL:
        snprintf(buf, n, "FAILED (%s)", c->why);
        break;
    default:
        snprintf(buf, n, "-");
    }
}

static int find_tr(const char *name)
{
    for (size_t i = 0; i < N_TRANSPORTS; i++)
        if (!strcmp(transports[i]->name, name))
            return (int)i;
    return -1;
}

/* ---- Targets (SPEC §8) ----------------------------------------------------- */
struct target {
    char name[96];
    char detail[96];
    const char *verdict; /* PASS, MISS or n/a */
    double value, limit;
};
static struct target targets[16];
static int n_targets;

static struct target *add_target(const char *verdict, double value, double limit, const char *name,
                                 const char *fmt, ...)
{
    struct target *t = &targets[n_targets++];
    va_list ap;
    snprintf(t->name, sizeof t->name, "%s", name);
    va_start(ap, fmt);
    vsnprintf(t->detail, sizeof t->detail, fmt, ap);
    va_end(ap);
    t->verdict = verdict;
    t->value = value;
    t->limit = limit;
    return t;
}

static void eval_targets(void)
{
    int io = find_tr("ours");
    const struct lat_cell *o1 = &lat[io][0], *o2 = &lat[io][1];
    const struct lat_cell *fx = &lat[find_tr("futex")][0];
    const char *why_o = o1->st == ST_NA ? o1->why : o1->st == ST_FAIL ? "ours failed" : "ours not run";

    if (o1->st == ST_OK && fx->st == ST_OK) {
        double r = o1->med_us / fx->med_us;
        add_target(r <= 1.25 ? "PASS" : "MISS", r, 1.25, "ours <= 1.25x raw futex, one CPU",
                   "%.3f / %.3f us = %.2fx", o1->med_us, fx->med_us, r);
    } else
        add_target("n/a", 0, 1.25, "ours <= 1.25x raw futex, one CPU", "%s",
                   o1->st == ST_OK ? "futex not run" : why_o);

    if (o2->st == ST_OK)
        add_target(o2->med_us < 1.0 ? "PASS" : "MISS", o2->med_us, 1.0, "ours < 1 us, peer on other CPU",
                   "%.3f us", o2->med_us);
    else
        add_target("n/a", 0, 1.0, "ours < 1 us, peer on other CPU", "%s",
                   o2->st == ST_SKIP ? "1 CPU only" : why_o);

    const char *rivals[] = {"pipe", "unix", "tcp", "zmq-ipc", "zmq-tcp"};
    for (size_t i = 0; i < sizeof rivals / sizeof rivals[0]; i++) {
        const struct lat_cell *b = &lat[find_tr(rivals[i])][0];
        char name[64];
        snprintf(name, sizeof name, "ours faster than %s, one CPU", rivals[i]);
        if (o1->st == ST_OK && b->st == ST_OK) {
            double r = o1->med_us / b->med_us;
            add_target(r < 1.0 ? "PASS" : "MISS", r, 1.0, name, "%.3f vs %.3f us = %.2fx", o1->med_us,
                       b->med_us, r);
        } else
            add_target("n/a", 0, 1.0, name, "%s",
                       o1->st != ST_OK ? why_o : b->st == ST_NA ? b->why : "baseline not run");
    }

    /* SPEC §8: trace on at most 10 % slower than trace off. */
    int it = find_tr("ours-trace");
    for (int cpu = 0; cpu < 2; cpu++) {
        const struct lat_cell *off = &lat[io][cpu], *on = &lat[it][cpu];
        const char *name = cpu ? "trace on <= 1.10x trace off, two CPUs"
                               : "trace on <= 1.10x trace off, one CPU";
        if (off->st == ST_OK && on->st == ST_OK) {
            double r = on->med_us / off->med_us;
            /* The repetitions alternate (run_latency): the median of the
             * per-pair ratios of minimums is the trace's own cost without
             * the scheduling noise that moves the medians. Shown, not judged. */
            double pm[MAX_REPS];
            int np = off->nreps < on->nreps ? off->nreps : on->nreps;
            for (int k = 0; k < np; k++)
                pm[k] = on->rep[k].min_us / off->rep[k].min_us;
            add_target(r <= 1.10 ? "PASS" : "MISS", r, 1.10, name,
                       "%.3f / %.3f us = %.2fx (paired minimums %.2fx)", on->med_us, off->med_us, r,
                       np ? median_of(pm, np) : 0.0);
        } else
            add_target("n/a", 0, 1.10, name, "%s",
                       on->st == ST_SKIP || off->st == ST_SKIP ? "1 CPU only"
                       : on->st == ST_NA                       ? on->why
                                                               : "trace row failed or not run");
    }

    for (size_t si = 1; si < N_SIZES; si++) { /* 64 KiB and 1 MiB */
        const struct copy_cell *o = &cpy[1][si], *p = &cpy[0][si];
        char name[64];
        snprintf(name, sizeof name, "vcopy >= 80%% of process_vm_readv, %s",
                 copy_sizes[si] >= 1048576 ? "1 MiB" : "64 KiB");
        if (o->st == ST_OK && p->st == ST_OK) {
            double r = o->med_gbps / p->med_gbps;
            add_target(r >= 0.8 ? "PASS" : "MISS", r, 0.8, name, "%.2f / %.2f GB/s = %.0f%%", o->med_gbps,
                       p->med_gbps, r * 100);
        } else
            add_target("n/a", 0, 0.8, name, "%s",
                       o->st == ST_NA ? o->why : o->st == ST_FAIL ? "ours failed" : "not run");
    }
}

static void print_report(void)
{
    char a[96], b[96];
    printf("\nDVS IPC local benchmark: %d-byte request/reply round trip between two processes, us\n",
           BENCH_MSG_SIZE);
    printf("machine: %d CPU(s) usable, %s, %s %s; %s; median of %d repetitions%s\n", ncpus_allowed, cpu_model,
           uts.sysname, uts.release, started, opt.reps, opt.quick ? " (--quick: few iterations)" : "");
    char h1[32], h2[32];
    snprintf(h1, sizeof h1, "one CPU (cpu%d/cpu%d)", cpu_a, cpu_a);
    if (cpu_b >= 0)
        snprintf(h2, sizeof h2, "two CPUs (cpu%d/cpu%d)", cpu_a, cpu_b);
    else
        snprintf(h2, sizeof h2, "two CPUs");
    printf("\n%-30s | %-19s | %-19s\n", "transport", h1, h2);
    printf("%-30s | %9s %9s | %9s %9s\n", "", "median", "p99", "median", "p99");
    printf("-------------------------------+---------------------+--------------------\n");
    for (size_t i = 0; i < N_TRANSPORTS; i++) {
        if (lat[i][0].st == ST_NONE && lat[i][1].st == ST_NONE)
            continue;
        fmt_lat(a, sizeof a, &lat[i][0]);
        fmt_lat(b, sizeof b, &lat[i][1]);
        if (lat[i][0].st != ST_OK && !strcmp(a, b)) /* one reason for the whole row */
            printf("%-30s | %s\n", transports[i]->label, a);
        else
            printf("%-30s | %-19s | %s\n", transports[i]->label, a, b);
    }
    if (cpu_b < 0)
        printf("note: only one usable CPU, the two-CPU rows are skipped.\n");
    printf("notes: spinning with both processes on one CPU is pathological by design (the spinner\n"
           "burns its slice while the peer cannot run): it is why m3ipc may spin only when the peer\n"
           "runs on another CPU. Two-CPU blocking rows measure a cross-CPU wake-up: tens to hundreds of\n"
           "us on VMs, and noisy. Only ratios within one run are meaningful.\n");

    int any_copy = 0;
    for (size_t i = 0; i < N_COPIERS; i++)
        any_copy |= cpy[i][0].st != ST_NONE;
    if (any_copy) {
        printf("\nvcopy: caller on cpu%d copies out of a blocked peer on cpu%d; GB/s and us per copy\n", cpu_a,
               cpu_b >= 0 ? cpu_b : cpu_a);
        printf("%-30s |", "mechanism");
        for (size_t s = 0; s < N_SIZES; s++)
            printf(" %-23s|", copy_sizes[s] >= 1048576 ? "1 MiB" : copy_sizes[s] >= 65536 ? "64 KiB" : "4 KiB");
        printf("\n-------------------------------+------------------------+------------------------+------------------------\n");
        for (size_t i = 0; i < N_COPIERS; i++) {
            if (cpy[i][0].st == ST_NONE)
                continue;
            printf("%-30s |", copiers[i]->label);
            int same = 1;
            for (size_t s = 1; s < N_SIZES; s++)
                same &= cpy[i][s].st == cpy[i][0].st && cpy[i][s].why == cpy[i][0].why;
            if (cpy[i][0].st != ST_OK && same) { /* one reason for the whole row */
                fmt_copy(a, sizeof a, &cpy[i][0]);
                printf(" %s\n", a);
                continue;
            }
            for (size_t s = 0; s < N_SIZES; s++) {
                fmt_copy(a, sizeof a, &cpy[i][s]);
                printf(" %-23s|", a);
            }
            printf("\n");
        }
    }

    printf("\nSPEC section 8 targets (a report, not a test)\n");
    for (int i = 0; i < n_targets; i++)
        printf("  %-4s  %-44s %s\n", targets[i].verdict, targets[i].name, targets[i].detail);
    if (failures)
        printf("\n%d case(s) FAILED (see stderr)\n", failures);
    fflush(stdout);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static const char *st_name(enum status s)
{
    return s == ST_OK ? "ok" : s == ST_NA ? "n/a" : s == ST_SKIP ? "skipped" : s == ST_FAIL ? "failed" : "not run";
}

static int write_json(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    fprintf(f, "{\n  \"schema\": \"dvs-bench-local/1\",\n  \"started\": \"%s\",\n", started);
    fprintf(f, "  \"machine\": {\"cpus\": %d, \"model\": ", ncpus_allowed);
    json_str(f, cpu_model);
    fprintf(f, ", \"kernel\": ");
    json_str(f, uts.release);
    fprintf(f, ", \"cpu_a\": %d, \"cpu_b\": %d},\n", cpu_a, cpu_b);
    fprintf(f, "  \"config\": {\"msg_bytes\": %d, \"reps\": %d, \"quick\": %s, \"spin_ns\": %d},\n",
            BENCH_MSG_SIZE, opt.reps, opt.quick ? "true" : "false", SPIN_NS);
    fprintf(f, "  \"latency\": [");
    int first = 1;
    for (size_t i = 0; i < N_TRANSPORTS; i++)
        for (int x = 0; x < 2; x++) {
            const struct lat_cell *c = &lat[i][x];
            if (c->st == ST_NONE)
                continue;
            fprintf(f, "%s\n    {\"name\": \"%s\", \"label\": ", first ? "" : ",", transports[i]->name);
            json_str(f, transports[i]->label);
            fprintf(f, ", \"cpus\": \"%s\", \"client_cpu\": %d, \"server_cpu\": %d, \"status\": \"%s\"",
                    x ? "two" : "one", cpu_a, x ? cpu_b : cpu_a, st_name(c->st));
            if (c->why) {
                fprintf(f, ", \"reason\": ");
                json_str(f, c->why);
            }
            if (c->st == ST_OK) {
                fprintf(f, ", \"median_us\": %.4f, \"p99_us\": %.4f, \"p999_us\": %.4f, \"min_median_us\": %.4f, "
                           "\"max_median_us\": %.4f, \"reps\": [",
                        c->med_us, c->p99_us, c->p999_us, c->lo_us, c->hi_us);
                for (int r = 0; r < c->nreps; r++)
                    fprintf(f, "%s{\"n\": %ld, \"median_us\": %.4f, \"p99_us\": %.4f, \"p999_us\": %.4f, "
                               "\"min_us\": %.4f, \"mean_us\": %.4f}",
                            r ? ", " : "", c->rep[r].n, c->rep[r].med_us, c->rep[r].p99_us, c->rep[r].p999_us,
                            c->rep[r].min_us, c->rep[r].mean_us);
                fprintf(f, "]");
            }
            fprintf(f, "}");
            first = 0;
        }
    fprintf(f, "\n  ],\n  \"vcopy\": [");
    first = 1;
    for (size_t i = 0; i < N_COPIERS; i++)
        for (size_t s = 0; s < N_SIZES; s++) {
            const struct copy_cell *c = &cpy[i][s];
            if (c->st == ST_NONE)
                continue;
            fprintf(f, "%s\n    {\"name\": \"%s\", \"label\": ", first ? "" : ",", copiers[i]->name);
            json_str(f, copiers[i]->label);
            fprintf(f, ", \"bytes\": %zu, \"status\": \"%s\"", copy_sizes[s], st_name(c->st));
            if (c->why) {
                fprintf(f, ", \"reason\": ");
                json_str(f, c->why);
            }
            if (c->st == ST_OK) {
                fprintf(f, ", \"gbps\": %.4f, \"us_per_copy\": %.4f, \"reps_gbps\": [", c->med_gbps, c->med_us);
                for (int r = 0; r < c->nreps; r++)
                    fprintf(f, "%s%.4f", r ? ", " : "", c->gbps[r]);
                fprintf(f, "]");
            }
            fprintf(f, "}");
            first = 0;
        }
    fprintf(f, "\n  ],\n  \"targets\": [");
    for (int i = 0; i < n_targets; i++) {
        fprintf(f, "%s\n    {\"target\": ", i ? "," : "");
        json_str(f, targets[i].name);
        fprintf(f, ", \"verdict\": \"%s\", \"value\": %.4f, \"limit\": %.4f, \"detail\": ", targets[i].verdict,
                targets[i].value, targets[i].limit);
        json_str(f, targets[i].detail);
        fprintf(f, "}");
    }
    fprintf(f, "\n  ],\n  \"failures\": %d\n}\n", failures);
    return fclose(f);
}

/* ---- main ------------------------------------------------------------------------- */
static void usage(FILE *f, const char *argv0)
{
    fprintf(f,
            "usage: %s [--quick] [--json FILE] [--only NAME[,NAME...]] [--reps N] [--list]\n"
            "  --quick      few iterations (CI smoke run; numbers are rough)\n"
            "  --json FILE  also write machine-readable results to FILE\n"
            "  --only NAMES run only these transports/copiers (names or families, see --list)\n"
            "  --reps N     repetitions per case (default 3, max %d)\n",
            argv0, MAX_REPS);
}

int main(int argc, char **argv)
{
    int list = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            opt.quick = 1;
        else if (!strcmp(argv[i], "--json") && i + 1 < argc)
            opt.json = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            opt.only = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            opt.reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--list"))
            list = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout, argv[0]);
            return 0;
        } else {
            usage(stderr, argv[0]);
            return 2;
        }
    }
    if (opt.reps < 1 || opt.reps > MAX_REPS) {
        usage(stderr, argv[0]);
        return 2;
    }
    if (list) {
        printf("round trip (name  family  label):\n");
        for (size_t i = 0; i < N_TRANSPORTS; i++) {
            const char *u = transports[i]->unavailable ? transports[i]->unavailable() : NULL;
            printf("  %-12s %-7s %s%s%s\n", transports[i]->name, transports[i]->family, transports[i]->label,
                   u ? "  -- n/a: " : "", u ? u : "");
        }
        printf("vcopy:\n");
        for (size_t i = 0; i < N_COPIERS; i++) {
            const char *u = copiers[i]->unavailable ? copiers[i]->unavailable() : NULL;
            printf("  %-12s %-7s %s%s%s\n", copiers[i]->name, copiers[i]->family, copiers[i]->label,
                   u ? "  -- n/a: " : "", u ? u : "");
        }
        return 0;
    }
    if (opt.quick) {
        opt.warm = 200;
        opt.n_min = 500;
        opt.n_max = 2000;
        opt.budget_s = 0.05;
        opt.copy_s = 0.02;
        opt.timeout_s = 30;
        if (opt.reps == 3)
            opt.reps = 1;
    }

    int any = 0;
    for (size_t i = 0; i < N_TRANSPORTS; i++)
        any |= selected(transports[i]->name, transports[i]->family);
    for (size_t i = 0; i < N_COPIERS; i++)
        any |= selected(copiers[i]->name, copiers[i]->family);
    if (!any) {
        fprintf(stderr, "bench: --only %s matches nothing (see --list)\n", opt.only);
        return 2;
    }

    /* the two CPUs: the first two this process may run on */
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
        ncpus_allowed = CPU_COUNT(&allowed);
        int k = 0;
        for (int c = 0; c < CPU_SETSIZE && k < 2; c++)
            if (CPU_ISSET(c, &allowed)) {
                if (k++ == 0)
                    cpu_a = c;
                else
                    cpu_b = c;
            }
    } else
        ncpus_allowed = 1;

    /* SIGCHLD stays blocked here so run_pair can sleep in sigtimedwait */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    signal(SIGPIPE, SIG_IGN);

    client_out = bench_alloc_shared(sizeof *client_out);
    case_shared = bench_alloc_shared(BENCH_SHARED_SIZE);
    if (!client_out || !case_shared) {
        perror("bench: mmap");
        return 1;
    }
    machine_info();
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (cpu_b >= 0)
        fprintf(stderr, "bench_local: cpu%d and cpu%d, %d repetition(s)%s\n", cpu_a, cpu_b, opt.reps,
                opt.quick ? ", quick" : "");
    else
        fprintf(stderr, "bench_local: one CPU only (cpu%d), %d repetition(s)%s\n", cpu_a, opt.reps,
                opt.quick ? ", quick" : "");

    /* the m3ipc node daemon, once, if any "ours" row will run */
    int need_node = 0;
    for (size_t i = 0; i < N_TRANSPORTS; i++)
        if (!strcmp(transports[i]->family, "ours") && selected(transports[i]->name, transports[i]->family) &&
            !transports[i]->unavailable())
            need_node = 1;
    for (size_t i = 0; i < N_COPIERS; i++)
        if (!strcmp(copiers[i]->family, "ours") && selected(copiers[i]->name, copiers[i]->family) &&
            !copiers[i]->unavailable())
            need_node = 1;
    if (need_node && ours_node_start()) {
        fprintf(stderr, "bench: the m3ipc node daemon did not start; the ours rows fail\n");
        failures++;
    }

    static int done_with_partner[N_TRANSPORTS];
    for (size_t i = 0; i < N_TRANSPORTS; i++) {
        const struct transport *t = transports[i];
        if (!selected(t->name, t->family))
            continue;
        const char *u = t->unavailable ? t->unavailable() : NULL;
        if (u) {
            for (int x = 0; x < 2; x++) {
                lat[i][x].st = !strcmp(t->family, "ours") && need_node ? ST_FAIL : ST_NA;
                lat[i][x].why = u;
            }
            continue;
        }
        if (done_with_partner[i])
            continue;
        /* trace on vs off: measured as one interleaved pair (see run_latency) */
        int partner = -1;
        if (!strcmp(t->name, "ours")) {
            int it = find_tr("ours-trace");
            const struct transport *tt = transports[it];
            if (selected(tt->name, tt->family) && !(tt->unavailable && tt->unavailable())) {
                partner = it;
                done_with_partner[it] = 1;
            }
        }
        run_latency((int)i, partner, 0);
        if (cpu_b >= 0)
            run_latency((int)i, partner, 1);
        else {
            for (int k = 0; k < 2; k++) {
                int x = k ? partner : (int)i;
                if (x < 0)
                    continue;
                lat[x][1].st = ST_SKIP;
                lat[x][1].why = "1 CPU";
            }
        }
    }
    for (size_t i = 0; i < N_COPIERS; i++) {
        const struct copier *k = copiers[i];
        if (!selected(k->name, k->family))
            continue;
        const char *u = k->unavailable ? k->unavailable() : NULL;
        for (size_t s = 0; s < N_SIZES; s++) {
            if (u) {
                cpy[i][s].st = !strcmp(k->family, "ours") && need_node ? ST_FAIL : ST_NA;
                cpy[i][s].why = u;
            } else
                run_copy((int)i, (int)s);
        }
    }
    ours_node_stop();

    eval_targets();
    print_report();
    if (opt.json && write_json(opt.json))
        failures++;
    return failures ? 1 : 0;
}
