/**
 * The trace event and cluster status shapes the extension consumes. They mirror
 * the runtime's `TraceEvent` (runtime/src/cluster/trace.ts) and `cluster.status()`
 * (runtime/src/cluster/cluster.ts); this file holds no logic and imports only types, so
 * the webview bundle can use it too.
 */

import type { TraceEvent as RuntimeTraceEvent } from '@dvs/runtime';

export type { TraceOp } from '@dvs/runtime';

/** The runtime's event (runtime/src/cluster/trace.ts), plus message fields when recorded. */
export type TraceEvent = RuntimeTraceEvent & {
  /** Message fields, when the runtime records them (MINIX accessor → value). */
  fields?: Record<string, number>;
};

export interface LinkStatus {
  node: number;
  state: string;
  sent: number;
  rcvd: number;
}

export interface NodeStatus {
  id: number;
  name: string;
  dir: string;
  up: boolean;
  links: LinkStatus[];
  dcs: Array<{ id: number; name: string } | number>;
  procs?: unknown[];
}

export interface EndpointStatus {
  name: string;
  number: number;
  dc: number;
  node: number;
  /** running | receiving | sending | sendrec | migrating | dead | stopped | exited … */
  state: string;
  pid?: number;
  /** The state in words, e.g. "receiving from ANY", "sending to 2". */
  describe: string;
}

export interface ClusterStatus {
  name: string;
  nodes: NodeStatus[];
  endpoints: EndpointStatus[];
}

/** The protocol part of dvs.json, as the trace panel needs it. */
export interface ProtocolType {
  name: string;
  number: number;
  layout: string;
  fields?: Record<string, string>;
  reply?: string;
}

export interface EndpointDecl {
  name: string;
  number: number;
  dc: number;
  node: number;
}

export interface TraceContext {
  nodes: Array<{ id: number; name: string }>;
  dcs: Array<{ id: number; name: string }>;
  endpoints: EndpointDecl[];
  types: ProtocolType[];
}
