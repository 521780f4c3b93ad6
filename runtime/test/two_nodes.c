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
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "lib/proc.h"

char two_nodes_secret[128];
char node_dirs[MAX_TEST_NODES][96];
pid_t node_pids[MAX_TEST_NODES];
/* node1_dir/node1_pid are the historical names of node 1's. */
char node1_dir[96];
pid_t node1_pid;

static int nnodes, port_base;
static char ports[MAX_TEST_NODES][32];      /* 127.0.0.1:PORT */
static char peers[MAX_TEST_NODES][48];      /* ID=127.0.0.1:PORT */
static char dcarg[64];                      /* 0:dc0:64:8:16:0,1[,2] */
const char *harness_dvsd_args[16];

void
nodes_init(int n)
{
    nnodes = n;
    /* Ports from the pid: parallel test processes do not collide. */
    int base = 20000 + (int)(getpid() % 15000) * MAX_TEST_NODES;
    port_base = base;
    for (int i = 0; i < n; i++) {
        snprintf(ports[i], sizeof(ports[i]), "127.0.0.1:%d", base + i);
        snprintf(peers[i], sizeof(peers[i]), "%d=127.0.0.1:%d", i, base + i);
    }
    snprintf(dcarg, sizeof(dcarg), "0:dc0:64:8:16:0,1%s", n > 2 ? ",2" : "");
    int a = 0;
    harness_dvsd_args[a++] = "--dc";
    harness_dvsd_args[a++] = dcarg;
    harness_dvsd_args[a++] = "--listen";
    harness_dvsd_args[a++] = ports[0];
    for (int i = 1; i < n; i++) {
        harness_dvsd_args[a++] = "--peer";
        harness_dvsd_args[a++] = peers[i];
    }
    harness_dvsd_args[a++] = "--secret-file";
    harness_dvsd_args[a++] = two_nodes_secret;
    harness_dvsd_args[a] = NULL;
}

void
two_nodes_init(void)
{
    snprintf(two_nodes_secret, sizeof(two_nodes_secret),
             "/dev/shm/dvs-test-secret-%d", (int)getpid());
    FILE *f = fopen(two_nodes_secret, "w");
    if (!f) {
        perror(two_nodes_secret);
        exit(1);
    }
    fputs("correct horse battery staple 42", f);
    fclose(f);
    nodes_init(2);
}

void
two_nodes_cleanup(void)
{
    unlink(two_nodes_secret);
}

void
nodeN_start(int id, const char *secret)
{
    snprintf(node_dirs[id], sizeof(node_dirs[id]), "%s-n%d", node_dir(), id);
    char idarg[16];
    snprintf(idarg, sizeof(idarg), "%d", id);
    const char *argv[24] = {"dvsd", "--dir", node_dirs[id], "--node-id", idarg,
                            "--dc", dcarg, "--listen", ports[id]};
    int a = 9;
    for (int i = 0; i < nnodes; i++) {
        if (i == id)
            continue;
        argv[a++] = "--peer";
        argv[a++] = peers[i];
    }
    argv[a++] = "--secret-file";
    argv[a++] = secret ? secret : two_nodes_secret;
    argv[a] = NULL;
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (!getenv("DVS_TEST_VERBOSE"))
            dup2(null, 2);
        execv(DVSD_PATH_FOR_TEST, (char **)argv);
        _exit(127);
    }
    node_pids[id] = p;
    if (id == 1) {
        memcpy(node1_dir, node_dirs[1], sizeof(node1_dir));
        node1_pid = p;
    }
}

void
node1_start(const char *secret)
{
    nodeN_start(1, secret);
}

void
nodeN_stop(int id)
{
    pid_t p = id == 1 ? node1_pid : node_pids[id];
    if (p > 0) {
        kill(p, SIGTERM);
        reap_within(p, 3000);
    }
    node_pids[id] = 0;
    if (id == 1)
        node1_pid = 0;
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", node_dirs[id]);
    (void)!system(cmd);
}

void
node1_stop(void)
{
    nodeN_stop(1);
}

int
node_port(int id)
{
    return port_base + id;
}

int
control_at(int id, const char *request, char *out, size_t outlen)
{
    return id == 0 ? control(request, out, outlen)
                   : control_dir(node_dirs[id], request, out, outlen);
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

int
links_all_up(int id, int ms)
{
    char out[1024];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        if (control_at(id, "links", out, sizeof(out)) == 0 &&
            strstr(out, "\"state\":\"up\"") &&
            !strstr(out, "\"state\":\"connecting\"") &&
            !strstr(out, "\"state\":\"cut\""))
            return 0;
        sleep_ms(20);
    } while (elapsed_ms_since(&t0) < ms);
    return -1;
}

pid_t
on_node(int id, int (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        setenv("DVS_NODE", id == 0 ? node_dir() : node_dirs[id], 1);
        proc_forget_node(); /* do not keep node 0's table */
        alarm(60);
        _exit(fn(arg));
    }
    return p;
}

pid_t
on_node1(int (*fn)(void *), void *arg)
{
    return on_node(1, fn, arg);
}
