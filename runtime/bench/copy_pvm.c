/*
 * copy_pvm.c - the vcopy baseline: process_vm_readv() pulling BLOCK bytes
 * out of a peer process that is blocked in read() on a pipe (so it is not
 * running and not touching the buffer, as a process blocked in sendrec
 * would be). One copy, user to user, done by the kernel: the best a
 * user-space vcopy can do, hence SPEC §8's "at least 80 % of
 * process_vm_readv" for mnx_vcopy.
 *
 * Roles: the forked "server" owns the buffer and blocks; the "client" is the
 * caller that copies, times itself and writes the result.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <unistd.h>

struct pvm_shared {
    struct copy_result res; /* must stay first: the harness reads it */
    void *remote;           /* the server's buffer, in its address space */
};

struct pvm_priv {
    int done[2]; /* client -> server: "finished, you may exit" */
};

static int pvm_setup(struct bench_ctx *c)
{
    struct pvm_priv *p = calloc(1, sizeof *p);
    if (!p || pipe(p->done)) {
        perror("bench: pipe");
        return -1;
    }
    c->priv = p;
    return 0;
}

static void pvm_teardown(struct bench_ctx *c)
{
    struct pvm_priv *p = c->priv;
    close(p->done[0]);
    close(p->done[1]);
    free(p);
}

static int pvm_server_init(struct bench_ctx *c)
{
    struct pvm_shared *sh = c->shared;
    /* the caller is our sibling, not our parent: where Yama restricts
     * ptrace to descendants (ptrace_scope=1), allow it explicitly (fails
     * harmlessly with EINVAL where Yama is absent) */
    prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
    sh->remote = bench_alloc_touched(c->block);
    return sh->remote ? 0 : -1;
}

static int pvm_server_main(struct bench_ctx *c)
{
    struct pvm_priv *p = c->priv;
    char b;
    /* blocked here for the whole measurement */
    return bench_read_full(p->done[0], &b, 1);
}

static int pvm_client_main(struct bench_ctx *c)
{
    struct pvm_shared *sh = c->shared;
    struct pvm_priv *p = c->priv;
    char *local = bench_alloc_touched(c->block);
    if (!local)
        return -1;
    struct iovec l = {local, c->block}, r = {sh->remote, c->block};
    uint64_t ops = 0, t0, t1, limit = (uint64_t)(c->run_s * 1e9);
    int rc = 0;
    for (int i = 0; i < 8; i++) /* warm-up: page tables, caches */
        if (process_vm_readv(c->server_pid, &l, 1, &r, 1, 0) != (ssize_t)c->block) {
            perror("bench: process_vm_readv");
            rc = -1;
            goto out;
        }
    t0 = bench_now_ns();
    do {
        if (process_vm_readv(c->server_pid, &l, 1, &r, 1, 0) != (ssize_t)c->block) {
            perror("bench: process_vm_readv");
            rc = -1;
            goto out;
        }
        ops++;
    } while ((t1 = bench_now_ns()) - t0 < limit);
    sh->res.ops = ops;
    sh->res.ns = t1 - t0;
out:
    sh->res.status = rc;
    if (bench_write_full(p->done[1], "x", 1))
        rc = -1;
    return rc;
}

const struct copier cp_pvm = {
    .name = "pvm",
    .family = "vcopy",
    .label = "process_vm_readv",
    .setup = pvm_setup,
    .teardown = pvm_teardown,
    .caller_is_server = 0,
    .server_init = pvm_server_init,
    .server_main = pvm_server_main,
    .client_main = pvm_client_main,
};
