/*
 * bench_cluster - remote IPC through two node daemons over loopback TCP,
 * against raw TCP between two processes, in one run (SPEC §8):
 *   - 48-byte round trip: ours (remote sendrec) vs a raw TCP ping-pong;
 *   - one-way throughput with 1, 4 and 16 senders: ours (remote send to a
 *     receive loop) vs raw TCP streaming of the same 48-byte messages
 *     (one write per message, one connection per sender).
 * Processes are not pinned: both sides see the same scheduler. Prints a
 * table and the ratios against the targets (a report, not a test).
 *
 * Usage: bench_cluster [--quick]   (DVSD=path overrides the built dvsd)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <m3ipc.h>

#define MSG 48
static int quick;
static char dir0[128], dir1[128], secret[160];
static pid_t d0, d1;

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

static int
tcp_connect(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return s;
}

/* Raw TCP ping-pong, 48 bytes each way. */
static void
tcp_rt(int n, double *med, double *p99)
{
    int port, l = tcp_listener(&port);
    pid_t p = fork();
    if (p == 0) {
        int s = accept(l, NULL, NULL), one = 1;
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        char b[MSG];
        while (full(s, b, MSG, 1) == 0 && full(s, b, MSG, 0) == 0)
            ;
        _exit(0);
    }
    close(l);
    int s = tcp_connect(port);
    char b[MSG] = {0};
    double *v = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n / 10; i++)
        full(s, b, MSG, 0), full(s, b, MSG, 1);
    for (int i = 0; i < n; i++) {
        double t = now_us();
        full(s, b, MSG, 0);
        full(s, b, MSG, 1);
        v[i] = now_us() - t;
    }
    close(s);
    waitpid(p, NULL, 0);
    stats(v, n, med, p99);
    free(v);
}

/* Raw TCP streaming: k senders, one write per 48-byte message. */
static double
tcp_stream(int k, double seconds)
{
    int port, l = tcp_listener(&port);
    long *count = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t rcv = fork();
    if (rcv == 0) {
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
    pid_t snd[16];
    double t0 = now_us();
    for (int i = 0; i < k; i++) {
        snd[i] = fork();
        if (snd[i] == 0) {
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

static pid_t
ours_server(int reply)
{
    pid_t p = fork();
    if (p == 0) {
        use_node(dir0);
        if (mnx_bind(0, 1) != 1)
            _exit(1);
        for (;;) {
            message m;
            if ((reply ? mnx_rcvrqst(&m) : mnx_receive(ANY, &m)) != OK)
                _exit(0);
            if (reply && mnx_reply(m.m_source, &m) != OK)
                continue;
        }
    }
    usleep(100000);
    return p;
}

static int
ours_rt(int n, double *med, double *p99)
{
    pid_t srv = ours_server(1);
    double *v = mmap(NULL, sizeof(double) * (size_t)n, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t c = fork();
    if (c == 0) {
        use_node(dir1);
        if (mnx_bind(0, 20) != 20)
            _exit(1);
        message m = {0};
        for (int i = 0; i < n / 10; i++)
            if (mnx_sendrec(1, &m) != OK)
                _exit(2);
        for (int i = 0; i < n; i++) {
            double t = now_us();
            if (mnx_sendrec(1, &m) != OK)
                _exit(3);
            v[i] = now_us() - t;
        }
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    kill(srv, SIGKILL);
    waitpid(srv, NULL, 0);
    int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (ok)
        stats(v, n, med, p99);
    munmap(v, sizeof(double) * (size_t)n);
    return ok ? 0 : -1;
}

static double
ours_stream(int k, double seconds)
{
    pid_t srv = ours_server(0);
    long *count = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t snd[16];
    double t0 = now_us();
    for (int i = 0; i < k; i++) {
        snd[i] = fork();
        if (snd[i] == 0) {
            use_node(dir1);
            if (mnx_bind(0, 20 + i) != 20 + i)
                _exit(1);
            message m = {0};
            double end = t0 + seconds * 1e6;
            while (now_us() < end) {
                if (mnx_send(1, &m) != OK)
                    _exit(2);
                __atomic_add_fetch(count, 1, __ATOMIC_RELAXED);
            }
            _exit(0);
        }
    }
    for (int i = 0; i < k; i++)
        waitpid(snd[i], NULL, 0);
    double el = now_us() - t0;
    kill(srv, SIGKILL);
    waitpid(srv, NULL, 0);
    long n = *count;
    munmap(count, 4096);
    return n / (el / 1e6);
}

int
main(int argc, char **argv)
{
    quick = argc > 1 && !strcmp(argv[1], "--quick");
    int n = quick ? 2000 : 20000;
    double secs = quick ? 0.5 : 2.0;
    signal(SIGPIPE, SIG_IGN);
    double tm, tp, om = 0, op = 0;
    tcp_rt(n, &tm, &tp);
    if (ours_setup() < 0)
        return 1;
    int rt_ok = ours_rt(n, &om, &op) == 0;
    printf("DVS IPC cluster benchmark: two nodes (dvsd) linked over loopback TCP; %d round trips\n\n", n);
    printf("%-44s %10s %10s\n", "48-byte round trip", "median us", "p99 us");
    printf("%-44s %10.2f %10.2f\n", "raw TCP ping-pong (2 processes)", tm, tp);
    if (rt_ok)
        printf("%-44s %10.2f %10.2f\n", "ours: remote sendrec (client, 2 dvsd, server)", om, op);
    else
        printf("%-44s %21s\n", "ours: remote sendrec", "FAILED");
    printf("\n%-44s %12s %12s %8s\n", "one-way 48-byte messages, msgs/s", "raw TCP", "ours", "ratio");
    double worst = 1e9;
    for (int k = 1; k <= 16; k *= 4) {
        double raw = tcp_stream(k, secs), ours = ours_stream(k, secs);
        printf("%-44s %12.0f %12.0f %7.0f%%\n", k == 1 ? "1 sender" : k == 4 ? "4 senders" : "16 senders",
               raw, ours, 100 * ours / raw);
        if (k > 1 && ours / raw < worst)
            worst = ours / raw;
    }
    ours_teardown();
    printf("\nSPEC section 8 targets (a report, not a test)\n");
    if (rt_ok)
        printf("  %s  remote sendrec <= 2x raw TCP round trip   %.2f / %.2f us = %.2fx\n",
               om <= 2 * tm ? "PASS" : "MISS", om, tm, om / tm);
    printf("  %s  remote throughput, several senders >= 50%% of raw TCP   worst %.0f%%\n",
           worst >= 0.5 ? "PASS" : "MISS", 100 * worst);
    return rt_ok ? 0 : 1;
}
