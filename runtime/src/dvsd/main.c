/*
 * main.c - dvsd, the node daemon: set-up, the event loop, shutdown.
 *
 * Usage: dvsd [--dir DIR] [--node-id N] [--name NAME] [--trace]
 *             [--dc ID:NAME[:NR_PROCS:NR_TASKS:NR_SYSPROCS]]...
 * It runs in the foreground (the launcher detaches it), prints one line with
 * "ready" on stderr once the node is usable, and stops on SIGTERM, SIGINT
 * or the "shutdown" control request.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dvsd.h"
#include "proxy.h"
#include "backup.h"

#define MAX_CLIENTS 64
#define CONTROL_SEND_TIMEOUT_US 500000 /* see accept_client */
#define MAX_LINE 4096
#define TAG_LISTEN 1u
#define TAG_SIGNAL 2u
#define TAG_BIND 3u
#define TAG_CLIENT_BASE 16u

struct client {
    int fd;
    int discard; /* refused an overlong line: drop input until EOF */
    size_t len;
    char in[MAX_LINE];
};

static struct client clients[MAX_CLIENTS];

void
log_msg(const char *fmt, ...)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof(when), "%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ld dvsd: ", when, ts.tv_nsec / 1000000);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: dvsd [--dir DIR] [--node-id N] [--name NAME] [--trace]\n"
            "            [--dc ID:NAME[:NR_PROCS:NR_TASKS:NR_SYSPROCS[:NODE,...]]]...\n"
            "            [--listen HOST:PORT --secret-file FILE] [--peer ID=HOST:PORT]...\n"
            "Runs one DVS IPC node in the foreground. DIR defaults to "
            "$DVS_NODE or %s.\nWithout --dc it creates DC 0 'dc0' with 64 "
            "procs, 8 tasks, 16 system slots.\n"
            "--listen/--peer connect this node to the others (TCP proxies,\n"
            "authenticated with the secret in FILE, at least 16 bytes).\n"
            "With --trace it records the IPC trace always, else only while a\n"
            "client subscribes (dvs trace).\n",
            dvst_default_node_dir());
}

static int
parse_dc(const char *spec, dc_usr_t *dc)
{
    memset(dc, 0, sizeof(*dc));
    dc->dc_nr_procs = 64;
    dc->dc_nr_tasks = 8;
    dc->dc_nr_sysprocs = 16;
    char name[64] = "", nodes[128] = "";
    int n = sscanf(spec, "%d:%63[^:]:%d:%d:%d:%127s", &dc->dc_dcid, name,
                   &dc->dc_nr_procs, &dc->dc_nr_tasks, &dc->dc_nr_sysprocs,
                   nodes);
    if (n != 2 && n != 5 && n != 6)
        return -1;
    for (char *save = NULL, *tok = strtok_r(nodes, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *end;
        long id = strtol(tok, &end, 10);
        if (*end || id < 0 || id >= NR_NODES)
            return -1;
        dc->dc_nodes |= 1UL << id;
    }
    if (strlen(name) >= MAXPROCNAME)
        return -2;
    strcpy(dc->dc_name, name);
    return 0;
}

/* make_private_dir creates dir (and its parent) 0700, or checks that an
 * existing one belongs to us and is closed to others: the table and the
 * control socket inside must not be reachable by other users. */
static int
make_private_dir(const char *dir)
{
    char parent[256];
    snprintf(parent, sizeof(parent), "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = 0;
        if (mkdir(parent, 0700) < 0 && errno != EEXIST)
            return -1;
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(dir, &st) < 0)
        return -1;
    if (st.st_uid != getuid()) {
        errno = EPERM;
        return -1;
    }
    if ((st.st_mode & 077) && chmod(dir, 0700) < 0)
        return -1;
    return 0;
}

static int
listen_control(const char *dir)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (snprintf(a.sun_path, sizeof(a.sun_path), "%s/control.sock", dir) >=
        (int)sizeof(a.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    unlink(a.sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
    umask(old);
    if (rc < 0 || chmod(a.sun_path, 0600) < 0 || listen(fd, 16) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void
add_fd(int epfd, int fd, unsigned tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void
close_client(struct dvsd *d, struct client *c)
{
    epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->len = 0;
    c->discard = 0;
}

static void
accept_client(struct dvsd *d, int lfd)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
        cred.uid != getuid()) {
        /* Only the node's owner may drive it. */
        log_msg("control: refused a connection from uid %d (pid %d)",
                (int)cred.uid, (int)cred.pid);
        const char *msg = "{\"ok\":false,\"error\":\"EMOLPERM\",\"code\":-1,"
                          "\"message\":\"only the node's owner may connect\"}\n";
        (void)!write(fd, msg, strlen(msg));
        close(fd);
        return;
    }
    /* Replies are written with blocking sends from the daemon's one loop:
     * a client that stops reading must not stall the node (deaths go
     * unhandled while the loop waits). Such a client is dropped when a
     * reply cannot be written within the timeout (send_all). */
    struct timeval tmo = {.tv_sec = 0, .tv_usec = CONTROL_SEND_TIMEOUT_US};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (clients[i].fd < 0) {
            clients[i].fd = fd;
            clients[i].len = 0;
            add_fd(d->epfd, fd, TAG_CLIENT_BASE + (unsigned)i);
            return;
        }
    }
    log_msg("control: too many clients; refusing one");
    close(fd);
}

static int
send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                log_msg("control: dropped a client that does not read its replies");
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* client_input answers every complete line; returns 1 on shutdown. */
static int
client_input(struct dvsd *d, struct client *c)
{
    if (c->discard) {
        /* Reading to EOF before closing avoids a reset that could destroy
         * the error line we sent before the client read it. */
        char junk[4096];
        if (read(c->fd, junk, sizeof(junk)) <= 0)
            close_client(d, c);
        return 0;
    }
    ssize_t k = read(c->fd, c->in + c->len, sizeof(c->in) - c->len);
    if (k <= 0) {
        close_client(d, c);
        return 0;
    }
    c->len += (size_t)k;
    int stop = 0;
    for (;;) {
        char *nl = memchr(c->in, '\n', c->len);
        if (!nl) {
            if (c->len == sizeof(c->in)) {
                const char *msg =
                    "{\"ok\":false,\"error\":\"EMOLBADREQUEST\",\"code\":-107,"
                    "\"message\":\"request line longer than 4096 bytes\"}\n";
                send_all(c->fd, msg, strlen(msg));
                shutdown(c->fd, SHUT_WR);
                c->discard = 1;
                c->len = 0;
            }
            return stop;
        }
        *nl = 0;
        struct buf out = {0};
        stop |= control_handle(d, c->in, &out);
        buf_printf(&out, "\n");
        int bad = send_all(c->fd, out.p, out.len);
        buf_free(&out);
        if (trace_adopt(d, c->fd, !bad)) { /* it subscribed to the trace */
            c->fd = -1;
            c->len = 0;
            return stop;
        }
        size_t used = (size_t)(nl + 1 - c->in);
        memmove(c->in, nl + 1, c->len - used);
        c->len -= used;
        if (bad) {
            close_client(d, c);
            return stop;
        }
    }
}

static void
shutdown_node(struct dvsd *d)
{
    struct dvst_table *t = d->t;
    dvst_lock(t);
    for (int dc = 0; dc < NR_DCS; dc++) {
        if (!t->dcs[dc].running)
            continue;
        for (int i = 0; i < DVST_SLOTS; i++)
            if (!(atomic_load(&t->slots[dc][i].rts_flags) & SLOT_FREE))
                dvst_unbind(t, &t->slots[dc][i], EMOLSHUTDOWN);
        t->dcs[dc].running = 0;
    }
    dvst_unlock(t);
    dvst_wake_all(t);
    char path[512];
    snprintf(path, sizeof(path), "%s/control.sock", d->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/table", d->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/dvsd.pid", d->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/px.fifo", d->dir);
    unlink(path);
    log_msg("node %d stopped", d->nodeid);
}

int
main(int argc, char **argv)
{
    struct dvsd d = {.nodeid = 0};
    const char *name = NULL, *listen_on = NULL, *secret_file = NULL;
    const char *peers[NR_NODES];
    int npeers = 0;
    int trace_always = 0;
    dc_usr_t dcs[NR_DCS];
    int ndcs = 0;
    snprintf(d.dir, sizeof(d.dir), "%s", dvst_default_node_dir());
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("dvsd %d.%d\n", M3IPC_VERSION, M3IPC_SUBVERSION);
            return 0;
        } else if (!strcmp(a, "--trace")) {
            trace_always = 1;
            continue;
        } else if (!v) {
            fprintf(stderr, "dvsd: %s needs a value\n", a);
            usage(stderr);
            return 2;
        } else if (!strcmp(a, "--dir")) {
            snprintf(d.dir, sizeof(d.dir), "%s", v);
        } else if (!strcmp(a, "--node-id")) {
            char *end;
            d.nodeid = (int)strtol(v, &end, 10);
            if (*end || d.nodeid < 0 || d.nodeid >= NR_NODES) {
                fprintf(stderr, "dvsd: --node-id takes 0..%d, not '%s'\n",
                        NR_NODES - 1, v);
                return 2;
            }
        } else if (!strcmp(a, "--name")) {
            name = v;
        } else if (!strcmp(a, "--listen")) {
            listen_on = v;
        } else if (!strcmp(a, "--secret-file")) {
            secret_file = v;
        } else if (!strcmp(a, "--peer")) {
            int id;
            char hp[128];
            if (npeers == NR_NODES || sscanf(v, "%d=%127s", &id, hp) != 2 ||
                id < 0 || id >= NR_NODES || !strchr(hp, ':')) {
                fprintf(stderr, "dvsd: bad --peer '%s': expected ID=HOST:PORT\n", v);
                return 2;
            }
            peers[npeers++] = v;
        } else if (!strcmp(a, "--dc")) {
            if (ndcs == NR_DCS) {
                fprintf(stderr, "dvsd: at most %d DCs\n", NR_DCS);
                return 2;
            }
            int rc = parse_dc(v, &dcs[ndcs]);
            if (rc) {
                fprintf(stderr,
                        "dvsd: bad --dc '%s': expected "
                        "ID:NAME[:NR_PROCS:NR_TASKS:NR_SYSPROCS]%s\n",
                        v, rc == -2 ? " (NAME at most 15 characters)" : "");
                return 2;
            }
            ndcs++;
        } else {
            fprintf(stderr, "dvsd: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        i++;
    }
    if (ndcs == 0)
        parse_dc("0:dc0", &dcs[ndcs++]);
    if ((listen_on || npeers) && !(listen_on && secret_file)) {
        fprintf(stderr, "dvsd: --listen, --peer and --secret-file go together\n");
        return 2;
    }
    char nodename[MAXPROCNAME];
    snprintf(nodename, sizeof(nodename), "%s", name ? name : "");
    if (!name)
        snprintf(nodename, sizeof(nodename), "node%d", d.nodeid);

    if (make_private_dir(d.dir) < 0) {
        fprintf(stderr, "dvsd: cannot use node directory %s: %s\n", d.dir,
                strerror(errno));
        return 1;
    }
    char path[512];
    snprintf(path, sizeof(path), "%s/dvsd.pid", d.dir);
    int lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
        char pid[32] = "?";
        if (lockfd >= 0)
            (void)!read(lockfd, pid, sizeof(pid) - 1);
        fprintf(stderr, "dvsd: a node is already running in %s (pid %s)\n",
                d.dir, strtok(pid, "\n") ? pid : "?");
        return 1;
    }
    (void)!ftruncate(lockfd, 0);
    dprintf(lockfd, "%d\n", (int)getpid());

    /* We hold the node's lock, so any table left here is a crashed
     * daemon's: start afresh. */
    snprintf(path, sizeof(path), "%s/table", d.dir);
    unlink(path);
    d.t = dvst_create(path, d.nodeid, nodename);
    if (!d.t) {
        fprintf(stderr, "dvsd: cannot create %s: %s\n", path, strerror(errno));
        return 1;
    }
    for (int i = 0; i < ndcs; i++) {
        int rc = dvst_dc_init(d.t, &dcs[i]);
        if (rc < 0) {
            fprintf(stderr, "dvsd: DC %d '%s': %s\n", dcs[i].dc_dcid,
                    dcs[i].dc_name, mnx_strerror(rc));
            unlink(path);
            return 1;
        }
    }
    /* The daemon's own library calls (lclbind, unbind) use this node. */
    setenv("DVS_NODE", d.dir, 1);

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
    int lfd = listen_control(d.dir);
    d.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (sfd < 0 || lfd < 0 || d.epfd < 0) {
        fprintf(stderr, "dvsd: cannot set up the control socket in %s: %s\n",
                d.dir, strerror(errno));
        unlink(path);
        return 1;
    }
    for (int i = 0; i < MAX_CLIENTS; i++)
        clients[i].fd = -1;
    add_fd(d.epfd, lfd, TAG_LISTEN);
    add_fd(d.epfd, sfd, TAG_SIGNAL);
    int bfd = watch_start(&d);
    if (bfd < 0) {
        fprintf(stderr, "dvsd: cannot start the process watcher\n");
        unlink(path);
        return 1;
    }
    add_fd(d.epfd, bfd, TAG_BIND);
    if (proxy_start(&d, listen_on, secret_file) < 0) {
        unlink(path);
        return 1;
    }
    for (int i = 0; i < npeers; i++) {
        int id = atoi(peers[i]);
        if (id == d.nodeid || proxy_add_peer(id, strchr(peers[i], '=') + 1) < 0) {
            fprintf(stderr, "dvsd: bad --peer '%s'\n", peers[i]);
            unlink(path);
            return 2;
        }
    }
    backup_init(&d);
    if (trace_init(&d, trace_always) < 0)
        log_msg("trace: cannot create its timer: %s", strerror(errno));
    log_msg("node %d (%s) ready at %s with %d DC(s)", d.nodeid, nodename,
            d.dir, ndcs);

    while (!d.stopping) {
        struct epoll_event evs[32];
        int n = epoll_wait(d.epfd, evs, 32, -1);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            unsigned tag = evs[i].data.u32;
            if (tag == TAG_LISTEN) {
                accept_client(&d, lfd);
            } else if (tag == TAG_SIGNAL) {
                struct signalfd_siginfo si;
                if (read(sfd, &si, sizeof(si)) == sizeof(si))
                    log_msg("signal %u: stopping", si.ssi_signo);
                d.stopping = 1;
            } else if (tag == TAG_BIND) {
                watch_scan(&d);
                backup_announce();
            } else if (tag >= PX_TAG_FIRST && tag < PX_TAG_LAST) {
                proxy_event(tag, evs[i].events);
            } else if (tag >= TRACE_TAG_TIMER && tag < WATCH_TAG_BASE) {
                trace_event(&d, tag);
            } else if (tag >= WATCH_TAG_BASE) {
                watch_event(&d, tag);
                backup_announce(); /* a standby's death, if it was one */
            } else if (tag >= TAG_CLIENT_BASE &&
                       tag < TAG_CLIENT_BASE + MAX_CLIENTS) {
                struct client *c = &clients[tag - TAG_CLIENT_BASE];
                if (c->fd >= 0 && client_input(&d, c)) {
                    log_msg("shutdown requested over the control socket");
                    d.stopping = 1;
                }
            }
        }
    }
    shutdown_node(&d);
    return 0;
}
