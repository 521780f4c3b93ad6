/*
 * dvsd.h - the node daemon's parts (internal to dvsd).
 *
 * dvsd owns one node: it creates the shared table and the DCs, watches
 * every bound process and unbinds it when it dies, and serves the control
 * socket used by the dvs command and the extension.
 */
#ifndef DVSD_H
#define DVSD_H

#include <stddef.h>

#include "../lib/table.h"

struct dvsd {
    struct dvst_table *t;
    char dir[256];
    int nodeid;
    int epfd;
    int stopping;
};

/* log_msg writes one timestamped line to stderr (the launcher's log). */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* watch_start starts the thread that turns bind/unbind announcements into
 * readability of the returned eventfd. */
int watch_start(struct dvsd *d);
/* watch_scan opens a pidfd for every newly bound process and drops the
 * watches of unbound slots. */
void watch_scan(struct dvsd *d);
/* watch_event handles a readable pidfd: its process died. tag is what was
 * registered with epoll. */
void watch_event(struct dvsd *d, unsigned tag);
#define WATCH_TAG_BASE 0x100000u

/* A growable text buffer for JSON replies. */
struct buf {
    char *p;
    size_t len, cap;
};
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_json_string(struct buf *b, const char *s);
void buf_free(struct buf *b);

/* control_handle answers one request line into out (a single JSON line).
 * It returns 1 when the daemon must shut down after replying. */
int control_handle(struct dvsd *d, char *line, struct buf *out);
/* reply_error writes a {"ok":false,...} reply with the EMOL* name. */
void reply_error(struct buf *out, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The trace (trace.c): trace_init creates the collection timer (always_on:
 * record even without subscribers, `dvsd --trace`); trace_request answers
 * "trace ..." (w: the words after "trace"); trace_adopt takes over the
 * connection that just subscribed (ok: its reply was sent) and returns 1
 * if it did; trace_event handles the epoll tags below. */
int trace_init(struct dvsd *d, int always_on);
void trace_request(struct dvsd *d, char **w, int n, struct buf *out);
int trace_adopt(struct dvsd *d, int fd, int ok);
void trace_event(struct dvsd *d, unsigned tag);
#define TRACE_TAG_TIMER 0x80000u
#define TRACE_TAG_SUB_BASE 0x80001u /* .. + 31: subscribers */
#endif /* DVSD_H */
