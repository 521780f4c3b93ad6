/*
 * m3ipc.h - the public C API of DVS IPC, source-compatible with M3-IPC.
 *
 * This header is the whole contract: anything not declared here is internal
 * and unsupported. Names, argument order, special values, error names and
 * numbers and the message layout are those of the original M3-IPC kernel
 * module (Pessolani et al., CACIC 2017); the differences that user space
 * forces are listed in runtime/README.md.
 *
 * Every call returns an int: >= 0 is success (OK = 0; bind calls return the
 * endpoint), < 0 is one of the EMOL* error codes below.
 *
 * A process finds its node through the environment variable DVS_NODE (the
 * node's runtime directory, set by the launcher). Without it the default
 * node directory is used (see runtime/README.md).
 */
#ifndef M3IPC_H
#define M3IPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define M3IPC_VERSION 4
#define M3IPC_SUBVERSION 1

/* ---- Limits (the 2016 M3-IPC configuration where it applies) ---------- */
#define NR_NODES 32       /* node ids 0..31 */
#define NR_DCS 32         /* DC ids 0..31 */
#define NR_TASKS 64       /* largest nr_tasks a DC may declare */
#define NR_PROCS 1024     /* largest nr_procs a DC may declare */
#define NR_SYS_PROCS 192  /* largest nr_sysprocs a DC may declare */
#define MAXCOPYBUF 65536  /* vcopy chunk */
#define MAXCOPYLEN (16 * MAXCOPYBUF) /* 1 MiB: largest vcopy */
#define MAXPROCNAME 16

/* ---- Special endpoints and values -------------------------------------- */
#define ANY 0x7ace  /* any source: legal only as the source of receive */
#define NONE 0x6ace /* no process (shown in getfrom/sendto when idle) */
#define SELF 0x8ace /* the caller itself */
#define LOCALNODE (-1)
#define PROC_NO_PID (-1)

#define TIMEOUT_FOREVER (-1) /* _T calls: block without limit */
#define TIMEOUT_NOWAIT 0     /* _T calls: fail at once with EMOLAGAIN */

/* Notifications arrive as messages of type NOTIFY_FROM(sender slot). */
#define NOTIFY_MESSAGE 0x1000
#define NOTIFY_FROM(p_nr) (NOTIFY_MESSAGE | (p_nr))
#define IS_NOTIFY(m_type) (((m_type) & NOTIFY_MESSAGE) == NOTIFY_MESSAGE)

/* Endpoint encoding: ep = generation * _ENDPOINT_GENERATION_SIZE + p_nr.
 * System slots always use generation 0, so for them ep == p_nr. */
#define _ENDPOINT_GENERATION_SIZE (NR_TASKS + 0x8ace + 1)
#define _ENDPOINT(g, p) ((g) * _ENDPOINT_GENERATION_SIZE + (p))
#define _ENDPOINT_G(e) (((e) + NR_TASKS) / _ENDPOINT_GENERATION_SIZE)
#define _ENDPOINT_P(e) \
    ((((e) + NR_TASKS) % _ENDPOINT_GENERATION_SIZE) - NR_TASKS)

#ifndef OK
#define OK 0
#endif

/* ---- Error codes (negative; M3-IPC molerrno.h numbering) --------------- */
#define EMOLPERM (-1)
#define EMOLSRCH (-3)
#define EMOLINTR (-4)
#define EMOLAGAIN (-11)
#define EMOLNOMEM (-12)
#define EMOLBUSY (-16)
#define EMOLEXIST (-17)
#define EMOLINVAL (-22)
#define EMOLRANGE (-34)
#define EMOLDEADLK (-35)
#define EMOLNAMETOOLONG (-36)
#define EMOLNOSYS (-38)
#define EMOLTIMEDOUT (-61)
#define EMOLNOTCONN (-64)
#define EMOLSHUTDOWN (-65)
#define EMOLMSGSIZE (-73)
#define EMOLGENERIC (-99)
#define EMOLLOCKED (-101)
#define EMOLBADCALL (-102)
#define EMOLBADSRCDST (-103)
#define EMOLCALLDENIED (-104)
#define EMOLDEADSRCDST (-105)
#define EMOLNOTREADY (-106)
#define EMOLBADREQUEST (-107)
#define EMOLSRCDIED (-108)
#define EMOLDSTDIED (-109)
#define EMOLTRAPDENIED (-110)
#define EMOLDONTREPLY (-201)
#define EMOLBADNODEID (-301)
#define EMOLBADDCID (-302)
#define EMOLDCNOTRUN (-303)
#define EMOLBADPROC (-304)
#define EMOLBADPID (-305)
#define EMOLENDPOINT (-306)
#define EMOLNOPROXY (-307)
#define EMOLRMTPROC (-308)
#define EMOLLCLPROC (-309)
#define EMOLNOTBIND (-310)
#define EMOLPROXYRUN (-311)
#define EMOLACKDST (-312)
#define EMOLACKSRC (-313)
#define EMOLACKWAIT (-314)
#define EMOLNODEBUSY (-315)
#define EMOLNONODE (-316)
#define EMOLDVSBUSY (-317)
#define EMOLDVSINIT (-318)
#define EMOLNODCNODE (-319)
#define EMOLPROCRUN (-320)
#define EMOLNOMSG (-321)
#define EMOLDCRUN (-323)
#define EMOLPROCSTS (-324)
#define EMOLNODEFREE (-325)
#define EMOLDCNODE (-326)
#define EMOLBADPROXY (-327)
#define EMOLONCOPY (-328)
#define EMOLENQUEUED (-329)
#define EMOLOVERRUN (-330)
#define EMOLBADOWNER (-331)
#define EMOLMIGRATE (-332)
#define EMOLPROXYFREE (-333)
#define EMOLGRPLEADER (-334)
#define EMOLPRIVILEGES (-335)
#define EMOLBINDTYPE (-336)
#define EMOLSLOTUSED (-337)
#define EMOLBADRANGE (-338)
#define EMOLBADVALUE (-339)
#define EMOLBADDIR (-340)
#define EMOLBADFILE (-341)
#define EMOLRSCBUSY (-342)
#define EMOLNAMESIZE (-343)
#define EMOLALLOCMEM (-344)
#define EMOLPROXYID (-345)
#define EMOLREPLPROC (-346)
#define EMOLALIGN (-347)
#define EMOLWOKENUP (-348)
#define EMOLPRIMARY (-401)
#define EMOLNOREPLICA (-402)
#define EMOLRESTARTSYS (-512)

/* ---- Message (MINIX-3 layout; 48 bytes on LP64) ------------------------ */
typedef struct { int m1i1, m1i2, m1i3; char *m1p1, *m1p2, *m1p3; } mess_1;
typedef struct { int m2i1, m2i2, m2i3; long m2l1, m2l2; char *m2p1; } mess_2;
typedef struct { int m3i1, m3i2; char *m3p1; char m3ca1[14]; } mess_3;
typedef struct { long m4l1, m4l2, m4l3, m4l4, m4l5; } mess_4;
typedef struct {
    short m5c1, m5c2;
    int m5i1, m5i2;
    long m5l1, m5l2, m5l3;
} mess_5;
typedef struct { char m6ca1[sizeof(mess_3)]; } mess_6;
typedef struct { int m7i1, m7i2, m7i3, m7i4; char *m7p1, *m7p2; } mess_7;
typedef struct { int m8i1, m8i2; char *m8p1, *m8p2, *m8p3, *m8p4; } mess_8;
typedef struct { int m9i1; long m9l1; struct timespec m9t1; } mess_9;
typedef struct { int mAdst, mAnr, mAia[4]; } mess_A;

typedef struct {
    int m_source; /* always written by the runtime on delivery */
    int m_type;
    union {
        mess_1 m_m1;
        mess_2 m_m2;
        mess_3 m_m3;
        mess_4 m_m4;
        mess_5 m_m5;
        mess_6 m_m6;
        mess_7 m_m7;
        mess_8 m_m8;
        mess_9 m_m9;
        mess_A m_mA;
    } m_u;
} message;

#define m1_i1 m_u.m_m1.m1i1
#define m1_i2 m_u.m_m1.m1i2
#define m1_i3 m_u.m_m1.m1i3
#define m1_p1 m_u.m_m1.m1p1
#define m1_p2 m_u.m_m1.m1p2
#define m1_p3 m_u.m_m1.m1p3
#define m2_i1 m_u.m_m2.m2i1
#define m2_i2 m_u.m_m2.m2i2
#define m2_i3 m_u.m_m2.m2i3
#define m2_l1 m_u.m_m2.m2l1
#define m2_l2 m_u.m_m2.m2l2
#define m2_p1 m_u.m_m2.m2p1
#define m3_i1 m_u.m_m3.m3i1
#define m3_i2 m_u.m_m3.m3i2
#define m3_p1 m_u.m_m3.m3p1
#define m3_ca1 m_u.m_m3.m3ca1
#define m4_l1 m_u.m_m4.m4l1
#define m4_l2 m_u.m_m4.m4l2
#define m4_l3 m_u.m_m4.m4l3
#define m4_l4 m_u.m_m4.m4l4
#define m4_l5 m_u.m_m4.m4l5
#define m5_c1 m_u.m_m5.m5c1
#define m5_c2 m_u.m_m5.m5c2
#define m5_i1 m_u.m_m5.m5i1
#define m5_i2 m_u.m_m5.m5i2
#define m5_l1 m_u.m_m5.m5l1
#define m5_l2 m_u.m_m5.m5l2
#define m5_l3 m_u.m_m5.m5l3
#define m6_ca1 m_u.m_m6.m6ca1
#define m7_i1 m_u.m_m7.m7i1
#define m7_i2 m_u.m_m7.m7i2
#define m7_i3 m_u.m_m7.m7i3
#define m7_i4 m_u.m_m7.m7i4
#define m7_p1 m_u.m_m7.m7p1
#define m7_p2 m_u.m_m7.m7p2
#define m8_i1 m_u.m_m8.m8i1
#define m8_i2 m_u.m_m8.m8i2
#define m8_p1 m_u.m_m8.m8p1
#define m8_p2 m_u.m_m8.m8p2
#define m8_p3 m_u.m_m8.m8p3
#define m8_p4 m_u.m_m8.m8p4
#define m9_i1 m_u.m_m9.m9i1
#define m9_l1 m_u.m_m9.m9l1
#define m9_t1 m_u.m_m9.m9t1
#define mA_dst m_u.m_mA.mAdst
#define mA_nr m_u.m_mA.mAnr
#define mA_ia m_u.m_mA.mAia

/* ---- Descriptor state (p_rts_flags; runnable iff 0) -------------------- */
#define SLOT_FREE 0x1
#define NO_MAP 0x2
#define SENDING 0x4
#define RECEIVING 0x8
#define SIGNALED 0x10
#define SIG_PENDING 0x20
#define P_STOP 0x40
#define NO_PRIV 0x80
#define NO_PRIORITY 0x100
#define NO_ENDPOINT 0x200
#define ONCOPY 0x400
#define MIGRATING 0x800
#define REMOTE 0x1000
#define RMTOPER 0x2000
#define WAITMIGR 0x8000
#define WAITUNBIND 0x20000
#define WAITBIND 0x40000

/* p_misc_flags */
#define MIS_PROXY 0x1
#define MIS_CONNECTED 0x2
#define MIS_NOTIFY 0x4
#define MIS_NEEDMIG 0x8
#define MIS_RMTBACKUP 0x10
#define MIS_GRPLEADER 0x20
#define MIS_KTHREAD 0x40
#define MIS_REPLICATED 0x80
#define MIS_KILLED 0x100
#define MIS_WOKENUP 0x200
#define MIS_RCVRQST 0x10000 /* DVS IPC: blocked in rcvrqst (no notify) */

/* dc_flags */
#define DC_RUNNING 0x0

/* ---- Snapshots returned by the info calls ------------------------------ */
typedef struct {
    int d_nodeid;
    int d_nr_dcs, d_nr_nodes, d_nr_procs, d_nr_tasks, d_nr_sysprocs;
    int d_max_copybuf, d_max_copylen;
    int d_dbglvl, d_version, d_subver, d_size_proc;
    unsigned long d_flags;
    char d_name[MAXPROCNAME];
} dvs_usr_t;

typedef struct {
    int dc_dcid;
    int dc_flags;
    int dc_nr_procs, dc_nr_tasks, dc_nr_sysprocs, dc_nr_nodes;
    unsigned long dc_nodes; /* bitmap of the nodes the DC spans */
    int dc_warn2proc, dc_warnmsg;
    char dc_name[MAXPROCNAME];
    unsigned long dc_cpumask;
} dc_usr_t;

typedef struct {
    int n_nodeid;
    int n_flags;
    int n_proxies;
    unsigned long n_dcs;
    struct timespec n_stimestamp, n_rtimestamp;
    unsigned long n_pxsent, n_pxrcvd;
    char n_name[MAXPROCNAME];
} node_usr_t;

typedef struct {
    int p_nr, p_endpoint, p_dcid;
    int p_rts_flags, p_misc_flags;
    int p_lpid, p_nodeid;
    unsigned long p_nodemap;
    int p_getfrom, p_sendto, p_waitmigr, p_waitunbind, p_proxy;
    unsigned long p_lclsent, p_rmtsent, p_lclcopy, p_rmtcopy;
    char p_name[MAXPROCNAME];
    unsigned long p_cpumask;
} proc_usr_t;

/* ---- Binding ------------------------------------------------------------ */
/* mnx_bind binds the calling process (main thread) to endpoint ep of DC
 * dcid and returns ep. Errors: EMOLBADDCID, EMOLDCNOTRUN, EMOLRANGE,
 * EMOLSLOTUSED, EMOLBUSY (the process is already bound), EMOLDVSINIT. */
int mnx_bind(int dcid, int ep);
/* mnx_tbind binds the calling thread; its process must be bound to the same
 * DC first (EMOLGRPLEADER). */
int mnx_tbind(int dcid, int ep);
/* mnx_lclbind binds another local process pid (which usually waits in
 * mnx_wait4bind). */
int mnx_lclbind(int dcid, pid_t pid, int ep);
/* mnx_rmtbind declares endpoint ep of DC dcid as living on node nodeid. */
int mnx_rmtbind(int dcid, const char *name, int ep, int nodeid);
/* mnx_bkupbind registers local process pid as a standby (backup) of the
 * remote primary ep that lives on nodeid; returns ep. The slot stays REMOTE
 * (traffic goes to the primary, misc flag MIS_RMTBACKUP) and pid is not
 * bound: its mnx_wait4bind() returns only when a takeover commits ep to it
 * (mnx_migr_commit(pid, dcid, ep, <this node>), which the node daemons do
 * when the primary's node dies). If pid dies first, the slot reverts to a
 * plain surrogate. Errors: EMOLBADNODEID (nodeid is this node or out of
 * range), EMOLNODCNODE, EMOLNOPROXY, EMOLBADPID, EMOLBUSY (pid is bound or
 * a standby already), EMOLSLOTUSED (ep is local here, on another node, or
 * has a standby here already), EMOLRANGE. */
int mnx_bkupbind(int dcid, pid_t pid, int ep, int nodeid);
/* mnx_unbind: queued senders get EMOLDSTDIED, receivers from ep get
 * EMOLSRCDIED, pending notifications are dropped. */
int mnx_unbind(int dcid, int ep);
/* mnx_wait4bind blocks until a manager binds this process; returns its
 * endpoint. The _T form gives up after to_ms with EMOLTIMEDOUT. */
int mnx_wait4bind(void);
int mnx_wait4bind_T(long to_ms);
/* mnx_getep returns the endpoint of local bound process pid. */
int mnx_getep(pid_t pid);

/* ---- Message passing ----------------------------------------------------- */
int mnx_send(int dst_ep, message *m);
int mnx_receive(int src_ep, message *m);
int mnx_sendrec(int srcdst_ep, message *m);
int mnx_rcvrqst(message *m);
int mnx_reply(int dst_ep, message *m);
int mnx_notify(int dst_ep);
int mnx_send_T(int dst_ep, message *m, long to_ms);
int mnx_receive_T(int src_ep, message *m, long to_ms);
int mnx_sendrec_T(int srcdst_ep, message *m, long to_ms);
int mnx_rcvrqst_T(message *m, long to_ms);
int mnx_reply_T(int dst_ep, message *m, long to_ms);
/* mnx_ntfy_value: notify with an argument delivered in m9_l1. */
int mnx_ntfy_value(int src_nr, int dst_ep, long value);
/* mnx_vcopy copies bytes (0..MAXCOPYLEN) from src_addr in src_ep's address
 * space to dst_addr in dst_ep's. SELF names the caller. A party other than
 * the caller must be blocked receiving (typically inside sendrec), else
 * EMOLPROCSTS. */
int mnx_vcopy(int src_ep, const void *src_addr, int dst_ep, void *dst_addr,
              int bytes);
/* mnx_wakeup wakes a process blocked in receive(ANY) with EMOLWOKENUP. */
int mnx_wakeup(int dcid, int ep);

/* ---- Information ---------------------------------------------------------- */
int mnx_getdvsinfo(dvs_usr_t *dvs);
int mnx_getdcinfo(int dcid, dc_usr_t *dc);
int mnx_getnodeinfo(int nodeid, node_usr_t *node);
int mnx_getprocinfo(int dcid, int p_nr, proc_usr_t *proc);

/* ---- Administration (the node's owner only) ------------------------------- */
int mnx_dc_init(dc_usr_t *dc);
int mnx_dc_end(int dcid);
int mnx_add_node(int dcid, int nodeid);
int mnx_del_node(int dcid, int nodeid);
/* Live migration (run each step on every node of the DC; see runtime/README.md).
 * mnx_migr_start marks ep MIGRATING on this node: callers of send, sendrec
 * and notify to it wait (WAITMIGR) instead of failing, and its queue is
 * frozen. Errors: EMOLNOTBIND, EMOLMIGRATE (already migrating), EMOLONCOPY
 * and EMOLBUSY (its local process is in a copy or a remote operation: try
 * again), EMOLRANGE/EMOLENDPOINT. The owner's death while migrating keeps
 * the slot for the new home (its callers do not get EMOLSRCDIED).
 * mnx_migr_commit makes new_node ep's home: there it binds pid (which waits
 * in mnx_wait4bind), elsewhere pid is ignored (-1) and the slot becomes a
 * REMOTE surrogate for new_node. Held callers and senders queued on ep are
 * replayed to the new home; they never see EMOLMIGRATE. An old owner still
 * running is displaced: its blocked call and later calls return EMOLNOTBIND.
 * Errors: EMOLPROCSTS (not migrating), EMOLBADNODEID, EMOLNODCNODE,
 * EMOLNOPROXY, EMOLBADPID, EMOLBUSY (pid bound elsewhere), EMOLNOTBIND.
 * mnx_migr_rollback ends the migration where it was: held callers resume
 * against the old location; if the owner died meanwhile ep is unbound.
 * Errors: EMOLPROCSTS (not migrating), EMOLNOTBIND. */
int mnx_migr_start(int dcid, int ep);
int mnx_migr_commit(pid_t pid, int dcid, int ep, int new_node);
int mnx_migr_rollback(int dcid, int ep);

/* mnx_strerror returns the EMOL* name and a sentence for an error code. */
const char *mnx_strerror(int code);
/* mnx_errname returns just the name ("EMOLAGAIN"), or NULL if unknown. */
const char *mnx_errname(int code);

/* ---- Call sites for the trace ---------------------------------------------
 * The node records every IPC event while somebody watches (`dvs trace`).
 * A program compiled with -DDVS_TRACE_CALLSITES also tells it where each
 * call is in its source: the macros below turn mnx_send(d, m) into
 * mnx_send_at(d, m, __FILE__, __LINE__), and the trace shows
 * "(kv_client.c:40)". Without the define nothing changes: the plain
 * functions above are called. The _at functions may also be called
 * directly (e.g. by a language binding that knows its own call sites);
 * file is reduced to its basename (at most 47 characters are kept). */
int mnx_send_at(int dst_ep, message *m, const char *file, int line);
int mnx_receive_at(int src_ep, message *m, const char *file, int line);
int mnx_sendrec_at(int srcdst_ep, message *m, const char *file, int line);
int mnx_rcvrqst_at(message *m, const char *file, int line);
int mnx_reply_at(int dst_ep, message *m, const char *file, int line);
int mnx_notify_at(int dst_ep, const char *file, int line);
int mnx_send_T_at(int dst_ep, message *m, long to_ms, const char *file, int line);
int mnx_receive_T_at(int src_ep, message *m, long to_ms, const char *file, int line);
int mnx_sendrec_T_at(int srcdst_ep, message *m, long to_ms, const char *file, int line);
int mnx_rcvrqst_T_at(message *m, long to_ms, const char *file, int line);
int mnx_reply_T_at(int dst_ep, message *m, long to_ms, const char *file, int line);
int mnx_ntfy_value_at(int src_nr, int dst_ep, long value, const char *file, int line);
int mnx_vcopy_at(int src_ep, const void *src_addr, int dst_ep, void *dst_addr,
                 int bytes, const char *file, int line);
int mnx_bind_at(int dcid, int ep, const char *file, int line);
int mnx_unbind_at(int dcid, int ep, const char *file, int line);

#ifdef DVS_TRACE_CALLSITES
#define mnx_send(d, m) mnx_send_at((d), (m), __FILE__, __LINE__)
#define mnx_receive(s, m) mnx_receive_at((s), (m), __FILE__, __LINE__)
#define mnx_sendrec(d, m) mnx_sendrec_at((d), (m), __FILE__, __LINE__)
#define mnx_rcvrqst(m) mnx_rcvrqst_at((m), __FILE__, __LINE__)
#define mnx_reply(d, m) mnx_reply_at((d), (m), __FILE__, __LINE__)
#define mnx_notify(d) mnx_notify_at((d), __FILE__, __LINE__)
#define mnx_send_T(d, m, t) mnx_send_T_at((d), (m), (t), __FILE__, __LINE__)
#define mnx_receive_T(s, m, t) mnx_receive_T_at((s), (m), (t), __FILE__, __LINE__)
#define mnx_sendrec_T(d, m, t) mnx_sendrec_T_at((d), (m), (t), __FILE__, __LINE__)
#define mnx_rcvrqst_T(m, t) mnx_rcvrqst_T_at((m), (t), __FILE__, __LINE__)
#define mnx_reply_T(d, m, t) mnx_reply_T_at((d), (m), (t), __FILE__, __LINE__)
#define mnx_ntfy_value(s, d, v) mnx_ntfy_value_at((s), (d), (v), __FILE__, __LINE__)
#define mnx_vcopy(s, sa, d, da, n) \
    mnx_vcopy_at((s), (sa), (d), (da), (n), __FILE__, __LINE__)
#define mnx_bind(dc, ep) mnx_bind_at((dc), (ep), __FILE__, __LINE__)
#define mnx_unbind(dc, ep) mnx_unbind_at((dc), (ep), __FILE__, __LINE__)
#endif

#ifdef __cplusplus
}
#endif
#endif /* M3IPC_H */
