/**
 * Every custom LSP method of the DVS language server, in one place. The VS Code
 * extension imports this file (it depends only on vscode-languageserver-protocol
 * types), so both sides agree on names and shapes at compile time.
 */
import { NotificationType, RequestType } from 'vscode-languageserver-protocol';
import type { Location } from 'vscode-languageserver-protocol';

export type EdgeKind = 'send' | 'sendrec' | 'notify' | 'reply';

export interface GraphNode {
  /** Endpoint name when known (dvs.json or constant), else the number as text. */
  id: string;
  name?: string;
  number?: number;
  dc?: number;
  node?: number;
  server?: boolean;
  /** Where the endpoint is declared (dvs.json entry or constant) or bound. */
  locations: Location[];
}

export interface GraphEdge {
  from: string;
  to: string;
  kind: EdgeKind;
  /** Message type names (or expressions) carried on this edge. */
  types: string[];
  /** The call sites. */
  locations: Location[];
}

export interface CommunicationGraphParams {
  /** Limit to the project of this document (its dvs.json); all projects when omitted. */
  uri?: string;
}

export interface CommunicationGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** `dvs/communicationGraph`: the static graph of who may send what to whom. */
export const CommunicationGraphRequest = new RequestType<CommunicationGraphParams, CommunicationGraph, void>('dvs/communicationGraph');

export type EndpointLiveState = 'running' | 'receiving' | 'sending' | 'migrating' | 'dead' | 'stopped' | string;

export interface LiveStatsParams {
  /** Endpoint name (as in dvs.json) or number as text. */
  endpoint: string;
  sent: number;
  received: number;
  /** Median round-trip latency in microseconds. */
  p50Us: number;
  state: EndpointLiveState;
}

/** `dvs/liveStats`: live figures from a running cluster, pushed by the extension. */
export const LiveStatsNotification = new NotificationType<LiveStatsParams>('dvs/liveStats');

export interface IndexedParams {
  files: number;
  configs: number;
  durationMs: number;
}

/** `dvs/indexed`: the server finished indexing the workspace (sent once per scan). */
export const IndexedNotification = new NotificationType<IndexedParams>('dvs/indexed');
