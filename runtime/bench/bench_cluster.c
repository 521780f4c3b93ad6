/*
 * bench_cluster - remote IPC through two node daemons over loopback TCP,
 * against raw TCP between processes, in one run (SPEC §8):
 *   - 48-byte round trip: ours (remote sendrec: client -> dvsd 1 -> TCP ->
 *     dvsd 0 -> server and back) vs a raw TCP ping-pong between two
 *     processes, and vs a raw relay chain with the same hops as ours
 *     (client -unix- relay -TCP- relay -unix- server, four processes doing
 *     blocking reads and writes and nothing else): the chain is a lower
 *     bound for any design that routes through one daemon per node;
 *   - one-way throughput with 1, 4 and 16 senders: ours (remote send to a
 *     receive loop) vs raw TCP streaming of the same 48-byte messages
 *     (one write per message, one connection and one reader per sender),
 *     and vs raw TCP where every message waits for an answer (TCP+ack: the
 *     like-for-like baseline of a rendezvous send, one message in flight
 *     per sender).
 *
 * Every case runs in three placements, the same for ours and for the
 * baselines (compare like with like):
 *   free  no pinning: the scheduler places every process;
 *   one   every process on the first CPU;
 *   two   node 1's side (client / senders, dvsd 1, relay 1) on the first
 *         CPU, node 0's side (server / receiver, dvsd 0, relay 0) on the
 *         second: as if each node were its own host.
 * Next to each round trip: context switches per round trip (voluntary +
 * involuntary, from /proc/<pid>/task/<tid>/status of every process of the
 * case, summed), i.e. how many times a process went to sleep or was
 * preempted. Prints tables and the ratios against the targets (a report,
 * not a test).
 *
 * Usage: bench_cluster [--quick] [--place free,one,two] [--rt-only]
 *        [--ours-only] [--senders K]   (DVSD=path overrides the built
 *        dvsd; the last three options leave rows out, for profiling)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <m3ipc.h>

#define MSG 48
#define MAXK 16
static int quick, ours_only, rt_only, only_k;
static char dir0[128], dir1[128], secret[160];
static pid_t d0, d1;

/* Placement: which CPU each side runs on (-1: any). */
enum { P_FREE, P_ONE, P_TWO };
static const char *place_name[] = {"free", "one", "two"};
static int place, cpu_a = -1, cpu_b = -1;
static cpu_set_t all_cpus;

static double
now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void
stats(double *v, int n, double *med, double *p99)
{
    qsort(v, (size_t)n, sizeof(double), cmp);
    *med = v[n / 2];
    *p99 = v[(int)(n * 0.99)];
}

static void
side_mask(int side, cpu_set_t *m)
{
    if (place == P_FREE) {
        *m = all_cpus;
        return;
    }
    CPU_ZERO(m);
    CPU_SET(place == P_ONE || side == 1 ? cpu_a : cpu_b, m);
}

/* pin_pid pins every thread of pid to the CPUs of side (0: node 0's side,
 * the server's; 1: node 1's, the client's). */
static void
pin_pid(pid_t pid, int side)
{
    cpu_set_t m;
    side_mask(side, &m);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d) {
        sched_setaffinity(pid, sizeof(m), &m);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            sched_setaffinity(atoi(e->d_name), sizeof(m), &m);
    closedir(d);
}

static void
pin_self(int side)
{
    cpu_set_t m;
    side_mask(side, &m);
    sched_setaffinity(0, sizeof(m), &m);
}

/* ctx_of: context switches (voluntary + involuntary) of every thread of
 * pid so far. */
static long
ctx_of(pid_t pid)
{
    char path[320], line[256];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    long sum = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        while (fgets(line, sizeof(line), f)) {
            long v;
            if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1 ||
                sscanf(line, "nonvoluntary_ctxt_switches: %ld", &v) == 1)
                sum += v;
        }
        fclose(f);
    }
    closedir(d);
    return sum;
}

/* cpu_of: CPU time of every thread of pid so far, in µs (schedstat). */
static double
cpu_of(pid_t pid)
{
    char path[320];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    double sum = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        FILE *f = fopen(path, "r");
        unsigned long long ns;
        if (f && fscanf(f, "%llu", &ns) == 1)
            sum += ns / 1e3;
        if (f)
            fclose(f);
    }
    closedir(d);
    return sum;
}

/* A rendezvous between the timed child and the harness, outside the timed
 * loop: the child says "at mark" and waits until the harness has sampled
 * the counters. */
struct mark {
    int up[2], down[2];
};

static void
mark_init(struct mark *k)
{
    (void)!pipe(k->up);
    (void)!pipe(k->down);
}

static void
mark_child(struct mark *k)
{
    char c = 'm';
    (void)!write(k->up[1], &c, 1);
    (void)!read(k->down[0], &c, 1);
}

static int
mark_parent(struct mark *k)
{
    char c;
    if (read(k->up[0], &c, 1) != 1)
        return -1;
    (void)!write(k->down[1], &c, 1);
    return 0;
}

static void
mark_close(struct mark *k)
{
    close(k->up[0]), close(k->up[1]), close(k->down[0]), close(k->down[1]);
}

/* A round-trip result: median and p99 in µs, context switches per RT of
 * each process (names in who[]), and ok. */
#define MAXP 4
struct rt {
    int ok, np;
    double med, p99;
    double ctx[MAXP], cpu[MAXP]; /* per round trip: switches, CPU µs */
    const char *who[MAXP];
};

static double
rt_ctx_total(const struct rt *r)
{
    double s = 0;
    for (int i = 0; i < r->np; i++)
        s += r->ctx[i];
    return s;
}

/* timed_client runs the client loop of a round-trip case in a forked
 * child; rt_fn does one round trip (returns 0 on success). The harness
 * samples the context switches of pids[] around the timed loop. */
static void
run_timed(int n, int (*init)(void *), int (*rt_fn)(void *), void *arg, pid_t *pids,
          int np, struct rt *r)
{
    struct mark k;
    mark_init(&k);
    double *v = mmap(NULL, sizeof(double) * (size_t)n, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t c = fork();
    if (c == 0) {
        pin_self(1);
        if (init && init(arg) < 0)
            _exit(1);
        for (int i = 0; i < n / 10; i++)
            if (rt_fn(arg) < 0)
                _exit(2);
        mark_child(&k);
        for (int i = 0; i < n; i++) {
            double t = now_us();
            if (rt_fn(arg) < 0)
                _exit(3);
            v[i] = now_us() - t;
        }
        mark_child(&k);
        _exit(0);
    }
    pids[0] = c;
    long before[MAXP] = {0}, after[MAXP] = {0};
    double cb[MAXP] = {0}, ca[MAXP] = {0};
    int ok = mark_parent(&k) == 0;
    for (int i = 0; ok && i < np; i++)
        before[i] = ctx_of(pids[i]), cb[i] = cpu_of(pids[i]);
    ok = ok && mark_parent(&k) == 0;
    for (int i = 0; ok && i < np; i++)
        after[i] = ctx_of(pids[i]), ca[i] = cpu_of(pids[i]);
    int st;
    waitpid(c, &st, 0);
    r->ok = ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    r->np = np;
    for (int i = 0; i < np; i++) {
        r->ctx[i] = (double)(after[i] - before[i]) / n;
        r->cpu[i] = (ca[i] - cb[i]) / n;
    }
    if (r->ok)
        stats(v, n, &r->med, &r->p99);
    munmap(v, sizeof(double) * (size_t)n);
    mark_close(&k);
}

static int
full(int fd, void *p, size_t n, int rd)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = rd ? read(fd, (char *)p + done, n - done)
                       : write(fd, (char *)p + done, n - done);
        if (k <= 0)
            return -1;
        done += (size_t)k;
    }
    return 0;
}

static int
tcp_listener(int *port)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(l, (struct sockaddr *)&a, sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(l, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    listen(l, 64);
    return l;
}

static void
nodelay(int s)
{
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int
tcp_connect(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    nodelay(s);
    return s;
}

/* echo: the server side of a ping-pong on fd, until EOF. */
static void
echo(int fd)
{
    char b[MSG];
    while (full(fd, b, MSG, 1) == 0 && full(fd, b, MSG, 0) == 0)
        ;
}

/* relay: one hop of the chain; a request read from a goes to b, the
 * answer read from b goes back to a. */
static void
relay(int a, int b)
{
    char m[MSG];
    while (full(a, m, MSG, 1) == 0 && full(b, m, MSG, 0) == 0 &&
           full(b, m, MSG, 1) == 0 && full(a, m, MSG, 0) == 0)
        ;
}

static int fd_client = -1, tcp_port;

static int
fd_rt(void *arg)
{
    (void)arg;
    char b[MSG] = {0};
    return full(fd_client, b, MSG, 0) || full(fd_client, b, MSG, 1) ? -1 : 0;
}

static int
tcp_client_init(void *arg)
{
    (void)arg;
    fd_client = tcp_connect(tcp_port);
    return fd_client < 0 ? -1 : 0;
}

/* Raw TCP ping-pong, 48 bytes each way: client on side 1, server on 0. */
static void
tcp_rt(int n, struct rt *r)
{
    int l = tcp_listener(&tcp_port);
    pid_t srv = fork();
    if (srv == 0) {
        pin_self(0);
        int s = accept(l, NULL, NULL);
        nodelay(s);
        echo(s);
        _exit(0);
    }
    pid_t pids[2] = {0, srv};
    r->who[0] = "client";
    r->who[1] = "server";
    run_timed(n, tcp_client_init, fd_rt, NULL, pids, 2, r);
    close(l);
    kill(srv, SIGKILL);
    waitpid(srv, NULL, 0);
}

/* Raw relay chain: client -unix- relay 1 -TCP- relay 0 -unix- server. */
static void
relay_rt(int n, struct rt *r)
{
    int cs[2], ss[2], port, l = tcp_listener(&port);
    socketpair(AF_UNIX, SOCK_STREAM, 0, cs);
    socketpair(AF_UNIX, SOCK_STREAM, 0, ss);
    pid_t srv = fork();
    if (srv == 0) {
        pin_self(0);
        close(cs[0]), close(cs[1]), close(ss[0]);
        echo(ss[1]);
        _exit(0);
    }
    pid_t r0 = fork();
    if (r0 == 0) {
        pin_self(0);
        close(cs[0]), close(cs[1]), close(ss[1]);
        int s = accept(l, NULL, NULL);
        nodelay(s);
        relay(s, ss[0]);
        _exit(0);
    }
    pid_t r1 = fork();
    if (r1 == 0) {
        pin_self(1);
        close(cs[0]), close(ss[0]), close(ss[1]);
        int s = tcp_connect(port);
        relay(cs[1], s);
        _exit(0);
    }
    close(l);
    close(ss[0]), close(ss[1]), close(cs[1]);
    fd_client = cs[0];
    pid_t pids[4] = {0, r1, r0, srv};
    r->who[0] = "client";
    r->who[1] = "relay 1";
    r->who[2] = "relay 0";
    r->who[3] = "server";
    run_timed(n, NULL, fd_rt, NULL, pids, 4, r);
    close(cs[0]);
    pid_t all[3] = {srv, r0, r1};
    for (int i = 0; i < 3; i++) {
        kill(all[i], SIGKILL);
        waitpid(all[i], NULL, 0);
    }
}

/* Raw TCP streaming: k senders (side 1), one write per 48-byte message,
 * and one reader per connection (side 0). */
static double
tcp_stream(int k, double seconds)
{
    int port, l = tcp_listener(&port);
    long *count = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t rcv = fork();
    if (rcv == 0) {
        pin_self(0);
        /* One reader process per connection keeps it fair with ours,
         * where the daemon reads every link. */
        for (int i = 0; i < k; i++) {
            int s = accept(l, NULL, NULL);
            if (fork() == 0) {
                char b[MSG * 64];
                ssize_t r;
                while ((r = read(s, b, sizeof(b))) > 0)
                    __atomic_add_fetch(count, r, __ATOMIC_RELAXED);
                _exit(0);
            }
            close(s);
        }
        while (wait(NULL) > 0)
            ;
        _exit(0);
    }
    close(l);
    pid_t snd[MAXK];
    double t0 = now_us();
    for (int i = 0; i < k; i++) {
        snd[i] = fork();
        if (snd[i] == 0) {
            pin_self(1);
            int s = tcp_connect(port);
            char b[MSG] = {0};
            double end = t0 + seconds * 1e6;
            while (now_us() < end)
                if (write(s, b, MSG) != MSG)
                    break;
            _exit(0);
        }
    }
    for (int i = 0; i < k; i++)
        waitpid(snd[i], NULL, 0);
    double el = now_us() - t0;
    usleep(100000);
    long bytes = __atomic_load_n(count, __ATOMIC_RELAXED);
    waitpid(rcv, NULL, 0);
    munmap(count, 4096);
    return bytes / MSG / (el / 1e6);
}

/* Raw TCP with a rendezvous per message: k senders (side 1) each write a
 * 48-byte message and wait for the reader's (side 0) 48-byte answer
 * before the next one; the like-for-like baseline of a remote send, which
 * returns only once the receiver took the message. */
static double
tcp_acked(int k, double seconds)
{
    int port, l = tcp_listener(&port);
    long *count = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t rcv = fork();
    if (rcv == 0) {
        pin_self(0);
        for (int i = 0; i < k; i++) {
            int s = accept(l, NULL, NULL);
            if (fork() == 0) {
                nodelay(s);
                echo(s);
                _exit(0);
            }
            close(s);
        }
        while (wait(NULL) > 0)
            ;
        _exit(0);
    }
    close(l);
    pid_t snd[MAXK];
    double t0 = now_us();
    for (int i = 0; i < k; i++) {
        snd[i] = fork();
        if (snd[i] == 0) {
            pin_self(1);
            int s = tcp_connect(port);
            char b[MSG] = {0};
            double end = t0 + seconds * 1e6;
            while (now_us() < end) {
                if (full(s, b, MSG, 0) || full(s, b, MSG, 1))
                    break;
                __atomic_add_fetch(count, 1, __ATOMIC_RELAXED);
            }
            _exit(0);
        }
    }
    for (int i = 0; i < k; i++)
        waitpid(snd[i], NULL, 0);
    double el = now_us() - t0;
    long n = __atomic_load_n(count, __ATOMIC_RELAXED);
    waitpid(rcv, NULL, 0);
    munmap(count, 4096);
    return n / (el / 1e6);
}

static const char *
dvsd_path(void)
{
    const char *p = getenv("DVSD");
    return p ? p : DVSD_PATH;
}

static pid_t
start_dvsd(int id, const char *dir, int port, int peer_port)
{
    char listen_on[64], peer[64], nid[8];
    snprintf(listen_on, sizeof(listen_on), "127.0.0.1:%d", port);
    snprintf(peer, sizeof(peer), "%d=127.0.0.1:%d", 1 - id, peer_port);
    snprintf(nid, sizeof(nid), "%d", id);
    pid_t p = fork();
    if (p == 0) {
        /* A harness that dies must not leave its daemons behind (they
         * also hold its stdout). */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execl(dvsd_path(), "dvsd", "--dir", dir, "--node-id", nid, "--dc",
              "0:bench:64:8:16:0,1", "--listen", listen_on, "--peer", peer,
              "--secret-file", secret, (char *)NULL);
        _exit(127);
    }
    return p;
}

static void
use_node(const char *dir)
{
    setenv("DVS_NODE", dir, 1);
}

/* Ours: a server on node 0, clients on node 1 (declared with rmtbind). */
static int
ours_setup(void)
{
    snprintf(dir0, sizeof(dir0), "/dev/shm/dvs-bench-cluster-%d-n0", (int)getpid());
    snprintf(dir1, sizeof(dir1), "/dev/shm/dvs-bench-cluster-%d-n1", (int)getpid());
    snprintf(secret, sizeof(secret), "/dev/shm/dvs-bench-cluster-%d.secret", (int)getpid());
    FILE *f = fopen(secret, "w");
    fputs("bench-cluster-secret-0123456789", f);
    fclose(f);
    int p0, p1, l0 = tcp_listener(&p0), l1 = tcp_listener(&p1);
    close(l0);
    close(l1);
    d0 = start_dvsd(0, dir0, p0, p1);
    d1 = start_dvsd(1, dir1, p1, p0);
    /* Wait until node 1 can declare node 0's server (links up). */
    for (int i = 0; i < 300; i++) {
        usleep(20000);
        pid_t c = fork();
        if (c == 0) {
            use_node(dir1);
            node_usr_t n;
            if (mnx_getnodeinfo(0, &n) == OK && (n.n_flags & 0xc) == 0xc &&
                mnx_rmtbind(0, "server", 1, 0) == 1)
                _exit(0);
            _exit(1);
        }
        int st;
        waitpid(c, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            return 0;
    }
    fprintf(stderr, "bench_cluster: the two nodes did not link up\n");
    return -1;
}

static void
ours_teardown(void)
{
    kill(d0, SIGTERM);
    kill(d1, SIGTERM);
    waitpid(d0, NULL, 0);
    waitpid(d1, NULL, 0);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s %s %s", dir0, dir1, secret);
    (void)!system(cmd);
}

static void
ours_place(void)
{
    pin_pid(d0, 0);
    pin_pid(d1, 1);
}

/* bind_retry binds endpoint ep in DC 0, retrying for 2 s while the
 * previous row's process is not yet unbound (dvsd notices deaths
 * asynchronously). */
static int
bind_retry(int ep)
{
    for (int i = 0; i < 200; i++) {
        if (mnx_bind(0, ep) == ep)
            return 0;
        usleep(10000);
    }
    return -1;
}

static pid_t
ours_server(int reply)
{
    int ready[2];
    (void)!pipe(ready);
    pid_t p = fork();
    if (p == 0) {
        pin_self(0);
        use_node(dir0);
        if (bind_retry(1) < 0)
            _exit(1);
        (void)!write(ready[1], "r", 1);
        for (;;) {
            message m;
            if ((reply ? mnx_rcvrqst(&m) : mnx_receive(ANY, &m)) != OK)
                _exit(0);
            if (reply && mnx_reply(m.m_source, &m) != OK)
                continue;
        }
    }
    close(ready[1]);
    char c;
    int ok = read(ready[0], &c, 1) == 1;
    close(ready[0]);
    if (!ok) {
        fprintf(stderr, "bench_cluster: the server could not bind\n");
        waitpid(p, NULL, 0);
        return -1;
    }
    return p;
}

static int
ours_client_init(void *arg)
{
    (void)arg;
    use_node(dir1);
    return bind_retry(20);
}

static int
ours_rt_one(void *arg)
{
    (void)arg;
    message m = {0};
    return mnx_sendrec(1, &m) == OK ? 0 : -1;
}

static void
ours_rt(int n, struct rt *r)
{
    pid_t srv = ours_server(1);
    if (srv < 0) {
        r->ok = 0;
        return;
    }
    pid_t pids[4] = {0, d1, d0, srv};
    r->who[0] = "client";
    r->who[1] = "dvsd 1";
    r->who[2] = "dvsd 0";
    r->who[3] = "server";
    run_timed(n, ours_client_init, ours_rt_one, NULL, pids, 4, r);
    kill(srv, SIGKILL);
    waitpid(srv, NULL, 0);
}

/* Ours, one-way: k senders on node 1, each a rendezvous send (returns
 * once node 0's receiver took the message), to one receive loop; with
 * local set, the senders are on node 0 too (no daemon, no network: the
 * floor that sleeping rendezvous senders set, same placement). *ctx gets
 * the context switches per message of every process (senders, receiver,
 * both daemons). */
static double
ours_stream(int k, double seconds, double *ctx, int local)
{
    pid_t srv = ours_server(0);
    if (srv < 0)
        return -1;
    long *count = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t snd[MAXK];
    long c0 = ctx_of(d0) + ctx_of(d1) + ctx_of(srv);
    double t0 = now_us();
    for (int i = 0; i < k; i++) {
        snd[i] = fork();
        if (snd[i] == 0) {
            pin_self(1);
            use_node(local ? dir0 : dir1);
            /* 40+: node 0 keeps surrogates of node 1's 20+ */
            int ep = (local ? 40 : 20) + i;
            if (bind_retry(ep) < 0)
                _exit(1);
            message m = {0};
            double end = t0 + seconds * 1e6;
            while (now_us() < end) {
                if (mnx_send(1, &m) != OK)
                    _exit(2);
                __atomic_add_fetch(count, 1, __ATOMIC_RELAXED);
            }
            struct rusage ru;
            getrusage(RUSAGE_SELF, &ru);
            __atomic_add_fetch(count + 1, ru.ru_nvcsw + ru.ru_nivcsw, __ATOMIC_RELAXED);
            _exit(0);
        }
    }
    int failed = 0;
    for (int i = 0; i < k; i++) {
        int st;
        waitpid(snd[i], &st, 0);
        failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    }
    double el = now_us() - t0;
    long c1 = ctx_of(d0) + ctx_of(d1) + ctx_of(srv);
    kill(srv, SIGKILL);
    waitpid(srv, NULL, 0);
    long n = count[0], sctx = count[1];
    munmap(count, 4096);
    *ctx = n ? (double)(c1 - c0 + sctx) / n : 0;
    if (failed) {
        fprintf(stderr, "bench_cluster: a sender failed (%d senders)\n", k);
        return -1;
    }
    return n / (el / 1e6);
}

static void
print_rt(const char *name, const struct rt *r)
{
    if (!r->ok) {
        printf("  %-52s %s\n", name, "FAILED");
        return;
    }
    printf("  %-52s %9.2f %9.2f %7.2f  (", name, r->med, r->p99, rt_ctx_total(r));
    for (int i = 0; i < r->np; i++)
        printf("%s%s %.2f", i ? ", " : "", r->who[i], r->ctx[i]);
    double tot = 0;
    for (int i = 0; i < r->np; i++)
        tot += r->cpu[i];
    printf(")\n  %52s CPU us/RT %.1f (", "", tot);
    for (int i = 0; i < r->np; i++)
        printf("%s%s %.1f", i ? ", " : "", r->who[i], r->cpu[i]);
    printf(")\n");
}

int
main(int argc, char **argv)
{
    int want[3] = {1, 1, 1};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else if (!strcmp(argv[i], "--ours-only")) {
            ours_only = 1; /* for profiling: no baseline rows */
        } else if (!strcmp(argv[i], "--senders") && i + 1 < argc) {
            only_k = atoi(argv[++i]); /* one throughput row: 1, 4 or 16 */
        } else if (!strcmp(argv[i], "--rt-only")) {
            rt_only = 1; /* round trips only, no throughput rows */
        } else if (!strcmp(argv[i], "--place") && i + 1 < argc) {
            want[0] = want[1] = want[2] = 0;
            char *s = argv[++i], *tok;
            for (tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
                int p;
                for (p = 0; p < 3 && strcmp(tok, place_name[p]); p++)
                    ;
                if (p == 3) {
                    fprintf(stderr, "bench_cluster: --place takes free,one,two; not '%s'\n", tok);
                    return 2;
                }
                want[p] = 1;
            }
        } else {
            fprintf(stderr, "usage: bench_cluster [--quick] [--place free,one,two] "
                            "[--rt-only] [--ours-only] [--senders K]\n");
            return 2;
        }
    }
    int n = quick ? 2000 : 20000;
    double secs = quick ? 0.5 : 2.0;
    signal(SIGPIPE, SIG_IGN);
    sched_getaffinity(0, sizeof(all_cpus), &all_cpus);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &all_cpus)) {
            if (cpu_a < 0)
                cpu_a = c;
            else if (cpu_b < 0)
                cpu_b = c;
        }
    if (cpu_b < 0 && want[P_TWO]) {
        printf("(one CPU only: placement 'two' skipped)\n");
        want[P_TWO] = 0;
    }
    if (ours_setup() < 0)
        return 1;
    double la[3] = {0};
    getloadavg(la, 3);
    printf("DVS IPC cluster benchmark: two nodes (dvsd) linked over loopback TCP; %d round trips "
           "per row, %.1f s per throughput row; load average %.2f %.2f %.2f\n",
           n, secs, la[0], la[1], la[2]);
    printf("Placements: free = unpinned; one = every process on CPU %d; two = node 1's side "
           "(client, dvsd 1, relay 1) on CPU %d, node 0's side (server, dvsd 0, relay 0) on CPU %d\n",
           cpu_a, cpu_a, cpu_b);
    int fail = 0;
    struct rt tr[3], rr[3], orr[3];
    double traw[3][3], tack[3][3], tours[3][3], tctx[3][3], tloc[3][3];
    for (place = 0; place < 3; place++) {
        if (!want[place])
            continue;
        ours_place();
        memset(&tr[place], 0, sizeof(tr[place]));
        memset(&rr[place], 0, sizeof(rr[place]));
        if (!ours_only) {
            tcp_rt(n, &tr[place]);
            relay_rt(n, &rr[place]);
        }
        ours_rt(n, &orr[place]);
        fail |= !orr[place].ok || (!ours_only && (!tr[place].ok || !rr[place].ok));
        printf("\n[%s] 48-byte round trip %36s %9s %9s %7s\n", place_name[place], "",
               "median us", "p99 us", "ctx/RT");
        if (!ours_only) {
            print_rt("raw TCP ping-pong (2 processes)", &tr[place]);
            print_rt("raw relay chain (unix-TCP-unix, 4 processes)", &rr[place]);
        }
        print_rt("ours: remote sendrec (client, 2 dvsd, server)", &orr[place]);
        if (rt_only)
            continue;
        printf("\n[%s] one-way 48-byte msgs/s %10s %12s %10s %10s %7s %9s %8s\n", place_name[place],
               "raw TCP", "TCP+ack", "local", "ours", "ratio", "vs +ack", "ctx/msg");
        for (int j = 0, k = 1; k <= MAXK; k *= 4, j++) {
            if (only_k && k != only_k) {
                tours[place][j] = -2;
                continue;
            }
            traw[place][j] = ours_only ? 1 : tcp_stream(k, secs);
            tack[place][j] = ours_only ? 1 : tcp_acked(k, secs);
            double lctx;
            tloc[place][j] = ours_stream(k, secs, &lctx, 1);
            tours[place][j] = ours_stream(k, secs, &tctx[place][j], 0);
            if (tours[place][j] < 0 || tloc[place][j] < 0) {
                fail = 1;
                printf("  %-2d sender%s %24s %11.0f %12.0f %10s\n", k, k > 1 ? "s" : " ", "",
                       traw[place][j], tack[place][j], "FAILED");
                continue;
            }
            printf("  %-2d sender%s %24s %11.0f %12.0f %10.0f %10.0f %6.0f%% %8.0f%% %8.2f\n", k,
                   k > 1 ? "s" : " ", "", traw[place][j], tack[place][j], tloc[place][j],
                   tours[place][j],
                   100 * tours[place][j] / traw[place][j], 100 * tours[place][j] / tack[place][j],
                   tctx[place][j]);
        }
    }
    ours_teardown();
    printf("\nSPEC section 8 targets (a report, not a test)\n");
    for (place = 0; place < 3; place++) {
        if (!want[place] || !orr[place].ok || !tr[place].ok)
            continue;
        double om = orr[place].med, tm = tr[place].med;
        printf("  [%s] %s  remote sendrec <= 2x raw TCP round trip   %.2f / %.2f us = %.2fx"
               "  (relay chain lower bound %.2fx)\n",
               place_name[place], om <= 2 * tm ? "PASS" : "MISS", om, tm, om / tm,
               rr[place].ok ? rr[place].med / tm : 0);
        for (int j = 0, k = 1; !rt_only && k <= MAXK; k *= 4, j++) {
            if (tours[place][j] < 0)
                continue;
            double q = tours[place][j] / traw[place][j];
            printf("  [%s] %s  remote throughput, %2d sender%s >= 50%% of raw TCP   %.0f%%\n",
                   place_name[place], q >= 0.5 ? "PASS" : "MISS", k, k > 1 ? "s" : " ", 100 * q);
        }
    }
    return fail;
}
