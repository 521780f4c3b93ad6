/*
 * vcopy.c - copying memory between the address spaces of two endpoints.
 *
 * The kernel module copied with its own privileges; here one of the two
 * parties' memory is ours and the other is reached with
 * process_vm_readv/writev (one copy, the peer need not run). A copy
 * between two other processes goes through a 64 KiB bounce buffer, in
 * MAXCOPYBUF chunks like the original.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/uio.h>

#include "proc.h"
#include "wire.h"

/* xfer moves n bytes with process_vm_readv (read = 1) or _writev,
 * resuming after partial transfers. */
static int
xfer(pid_t pid, int read, void *local, const void *remote, size_t n,
     int died_code)
{
    size_t done = 0;
    while (done < n) {
        struct iovec l = {(char *)local + done, n - done};
        struct iovec r = {(char *)remote + done, n - done};
        ssize_t k = read ? process_vm_readv(pid, &l, 1, &r, 1, 0)
                         : process_vm_writev(pid, &l, 1, &r, 1, 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ESRCH)
                return died_code;
            if (errno == EPERM)
                return EMOLPERM;
            return EMOLMSGSIZE; /* a bad address: the original's copy fault */
        }
        if (k == 0)
            return EMOLMSGSIZE;
        done += (size_t)k;
    }
    return OK;
}

static int
copy_between(pid_t src, const void *saddr, pid_t dst, void *daddr, size_t n)
{
    char *buf = malloc(MAXCOPYBUF);
    if (!buf)
        return EMOLNOMEM;
    int rc = OK;
    for (size_t off = 0; off < n && rc == OK; off += MAXCOPYBUF) {
        size_t k = n - off < MAXCOPYBUF ? n - off : MAXCOPYBUF;
        rc = xfer(src, 1, buf, (const char *)saddr + off, k, EMOLSRCDIED);
        if (rc == OK)
            rc = xfer(dst, 0, buf, (char *)daddr + off, k, EMOLDSTDIED);
    }
    free(buf);
    return rc;
}

/* party checks one side of the copy (lock held). */
static int
party(struct dvst_table *t, struct binding *b, int ep, int died,
      struct dvst_slot **out)
{
    int rc = proc_lookup(t, b->dcid, ep, out);
    if (rc < 0)
        return rc;
    struct dvst_slot *s = *out;
    uint32_t f = atomic_load(&s->rts_flags);
    if ((f & SLOT_FREE) || s->endpoint != ep)
        return died;
    if (f & REMOTE)
        return OK; /* its node checks its state */
    if (s == b->slot)
        return OK;
    if (f & ONCOPY)
        return EMOLBUSY;
    /* A third party must sit still: blocked receiving, e.g. in sendrec. */
    if (!(f & RECEIVING) || (f & SENDING))
        return EMOLPROCSTS;
    return OK;
}

/* remote_copy hands a copy with one remote party to the proxies: the
 * requester must be the other party (lock held). */
static int
remote_copy(struct dvst_table *t, struct binding *b, struct dvst_slot *s,
            const void *saddr, struct dvst_slot *d, void *daddr, int bytes,
            int src_remote)
{
    struct dvst_slot *me = b->slot, *far = src_remote ? s : d;
    if ((src_remote ? d : s) != me)
        return EMOLNOSYS; /* third-party copies across nodes: not yet */
    if ((t->nodes[far->nodeid].n_flags & NODE_UP) != NODE_UP)
        return EMOLNOTCONN;
    me->vc_src = s->endpoint;
    me->vc_dst = d->endpoint;
    me->vc_saddr = (uint64_t)(uintptr_t)saddr;
    me->vc_daddr = (uint64_t)(uintptr_t)daddr;
    me->vc_bytes = (uint32_t)bytes;
    me->px_cmd = src_remote ? CMD_COPYOUT_RQST : CMD_COPYIN_DATA;
    me->px_node = far->nodeid;
    me->px_peer = far->endpoint;
    me->sendto = far->endpoint;
    me->sendseq = ++t->sendseq;
    atomic_store(&me->rts_flags, atomic_load(&me->rts_flags) | SENDING | RMTOPER);
    dvst_px_note();
    return OK;
}

static int
do_vcopy(int src_ep, const void *src_addr, int dst_ep, void *dst_addr,
         int bytes)
{
    struct dvst_table *t;
    struct binding *b;
    int rc = proc_enter(&t, &b);
    if (rc < 0)
        return rc;
    if (bytes < 0 || bytes > MAXCOPYLEN)
        return EMOLRANGE;
    if (src_ep == SELF)
        src_ep = b->ep;
    if (dst_ep == SELF)
        dst_ep = b->ep;
    if (src_ep == dst_ep)
        return EMOLENDPOINT;
    struct dvst_slot *s, *d;
    dvst_lock(t);
    if ((rc = party(t, b, src_ep, EMOLSRCDIED, &s)) < 0 ||
        (rc = party(t, b, dst_ep, EMOLDSTDIED, &d)) < 0)
        goto out;
    int rs = atomic_load(&s->rts_flags) & REMOTE;
    int rd = atomic_load(&d->rts_flags) & REMOTE;
    if (rs || rd) {
        rc = remote_copy(t, b, s, src_addr, d, dst_addr, bytes, rs);
        if (rc < 0)
            goto out;
        dvst_unlock(t);
        rc = proc_wait(b, NULL, NULL);
        return rc < 0 ? rc : b->slot->rcode;
    }
    if (s->lpid == d->lpid) {
        rc = EMOLPERM; /* same thread group: a plain memcpy's job */
        goto out;
    }
    /* ONCOPY keeps a second requester off the parties meanwhile. */
    uint32_t mark = ONCOPY;
    if (s != b->slot)
        atomic_fetch_or(&s->rts_flags, mark);
    if (d != b->slot)
        atomic_fetch_or(&d->rts_flags, mark);
    pid_t spid = s->lpid, dpid = d->lpid;
    dvst_unlock(t);

    if (bytes > 0) {
        if (s == b->slot)
            rc = xfer(dpid, 0, (void *)src_addr, dst_addr, (size_t)bytes,
                      EMOLDSTDIED);
        else if (d == b->slot)
            rc = xfer(spid, 1, dst_addr, src_addr, (size_t)bytes,
                      EMOLSRCDIED);
        else
            rc = copy_between(spid, src_addr, dpid, dst_addr, (size_t)bytes);
    }

    dvst_lock(t);
    atomic_fetch_and(&s->rts_flags, ~mark);
    atomic_fetch_and(&d->rts_flags, ~mark);
    if (rc == OK)
        b->slot->lclcopy++;
    if (rc == OK && DVST_TRACING(t))
        dvst_trace_op(t, DVST_OP_VCOPY, b->dcid, src_ep, dst_ep, bytes, OK, b->slot->lpid);
out:
    dvst_unlock(t);
    return rc;
}

int
mnx_vcopy(int src_ep, const void *src_addr, int dst_ep, void *dst_addr,
          int bytes)
{
    return DVST_TRACE_RET(DVST_CALL_VCOPY, dst_ep,
                          do_vcopy(src_ep, src_addr, dst_ep, dst_addr, bytes));
}
