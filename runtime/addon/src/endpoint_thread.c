/*
 * endpoint_thread.c - see endpoint_thread.h.
 */
#define _GNU_SOURCE
#include "endpoint_thread.h"
#include "ipc_split.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Serialises binding decisions: whether the process binding is free must
 * not change between the mnx_tbind attempt and the mnx_bind fallback. */
static pthread_mutex_t g_bind_mu = PTHREAD_MUTEX_INITIALIZER;

_Static_assert(sizeof(((struct dvs_call *)0)->split) >= sizeof(struct dvsi_call),
               "dvs_call.split must hold a struct dvsi_call");
_Static_assert(DVS_PENDING == DVSI_PENDING, "one pending code");

/* keep_binding copies the binding the calling (endpoint) thread now holds,
 * for the split calls of other threads. */
static void
keep_binding(struct dvs_ept *e)
{
    if (!e->copy)
        e->copy = malloc(sizeof(*e->copy));
    if (e->copy && proc_get_binding(e->copy) != OK) {
        free(e->copy);
        e->copy = NULL;
    }
}

static int
bind_endpoint(struct dvs_ept *e, int dcid, int ep)
{
    pthread_mutex_lock(&g_bind_mu);
    /* A thread binding needs the process bound first (EMOLGRPLEADER): the
     * first live endpoint of the process takes the process binding. */
    int rc = mnx_tbind(dcid, ep);
    if (rc == EMOLGRPLEADER) {
        rc = mnx_bind(dcid, ep);
        if (rc >= 0)
            e->process_binding = 1;
    }
    pthread_mutex_unlock(&g_bind_mu);
    if (rc >= 0) {
        e->dcid = dcid;
        e->ep = rc;
        keep_binding(e);
    }
    return rc;
}

int
dvs_ept_execute(struct dvs_ept *e, struct dvs_call *c)
{
    switch (c->op) {
    case DVS_OP_BIND:
        return bind_endpoint(e, c->a, c->b);
    case DVS_OP_WAIT4BIND: {
        /* Not under g_bind_mu: the wait may be long, and the launcher's
         * lclbind gives us the process binding. */
        int rc = mnx_wait4bind_T(c->to_ms);
        if (rc >= 0) {
            e->process_binding = 1;
            e->ep = rc;
            e->dcid = c->a;
            keep_binding(e);
        }
        return rc;
    }
    case DVS_OP_SEND:
        return mnx_send_T(c->a, &c->m, c->to_ms);
    case DVS_OP_RECEIVE:
        return mnx_receive_T(c->a, &c->m, c->to_ms);
    case DVS_OP_SENDREC:
        return mnx_sendrec_T(c->a, &c->m, c->to_ms);
    case DVS_OP_RCVRQST:
        return mnx_rcvrqst_T(&c->m, c->to_ms);
    case DVS_OP_REPLY:
        return mnx_reply_T(c->a, &c->m, c->to_ms);
    case DVS_OP_NOTIFY:
        return mnx_notify(c->a);
    case DVS_OP_VCOPY:
        return mnx_vcopy(c->a, c->src, c->b, c->dst, c->bytes);
    default:
        return EMOLBADCALL;
    }
}

static void
ring(struct dvs_ept *e)
{
    atomic_fetch_add(&e->bell, 1);
    if (atomic_load(&e->sleeping))
        syscall(SYS_futex, &e->bell, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *
thread_main(void *arg)
{
    struct dvs_ept *e = arg;
    pthread_mutex_lock(&e->mu);
    for (;;) {
        /* running is also set by a synchronous call executing directly
         * on its caller's thread: the binding is used by one call at a
         * time. */
        if (e->running || (!e->head && !e->stopping)) {
            unsigned bell = atomic_load(&e->bell);
            atomic_store(&e->sleeping, 1);
            pthread_mutex_unlock(&e->mu);
            syscall(SYS_futex, &e->bell, FUTEX_WAIT_PRIVATE, bell, NULL, NULL, 0);
            atomic_store(&e->sleeping, 0);
            pthread_mutex_lock(&e->mu);
            continue;
        }
        struct dvs_call *c = e->head;
        if (!c)
            break; /* stopping and drained */
        e->head = c->next;
        if (!e->head)
            e->tail = NULL;
        e->running = 1;
        pthread_mutex_unlock(&e->mu);
        c->rc = dvs_ept_execute(e, c);
        pthread_mutex_lock(&e->mu);
        e->running = 0;
        /* done is also set for an asynchronous call: a synchronous call
         * of the JS thread may wait for it (addon.cc, DrainSync). */
        c->done = 1;
        pthread_cond_broadcast(&e->sync_cv);
        if (c->sync) {
        } else if (!e->orphaned) {
            /* The callback may free c: it is not touched afterwards. */
            pthread_mutex_unlock(&e->mu);
            e->done(c, e->arg);
            pthread_mutex_lock(&e->mu);
        }
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

int
dvs_ept_start(struct dvs_ept *e, dvs_done_fn done, void *arg)
{
    memset(e, 0, sizeof(*e));
    e->dcid = e->ep = -1;
    e->done = done;
    e->arg = arg;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->sync_cv, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    /* The calls need little stack; 256 KiB keeps many endpoints cheap. */
    pthread_attr_setstacksize(&attr, 256 * 1024);
    int rc = pthread_create(&e->thread, &attr, thread_main, e);
    pthread_attr_destroy(&attr);
    return rc;
}

void
dvs_ept_submit(struct dvs_ept *e, struct dvs_call *c)
{
    c->next = NULL;
    pthread_mutex_lock(&e->mu);
    if (e->tail)
        e->tail->next = c;
    else
        e->head = c;
    e->tail = c;
    pthread_mutex_unlock(&e->mu);
    ring(e);
}

int
dvs_ept_claim(struct dvs_ept *e)
{
    pthread_mutex_lock(&e->mu);
    int ok = e->process_binding && !e->head && !e->running && !e->stopping;
    if (ok)
        e->running = 1;
    pthread_mutex_unlock(&e->mu);
    return ok;
}

void
dvs_ept_release(struct dvs_ept *e)
{
    pthread_mutex_lock(&e->mu);
    e->running = 0;
    /* Work queued meanwhile, or a stop, was waiting for us. Rung under
     * the lock: once the thread sees the state it may exit and e be freed,
     * so nothing touches e after the unlock. */
    if (e->head || e->stopping)
        ring(e);
    pthread_mutex_unlock(&e->mu);
}

int
dvs_ept_run_sync(struct dvs_ept *e, struct dvs_call *c)
{
    if (dvs_ept_claim(e)) {
        c->rc = dvs_ept_execute(e, c);
        dvs_ept_release(e);
        return c->rc;
    }
    c->sync = 1;
    c->done = 0;
    dvs_ept_submit(e, c);
    pthread_mutex_lock(&e->mu);
    while (!c->done)
        pthread_cond_wait(&e->sync_cv, &e->mu);
    pthread_mutex_unlock(&e->mu);
    return c->rc;
}

void
dvs_ept_wait_done(struct dvs_ept *e, struct dvs_call *c)
{
    pthread_mutex_lock(&e->mu);
    while (!c->done)
        pthread_cond_wait(&e->sync_cv, &e->mu);
    pthread_mutex_unlock(&e->mu);
}

void
dvs_ept_stop(struct dvs_ept *e)
{
    pthread_mutex_lock(&e->mu);
    e->stopping = 1;
    pthread_mutex_unlock(&e->mu);
    ring(e);
    pthread_join(e->thread, NULL);
    pthread_cond_destroy(&e->sync_cv);
    pthread_mutex_destroy(&e->mu);
    free(e->copy);
    e->copy = NULL;
}

void
dvs_ept_orphan(struct dvs_ept *e)
{
    pthread_mutex_lock(&e->mu);
    e->orphaned = 1;
    e->stopping = 1;
    pthread_mutex_unlock(&e->mu);
    ring(e);
    pthread_detach(e->thread);
}

/* ---- split calls ---- */

static int
split_op(int op)
{
    switch (op) {
    case DVS_OP_SEND: return DVSI_SEND;
    case DVS_OP_RECEIVE: return DVSI_RECEIVE;
    case DVS_OP_SENDREC: return DVSI_SENDREC;
    case DVS_OP_RCVRQST: return DVSI_RCVRQST;
    case DVS_OP_REPLY: return DVSI_REPLY;
    case DVS_OP_NOTIFY: return DVSI_NOTIFY;
    default: return -1;
    }
}

static struct dvsi_call *
split_of(struct dvs_call *c)
{
    return (struct dvsi_call *)(void *)c->split;
}

int
dvs_ept_split_ok(const struct dvs_ept *e, int op)
{
    return e->copy && split_op(op) >= 0;
}

int
dvs_ept_split_start(struct dvs_ept *e, struct dvs_call *c)
{
    c->done = 0;
    return dvsi_start(split_of(c), e->copy, split_op(c->op), c->a, &c->m,
                      c->to_ms);
}

int
dvs_ept_split_arm(struct dvs_call *c, _Atomic uint32_t **addr, uint32_t *val)
{
    *addr = dvsi_doorbell(split_of(c));
    return dvsi_arm(split_of(c), val);
}

void
dvs_ept_split_disarm(struct dvs_call *c)
{
    dvsi_disarm(split_of(c));
}

int
dvs_ept_split_check(struct dvs_call *c)
{
    return dvsi_check(split_of(c));
}

int
dvs_ept_split_wait(struct dvs_call *c)
{
    return dvsi_wait(split_of(c));
}

long
dvs_ept_split_remaining_ms(struct dvs_call *c)
{
    return dvsi_remaining_ms(split_of(c));
}
