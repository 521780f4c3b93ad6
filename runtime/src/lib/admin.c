/*
 * admin.c - information snapshots and node/DC administration.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>

#include "proc.h"

int
mnx_getdvsinfo(dvs_usr_t *dvs)
{
    struct dvst_table *t = proc_table();
    if (!t)
        return EMOLDVSINIT;
    if (!dvs)
        return EMOLINVAL;
    dvst_lock(t);
    *dvs = t->dvs;
    dvst_unlock(t);
    return t->dvs.d_nodeid;
}

int
mnx_getdcinfo(int dcid, dc_usr_t *dc)
{
    struct dvst_table *t = proc_table();
    if (!t)
        return EMOLDVSINIT;
    if (!dc)
        return EMOLINVAL;
    if (dcid < 0 || dcid >= NR_DCS)
        return EMOLBADDCID;
    int rc = OK;
    dvst_lock(t);
    if (!t->dcs[dcid].running)
        rc = EMOLDCNOTRUN;
    else
        *dc = t->dcs[dcid].usr;
    dvst_unlock(t);
    return rc;
}

int
mnx_getnodeinfo(int nodeid, node_usr_t *node)
{
    struct dvst_table *t = proc_table();
    if (!t)
        return EMOLDVSINIT;
    if (!node)
        return EMOLINVAL;
    if (nodeid < 0 || nodeid >= NR_NODES)
        return EMOLBADNODEID;
    dvst_lock(t);
    *node = t->nodes[nodeid];
    dvst_unlock(t);
    return OK;
}

int
mnx_getprocinfo(int dcid, int p_nr, proc_usr_t *proc)
{
    struct dvst_table *t = proc_table();
    if (!t)
        return EMOLDVSINIT;
    if (!proc)
        return EMOLINVAL;
    if (dcid < 0 || dcid >= NR_DCS)
        return EMOLBADDCID;
    int rc = OK;
    dvst_lock(t);
    const dc_usr_t *dc = &t->dcs[dcid].usr;
    if (!t->dcs[dcid].running)
        rc = EMOLDCNOTRUN;
    else if (p_nr < -dc->dc_nr_tasks || p_nr >= dc->dc_nr_procs)
        rc = EMOLRANGE;
    else
        dvst_fill_procinfo(dvst_slot(t, dcid, p_nr), proc);
    dvst_unlock(t);
    return rc;
}

int
mnx_dc_init(dc_usr_t *dc)
{
    struct dvst_table *t = proc_table();
    if (!t)
        return EMOLDVSINIT;
    if (!dc)
        return EMOLINVAL;
    dvst_lock(t);
    int rc = dvst_dc_init(t, dc);
    if (rc == OK)
        *dc = t->dcs[dc->dc_dcid].usr;
    dvst_unlock(t);
    return rc;
}

int
mnx_dc_end(int dcid)
{
    struct dvst_table *t = proc_table();
    if (!t)
        return EMOLDVSINIT;
    if (dcid < 0 || dcid >= NR_DCS)
        return EMOLBADDCID;
    dvst_lock(t);
    if (!t->dcs[dcid].running) {
        dvst_unlock(t);
        return EMOLDCNOTRUN;
    }
    pid_t me = getpid();
    for (int i = 0; i < DVST_SLOTS; i++) {
        struct dvst_slot *s = &t->slots[dcid][i];
        if (atomic_load(&s->rts_flags) & SLOT_FREE)
            continue;
        pid_t pid = s->lpid;
        dvst_unbind(t, s, EMOLSHUTDOWN);
        /* The original tells the members with SIGPIPE. */
        if (pid > 0 && pid != me)
            kill(pid, SIGPIPE);
    }
    t->dcs[dcid].running = 0;
    t->nodes[t->dvs.d_nodeid].n_dcs &= ~(1UL << dcid);
    dvst_unlock(t);
    dvst_bump_bind_seq(t);
    return OK;
}

static int
node_in_dc(int dcid, int nodeid, int add)
{
    struct dvst_table *t = proc_table();
    if (!t)
        return EMOLDVSINIT;
    if (dcid < 0 || dcid >= NR_DCS)
        return EMOLBADDCID;
    if (nodeid < 0 || nodeid >= NR_NODES)
        return EMOLBADNODEID;
    int rc = OK;
    dvst_lock(t);
    dc_usr_t *dc = &t->dcs[dcid].usr;
    if (!t->dcs[dcid].running)
        rc = EMOLDCNOTRUN;
    else if (nodeid == t->dvs.d_nodeid && !add)
        rc = EMOLBADNODEID; /* the local node stays in its DCs */
    else if (add && (dc->dc_nodes & (1UL << nodeid)))
        rc = EMOLDCNODE;
    else if (!add && !(dc->dc_nodes & (1UL << nodeid)))
        rc = EMOLNODCNODE;
    else if (add)
        dc->dc_nodes |= 1UL << nodeid;
    else
        dc->dc_nodes &= ~(1UL << nodeid);
    dc->dc_nr_nodes = __builtin_popcountl(dc->dc_nodes);
    dvst_unlock(t);
    return rc;
}

int mnx_add_node(int dcid, int nodeid) { return node_in_dc(dcid, nodeid, 1); }
int mnx_del_node(int dcid, int nodeid) { return node_in_dc(dcid, nodeid, 0); }

/* Migration and backups: migrate.c. */
