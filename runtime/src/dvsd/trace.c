/*
 * trace.c - dvsd's side of the IPC trace: collection and push.
 *
 * The library writes events into the table's ring (src/lib/trace.h). While
 * tracing is on (at least one subscriber, or `dvsd --trace`, or the
 * "trace on" request), a timerfd fires every TICK_MS and drains the ring
 * into a bounded history (the last HISTORY_MAX events) and pushes every new
 * event as one JSON line to each subscribed control connection. The IPC
 * fast path never wakes the daemon.
 *
 * A subscriber is a control connection that sent "trace": after the reply
 * it belongs to this file (its epoll tag moves to TRACE_TAG_SUB_BASE + i).
 * Its output is buffered up to SUB_MAX_BYTES; a subscriber that falls
 * further behind gets a final {"ev":"overflow"} line and is dropped, so a
 * slow reader can never block the daemon.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "dvsd.h"

#define TICK_MS 10
#define HISTORY_MAX 100000
#define HISTORY_DEFAULT 1000
#define MAX_SUBS 32
#define SUB_MAX_BYTES (8u << 20)
#define CHUNK 1024

struct sub {
    int fd; /* -1 when free */
    struct buf out;
    size_t off;   /* bytes of out already sent */
    int want_out; /* registered for EPOLLOUT */
    int mid_line; /* the last byte sent was not a newline */
    int closing;  /* dropped: sends what is left, then closes */
};

static struct sub subs[MAX_SUBS];
static int nsubs, always, adopt_pending, timer_fd = -1;
static struct dvst_trace_event *hist; /* ring of HISTORY_MAX */
static uint64_t hist_count;           /* events ever stored */
static uint64_t cursor;               /* last seq drained */
static uint64_t lost, lost_pushed;

static void
arm(int on)
{
    struct itimerspec its = {0};
    if (on) {
        its.it_value.tv_nsec = TICK_MS * 1000000L;
        its.it_interval.tv_nsec = TICK_MS * 1000000L;
    }
    timerfd_settime(timer_fd, 0, &its, NULL);
}

static void drain(struct dvsd *d);

/* update turns recording on or off to match who is interested. */
static void
update(struct dvsd *d)
{
    int want = always || nsubs > 0;
    int was = atomic_load(&d->t->trace.enabled) != 0;
    if (want == was)
        return;
    if (want) {
        if (!hist && !(hist = calloc(HISTORY_MAX, sizeof(*hist)))) {
            log_msg("trace: no memory for the history");
            return;
        }
        /* Whatever the ring holds from before was already drained or
         * belongs to no one: start from its head. */
        cursor = atomic_load(&d->t->trace_head);
        atomic_store(&d->t->trace.enabled, 1);
        arm(1);
        log_msg("trace: recording on");
    } else {
        atomic_store(&d->t->trace.enabled, 0);
        drain(d);
        arm(0);
        log_msg("trace: recording off");
    }
}

static void
event_json(struct buf *b, const struct dvst_trace_event *e)
{
    buf_printf(b,
               "{\"seq\":%llu,\"ts\":%llu,\"lamport\":%llu,\"node\":%d,"
               "\"dc\":%d,\"op\":\"%s\",\"src\":%d,\"dst\":%d,\"type\":%d,"
               "\"bytes\":%d,\"result\":%d,\"pid\":%d,\"reply_to\":%llu",
               (unsigned long long)atomic_load_explicit(&e->seq, memory_order_relaxed),
               (unsigned long long)e->ts, (unsigned long long)e->lamport,
               e->node, e->dc, dvst_trace_op_name(e->op), e->src, e->dst,
               e->type, e->bytes, e->result, e->pid,
               (unsigned long long)e->reply_to);
    if (e->result < 0) {
        const char *n = mnx_errname(e->result);
        buf_printf(b, ",\"err\":\"%s\"", n ? n : "EMOLGENERIC");
    }
    const char *call = dvst_trace_call_name(e->call);
    if (call)
        buf_printf(b, ",\"call\":\"%s\"", call);
    if (e->file[0]) {
        char file[DVST_TRACE_FILE + 1];
        memcpy(file, e->file, DVST_TRACE_FILE);
        file[DVST_TRACE_FILE] = 0;
        buf_printf(b, ",\"file\":");
        buf_json_string(b, file);
        buf_printf(b, ",\"line\":%d", e->line);
    }
    buf_printf(b, "}");
}

static void
drop_sub(struct dvsd *d, struct sub *s)
{
    epoll_ctl(d->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    s->fd = -1;
    buf_free(&s->out);
    s->off = 0;
    s->want_out = 0;
    s->mid_line = 0;
    if (!s->closing) {
        nsubs--;
        update(d);
    }
    s->closing = 0;
}

static void
set_out_interest(struct dvsd *d, struct sub *s, int want)
{
    if (want == s->want_out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0),
                             .data.u32 = TRACE_TAG_SUB_BASE + (unsigned)(s - subs)};
    epoll_ctl(d->epfd, EPOLL_CTL_MOD, s->fd, &ev);
    s->want_out = want;
}

/* flush sends what the socket takes now; drops the subscriber on error. */
static void
flush(struct dvsd *d, struct sub *s)
{
    while (s->off < s->out.len) {
        ssize_t k = send(s->fd, s->out.p + s->off, s->out.len - s->off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (k <= 0) {
            drop_sub(d, s);
            return;
        }
        s->off += (size_t)k;
        s->mid_line = s->out.p[s->off - 1] != '\n';
    }
    if (s->off == s->out.len) {
        s->off = s->out.len = 0;
        if (s->closing) {
            drop_sub(d, s);
            return;
        }
    } else if (s->off > (1u << 20)) {
        memmove(s->out.p, s->out.p + s->off, s->out.len - s->off);
        s->out.len -= s->off;
        s->off = 0;
    }
    set_out_interest(d, s, s->out.len > 0);
}

static void
push(struct dvsd *d, const char *line, size_t len)
{
    for (int i = 0; i < MAX_SUBS; i++) {
        struct sub *s = &subs[i];
        if (s->fd < 0)
            continue;
        if (s->closing)
            continue;
        if (s->out.len - s->off + len > SUB_MAX_BYTES) {
            /* Too far behind: finish the line on the wire, say so, and
             * close once that is sent. It stops counting as a subscriber
             * now. */
            size_t end = s->off;
            char *nl = memchr(s->out.p + s->off, '\n', s->out.len - s->off);
            if (s->mid_line && nl)
                end = (size_t)(nl - s->out.p) + 1;
            log_msg("trace: dropping a subscriber that fell %zu bytes behind",
                    s->out.len - s->off);
            s->out.len = end;
            buf_printf(&s->out, "{\"ev\":\"overflow\"}\n");
            s->closing = 1;
            nsubs--;
            update(d);
            flush(d, s);
            continue;
        }
        buf_printf(&s->out, "%.*s", (int)len, line);
    }
}

static void
drain(struct dvsd *d)
{
    static struct dvst_trace_event chunk[CHUNK];
    static int draining; /* update() may call back in while we push */
    if (draining)
        return;
    draining = 1;
    /* the TSC rate gets better with every tick: the span grows */
    dvst_trace_calibrate(d->t);
    struct buf line = {0};
    for (;;) {
        uint64_t next;
        int n = dvst_trace_read(d->t, cursor, chunk, CHUNK, &next, &lost);
        cursor = next;
        if (n <= 0)
            break;
        for (int i = 0; i < n; i++) {
            if (hist)
                hist[hist_count % HISTORY_MAX] = chunk[i];
            hist_count++;
            if (nsubs > 0) {
                line.len = 0;
                event_json(&line, &chunk[i]);
                buf_printf(&line, "\n");
                push(d, line.p, line.len);
            }
        }
        if (n < CHUNK)
            break;
    }
    if (lost != lost_pushed && nsubs > 0) {
        line.len = 0;
        buf_printf(&line, "{\"ev\":\"lost\",\"lost\":%llu}\n",
                   (unsigned long long)lost);
        push(d, line.p, line.len);
        lost_pushed = lost;
    }
    buf_free(&line);
    for (int i = 0; i < MAX_SUBS; i++)
        if (subs[i].fd >= 0 && subs[i].out.len > subs[i].off)
            flush(d, &subs[i]);
    draining = 0;
}

int
trace_init(struct dvsd *d, int always_on)
{
    for (int i = 0; i < MAX_SUBS; i++)
        subs[i].fd = -1;
    timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (timer_fd < 0)
        return -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = TRACE_TAG_TIMER};
    if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, timer_fd, &ev) < 0)
        return -1;
    always = always_on;
    if (always) /* else leave the flag alone: a test may own it already */
        update(d);
    return 0;
}

void
trace_event(struct dvsd *d, unsigned tag)
{
    if (tag == TRACE_TAG_TIMER) {
        uint64_t ticks;
        (void)!read(timer_fd, &ticks, sizeof(ticks));
        drain(d);
        return;
    }
    unsigned i = tag - TRACE_TAG_SUB_BASE;
    if (i >= MAX_SUBS || subs[i].fd < 0)
        return;
    struct sub *s = &subs[i];
    char junk[512];
    ssize_t k = recv(s->fd, junk, sizeof(junk), MSG_DONTWAIT);
    if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                   errno != EINTR)) {
        drop_sub(d, s); /* the client closed: the stream ends */
        return;
    }
    /* Anything a subscriber sends is ignored; writable means flush. */
    flush(d, s);
}

int
trace_adopt(struct dvsd *d, int fd, int ok)
{
    if (!adopt_pending)
        return 0;
    adopt_pending = 0;
    if (!ok)
        return 0;
    for (int i = 0; i < MAX_SUBS; i++) {
        if (subs[i].fd >= 0)
            continue;
        struct sub *s = &subs[i];
        s->fd = fd;
        s->off = 0;
        s->want_out = 0;
        s->mid_line = 0;
        s->closing = 0;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN,
                                 .data.u32 = TRACE_TAG_SUB_BASE + (unsigned)i};
        epoll_ctl(d->epfd, EPOLL_CTL_MOD, fd, &ev);
        nsubs++;
        update(d);
        return 1;
    }
    return 0;
}

static int
free_subs(void)
{
    int n = 0;
    for (int i = 0; i < MAX_SUBS; i++)
        n += subs[i].fd < 0;
    return n;
}

static void
history_json(struct dvsd *d, long want, struct buf *out)
{
    drain(d);
    uint64_t have = hist ? (hist_count < HISTORY_MAX ? hist_count : HISTORY_MAX) : 0;
    uint64_t n = (uint64_t)want < have ? (uint64_t)want : have;
    buf_printf(out, "{\"ok\":true,\"recording\":%s,\"lost\":%llu,\"events\":[",
               atomic_load(&d->t->trace.enabled) ? "true" : "false",
               (unsigned long long)lost);
    for (uint64_t k = hist_count - n; k < hist_count; k++) {
        if (k != hist_count - n)
            buf_printf(out, ",");
        event_json(out, &hist[k % HISTORY_MAX]);
    }
    buf_printf(out, "]}");
}

void
trace_request(struct dvsd *d, char **w, int n, struct buf *out)
{
    static const char usage[] =
        "expected 'trace' (stream events), 'trace history [N]' (N from 1 "
        "to 100000, default 1000), 'trace on' or 'trace off'";
    if (n == 0) {
        if (free_subs() == 0) {
            reply_error(out, EMOLBUSY, "too many trace subscribers (%d)",
                          MAX_SUBS);
            return;
        }
        drain(d); /* what came before is history, not stream */
        adopt_pending = 1;
        buf_printf(out, "{\"ok\":true,\"streaming\":true,\"lost\":%llu}",
                   (unsigned long long)lost);
    } else if (!strcmp(w[0], "history") && n <= 2) {
        long want = HISTORY_DEFAULT;
        if (n == 2) {
            char *end;
            errno = 0;
            want = strtol(w[1], &end, 10);
            if (*end || errno || want < 1 || want > HISTORY_MAX) {
                reply_error(out, EMOLBADVALUE,
                              "trace history takes N from 1 to %d, not '%.32s'",
                              HISTORY_MAX, w[1]);
                return;
            }
        }
        history_json(d, want, out);
    } else if ((!strcmp(w[0], "on") || !strcmp(w[0], "off")) && n == 1) {
        always = w[0][1] == 'n';
        update(d);
        buf_printf(out, "{\"ok\":true,\"recording\":%s,\"clock\":\"%s\"}",
                   atomic_load(&d->t->trace.enabled) ? "true" : "false",
                   d->t->trace.tsc ? "tsc" : "monotonic");
    } else {
        reply_error(out, EMOLBADREQUEST, "bad trace request '%.64s': %s",
                      w[0], usage);
    }
}
