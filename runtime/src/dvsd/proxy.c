/*
 * proxy.c - the links between node daemons over TCP.
 *
 * For every pair of nodes there is one connection per direction, as in the
 * original's sender/receiver proxies: the connection we dial carries our
 * commands to the peer, the one the peer dialed carries its commands to us.
 * A connection is used only after both ends proved they hold the cluster
 * secret (HMAC-SHA256 challenge-response, see runtime/docs/wire.md).
 * Several frames are written with one syscall when work piles up
 * (batching); keepalives flow every second and a silent link is declared
 * down after 4 s. When a link goes down every call waiting on that node
 * returns EMOLNOTCONN.
 */
#define _GNU_SOURCE
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../lib/remote.h"
#include "backup.h"
#include "sha256.h"

#define MAX_PENDING 16
#define KEEPALIVE_MS 1000
#define DEAD_MS 4000
#define MAX_OUT 4096

enum ostate { O_IDLE, O_CONNECTING, O_HELLO_SENT, O_UP };

struct ibuf {
    unsigned char *p;
    size_t len, cap;
};

struct link {
    int configured, cut;
    char host[64];
    int port;
    int ofd, ostate;
    unsigned oevents; /* what ofd is registered for in epoll (0: not yet) */
    uint8_t ononce[16];
    struct ibuf oin;
    unsigned char *out;
    size_t outlen, outcap;
    int ifd;
    struct ibuf in;
    uint64_t sent, rcvd;
    long last_rx, last_tx, next_dial;
    int logged_down;
    int reset_sent; /* BKUP_RESET sent (once per daemon lifetime) */
};

struct pending {
    int fd;
    uint8_t nonce[16], dnonce[16];
    int node; /* claimed, -1 before HELLO */
    struct ibuf in;
};

static struct dvsd *D;
static struct link links[NR_NODES];
static struct pending pend[MAX_PENDING];
static uint8_t secret[256];
static size_t secret_len;
static int lfd = -1, fifo_fd = -1, fifo_keep = -1, tfd = -1;
static struct px_out outs[MAX_OUT];

static long
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
ep_add(int fd, unsigned tag, unsigned events)
{
    struct epoll_event ev = {.events = events, .data.u32 = tag};
    if (epoll_ctl(D->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        epoll_ctl(D->epfd, EPOLL_CTL_MOD, fd, &ev);
}

/* out_watch registers node's outgoing socket for events, with an
 * epoll_ctl only when that changes (flush runs several times per round
 * trip; two wasted syscalls each were a measurable part of it). */
static void
out_watch(int node, unsigned events)
{
    struct link *l = &links[node];
    if (l->ofd < 0 || l->oevents == events)
        return;
    struct epoll_event ev = {.events = events, .data.u32 = PX_TAG_OUT + (unsigned)node};
    epoll_ctl(D->epfd, l->oevents ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, l->ofd, &ev);
    l->oevents = events;
}

static void
ibuf_take(struct ibuf *b, size_t n)
{
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

/* ibuf_fill reads what the socket has; -1 on EOF or error. */
static int
ibuf_fill(struct ibuf *b, int fd)
{
    for (;;) {
        if (b->cap - b->len < 65536) {
            size_t cap = b->cap ? b->cap * 2 : 2 * (WIRE_HDR_SIZE + WIRE_MAX_PAYLOAD);
            unsigned char *p = realloc(b->p, cap);
            if (!p)
                return -1;
            b->p = p;
            b->cap = cap;
        }
        size_t room = b->cap - b->len;
        ssize_t k = read(fd, b->p + b->len, room);
        if (k > 0) {
            b->len += (size_t)k;
            /* A short read emptied the socket: do not pay one more read
             * for the EAGAIN (epoll is level-triggered, so an EOF that
             * follows still shows up as an event). */
            if ((size_t)k < room)
                return 0;
            continue;
        }
        if (k == 0)
            return -1;
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    }
}

static void
frame_hello(struct wire_frame *f, int dnode, uint16_t step)
{
    memset(f, 0, sizeof(*f));
    f->cmd = CMD_HELLO;
    f->flags = step;
    f->snode = D->nodeid;
    f->dnode = dnode;
}

/* send_raw writes a header + payload on fd right away (handshake only). */
static int
send_raw(int fd, struct wire_frame *f, const void *payload)
{
    unsigned char h[WIRE_HDR_SIZE];
    f->len = payload ? f->len : 0;
    wire_encode(f, h);
    struct iovec v[2] = {{h, sizeof(h)}, {(void *)payload, f->len}};
    ssize_t k = writev(fd, v, payload ? 2 : 1);
    return k == (ssize_t)(sizeof(h) + f->len) ? 0 : -1;
}

/* proof: HMAC(secret, role | first nonce | second nonce | dialer | listener) */
static void
proof(char role, const uint8_t *n1, const uint8_t *n2, int dialer,
      int listener, uint8_t out[32])
{
    uint8_t msg[1 + 16 + 16 + 8];
    msg[0] = (uint8_t)role;
    memcpy(msg + 1, n1, 16);
    memcpy(msg + 17, n2, 16);
    for (int i = 0; i < 4; i++) {
        msg[33 + i] = (uint8_t)(dialer >> (24 - 8 * i));
        msg[37 + i] = (uint8_t)(listener >> (24 - 8 * i));
    }
    hmac_sha256(secret, secret_len, msg, sizeof(msg), out);
}

static void
update_flags(int node)
{
    struct link *l = &links[node];
    dvst_lock(D->t);
    int was = (D->t->nodes[node].n_flags & NODE_UP) == NODE_UP;
    int f = D->t->nodes[node].n_flags & ~NODE_UP;
    if (l->ostate == O_UP)
        f |= NODE_SCONNECTED;
    if (l->ifd >= 0)
        f |= NODE_RCONNECTED;
    D->t->nodes[node].n_flags = f;
    int now = (f & NODE_UP) == NODE_UP;
    dvst_unlock(D->t);
    if (now && !was) {
        log_msg("link to node %d is up", node);
        l->logged_down = 0;
        backup_link_up(node);
    }
}

static void
link_down(int node, const char *why)
{
    struct link *l = &links[node];
    if (l->ofd >= 0) {
        epoll_ctl(D->epfd, EPOLL_CTL_DEL, l->ofd, NULL);
        close(l->ofd);
    }
    if (l->ifd >= 0) {
        epoll_ctl(D->epfd, EPOLL_CTL_DEL, l->ifd, NULL);
        close(l->ifd);
    }
    int was_up = l->ostate == O_UP || l->ifd >= 0;
    l->ofd = l->ifd = -1;
    l->oevents = 0;
    l->ostate = O_IDLE;
    l->outlen = l->in.len = l->oin.len = 0;
    l->next_dial = now_ms() + 300;
    dvst_lock(D->t);
    D->t->nodes[node].n_flags &= ~NODE_UP;
    dvsr_link_down(D->t, node);
    dvst_unlock(D->t);
    if (was_up && !l->logged_down) {
        log_msg("link to node %d is down: %s", node, why);
        l->logged_down = 1;
    }
    if (was_up)
        backup_link_down(node, l->cut);
}

static void
flush(int node)
{
    struct link *l = &links[node];
    while (l->outlen > 0 && l->ofd >= 0) {
        ssize_t k = send(l->ofd, l->out, l->outlen, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EAGAIN) {
                out_watch(node, EPOLLIN | EPOLLOUT);
                return;
            }
            if (errno == EINTR)
                continue;
            link_down(node, strerror(errno));
            return;
        }
        memmove(l->out, l->out + k, l->outlen - (size_t)k);
        l->outlen -= (size_t)k;
        l->last_tx = now_ms();
    }
    out_watch(node, EPOLLIN);
}

/* queue appends one frame to node's output (batched until flush). */
static void
queue(int node, struct wire_frame *f, const void *payload)
{
    struct link *l = &links[node];
    if (l->ostate != O_UP)
        return; /* the link-down path has failed the waiters already */
    size_t need = l->outlen + WIRE_HDR_SIZE + f->len;
    if (need > l->outcap) {
        size_t cap = l->outcap ? l->outcap : 1 << 16;
        while (cap < need)
            cap *= 2;
        unsigned char *p = realloc(l->out, cap);
        if (!p) {
            link_down(node, "out of memory");
            return;
        }
        l->out = p;
        l->outcap = cap;
    }
    f->snode = D->nodeid;
    wire_encode(f, l->out + l->outlen);
    if (f->len)
        memcpy(l->out + l->outlen + WIRE_HDR_SIZE, payload, f->len);
    l->outlen = need;
    l->sent++;
    D->t->nodes[node].n_pxsent++;
}

/* emit queues an outgoing item, reading local memory for copy data in
 * MAXCOPYBUF chunks. */
static void
emit(struct px_out *o)
{
    int node = o->f.dnode;
    if (node < 0 || node >= NR_NODES)
        return;
    if (o->read_pid <= 0) {
        o->f.len = 0;
        queue(node, &o->f, NULL);
        return;
    }
    static unsigned char chunk[WIRE_MAX_PAYLOAD];
    uint32_t off = 0;
    do {
        uint32_t n = o->read_len - off;
        if (n > WIRE_MAX_PAYLOAD)
            n = WIRE_MAX_PAYLOAD;
        struct wire_frame f = o->f;
        f.v_offset = off;
        f.len = n;
        f.flags = off + n >= o->read_len ? WF_LAST : 0;
        if (n) {
            struct iovec lv = {chunk, n};
            struct iovec rv = {(void *)(uintptr_t)(o->read_addr + off), n};
            if (process_vm_readv(o->read_pid, &lv, 1, &rv, 1, 0) != (ssize_t)n) {
                f.rcode = errno == ESRCH ? EMOLSRCDIED : EMOLMSGSIZE;
                f.len = 0;
                f.flags = WF_LAST;
                queue(node, &f, NULL);
                return;
            }
        }
        queue(node, &f, chunk);
        off += n;
    } while (off < o->read_len);
}

int
proxy_send_now(struct wire_frame *f)
{
    int node = f->dnode;
    if (node < 0 || node >= NR_NODES || !links[node].configured ||
        links[node].ostate != O_UP)
        return -1;
    f->len = 0;
    queue(node, f, NULL);
    flush(node);
    return 0;
}

static void
flush_all(void)
{
    for (int n = 0; n < NR_NODES; n++)
        if (links[n].outlen)
            flush(n);
}

void
proxy_work(void)
{
    /* Arm before looking, so work queued meanwhile rings the FIFO. */
    atomic_store(&D->t->px_armed, 1);
    int n;
    do {
        dvst_lock(D->t);
        n = dvsr_collect(D->t, outs, MAX_OUT);
        dvst_unlock(D->t);
        for (int i = 0; i < n; i++)
            emit(&outs[i]);
    } while (n == MAX_OUT);
    flush_all();
}

/* handle_frames applies every complete command read from node. All the
 * frames of one read are applied under one hold of the table lock (a
 * batch under load costs one lock round and one set of deferred wakes,
 * not one per frame); the answers are emitted after the unlock. */
static int
handle_batch(int node, struct ibuf *b, int *more)
{
    size_t off = 0;
    int rc = 0, k = 0, locked = 0;
    while (b->len - off >= WIRE_HDR_SIZE) {
        struct wire_frame f;
        const char *why;
        int d = wire_decode(b->p + off, &f, &why);
        if (d < 0 || f.snode != node || f.dnode != D->nodeid) {
            log_msg("node %d sent a malformed frame (%s): closing the link",
                    node, d < 0 ? why : "wrong node ids");
            rc = -1;
            break;
        }
        if (b->len - off < WIRE_HDR_SIZE + f.len)
            break;
        /* Room for the answers of this frame (at most two). */
        if (k > MAX_OUT - 2)
            break;
        links[node].rcvd++;
        if (f.cmd != CMD_NONE && f.cmd != CMD_HELLO) {
            if (!locked) {
                dvst_lock(D->t);
                locked = 1;
            }
            int k0 = k;
            k += dvsr_arrive(D->t, &f, b->p + off + WIRE_HDR_SIZE, outs + k,
                             MAX_OUT - k);
            /* Copy data is read from a local process after the unlock; a
             * later frame of the batch might release that process, so the
             * batch ends here and the read happens while it still sits. */
            while (k0 < k && outs[k0].read_pid <= 0)
                k0++;
            if (k0 < k) {
                off += WIRE_HDR_SIZE + f.len;
                break;
            }
        }
        off += WIRE_HDR_SIZE + f.len;
    }
    if (locked)
        dvst_unlock(D->t);
    for (int i = 0; i < k; i++)
        emit(&outs[i]);
    if (off)
        ibuf_take(b, off);
    /* A batch cut short (answers full, copy data) leaves frames. */
    *more = rc == 0 && k > 0 && b->len >= WIRE_HDR_SIZE;
    return rc;
}

static int
handle_frames(int node, struct ibuf *b)
{
    int more, rc;
    do
        rc = handle_batch(node, b, &more);
    while (more);
    return rc;
}

static void
dial(int node)
{
    struct link *l = &links[node];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)l->port)};
    if (inet_pton(AF_INET, l->host, &a.sin_addr) != 1)
        return;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
        close(fd);
        return;
    }
    l->ofd = fd;
    l->oevents = 0;
    l->ostate = O_CONNECTING;
    l->oin.len = 0;
    out_watch(node, EPOLLIN | EPOLLOUT);
}

static void
out_event(int node, unsigned events)
{
    struct link *l = &links[node];
    if (l->ofd < 0)
        return;
    if (l->ostate == O_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(l->ofd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            close(l->ofd); /* closing drops it from epoll */
            l->ofd = -1;
            l->oevents = 0;
            l->ostate = O_IDLE;
            l->next_dial = now_ms() + 300;
            return;
        }
        struct wire_frame f;
        frame_hello(&f, node, 1);
        (void)!getrandom(l->ononce, 16, 0);
        f.len = 16;
        if (send_raw(l->ofd, &f, l->ononce) < 0) {
            link_down(node, "handshake write failed");
            return;
        }
        l->ostate = O_HELLO_SENT;
        out_watch(node, EPOLLIN);
        return;
    }
    if (events & EPOLLIN) {
        if (ibuf_fill(&l->oin, l->ofd) < 0) {
            link_down(node, "connection closed by the peer");
            return;
        }
        if (l->ostate == O_HELLO_SENT && l->oin.len >= WIRE_HDR_SIZE) {
            struct wire_frame f;
            if (wire_decode(l->oin.p, &f, NULL) < 0 || f.cmd != CMD_HELLO ||
                f.len != 48) {
                link_down(node, "bad handshake reply");
                return;
            }
            if (l->oin.len < WIRE_HDR_SIZE + 48)
                return;
            const uint8_t *nl = l->oin.p + WIRE_HDR_SIZE, *mac = nl + 16;
            uint8_t want[32];
            proof('L', l->ononce, nl, D->nodeid, node, want);
            if (memcmp(want, mac, 32) != 0) {
                log_msg("node %d at %s:%d failed to prove the cluster secret: "
                        "refusing it", node, l->host, l->port);
                link_down(node, "peer not authenticated");
                return;
            }
            uint8_t mine[32];
            proof('D', nl, l->ononce, D->nodeid, node, mine);
            frame_hello(&f, node, 3);
            f.len = 32;
            if (send_raw(l->ofd, &f, mine) < 0) {
                link_down(node, "handshake write failed");
                return;
            }
            ibuf_take(&l->oin, WIRE_HDR_SIZE + 48);
            l->ostate = O_UP;
            l->last_tx = l->last_rx = now_ms();
            if (!l->reset_sent) {
                /* First connection of this daemon to the peer: whatever
                 * standbys the peer counts on here died with our
                 * predecessor (backup.c). First frame on the stream, so it
                 * is applied before anything we send later. */
                struct wire_frame r = {.cmd = CMD_BKUP_RESET, .dnode = node};
                queue(node, &r, NULL);
                flush(node);
                l->reset_sent = 1;
                if (l->ostate != O_UP)
                    return;
            }
            update_flags(node);
        }
    }
    if ((events & EPOLLOUT) && l->ostate == O_UP)
        flush(node);
}

static void
drop_pending(struct pending *p)
{
    epoll_ctl(D->epfd, EPOLL_CTL_DEL, p->fd, NULL);
    close(p->fd);
    p->fd = -1;
    p->in.len = 0;
}

static void
pending_event(struct pending *p)
{
    if (ibuf_fill(&p->in, p->fd) < 0) {
        drop_pending(p);
        return;
    }
    while (p->in.len >= WIRE_HDR_SIZE) {
        struct wire_frame f;
        if (wire_decode(p->in.p, &f, NULL) < 0 || f.cmd != CMD_HELLO ||
            f.dnode != D->nodeid || f.len > 64) {
            log_msg("refused a connection that is not a DVS node handshake");
            drop_pending(p);
            return;
        }
        if (p->in.len < WIRE_HDR_SIZE + f.len)
            return;
        const uint8_t *pl = p->in.p + WIRE_HDR_SIZE;
        int node = f.snode;
        if (f.flags == 1 && f.len == 16 && p->node < 0) {
            if (!links[node].configured || links[node].cut) {
                log_msg("refused node %d: %s", node,
                        links[node].configured ? "its link is cut"
                                               : "not a peer of this node");
                drop_pending(p);
                return;
            }
            p->node = node;
            memcpy(p->dnonce, pl, 16);
            (void)!getrandom(p->nonce, 16, 0);
            uint8_t reply[48];
            memcpy(reply, p->nonce, 16);
            proof('L', p->dnonce, p->nonce, node, D->nodeid, reply + 16);
            struct wire_frame r;
            frame_hello(&r, node, 2);
            r.len = 48;
            if (send_raw(p->fd, &r, reply) < 0) {
                drop_pending(p);
                return;
            }
        } else if (f.flags == 3 && f.len == 32 && p->node == node) {
            uint8_t want[32];
            proof('D', p->nonce, p->dnonce, node, D->nodeid, want);
            if (memcmp(want, pl, 32) != 0) {
                log_msg("refused node %d: it does not hold the cluster secret "
                        "(unauthenticated peer)", node);
                drop_pending(p);
                return;
            }
            ibuf_take(&p->in, WIRE_HDR_SIZE + f.len);
            struct link *l = &links[node];
            if (l->ifd >= 0) { /* a reconnect replaces the old one */
                epoll_ctl(D->epfd, EPOLL_CTL_DEL, l->ifd, NULL);
                close(l->ifd);
            }
            l->ifd = p->fd;
            l->in.len = 0;
            if (p->in.len) { /* frames that followed the handshake */
                ibuf_fill(&l->in, -1);
                memcpy(l->in.p, p->in.p, p->in.len);
                l->in.len = p->in.len;
            }
            l->last_rx = now_ms();
            epoll_ctl(D->epfd, EPOLL_CTL_DEL, p->fd, NULL);
            ep_add(l->ifd, PX_TAG_IN + (unsigned)node, EPOLLIN);
            p->fd = -1;
            p->in.len = 0;
            update_flags(node);
            if (handle_frames(node, &l->in) < 0)
                link_down(node, "protocol error");
            return;
        } else {
            log_msg("refused a connection: unexpected handshake step");
            drop_pending(p);
            return;
        }
        ibuf_take(&p->in, WIRE_HDR_SIZE + f.len);
    }
}

static void
in_event(int node)
{
    struct link *l = &links[node];
    if (l->ifd < 0)
        return;
    int rc = ibuf_fill(&l->in, l->ifd);
    l->last_rx = now_ms();
    if (handle_frames(node, &l->in) < 0) {
        link_down(node, "protocol error");
        return;
    }
    if (rc < 0)
        link_down(node, "connection closed by the peer");
    /* proxy_event's proxy_work flushes what the frames produced. */
}

static void
tick(void)
{
    uint64_t x;
    (void)!read(tfd, &x, sizeof(x));
    long now = now_ms();
    for (int n = 0; n < NR_NODES; n++) {
        struct link *l = &links[n];
        if (!l->configured || l->cut)
            continue;
        if (l->ostate == O_IDLE && now >= l->next_dial)
            dial(n);
        if (l->ostate == O_UP && now - l->last_tx >= KEEPALIVE_MS) {
            struct wire_frame f = {.cmd = CMD_NONE, .dnode = n};
            queue(n, &f, NULL);
            flush(n);
        }
        if (l->ifd >= 0 && now - l->last_rx > DEAD_MS)
            link_down(n, "no keepalive for 4 s");
    }
    backup_tick();
}

int
proxy_start(struct dvsd *d, const char *listen_on, const char *secret_file)
{
    D = d;
    for (int i = 0; i < MAX_PENDING; i++)
        pend[i].fd = -1;
    for (int n = 0; n < NR_NODES; n++)
        links[n].ofd = links[n].ifd = -1;
    /* The FIFO processes ring when they queue remote work. */
    char path[512];
    snprintf(path, sizeof(path), "%s/px.fifo", d->dir);
    unlink(path);
    if (mkfifo(path, 0600) < 0)
        return -1;
    fifo_fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    fifo_keep = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC); /* never EOF */
    if (fifo_fd < 0 || fifo_keep < 0)
        return -1;
    ep_add(fifo_fd, PX_TAG_FIFO, EPOLLIN);
    atomic_store(&d->t->px_armed, 1);
    if (!listen_on)
        return 0;
    int fd = open(secret_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "dvsd: cannot read the cluster secret %s: %s\n",
                secret_file, strerror(errno));
        return -1;
    }
    ssize_t k = read(fd, secret, sizeof(secret));
    close(fd);
    if (k < 16) {
        fprintf(stderr, "dvsd: the cluster secret in %s is shorter than 16 "
                        "bytes\n", secret_file);
        return -1;
    }
    secret_len = (size_t)k;
    char host[64];
    int port;
    if (sscanf(listen_on, "%63[^:]:%d", host, &port) != 2) {
        fprintf(stderr, "dvsd: --listen takes HOST:PORT, not '%s'\n", listen_on);
        return -1;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        fprintf(stderr, "dvsd: --listen needs an IPv4 address, not '%s'\n", host);
        return -1;
    }
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 32) < 0) {
        fprintf(stderr, "dvsd: cannot listen on %s: %s\n", listen_on, strerror(errno));
        return -1;
    }
    ep_add(lfd, PX_TAG_LISTEN, EPOLLIN);
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec it = {{0, 250000000}, {0, 50000000}};
    timerfd_settime(tfd, 0, &it, NULL);
    ep_add(tfd, PX_TAG_TIMER, EPOLLIN);
    return 0;
}

int
proxy_add_peer(int node, const char *hostport)
{
    struct link *l = &links[node];
    if (sscanf(hostport, "%63[^:]:%d", l->host, &l->port) != 2)
        return -1;
    l->configured = 1;
    l->ofd = l->ifd = -1;
    D->t->nodes[node].n_proxies = 1;
    D->t->nodes[node].n_flags |= NODE_ATTACHED;
    return 0;
}

void
proxy_event(unsigned tag, unsigned events)
{
    if (tag == PX_TAG_FIFO) {
        /* Drain the doorbell; the work itself is collected below. One
         * read, unless it filled the buffer: every byte is one ring. */
        char buf[256];
        while (read(fifo_fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf))
            ;
    } else if (tag == PX_TAG_LISTEN) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        for (int i = 0; i < MAX_PENDING; i++)
            if (pend[i].fd < 0) {
                pend[i].fd = fd;
                pend[i].node = -1;
                pend[i].in.len = 0;
                ep_add(fd, PX_TAG_PENDING + (unsigned)i, EPOLLIN);
                return;
            }
        close(fd);
    } else if (tag == PX_TAG_TIMER) {
        tick();
    } else if (tag >= PX_TAG_PENDING && tag < PX_TAG_PENDING + MAX_PENDING) {
        pending_event(&pend[tag - PX_TAG_PENDING]);
    } else if (tag >= PX_TAG_OUT && tag < PX_TAG_OUT + NR_NODES) {
        out_event((int)(tag - PX_TAG_OUT), events);
    } else if (tag >= PX_TAG_IN && tag < PX_TAG_IN + NR_NODES) {
        in_event((int)(tag - PX_TAG_IN));
    }
    proxy_work();
}

int
proxy_cut(int node, int cut)
{
    if (node < 0 || node >= NR_NODES || !links[node].configured)
        return EMOLBADNODEID;
    links[node].cut = cut;
    if (cut) {
        link_down(node, "cut by request");
    } else {
        links[node].next_dial = 0;
        links[node].logged_down = 0;
    }
    return OK;
}

void
proxy_links_json(struct buf *out)
{
    buf_printf(out, "{\"ok\":true,\"links\":[");
    int first = 1;
    for (int n = 0; n < NR_NODES; n++) {
        struct link *l = &links[n];
        if (!l->configured)
            continue;
        const char *state = l->cut ? "cut"
                            : (D->t->nodes[n].n_flags & NODE_UP) == NODE_UP
                                ? "up"
                                : "connecting";
        buf_printf(out,
                   "%s{\"node\":%d,\"state\":\"%s\",\"peer\":\"%s:%d\","
                   "\"sent\":%llu,\"rcvd\":%llu}",
                   first ? "" : ",", n, state, l->host, l->port,
                   (unsigned long long)l->sent, (unsigned long long)l->rcvd);
        first = 0;
    }
    buf_printf(out, "]}");
}
