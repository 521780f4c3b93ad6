/*
 * control.c - the control socket's requests.
 *
 * Protocol (documented in runtime/README.md): one request per line, words
 * separated by spaces; one JSON object per line in reply, always with
 * "ok". Errors carry the EMOL* name and a sentence that says what was
 * expected. Nothing a client sends can crash the daemon or change the table
 * except through the same checks the C API applies.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dvsd.h"
#include "proxy.h"
#include "backup.h"

void
buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            abort(); /* a daemon out of memory cannot answer anyway */
        b->p = p;
        b->cap = cap;
    }
}

void
buf_json_string(struct buf *b, const char *s)
{
    buf_printf(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            buf_printf(b, "\\u%04x", c);
        else
            buf_printf(b, "%c", c);
    }
    buf_printf(b, "\"");
}

void
buf_free(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void
reply_error(struct buf *out, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const char *name = mnx_errname(code);
    buf_printf(out, "{\"ok\":false,\"error\":\"%s\",\"code\":%d,\"message\":",
               name ? name : "EMOLGENERIC", code);
    buf_json_string(out, msg);
    buf_printf(out, "}");
}

/* parse_int reads a whole decimal word; 0 on success. */
static int
parse_int(const char *s, int *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno || v < INT_MIN || v > INT_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

static const struct {
    unsigned bit;
    const char *name;
} rts_names[] = {
    {SLOT_FREE, "SLOT_FREE"}, {SENDING, "SENDING"},   {RECEIVING, "RECEIVING"},
    {ONCOPY, "ONCOPY"},       {MIGRATING, "MIGRATING"}, {REMOTE, "REMOTE"},
    {RMTOPER, "RMTOPER"},     {WAITMIGR, "WAITMIGR"},   {WAITBIND, "WAITBIND"},
};

static void
dc_json(struct buf *out, const struct dvst_dc *dc)
{
    const dc_usr_t *u = &dc->usr;
    buf_printf(out, "{\"id\":%d,\"name\":", u->dc_dcid);
    buf_json_string(out, u->dc_name);
    buf_printf(out,
               ",\"nr_procs\":%d,\"nr_tasks\":%d,\"nr_sysprocs\":%d,"
               "\"nodes\":[",
               u->dc_nr_procs, u->dc_nr_tasks, u->dc_nr_sysprocs);
    int first = 1;
    for (int n = 0; n < NR_NODES; n++)
        if (u->dc_nodes & (1UL << n)) {
            buf_printf(out, "%s%d", first ? "" : ",", n);
            first = 0;
        }
    buf_printf(out, "]}");
}

static void
do_info(struct dvsd *d, struct buf *out)
{
    struct dvst_table *t = d->t;
    dvst_lock(t);
    buf_printf(out, "{\"ok\":true,\"node\":{\"id\":%d,\"name\":",
               t->dvs.d_nodeid);
    buf_json_string(out, t->dvs.d_name);
    buf_printf(out, ",\"dir\":");
    buf_json_string(out, d->dir);
    buf_printf(out,
               ",\"pid\":%d,\"version\":\"%d.%d\",\"repairs\":%llu,"
               "\"max_copylen\":%d},\"dcs\":[",
               (int)getpid(), t->dvs.d_version, t->dvs.d_subver,
               (unsigned long long)t->repairs, t->dvs.d_max_copylen);
    int first = 1;
    for (int i = 0; i < NR_DCS; i++) {
        if (!t->dcs[i].running)
            continue;
        buf_printf(out, "%s", first ? "" : ",");
        dc_json(out, &t->dcs[i]);
        first = 0;
    }
    buf_printf(out, "]}");
    dvst_unlock(t);
}

static void
proc_json(struct buf *out, const struct dvst_slot *s)
{
    uint32_t f = atomic_load(&s->rts_flags);
    buf_printf(out,
               "{\"dc\":%d,\"nr\":%d,\"endpoint\":%d,\"pid\":%d,\"tid\":%d,"
               "\"node\":%d,\"name\":",
               s->dcid, s->nr, s->endpoint, s->lpid, s->tid, s->nodeid);
    buf_json_string(out, s->name);
    buf_printf(out, ",\"flags\":[");
    int first = 1;
    for (size_t i = 0; i < sizeof(rts_names) / sizeof(rts_names[0]); i++)
        if (f & rts_names[i].bit) {
            buf_printf(out, "%s\"%s\"", first ? "" : ",", rts_names[i].name);
            first = 0;
        }
    buf_printf(out,
               "],\"rts_flags\":%u,\"misc_flags\":%u,\"getfrom\":%d,"
               "\"sendto\":%d,\"nqueued\":%d,\"lclsent\":%llu,"
               "\"rmtsent\":%llu,\"lclcopy\":%llu,\"rmtcopy\":%llu,"
               "\"waitmigr\":%d,\"standby\":%s,\"bkup_nodes\":[",
               f, s->misc_flags, s->getfrom, s->sendto, s->nqueued,
               (unsigned long long)s->lclsent, (unsigned long long)s->rmtsent,
               (unsigned long long)s->lclcopy, (unsigned long long)s->rmtcopy,
               s->waitmigr,
               ((f & REMOTE) && (s->misc_flags & MIS_RMTBACKUP)) ? "true" : "false");
    first = 1;
    for (int n = 0; n < NR_NODES; n++)
        if (s->bkup_nodes & (1u << n)) {
            buf_printf(out, "%s%d", first ? "" : ",", n);
            first = 0;
        }
    buf_printf(out, "]}");
}

static void
do_ps(struct dvsd *d, int only_dc, struct buf *out)
{
    struct dvst_table *t = d->t;
    dvst_lock(t);
    buf_printf(out, "{\"ok\":true,\"procs\":[");
    int first = 1;
    for (int dc = 0; dc < NR_DCS; dc++) {
        if (!t->dcs[dc].running || (only_dc >= 0 && dc != only_dc))
            continue;
        for (int i = 0; i < DVST_SLOTS; i++) {
            const struct dvst_slot *s = &t->slots[dc][i];
            if (atomic_load(&s->rts_flags) & SLOT_FREE)
                continue;
            buf_printf(out, "%s", first ? "" : ",");
            proc_json(out, s);
            first = 0;
        }
    }
    buf_printf(out, "]}");
    dvst_unlock(t);
}

/* do_migrate: migrate start DC EP | commit DC EP NODE [PID] |
 * rollback DC EP. PID is the process that takes the endpoint over when
 * NODE is this node; -1 (the default) elsewhere. */
static void
do_migrate(char **w, int n, struct buf *out)
{
    int dc, ep, node = -1, pid = -1, rc;
    int start = !strcmp(w[1], "start"), commit = !strcmp(w[1], "commit"),
        rollback = !strcmp(w[1], "rollback");
    if (!(start || commit || rollback) || ((start || rollback) && n != 4) ||
        (commit && n < 5) || parse_int(w[2], &dc) || parse_int(w[3], &ep) ||
        (commit && parse_int(w[4], &node)) ||
        (commit && n == 6 && parse_int(w[5], &pid))) {
        reply_error(out, EMOLBADVALUE,
                    "usage: migrate start DC EP | migrate commit DC EP NODE "
                    "[PID] | migrate rollback DC EP (integers)");
        return;
    }
    if (start)
        rc = mnx_migr_start(dc, ep);
    else if (commit)
        rc = mnx_migr_commit(pid, dc, ep, node);
    else
        rc = mnx_migr_rollback(dc, ep);
    if (rc < 0) {
        reply_error(out, rc, "migrate %s failed: %s", w[1], mnx_strerror(rc));
        return;
    }
    log_msg("migrate %s: endpoint %d of DC %d%s%s", w[1], ep, dc,
            commit ? " now on node " : "", commit ? w[4] : "");
    buf_printf(out, "{\"ok\":true}");
}

#define MAX_WORDS 8

int
control_handle(struct dvsd *d, char *line, struct buf *out)
{
    char *w[MAX_WORDS] = {0};
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(line, " \t\r", &save); tok;
         tok = strtok_r(NULL, " \t\r", &save)) {
        if (n == MAX_WORDS) {
            reply_error(out, EMOLBADREQUEST, "too many words in the request");
            return 0;
        }
        w[n++] = tok;
    }
    int a, b, c;
    if (n == 0) {
        reply_error(out, EMOLBADREQUEST, "empty request; try 'help'");
    } else if (!strcmp(w[0], "help")) {
        buf_printf(out, "{\"ok\":true,\"requests\":[\"info\",\"ps [DC]\","
                        "\"lclbind DC PID EP\",\"unbind DC EP\","
                        "\"wakeup DC EP\",\"rmtbind DC EP NODE [NAME]\","
                        "\"migrate start DC EP\","
                        "\"migrate commit DC EP NODE [PID]\","
                        "\"migrate rollback DC EP\","
                        "\"bkupbind DC PID EP NODE\",\"backup DC EP NODE\","
                        "\"links\",\"link cut|restore NODE\",\"trace\","
                        "\"trace history [N]\",\"trace on\",\"trace off\","
                        "\"shutdown\",\"help\"]}");
    } else if (!strcmp(w[0], "info") && n == 1) {
        do_info(d, out);
    } else if (!strcmp(w[0], "ps") && n <= 2) {
        if (n == 2 && (parse_int(w[1], &a) || a < 0 || a >= NR_DCS))
            reply_error(out, EMOLBADDCID, "ps takes a DC id from 0 to %d",
                        NR_DCS - 1);
        else
            do_ps(d, n == 2 ? a : -1, out);
    } else if (!strcmp(w[0], "lclbind") && n == 4) {
        if (parse_int(w[1], &a) || parse_int(w[2], &b) || parse_int(w[3], &c))
            reply_error(out, EMOLBADVALUE, "usage: lclbind DC PID EP (integers)");
        else if ((c = mnx_lclbind(a, b, c)) < 0)
            reply_error(out, c, "lclbind failed: %s", mnx_strerror(c));
        else
            buf_printf(out, "{\"ok\":true,\"endpoint\":%d}", c);
    } else if ((!strcmp(w[0], "unbind") || !strcmp(w[0], "wakeup")) && n == 3) {
        int wake = w[0][0] == 'w';
        if (parse_int(w[1], &a) || parse_int(w[2], &b))
            reply_error(out, EMOLBADVALUE, "usage: %s DC EP (integers)", w[0]);
        else if ((c = wake ? mnx_wakeup(a, b) : mnx_unbind(a, b)) < 0)
            reply_error(out, c, "%s failed: %s", w[0], mnx_strerror(c));
        else
            buf_printf(out, "{\"ok\":true}");
    } else if (!strcmp(w[0], "rmtbind") && (n == 4 || n == 5)) {
        if (parse_int(w[1], &a) || parse_int(w[2], &b) || parse_int(w[3], &c))
            reply_error(out, EMOLBADVALUE,
                        "usage: rmtbind DC EP NODE [NAME] (integers, name up to 15)");
        else if ((c = mnx_rmtbind(a, n == 5 ? w[4] : "remote", b, c)) < 0)
            reply_error(out, c, "rmtbind failed: %s", mnx_strerror(c));
        else
            buf_printf(out, "{\"ok\":true,\"endpoint\":%d}", c);
    } else if (!strcmp(w[0], "migrate") && n >= 4 && n <= 6) {
        do_migrate(w, n, out);
    } else if (!strcmp(w[0], "bkupbind") && n == 5) {
        int e;
        if (parse_int(w[1], &a) || parse_int(w[2], &b) || parse_int(w[3], &c) ||
            parse_int(w[4], &e))
            reply_error(out, EMOLBADVALUE,
                        "usage: bkupbind DC PID EP NODE (integers; NODE: the primary's)");
        else if ((c = mnx_bkupbind(a, b, c, e)) < 0)
            reply_error(out, c, "bkupbind failed: %s", mnx_strerror(c));
        else
            buf_printf(out, "{\"ok\":true,\"endpoint\":%d}", c);
    } else if (!strcmp(w[0], "backup") && n == 4) {
        if (parse_int(w[1], &a) || parse_int(w[2], &b) || parse_int(w[3], &c))
            reply_error(out, EMOLBADVALUE,
                        "usage: backup DC EP NODE (integers; NODE holds a standby)");
        else if ((c = backup_declare(a, b, c)) < 0)
            reply_error(out, c, "backup failed: %s", mnx_strerror(c));
        else
            buf_printf(out, "{\"ok\":true}");
    } else if (!strcmp(w[0], "links") && n == 1) {
        proxy_links_json(out);
    } else if (!strcmp(w[0], "link") && n == 3 &&
               (!strcmp(w[1], "cut") || !strcmp(w[1], "restore"))) {
        if (parse_int(w[2], &a))
            reply_error(out, EMOLBADVALUE, "usage: link cut|restore NODE");
        else if ((c = proxy_cut(a, w[1][0] == 'c')) < 0)
            reply_error(out, c, "node %d is not a peer of this node", a);
        else
            buf_printf(out, "{\"ok\":true}");
    } else if (!strcmp(w[0], "trace")) {
        trace_request(d, w + 1, n - 1, out);
    } else if (!strcmp(w[0], "shutdown") && n == 1) {
        buf_printf(out, "{\"ok\":true}");
        return 1;
    } else {
        reply_error(out, EMOLBADREQUEST,
                    "unknown request '%.64s' with %d argument(s); expected one "
                    "of: info, ps [DC], lclbind DC PID EP, unbind DC EP, "
                    "wakeup DC EP, rmtbind DC EP NODE [NAME], "
                    "migrate start|commit|rollback DC EP [NODE [PID]], "
                    "bkupbind DC PID EP NODE, backup DC EP NODE, links, "
                    "link cut|restore NODE, trace [history [N]|on|off], "
                    "shutdown, help",
                    w[0], n - 1);
    }
    return 0;
}
