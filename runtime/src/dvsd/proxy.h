/*
 * proxy.h - the node's TCP links to its peers (see proxy.c).
 */
#ifndef DVSD_PROXY_H
#define DVSD_PROXY_H

#include "dvsd.h"
#include "../lib/wire.h"

/* epoll tags owned by the proxy (main.c dispatches them to proxy_event). */
#define PX_TAG_LISTEN 0x200u
#define PX_TAG_FIFO 0x201u
#define PX_TAG_TIMER 0x202u
#define PX_TAG_PENDING 0x300u
#define PX_TAG_OUT 0x400u
#define PX_TAG_IN 0x500u
#define PX_TAG_FIRST PX_TAG_LISTEN
#define PX_TAG_LAST (PX_TAG_IN + NR_NODES)

/* proxy_start sets up the work FIFO and, with listen_on, the listener and
 * the cluster secret; < 0 after printing why. */
int proxy_start(struct dvsd *d, const char *listen_on, const char *secret_file);
/* proxy_add_peer declares node reachable at HOST:PORT; < 0 if malformed. */
int proxy_add_peer(int node, const char *hostport);
void proxy_event(unsigned tag, unsigned events);
/* proxy_work sends whatever the table has queued for the peers. */
void proxy_work(void);
/* proxy_send_now queues frame f for node f->dnode and flushes it; -1 if
 * our connection to that node is not up (the caller retries later). */
int proxy_send_now(struct wire_frame *f);
/* proxy_cut cuts (1) or restores (0) the link to node. */
int proxy_cut(int node, int cut);
void proxy_links_json(struct buf *out);
#endif
