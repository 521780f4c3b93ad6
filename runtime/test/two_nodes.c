/*
 * two_nodes.c - see two_nodes.h.
 */
#define _GNU_SOURCE
#include "two_nodes.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "lib/proc.h"

char two_nodes_secret[128];
char node1_dir[96];
pid_t node1_pid;

static char port0[32], port1[32], peer0[48], peer1[48];
const char *harness_dvsd_args[16];

void
two_nodes_init(void)
{
    /* Two ports from the pid: parallel test processes do not collide. */
    int base = 20000 + (int)(getpid() % 20000) * 2;
    snprintf(two_nodes_secret, sizeof(two_nodes_secret),
             "/dev/shm/dvs-test-secret-%d", (int)getpid());
    FILE *f = fopen(two_nodes_secret, "w");
    if (!f) {
        perror(two_nodes_secret);
        exit(1);
    }
    fputs("correct horse battery staple 42", f);
    fclose(f);
    snprintf(port0, sizeof(port0), "127.0.0.1:%d", base);
    snprintf(port1, sizeof(port1), "127.0.0.1:%d", base + 1);
    snprintf(peer0, sizeof(peer0), "0=%s", port0);
    snprintf(peer1, sizeof(peer1), "1=%s", port1);
    const char *args[] = {"--dc", "0:dc0:64:8:16:0,1", "--listen", port0, "--peer",
                          peer1, "--secret-file", two_nodes_secret, NULL};
    memcpy(harness_dvsd_args, args, sizeof(args));
}

void
two_nodes_cleanup(void)
{
    unlink(two_nodes_secret);
}

void
node1_start(const char *secret)
{
    snprintf(node1_dir, sizeof(node1_dir), "%s-n1", node_dir());
    fflush(NULL);
    node1_pid = fork();
    if (node1_pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (!getenv("DVS_TEST_VERBOSE"))
            dup2(null, 2);
        execl(DVSD_PATH_FOR_TEST, "dvsd", "--dir", node1_dir, "--node-id", "1",
              "--dc", "0:dc0:64:8:16:0,1", "--listen", port1, "--peer", peer0,
              "--secret-file", secret ? secret : two_nodes_secret, (char *)NULL);
        _exit(127);
    }
}

void
node1_stop(void)
{
    if (node1_pid > 0) {
        kill(node1_pid, SIGTERM);
        reap_within(node1_pid, 3000);
    }
    node1_pid = 0;
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", node1_dir);
    (void)!system(cmd);
}

int
links_up(int ms)
{
    char out[1024];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        if (control("links", out, sizeof(out)) == 0 &&
            strstr(out, "\"state\":\"up\""))
            return 0;
        sleep_ms(20);
    } while (elapsed_ms_since(&t0) < ms);
    return -1;
}

pid_t
on_node1(int (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        setenv("DVS_NODE", node1_dir, 1);
        proc_forget_node(); /* do not keep node 0's table */
        alarm(60);
        _exit(fn(arg));
    }
    return p;
}
