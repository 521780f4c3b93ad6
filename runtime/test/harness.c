/*
 * harness.c - see harness.h.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char g_dir[64];
static pid_t g_dvsd;

void
fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "  %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (pid %d)\n", (int)getpid());
    fflush(NULL);
    _exit(1);
}

void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

long
elapsed_ms_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 +
           (now.tv_nsec - start->tv_nsec) / 1000000;
}

pid_t
spawn(int (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        /* A peer must never outlive its test. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        alarm(60);
        _exit(fn(arg));
    }
    if (p < 0)
        fail_at(__FILE__, __LINE__, "fork failed: %s", strerror(errno));
    return p;
}

static int
status_code(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + WTERMSIG(st);
}

int
reap(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -2;
    return status_code(st);
}

int
reap_within(pid_t pid, int ms)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return status_code(st);
        if (elapsed_ms_since(&t0) > ms)
            return -1;
        sleep_ms(2);
    }
}

int
wait_flags(int dcid, int p_nr, int mask, int want, int ms)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    proc_usr_t p;
    do {
        if (mnx_getprocinfo(dcid, p_nr, &p) == OK &&
            (p.p_rts_flags & mask) == want)
            return 0;
        sleep_ms(1);
    } while (elapsed_ms_since(&t0) < ms);
    return -1;
}

int
wait_bound(int dcid, int p_nr, int bound, int ms)
{
    return wait_flags(dcid, p_nr, SLOT_FREE, bound ? 0 : SLOT_FREE, ms);
}

const char *
node_dir(void)
{
    return g_dir;
}

int
control(const char *request, char *out, size_t outlen)
{
    return control_dir(g_dir, request, out, outlen);
}

int
control_dir(const char *dir, const char *request, char *out, size_t outlen)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s/control.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    /* A daemon that stops answering fails the test instead of hanging it. */
    struct timeval tmo = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
    size_t n = strlen(request);
    if (write(fd, request, n) != (ssize_t)n || write(fd, "\n", 1) != 1) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    while (got + 1 < outlen) {
        ssize_t k = read(fd, out + got, outlen - 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
        if (memchr(out, '\n', got))
            break;
    }
    out[got] = 0;
    close(fd);
    return got > 0 ? 0 : -1;
}

static int
node_start(void)
{
    snprintf(g_dir, sizeof(g_dir), "/dev/shm/dvs-test-%d", (int)getpid());
    const char *argv[32] = {DVSD_PATH, "--dir", g_dir};
    int argc = 3;
    for (int i = 0; harness_dvsd_args[i] && argc < 30; i++)
        argv[argc++] = harness_dvsd_args[i];
    argv[argc] = NULL;
    g_dvsd = fork();
    if (g_dvsd == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (!getenv("DVS_TEST_VERBOSE"))
            dup2(null, 2);
        execv(DVSD_PATH, (char **)argv);
        _exit(127);
    }
    /* The node is ready when it answers: the socket exists a little
     * earlier, before the daemon finished setting up. */
    for (int i = 0; i < 500; i++) {
        char out[256];
        if (control("info", out, sizeof(out)) == 0 && strstr(out, "\"ok\":true")) {
            setenv("DVS_NODE", g_dir, 1);
            return 0;
        }
        sleep_ms(10);
    }
    return -1;
}

static void
node_stop(void)
{
    if (g_dvsd > 0) {
        kill(g_dvsd, SIGTERM);
        reap_within(g_dvsd, 5000);
    }
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    (void)!system(cmd);
}

static int
run_one(const struct test *t)
{
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        setpgid(0, 0);
        if (node_start() < 0) {
            fprintf(stderr, "  cannot start dvsd (%s)\n", DVSD_PATH);
            _exit(1);
        }
        pid_t body = fork();
        if (body == 0) {
            alarm(120);
            t->fn();
            fflush(NULL);
            _exit(0);
        }
        int rc = reap(body);
        node_stop();
        _exit(rc);
    }
    int rc = reap(p);
    /* Kill whatever peers the test left behind. */
    kill(-p, SIGKILL);
    return rc;
}

int
test_main(int argc, char **argv, const struct test *tests, int n)
{
    int passed = 0, failed = 0;
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < n; i++) {
        int wanted = argc < 2;
        for (int a = 1; a < argc; a++)
            if (strstr(tests[i].name, argv[a]))
                wanted = 1;
        if (!wanted)
            continue;
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int rc = run_one(&tests[i]);
        long ms = elapsed_ms_since(&t0);
        if (rc == 0) {
            passed++;
            printf("ok - %s (%ld ms)\n", tests[i].name, ms);
        } else {
            failed++;
            printf("FAIL - %s (exit %d, %ld ms)\n", tests[i].name, rc, ms);
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
