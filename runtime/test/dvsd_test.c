/*
 * dvsd_test.c - the node daemon: control requests, bad input, permissions.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

const char *harness_dvsd_args[] = {"--node-id", "3", "--name", "alpha", "--dc",
                                   "0:dc0:64:8:16", "--dc", "4:web:32:4:8",
                                   NULL};

static void
test_info_and_ps(void)
{
    char out[8192];
    CHECK(control("info", out, sizeof(out)) == 0);
    CHECK(strstr(out, "\"ok\":true") && strstr(out, "\"id\":3"));
    CHECK(strstr(out, "\"name\":\"alpha\""));
    CHECK(strstr(out, "{\"id\":4,\"name\":\"web\",\"nr_procs\":32,\"nr_tasks\":4,"
                      "\"nr_sysprocs\":8,\"nodes\":[3]}"));
    EXPECT_RC(mnx_bind(4, 5), 5);
    CHECK(control("ps", out, sizeof(out)) == 0);
    char want[128];
    snprintf(want, sizeof(want), "{\"dc\":4,\"nr\":5,\"endpoint\":5,\"pid\":%d,",
             (int)getpid());
    CHECK(strstr(out, want));
    CHECK(control("ps 0", out, sizeof(out)) == 0);
    CHECK(strcmp(out, "{\"ok\":true,\"procs\":[]}\n") == 0);
    CHECK(control("help", out, sizeof(out)) == 0 && strstr(out, "lclbind"));
}

static void
expect_error(const char *req, const char *code)
{
    char out[2048];
    CHECK(control(req, out, sizeof(out)) == 0);
    if (!strstr(out, "\"ok\":false") || !strstr(out, code))
        fail_at(__FILE__, __LINE__, "request '%s' answered %s", req, out);
}

/* Malformed requests get a clear error and change nothing. */
static void
test_bad_requests(void)
{
    expect_error("", "EMOLBADREQUEST");
    expect_error("frobnicate", "EMOLBADREQUEST");
    expect_error("info extra", "EMOLBADREQUEST");
    expect_error("ps 99", "EMOLBADDCID");
    expect_error("ps x", "EMOLBADDCID");
    expect_error("lclbind 0 abc 5", "EMOLBADVALUE");
    expect_error("lclbind 0 1", "EMOLBADREQUEST");
    expect_error("lclbind 0 999999 5", "EMOLBADPID");
    expect_error("lclbind 9 1 5", "EMOLDCNOTRUN");
    expect_error("unbind 0 5", "EMOLNOTBIND");
    expect_error("unbind 0 99999999999", "EMOLBADVALUE");
    expect_error("a b c d e f g h i j", "EMOLBADREQUEST");
    char out[2048];
    CHECK(control("info", out, sizeof(out)) == 0 && strstr(out, "\"ok\":true"));

    /* An endless line is refused and the connection closed. */
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s/control.sock", node_dir());
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    char junk[5000];
    memset(junk, 'x', sizeof(junk));
    CHECK(write(fd, junk, sizeof(junk)) > 0);
    ssize_t n = read(fd, out, sizeof(out) - 1);
    CHECK(n > 0);
    out[n] = 0;
    CHECK(strstr(out, "longer than 4096"));
    close(fd);
    /* Binary garbage, then the daemon still answers. */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    const char bin[] = "\x01\x02\xff\xfe\x00\x7f\n";
    CHECK(write(fd, bin, sizeof(bin) - 1) > 0);
    n = read(fd, out, sizeof(out) - 1);
    CHECK(n > 0);
    close(fd);
    CHECK(control("info", out, sizeof(out)) == 0 && strstr(out, "\"ok\":true"));
}

static void
test_lclbind_over_control(void)
{
    pid_t child = fork();
    if (child == 0)
        _exit(mnx_wait4bind_T(5000) == 22 ? 0 : 1);
    char req[64], out[512];
    snprintf(req, sizeof(req), "lclbind 0 %d 22", (int)child);
    sleep_ms(20);
    CHECK(control(req, out, sizeof(out)) == 0);
    CHECK(strstr(out, "{\"ok\":true,\"endpoint\":22}"));
    CHECK(reap(child) == 0);
    CHECK(wait_bound(0, 22, 0, 3000) == 0); /* it exited: reaped */
}

/* The control socket and the node directory are closed to other users. */
static void
test_permissions(void)
{
    struct stat st;
    char path[256];
    snprintf(path, sizeof(path), "%s/control.sock", node_dir());
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(stat(node_dir(), &st) == 0 && (st.st_mode & 0777) == 0700);
    snprintf(path, sizeof(path), "%s/table", node_dir());
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    if (getuid() != 0) {
        printf("  (not root: cannot check a connection from another uid)\n");
        return;
    }
    /* Root ignores file modes, so the daemon's own uid check must refuse
     * a client running as another user. */
    pid_t p = fork();
    if (p == 0) {
        if (setgid(65534) < 0 || setuid(65534) < 0)
            _exit(3);
        char out[512];
        if (control("info", out, sizeof(out)) != 0)
            _exit(0); /* could not even connect: refused */
        _exit(strstr(out, "EMOLPERM") && !strstr(out, "\"ok\":true") ? 0 : 1);
    }
    CHECK(reap(p) == 0);
}

/* A second daemon on the same node directory refuses to start. */
static void
test_second_daemon_refused(void)
{
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    pid_t p = fork();
    if (p == 0) {
        dup2(pfd[1], 2);
        execl(DVSD_PATH_FOR_TEST, "dvsd", "--dir", node_dir(), (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    char out[512] = {0};
    CHECK(read(pfd[0], out, sizeof(out) - 1) > 0);
    CHECK(reap(p) == 1);
    CHECK(strstr(out, "already running"));
    CHECK(control("info", out, sizeof(out)) == 0 && strstr(out, "\"ok\":true"));
}

static void
test_bad_command_lines(void)
{
    static const char *const bad[][4] = {
        {"--dc", "0", NULL}, {"--dc", "0:this-name-is-too-long", NULL},
        {"--node-id", "77", NULL}, {"--bogus", NULL}, {"--dir", NULL}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pid_t p = fork();
        if (p == 0) {
            const char *argv[6] = {"dvsd", "--dir", "/dev/shm/dvs-never"};
            int n = 3;
            for (int k = 0; bad[i][k]; k++)
                argv[n++] = bad[i][k];
            argv[n] = NULL;
            int null = open("/dev/null", 1);
            dup2(null, 2);
            execv(DVSD_PATH_FOR_TEST, (char **)argv);
            _exit(127);
        }
        CHECK(reap(p) == 2);
    }
    CHECK(access("/dev/shm/dvs-never/table", F_OK) != 0);
}

static int
blocked_forever(void *arg)
{
    (void)arg;
    message m;
    if (mnx_bind(0, 30) != 30)
        return 10;
    return mnx_receive(ANY, &m) == EMOLSHUTDOWN ? 0 : 11;
}

/* shutdown wakes every blocked process and removes the node's files. */
static void
test_shutdown(void)
{
    pid_t p = spawn(blocked_forever, NULL);
    CHECK(wait_flags(0, 30, RECEIVING, RECEIVING, 3000) == 0);
    char out[256];
    CHECK(control("shutdown", out, sizeof(out)) == 0);
    CHECK(strstr(out, "\"ok\":true"));
    CHECK(reap_within(p, 2000) == 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/control.sock", node_dir());
    for (int i = 0; i < 200 && access(path, F_OK) == 0; i++)
        sleep_ms(10);
    CHECK(access(path, F_OK) != 0);
}

/* ---- the control socket under hostile input ---- */

static int
connect_control(void)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s/control.sock", node_dir());
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    return fd;
}

static uint32_t fuzz_state = 0x9e3779b9u;

static uint32_t
fuzz_rand(void)
{
    fuzz_state ^= fuzz_state << 13;
    fuzz_state ^= fuzz_state >> 17;
    fuzz_state ^= fuzz_state << 5;
    return fuzz_state;
}

/* fuzz_word appends a word a request might hold: a keyword, a number in
 * range, out of range or malformed, or random bytes (NUL included, never a
 * newline); returns its length. */
static size_t
fuzz_word(char *dst, size_t cap)
{
    static const char *const words[] = {
        "info", "ps", "lclbind", "unbind", "wakeup", "rmtbind", "links",
        "link", "cut", "restore", "history", "help", "0", "4", "-1", "1",
        "99", "2147483648", "-2147483649", "0x10", "5a", "migrate", "ANY",
        "999999999999999999999", "name_that_is_much_too_long_for_a_slot"};
    switch (fuzz_rand() % 4) {
    case 0:
    case 1:
        return (size_t)snprintf(dst, cap, "%s",
                                words[fuzz_rand() % (sizeof(words) / sizeof(words[0]))]);
    case 2:
        return (size_t)snprintf(dst, cap, "%d", (int)(fuzz_rand() % 70) - 5);
    default: {
        size_t n = fuzz_rand() % (cap - 1);
        for (size_t i = 0; i < n; i++) {
            dst[i] = (char)(fuzz_rand() % 256);
            if (dst[i] == '\n')
                dst[i] = ' ';
        }
        return n;
    }
    }
}

/* fuzz_line builds one request line ending in '\n'; returns its length.
 * Requests that end the daemon or turn the connection into a trace stream
 * are legitimate and tested elsewhere, so they are left out here. */
static size_t
fuzz_line(char *line, size_t cap)
{
    for (;;) {
        int words = (int)(fuzz_rand() % 10);
        size_t len = 0;
        for (int i = 0; i < words && len + 40 < cap; i++) {
            if (i)
                line[len++] = fuzz_rand() % 8 ? ' ' : '\t';
            len += fuzz_word(line + len, 32);
        }
        line[len] = 0;
        char first[16] = {0};
        sscanf(line, "%15s", first);
        if (strcmp(first, "shutdown") && strcmp(first, "trace")) {
            line[len++] = '\n';
            return len;
        }
    }
}

static int
echo_server(void *arg)
{
    (void)arg;
    message m;
    if (mnx_bind(0, 7) != 7)
        return 10;
    if (mnx_rcvrqst(&m) != OK)
        return 11;
    m.m_type += 1;
    return mnx_reply(m.m_source, &m) == OK ? 0 : 12;
}

/* Thousands of random and mutated requests, written in random pieces: every
 * line gets exactly one JSON reply, the daemon stays up, and IPC through
 * the node still works afterwards. Bounded: 20,000 requests or 8 s. */
static void
test_control_fuzz(void)
{
    int fd = connect_control();
    FILE *in = fdopen(dup(fd), "r");
    CHECK(in);
    char reply[65536];
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int sent = 0, answered = 0, refused = 0;
    while (sent < 20000 && elapsed_ms_since(&start) < 8000) {
        char burst[8192];
        size_t blen = 0;
        int lines = (int)(fuzz_rand() % 8) + 1;
        for (int i = 0; i < lines; i++)
            blen += fuzz_line(burst + blen, 512);
        /* Split across writes at random points: lines arrive in pieces. */
        for (size_t off = 0; off < blen;) {
            size_t piece = fuzz_rand() % (blen - off) + 1;
            CHECK(write(fd, burst + off, piece) == (ssize_t)piece);
            off += piece;
        }
        sent += lines;
        for (int i = 0; i < lines; i++) {
            if (!fgets(reply, sizeof(reply), in))
                fail_at(__FILE__, __LINE__,
                        "the daemon closed the connection after %d requests", sent);
            size_t n = strlen(reply);
            if (strncmp(reply, "{\"ok\":", 6) || n < 2 || reply[n - 1] != '\n' ||
                reply[n - 2] != '}')
                fail_at(__FILE__, __LINE__, "reply %d is not one JSON object line: %.200s",
                        answered, reply);
            refused += strstr(reply, "\"ok\":false") != NULL;
            answered++;
        }
    }
    fclose(in);
    close(fd);
    printf("  %d requests, %d answered (%d refused), %ld ms\n", sent, answered,
           refused, elapsed_ms_since(&start));
    CHECK(answered == sent && refused > 0);
    char out[4096];
    CHECK(control("info", out, sizeof(out)) == 0 && strstr(out, "\"ok\":true"));
    /* The node still carries a rendezvous (on slots the fuzz may have
     * bound to some random process with lclbind: free them first). */
    for (int ep = 7; ep <= 9; ep++) {
        char req[32];
        snprintf(req, sizeof(req), "unbind 0 %d", ep);
        CHECK(control(req, out, sizeof(out)) == 0);
    }
    pid_t server = spawn(echo_server, NULL);
    CHECK(wait_flags(0, 7, RECEIVING, RECEIVING, 3000) == 0);
    EXPECT_RC(mnx_bind(0, 8), 8);
    message m = {.m_type = 41};
    EXPECT_RC(mnx_sendrec(7, &m), OK);
    CHECK(m.m_type == 42);
    CHECK(reap(server) == 0);
}

/* A client that sends requests and never reads its replies must not stall
 * the daemon: other clients are answered and deaths are still handled. */
static int
sleeper(void *arg)
{
    (void)arg;
    message m;
    if (mnx_bind(0, 9) != 9)
        return 10;
    mnx_receive(ANY, &m);
    return 0;
}

static void
test_client_that_never_reads(void)
{
    int hog = connect_control();
    /* A request whose reply is long, many times: more than any socket
     * buffer holds. The writes must not block us either. */
    CHECK(fcntl(hog, F_SETFL, O_NONBLOCK) == 0);
    char req[4000];
    for (size_t i = 0; i + 5 <= sizeof(req); i += 5)
        memcpy(req + i, "help\n", 5);
    int queued = 0;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (queued < 200000 && elapsed_ms_since(&start) < 3000) {
        if (write(hog, req, sizeof(req)) < 0) {
            CHECK(errno == EAGAIN || errno == EPIPE || errno == ECONNRESET);
            if (errno != EAGAIN)
                break; /* the daemon already dropped it */
            sleep_ms(1);
            continue;
        }
        queued += (int)sizeof(req) / 5;
    }
    CHECK(queued > 1000);
    char out[4096];
    CHECK(control("info", out, sizeof(out)) == 0 && strstr(out, "\"ok\":true"));
    pid_t p = spawn(sleeper, NULL);
    CHECK(wait_flags(0, 9, RECEIVING, RECEIVING, 5000) == 0);
    kill(p, SIGKILL);
    CHECK(reap(p) == 128 + SIGKILL);
    CHECK(wait_bound(0, 9, 0, 5000) == 0); /* the death watch still runs */
    close(hog);
    CHECK(control("info", out, sizeof(out)) == 0 && strstr(out, "\"ok\":true"));
}

int
main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"info and ps", test_info_and_ps},
        {"bad requests", test_bad_requests},
        {"lclbind over control", test_lclbind_over_control},
        {"permissions", test_permissions},
        {"second daemon refused", test_second_daemon_refused},
        {"bad command lines", test_bad_command_lines},
        {"control socket fuzz", test_control_fuzz},
        {"a client that never reads", test_client_that_never_reads},
        {"shutdown", test_shutdown},
    };
    return test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
