/*
 * harness.h - the runtime's C test support.
 *
 * Every test runs in its own forked process against its own fresh node
 * (a dvsd started in a private directory), so a failing or crashing test
 * cannot disturb the next one. Peers are further forked processes; they
 * report through their exit code.
 */
#ifndef DVS_HARNESS_H
#define DVS_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "m3ipc.h"

struct test {
    const char *name;
    void (*fn)(void);
};

/* test_main runs every test of the list (or those named on the command
 * line) and prints "N passed, N failed". */
int test_main(int argc, char **argv, const struct test *tests, int n);

/* The extra dvsd arguments for the node of the next tests (e.g. DCs). */
extern const char *harness_dvsd_args[];

void fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond))                                                        \
            fail_at(__FILE__, __LINE__, "check failed: %s", #cond);         \
    } while (0)

/* EXPECT_RC asserts an exact result, naming both codes on failure. */
#define EXPECT_RC(expr, want)                                               \
    do {                                                                    \
        int _got = (expr), _want = (want);                                  \
        if (_got != _want)                                                  \
            fail_at(__FILE__, __LINE__, "%s returned %d (%s), expected %d (%s)", \
                    #expr, _got, _got < 0 ? mnx_strerror(_got) : "OK",      \
                    _want, _want < 0 ? mnx_strerror(_want) : "OK");         \
    } while (0)

/* spawn forks a peer running fn(arg); its return value is the exit code. */
pid_t spawn(int (*fn)(void *), void *arg);
/* reap waits for a peer: its exit code, or 128 + signal. */
int reap(pid_t pid);
/* reap_within waits at most ms; -1 if the peer is still running. */
int reap_within(pid_t pid, int ms);

/* wait_flags polls endpoint slot p_nr of dcid until
 * (p_rts_flags & mask) == want, for at most ms; 0 on success. */
int wait_flags(int dcid, int p_nr, int mask, int want, int ms);
/* wait_bound polls until slot p_nr of dcid is (bound = 1) or is not
 * (bound = 0) in use. */
int wait_bound(int dcid, int p_nr, int bound, int ms);

/* node_dir is the directory of the test's node. */
const char *node_dir(void);
/* control sends one request line to the node's control socket and reads
 * one reply line into out; returns 0 on success. */
int control(const char *request, char *out, size_t outlen);
/* control_dir is control for the node in directory dir. */
int control_dir(const char *dir, const char *request, char *out, size_t outlen);

long elapsed_ms_since(const struct timespec *start);
void sleep_ms(int ms);
#endif /* DVS_HARNESS_H */
