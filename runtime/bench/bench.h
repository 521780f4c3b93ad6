/*
 * bench.h - shared definitions of the local IPC benchmark (bench_local).
 *
 * The harness measures a 48-byte request/reply round trip between two
 * processes for several transports, and a one-copy bulk transfer ("vcopy")
 * for the baseline and for m3ipc. Every transport is a small vtable
 * (struct transport / struct copier) in its own file, so adding "ours" or
 * another baseline is one file plus one line in the registry (bench_main.c),
 * and the timing, pinning, statistics and reporting stay in one place where
 * they are identical for every row: the comparison is only fair if the
 * numbers are taken the same way.
 */
#ifndef DVS_BENCH_H
#define DVS_BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* ---- The message --------------------------------------------------------
 * 48 bytes: the size of an M3-IPC `message` on LP64 (m3ipc.h). Baselines move
 * exactly this many bytes each way so they do the same work as sendrec. */
#define BENCH_MSG_SIZE 48
typedef struct {
    int32_t type; /* BENCH_REQ or BENCH_STOP */
    int32_t seq;  /* echoed by the server; checked by the client */
    unsigned char payload[BENCH_MSG_SIZE - 8];
} bench_msg;
_Static_assert(sizeof(bench_msg) == BENCH_MSG_SIZE, "bench_msg must be 48 bytes");

#define BENCH_REQ 1
/* The client ends a case by sending BENCH_STOP: the server replies and
 * returns. A stop message (rather than a round-trip count known in advance)
 * keeps every server loop the same shape as a real MINIX-style server. */
#define BENCH_STOP 2

/* ---- Per-case context ---------------------------------------------------
 * Created by the harness before the two processes are forked, so whatever a
 * transport's setup() stores here (fds, pointers into MAP_SHARED memory) is
 * inherited by both sides. */
#define BENCH_SHARED_SIZE 4096
struct bench_ctx {
    void *priv;     /* the transport's own state (set by setup) */
    void *shared;   /* BENCH_SHARED_SIZE bytes of MAP_SHARED memory, zeroed,
                     * for things a side learns only after fork (a zmq port,
                     * a buffer address, a result computed by the server) */
    int server_cpu; /* CPU the server process is pinned to, -1 = not pinned */
    int client_cpu;
    long spin_ns;   /* spin budget for transports that spin before sleeping */
    pid_t server_pid; /* filled in before the client runs (pvm needs it) */
    size_t block;   /* copy cases: bytes per copy */
    double run_s;   /* copy cases: how long the timed copy loop runs */
};

/* ---- Round-trip transports ----------------------------------------------
 * Lifecycle of one measured case:
 *   parent:  setup()                          (optional)
 *   fork server: server_init(); [ready]; server_loop()  -> exit status
 *   fork client (after ready): client_init(); roundtrip() x (warm-up + N),
 *                              each timed by the harness; roundtrip(STOP);
 *                              client_fini()
 *   parent:  teardown()                       (optional)
 * Return 0 on success, -1 on failure (after printing why to stderr).
 * The server is forked and made ready before the client exists, so a
 * transport never needs its own rendezvous for "is the peer there yet". */
struct transport {
    const char *name;   /* --only key, JSON key */
    const char *family; /* --only also accepts this (e.g. "zmq") */
    const char *label;  /* row label in the table */
    /* NULL if usable, else a reason shown as "n/a (...)" */
    const char *(*unavailable)(void);
    int (*setup)(struct bench_ctx *c);
    int (*server_init)(struct bench_ctx *c);
    int (*server_loop)(struct bench_ctx *c);
    int (*client_init)(struct bench_ctx *c);
    int (*roundtrip)(struct bench_ctx *c, bench_msg *m); /* send m, get reply into m */
    void (*client_fini)(struct bench_ctx *c);
    void (*teardown)(struct bench_ctx *c);
    int spins; /* 1: spins before sleeping (pathological on one CPU; fewer iterations there) */
};

/* ---- Bulk copy ("vcopy") -------------------------------------------------
 * Two processes again: one owns the remote buffer and sits blocked, the
 * other (the "caller") copies BLOCK bytes out of it in a loop for run_s
 * seconds and stores the result at the start of the shared page (struct
 * copy_result; a copier's own shared fields go after it).
 * Which forked process is the caller depends on the API: process_vm_readv is
 * called by the client (the server only owns a buffer and blocks); with
 * m3ipc the server calls mnx_vcopy while the client blocks in sendrec. */
struct copy_result {
    uint64_t ops;   /* copies done */
    uint64_t ns;    /* time they took */
    int status;     /* 0 = ok */
};

struct copier {
    const char *name;
    const char *family;
    const char *label;
    const char *(*unavailable)(void);
    int caller_is_server; /* 1: the server side is the one that copies */
    int (*setup)(struct bench_ctx *c);       /* parent, before fork (optional) */
    void (*teardown)(struct bench_ctx *c);   /* parent, after both exit (optional) */
    int (*server_init)(struct bench_ctx *c); /* before the client is forked */
    int (*server_main)(struct bench_ctx *c);
    int (*client_main)(struct bench_ctx *c);
};

/* ---- Helpers (bench_util.c) ---------------------------------------------- */
static inline uint64_t bench_now_ns(void)
{
    /* CLOCK_MONOTONIC through the vDSO: ~20-25 ns per call on the CI VM,
     * small against the >= 100 ns round trips measured here. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void bench_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield" ::: "memory");
#endif
}

int bench_pin(int cpu);                  /* sched_setaffinity to one CPU; -1 = no-op */
int bench_read_full(int fd, void *buf, size_t n);
int bench_write_full(int fd, const void *buf, size_t n);
void *bench_alloc_touched(size_t n);     /* private anonymous mapping, faulted in */
void *bench_alloc_shared(size_t n);      /* MAP_SHARED anonymous mapping, zeroed */
void bench_sort_u64(uint64_t *v, size_t n);
uint64_t bench_pct(const uint64_t *sorted, size_t n, double p); /* p in [0,1] */

/* ---- Transport registry (one per file) ----------------------------------- */
extern const struct transport tr_futex, tr_futex_spin;
extern const struct transport tr_pipe, tr_unix, tr_tcp;
extern const struct transport tr_zmq_ipc, tr_zmq_tcp;
extern const struct transport tr_ours;
extern const struct transport tr_ours_trace; /* the same with the IPC trace on */
int ours_trace_set(int on);                   /* t_m3ipc_trace.c */
extern const struct copier cp_pvm, cp_ours;

/* m3ipc needs its node daemon for the whole run; the harness starts it once
 * (only if an "ours" case is selected) and stops it at exit. */
int ours_node_start(void);
void ours_node_stop(void);

#endif /* DVS_BENCH_H */
