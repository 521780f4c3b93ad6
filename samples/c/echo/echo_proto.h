/*
 * echo_proto.h - the echo sample's protocol: a TypeScript server
 * (samples/ts/echo-server.ts) and a C client (echo_client.c).
 */
#ifndef ECHO_PROTO_H
#define ECHO_PROTO_H

#define ECHO_DC 0
#define ECHO_SERVER 10 /* the TypeScript server's endpoint */
#define ECHO_CLIENT 30 /* the C client's endpoint when run by hand */

#define ECHO_REQUEST 200 /* m1_i1 sequence number, m1_i2 value */
#define ECHO_REPLY 201 /* m1_i1 same sequence number, m1_i2 value * 2 */
#endif
