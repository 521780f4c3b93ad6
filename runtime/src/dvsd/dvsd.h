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
#endif /* DVSD_H */
