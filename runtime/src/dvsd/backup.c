/*
 * backup.c - primary/backup takeover, driven by the node daemons.
 *
 * Every node knows which nodes hold a standby of an endpoint (the slot's
 * bkup_nodes, declared with the "backup" control request; the standby's
 * own node learns it from mnx_bkupbind). When the link to the node of a
 * primary that has standbys goes down (its daemon died, or keepalives
 * stopped), each surviving node on its own:
 *   1. at once: mnx_migr_start on the endpoint, so new callers wait
 *      (WAITMIGR) instead of failing with EMOLNOTCONN;
 *   2. if the node is still unreachable TAKEOVER_MS later: picks the
 *      lowest node id among the standbys' nodes that it can reach (itself
 *      included) and commits the endpoint there: the standby's node binds
 *      the standby process (its mnx_wait4bind returns), the others point
 *      their surrogate at it. Every survivor sees the same standbys and the
 *      same dead node, so they pick the same winner without talking;
 *   3. if the link comes back first: mnx_migr_rollback, callers resume
 *      against the primary.
 * A link cut by request (`dvs link cut`) is a partition, not a death:
 * nothing is taken over then (two primaries would answer the same
 * endpoint).
 *
 * When a standby here dies, the other nodes must stop counting on it, or
 * they would pick this node for a takeover that it can only roll back:
 * backup_standby_gone remembers the death and backup_announce sends
 * BKUP_GONE (runtime/docs/wire.md) to every peer of the DC, each as soon as
 * our link to it is up. A peer unreachable at the time gets it when the
 * link comes back, unless a new standby of the endpoint was registered
 * here meanwhile (then the announcement is obsolete and dropped), or this
 * daemon itself stops first (the list is in its memory only): then the
 * daemon started here next withdraws all of this node's standbys at once,
 * with the BKUP_RESET it sends first to every peer (proxy.c).
 */
#define _GNU_SOURCE
#include <time.h>

#include "backup.h"

#include "proxy.h"

#define TAKEOVER_MS 1500
#define MAX_GONE 512

static struct dvsd *D;
/* held[dc][slot]: node+1 whose loss made us start this endpoint's
 * migration, 0 when none. */
static unsigned char held[NR_DCS][DVST_SLOTS];
static long down_since[NR_NODES];

/* Deaths of standbys here not yet announced to every peer of the DC. */
struct gone {
    int dc, nr, ep;
    uint32_t to; /* the peers still to tell */
};
static struct gone gone[MAX_GONE];
static int ngone;

static long
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
backup_init(struct dvsd *d)
{
    D = d;
}

int
backup_declare(int dcid, int ep, int node)
{
    struct dvst_table *t = D->t;
    if (dcid < 0 || dcid >= NR_DCS || !t->dcs[dcid].running)
        return EMOLBADDCID;
    if (node < 0 || node >= NR_NODES)
        return EMOLBADNODEID;
    if (!(t->dcs[dcid].usr.dc_nodes & (1UL << node)))
        return EMOLNODCNODE;
    const dc_usr_t *u = &t->dcs[dcid].usr;
    int p = _ENDPOINT_P(ep);
    if (ep == ANY || ep == NONE || p < -u->dc_nr_tasks || p >= u->dc_nr_procs)
        return EMOLRANGE;
    int rc = OK;
    dvst_lock(t);
    struct dvst_slot *s = dvst_slot(t, dcid, p);
    uint32_t f = atomic_load(&s->rts_flags);
    if ((f & SLOT_FREE) || s->endpoint != ep)
        rc = EMOLNOTBIND;
    else if (!(f & REMOTE) && s->nodeid == node)
        rc = EMOLBADNODEID; /* the primary's own node */
    else
        s->bkup_nodes |= 1u << node;
    dvst_unlock(t);
    return rc;
}

void
backup_standby_gone(int dcid, int ep)
{
    struct dvst_table *t = D->t;
    int me = t->dvs.d_nodeid;
    uint32_t to = 0;
    for (int b = 0; b < NR_NODES; b++)
        if (b != me && (t->dcs[dcid].usr.dc_nodes & (1UL << b)) &&
            t->nodes[b].n_proxies > 0)
            to |= 1u << b;
    if (!to)
        return;
    int i;
    for (i = 0; i < ngone; i++)
        if (gone[i].dc == dcid && gone[i].ep == ep)
            break;
    if (i == ngone) {
        if (ngone == MAX_GONE) {
            log_msg("endpoint %d of DC %d: too many standby deaths to announce "
                    "at once; the other nodes keep counting on this one",
                    ep, dcid);
            return;
        }
        ngone++;
    }
    gone[i] = (struct gone){dcid, _ENDPOINT_P(ep), ep, to};
}

void
backup_announce(void)
{
    struct dvst_table *t = D->t;
    for (int i = 0; i < ngone;) {
        struct gone *g = &gone[i];
        /* A standby registered here again since makes it obsolete: the
         * launcher tells the other nodes about the new one. */
        dvst_lock(t);
        struct dvst_slot *s = dvst_slot(t, g->dc, g->nr);
        int again = !(atomic_load(&s->rts_flags) & SLOT_FREE) &&
                    s->endpoint == g->ep && (s->misc_flags & MIS_RMTBACKUP);
        dvst_unlock(t);
        if (again)
            g->to = 0;
        for (int b = 0; b < NR_NODES && g->to; b++) {
            if (!(g->to & (1u << b)))
                continue;
            struct wire_frame f = {.cmd = CMD_BKUP_GONE, .dcid = g->dc,
                                   .src = NONE, .dst = g->ep, .dnode = b};
            if (proxy_send_now(&f) == 0) {
                g->to &= ~(1u << b);
                log_msg("endpoint %d of DC %d: told node %d that the standby "
                        "here is gone", g->ep, g->dc, b);
            }
        }
        if (g->to) {
            i++;
            continue;
        }
        gone[i] = gone[--ngone];
    }
}

/* for_lost calls fn on every endpoint with standbys whose primary is on
 * node (taken under the lock, acted on after: the mnx_* calls lock). */
struct victim {
    int dc, ep, nr;
    uint32_t bkup;
    pid_t standby;
};

static int
victims(int node, struct victim *v, int max, int only_held)
{
    struct dvst_table *t = D->t;
    int n = 0;
    dvst_lock(t);
    for (int dc = 0; dc < NR_DCS && n < max; dc++) {
        if (!t->dcs[dc].running)
            continue;
        for (int i = 0; i < DVST_SLOTS && n < max; i++) {
            struct dvst_slot *s = &t->slots[dc][i];
            uint32_t f = atomic_load(&s->rts_flags);
            if ((f & SLOT_FREE) || !(f & REMOTE) || s->nodeid != node)
                continue;
            /* A held endpoint stays one even if its last standby was
             * withdrawn meanwhile (BKUP_GONE): take_over must still roll
             * it back, or its callers would wait in WAITMIGR for good. */
            if (only_held ? held[dc][i] != node + 1 : !s->bkup_nodes)
                continue;
            v[n].dc = dc;
            v[n].ep = s->endpoint;
            v[n].nr = i;
            v[n].bkup = s->bkup_nodes;
            v[n].standby = (s->misc_flags & MIS_RMTBACKUP) ? s->lpid : -1;
            n++;
        }
    }
    dvst_unlock(t);
    return n;
}

static struct victim vs[NR_DCS * 8];

void
backup_link_down(int node, int cut)
{
    if (cut || down_since[node])
        return;
    int n = victims(node, vs, (int)(sizeof(vs) / sizeof(vs[0])), 0);
    if (n == 0)
        return;
    down_since[node] = now_ms();
    for (int i = 0; i < n; i++) {
        int rc = mnx_migr_start(vs[i].dc, vs[i].ep);
        if (rc == OK) {
            held[vs[i].dc][vs[i].nr] = (unsigned char)(node + 1);
            log_msg("endpoint %d of DC %d: its primary's node %d is "
                    "unreachable; holding its callers (takeover by a backup "
                    "in %d ms unless the node comes back)",
                    vs[i].ep, vs[i].dc, node, TAKEOVER_MS);
        } else {
            log_msg("endpoint %d of DC %d: cannot hold its callers: %s",
                    vs[i].ep, vs[i].dc, mnx_strerror(rc));
        }
    }
}

void
backup_link_up(int node)
{
    if (!down_since[node])
        return;
    down_since[node] = 0;
    int n = victims(node, vs, (int)(sizeof(vs) / sizeof(vs[0])), 1);
    for (int i = 0; i < n; i++) {
        held[vs[i].dc][vs[i].nr] = 0;
        int rc = mnx_migr_rollback(vs[i].dc, vs[i].ep);
        log_msg("endpoint %d of DC %d: node %d is back; %s", vs[i].ep,
                vs[i].dc, node,
                rc == OK ? "its callers resume against it" : mnx_strerror(rc));
    }
}

static void
take_over(int node)
{
    struct dvst_table *t = D->t;
    int me = t->dvs.d_nodeid;
    int n = victims(node, vs, (int)(sizeof(vs) / sizeof(vs[0])), 1);
    for (int i = 0; i < n; i++) {
        struct victim *v = &vs[i];
        held[v->dc][v->nr] = 0;
        /* The winner: the lowest standby node we can reach (or us). */
        int winner = -1;
        dvst_lock(t);
        for (int b = 0; b < NR_NODES; b++)
            if ((v->bkup & (1u << b)) && b != node &&
                (b == me || (t->nodes[b].n_flags & NODE_UP) == NODE_UP)) {
                winner = b;
                break;
            }
        dvst_unlock(t);
        int rc;
        if (winner < 0) {
            rc = mnx_migr_rollback(v->dc, v->ep);
            log_msg("endpoint %d of DC %d: no reachable backup; its primary's "
                    "node %d stays lost (%s)", v->ep, v->dc, node,
                    rc == OK ? "callers get EMOLNOTCONN" : mnx_strerror(rc));
            continue;
        }
        if (winner == me && v->standby <= 0) {
            rc = EMOLBADPID; /* our standby died meanwhile */
        } else {
            rc = mnx_migr_commit(winner == me ? v->standby : -1, v->dc, v->ep,
                                 winner);
        }
        if (rc == OK) {
            log_msg("endpoint %d of DC %d: taken over by the backup on node %d"
                    "%s (primary's node %d lost)", v->ep, v->dc, winner,
                    winner == me ? " (here)" : "", node);
        } else {
            log_msg("endpoint %d of DC %d: takeover by node %d failed: %s; "
                    "rolling back", v->ep, v->dc, winner, mnx_strerror(rc));
            mnx_migr_rollback(v->dc, v->ep);
        }
    }
}

void
backup_tick(void)
{
    long now = now_ms();
    for (int n = 0; n < NR_NODES; n++)
        if (down_since[n] && now - down_since[n] >= TAKEOVER_MS) {
            down_since[n] = 0;
            take_over(n);
        }
    if (ngone)
        backup_announce();
}
