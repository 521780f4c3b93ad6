/* errors.c - names and texts of the EMOL* codes of m3ipc.h (errors_test
 * checks that every code in the header has its entry here). */
#include <stddef.h>

#include "m3ipc.h"

static const struct { int code; const char *name, *text; } errors[] = {
    {EMOLPERM, "EMOLPERM", "EMOLPERM: operation not permitted"},
    {EMOLSRCH, "EMOLSRCH", "EMOLSRCH: no such process"},
    {EMOLINTR, "EMOLINTR", "EMOLINTR: interrupted call"},
    {EMOLAGAIN, "EMOLAGAIN", "EMOLAGAIN: the call would block (TIMEOUT_NOWAIT)"},
    {EMOLNOMEM, "EMOLNOMEM", "EMOLNOMEM: out of memory"},
    {EMOLBUSY, "EMOLBUSY", "EMOLBUSY: resource busy"},
    {EMOLEXIST, "EMOLEXIST", "EMOLEXIST: already exists"},
    {EMOLINVAL, "EMOLINVAL", "EMOLINVAL: invalid argument"},
    {EMOLRANGE, "EMOLRANGE", "EMOLRANGE: endpoint or value out of range"},
    {EMOLDEADLK, "EMOLDEADLK", "EMOLDEADLK: deadlock avoided"},
    {EMOLNAMETOOLONG, "EMOLNAMETOOLONG", "EMOLNAMETOOLONG: name too long"},
    {EMOLNOSYS, "EMOLNOSYS", "EMOLNOSYS: call not implemented"},
    {EMOLTIMEDOUT, "EMOLTIMEDOUT", "EMOLTIMEDOUT: the timeout expired"},
    {EMOLNOTCONN, "EMOLNOTCONN", "EMOLNOTCONN: the link to the remote node is down"},
    {EMOLSHUTDOWN, "EMOLSHUTDOWN", "EMOLSHUTDOWN: the node or DC is shutting down"},
    {EMOLMSGSIZE, "EMOLMSGSIZE", "EMOLMSGSIZE: bad address or size in a copy"},
    {EMOLGENERIC, "EMOLGENERIC", "EMOLGENERIC: generic error"},
    {EMOLLOCKED, "EMOLLOCKED", "EMOLLOCKED: deadlock detected"},
    {EMOLBADCALL, "EMOLBADCALL", "EMOLBADCALL: bad call number"},
    {EMOLBADSRCDST, "EMOLBADSRCDST", "EMOLBADSRCDST: bad source or destination"},
    {EMOLCALLDENIED, "EMOLCALLDENIED", "EMOLCALLDENIED: call denied"},
    {EMOLDEADSRCDST, "EMOLDEADSRCDST", "EMOLDEADSRCDST: source or destination is not bound"},
    {EMOLNOTREADY, "EMOLNOTREADY", "EMOLNOTREADY: not ready"},
    {EMOLBADREQUEST, "EMOLBADREQUEST", "EMOLBADREQUEST: bad request"},
    {EMOLSRCDIED, "EMOLSRCDIED", "EMOLSRCDIED: the source died or was unbound"},
    {EMOLDSTDIED, "EMOLDSTDIED", "EMOLDSTDIED: the destination died or was unbound"},
    {EMOLTRAPDENIED, "EMOLTRAPDENIED", "EMOLTRAPDENIED: trap denied"},
    {EMOLDONTREPLY, "EMOLDONTREPLY", "EMOLDONTREPLY: do not reply"},
    {EMOLBADNODEID, "EMOLBADNODEID", "EMOLBADNODEID: bad node id"},
    {EMOLBADDCID, "EMOLBADDCID", "EMOLBADDCID: bad DC id"},
    {EMOLDCNOTRUN, "EMOLDCNOTRUN", "EMOLDCNOTRUN: the DC is not running"},
    {EMOLBADPROC, "EMOLBADPROC", "EMOLBADPROC: bad process"},
    {EMOLBADPID, "EMOLBADPID", "EMOLBADPID: bad pid"},
    {EMOLENDPOINT, "EMOLENDPOINT", "EMOLENDPOINT: bad endpoint (ANY/NONE, or the caller itself)"},
    {EMOLNOPROXY, "EMOLNOPROXY", "EMOLNOPROXY: no proxy for that node"},
    {EMOLRMTPROC, "EMOLRMTPROC", "EMOLRMTPROC: the process is remote"},
    {EMOLLCLPROC, "EMOLLCLPROC", "EMOLLCLPROC: the process is local"},
    {EMOLNOTBIND, "EMOLNOTBIND", "EMOLNOTBIND: not bound"},
    {EMOLPROXYRUN, "EMOLPROXYRUN", "EMOLPROXYRUN: proxy running"},
    {EMOLACKDST, "EMOLACKDST", "EMOLACKDST: acknowledge destination error"},
    {EMOLACKSRC, "EMOLACKSRC", "EMOLACKSRC: acknowledge source error"},
    {EMOLACKWAIT, "EMOLACKWAIT", "EMOLACKWAIT: waiting for an acknowledge"},
    {EMOLNODEBUSY, "EMOLNODEBUSY", "EMOLNODEBUSY: node busy"},
    {EMOLNONODE, "EMOLNONODE", "EMOLNONODE: no such node"},
    {EMOLDVSBUSY, "EMOLDVSBUSY", "EMOLDVSBUSY: DVS busy"},
    {EMOLDVSINIT, "EMOLDVSINIT", "EMOLDVSINIT: no DVS node (is dvsd running? is DVS_NODE right?)"},
    {EMOLNODCNODE, "EMOLNODCNODE", "EMOLNODCNODE: the node is not in the DC"},
    {EMOLPROCRUN, "EMOLPROCRUN", "EMOLPROCRUN: process running"},
    {EMOLNOMSG, "EMOLNOMSG", "EMOLNOMSG: no message"},
    {EMOLDCRUN, "EMOLDCRUN", "EMOLDCRUN: the DC is already running"},
    {EMOLPROCSTS, "EMOLPROCSTS", "EMOLPROCSTS: the peer is not in the required state (e.g. reply to a client not in sendrec)"},
    {EMOLNODEFREE, "EMOLNODEFREE", "EMOLNODEFREE: node free"},
    {EMOLDCNODE, "EMOLDCNODE", "EMOLDCNODE: the node is already in the DC"},
    {EMOLBADPROXY, "EMOLBADPROXY", "EMOLBADPROXY: bad proxy"},
    {EMOLONCOPY, "EMOLONCOPY", "EMOLONCOPY: in a copy"},
    {EMOLENQUEUED, "EMOLENQUEUED", "EMOLENQUEUED: enqueued"},
    {EMOLOVERRUN, "EMOLOVERRUN", "EMOLOVERRUN: notification overrun"},
    {EMOLBADOWNER, "EMOLBADOWNER", "EMOLBADOWNER: bad owner"},
    {EMOLMIGRATE, "EMOLMIGRATE", "EMOLMIGRATE: the endpoint is migrating"},
    {EMOLPROXYFREE, "EMOLPROXYFREE", "EMOLPROXYFREE: proxy free"},
    {EMOLGRPLEADER, "EMOLGRPLEADER", "EMOLGRPLEADER: the thread group leader must be bound first"},
    {EMOLPRIVILEGES, "EMOLPRIVILEGES", "EMOLPRIVILEGES: not privileged (notify needs system slots)"},
    {EMOLBINDTYPE, "EMOLBINDTYPE", "EMOLBINDTYPE: bad bind type"},
    {EMOLSLOTUSED, "EMOLSLOTUSED", "EMOLSLOTUSED: the endpoint slot is already in use"},
    {EMOLBADRANGE, "EMOLBADRANGE", "EMOLBADRANGE: bad range"},
    {EMOLBADVALUE, "EMOLBADVALUE", "EMOLBADVALUE: bad value"},
    {EMOLBADDIR, "EMOLBADDIR", "EMOLBADDIR: bad directory"},
    {EMOLBADFILE, "EMOLBADFILE", "EMOLBADFILE: bad file"},
    {EMOLRSCBUSY, "EMOLRSCBUSY", "EMOLRSCBUSY: resource busy"},
    {EMOLNAMESIZE, "EMOLNAMESIZE", "EMOLNAMESIZE: bad name size"},
    {EMOLALLOCMEM, "EMOLALLOCMEM", "EMOLALLOCMEM: memory allocation failed"},
    {EMOLPROXYID, "EMOLPROXYID", "EMOLPROXYID: bad proxy id"},
    {EMOLREPLPROC, "EMOLREPLPROC", "EMOLREPLPROC: replicated process"},
    {EMOLALIGN, "EMOLALIGN", "EMOLALIGN: bad alignment"},
    {EMOLWOKENUP, "EMOLWOKENUP", "EMOLWOKENUP: woken up by mnx_wakeup"},
    {EMOLPRIMARY, "EMOLPRIMARY", "EMOLPRIMARY: primary error"},
    {EMOLNOREPLICA, "EMOLNOREPLICA", "EMOLNOREPLICA: no replica"},
    {EMOLRESTARTSYS, "EMOLRESTARTSYS", "EMOLRESTARTSYS: interrupted by a signal"},
};

const char *
mnx_errname(int code)
{
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
        if (errors[i].code == code)
            return errors[i].name;
    return NULL;
}

const char *
mnx_strerror(int code)
{
    if (code >= 0)
        return "OK";
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
        if (errors[i].code == code)
            return errors[i].text;
    return "unknown DVS IPC error code";
}
