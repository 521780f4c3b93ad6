/*
 * two_nodes.h - C tests with a second node: node 1, a dvsd linked to the
 * harness's node (node 0) over loopback TCP, DC 0 spanning both, one
 * cluster secret. Shared by remote_test and migrate_test.
 */
#ifndef DVS_TWO_NODES_H
#define DVS_TWO_NODES_H

#include <sys/types.h>

/* The cluster secret's file, written by two_nodes_init. */
extern char two_nodes_secret[128];
/* Node 1's directory and dvsd pid while it runs (0 otherwise). */
extern char node1_dir[96];
extern pid_t node1_pid;

/* two_nodes_init picks two free-looking ports from the pid, writes the
 * secret and sets harness_dvsd_args for node 0. Call it first in main;
 * two_nodes_cleanup removes the secret at the end. */
void two_nodes_init(void);
void two_nodes_cleanup(void);

/* node1_start starts node 1 with a secret file (NULL: the cluster's one);
 * node1_stop stops it (SIGTERM) and removes its directory. */
void node1_start(const char *secret);
void node1_stop(void);

/* links_up waits until node 0 reports a link up; 0 on success. */
int links_up(int ms);

/* on_node1 runs fn(arg) in a child process whose node is node 1; the
 * child's exit code is fn's result (reap it). */
pid_t on_node1(int (*fn)(void *), void *arg);
#endif /* DVS_TWO_NODES_H */
