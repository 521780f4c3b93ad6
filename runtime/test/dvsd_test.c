/*
 * dvsd_test.c - the node daemon: control requests, bad input, permissions.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
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
        {"shutdown", test_shutdown},
    };
    return test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
