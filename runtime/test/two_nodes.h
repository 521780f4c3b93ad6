/*
 * two_nodes.h - C tests with more nodes: node 1 (and, after
 * nodes_init(3), node 2), dvsds linked to the harness's node (node 0) and
 * to each other over loopback TCP, DC 0 spanning them all, one cluster
 * secret. Shared by remote_test and migrate_test.
 */
#ifndef DVS_TWO_NODES_H
#define DVS_TWO_NODES_H

#include <stddef.h>
#include <sys/types.h>

#define MAX_TEST_NODES 3

/* The cluster secret's file, written by two_nodes_init. */
extern char two_nodes_secret[128];
/* Node 1's directory and dvsd pid while it runs (0 otherwise). */
extern char node1_dir[96];
extern pid_t node1_pid;
/* Every extra node's (index = node id; [0] unused). */
extern char node_dirs[MAX_TEST_NODES][96];
extern pid_t node_pids[MAX_TEST_NODES];

/* two_nodes_init picks free-looking ports from the pid, writes the
 * secret and sets harness_dvsd_args for node 0 (= nodes_init(2)). Call it
 * first in main; two_nodes_cleanup removes the secret at the end.
 * nodes_init(3) switches the next tests to three nodes (node 0's
 * arguments, the DC's nodes). */
void two_nodes_init(void);
void nodes_init(int n);
void two_nodes_cleanup(void);

/* node1_start starts node 1 with a secret file (NULL: the cluster's one);
 * node1_stop stops it (SIGTERM) and removes its directory. nodeN_start and
 * nodeN_stop do the same for node id. */
void node1_start(const char *secret);
void node1_stop(void);
void nodeN_start(int id, const char *secret);
void nodeN_stop(int id);

/* links_up waits until node 0 reports a link up; 0 on success.
 * links_all_up waits until every link of node id (0: the harness's) is
 * up. */
int links_up(int ms);
int links_all_up(int id, int ms);

/* node_port: the TCP port node id listens on (127.0.0.1). */
int node_port(int id);

/* control_at: like control(), on node id's control socket. */
int control_at(int id, const char *request, char *out, size_t outlen);

/* on_node1 runs fn(arg) in a child process whose node is node 1; the
 * child's exit code is fn's result (reap it). on_node: on node id. */
pid_t on_node1(int (*fn)(void *), void *arg);
pid_t on_node(int id, int (*fn)(void *), void *arg);
#endif /* DVS_TWO_NODES_H */
