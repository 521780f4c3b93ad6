/**
 * The static communication graph (`dvs/communicationGraph`): endpoints as nodes, and
 * an edge per (from, to, kind) with the message types and call sites. It also answers
 * "who sends to this endpoint?" for hover and code lens.
 */
import * as path from 'node:path';
import type { Location } from 'vscode-languageserver/node';
import type { DocState } from '../analyzer';
import type { CallFact } from '../facts';
import type { CommunicationGraph, EdgeKind, GraphEdge, GraphNode } from '../protocol';
import { type Workspace, uriToPath } from '../workspace';
import { callType, spanToRng, toRange } from './diagnostics';

export interface CallSite {
  state: DocState;
  call: CallFact;
  type?: string;
}

/**
 * A send site whose message type is worked out when asked (callType caches it per call):
 * DVS005 reads the types of other files' sites only, so opening a file does not type
 * every send of its own just to build the project's map.
 */
class Site implements CallSite {
  constructor(
    private readonly ws: Workspace,
    readonly state: DocState,
    readonly call: CallFact,
  ) {}

  get type(): string | undefined {
    return callType(this.ws, this.state, this.call);
  }
}

/** Static senders to endpoint `value` (send, sendrec, notify) in the project of `uri`. */
export function callSitesTo(ws: Workspace, value: number, uri: string): CallSite[] {
  const byDst = ws.memo(ws.configFor(uri) ?? ws, 'callSites', () => {
    const map = new Map<number, CallSite[]>();
    for (const s of ws.peers(uri)) {
      for (const [dst, sites] of fileCallSites(ws, s)) {
        const list = map.get(dst);
        if (list) list.push(...sites);
        else map.set(dst, [...sites]);
      }
    }
    return map;
  }, true);
  return byDst.get(value) ?? [];
}

/**
 * The resolved send sites of one file, cached on its analysis result: after an edit only
 * the edited file resolves its calls again; the project map is a concatenation.
 */
function fileCallSites(ws: Workspace, s: DocState): Map<number, CallSite[]> {
  return ws.memo(s, 'callSites', () => {
    const map = new Map<number, CallSite[]>();
    for (const call of ws.ipcCalls(s)) {
      if ((call.kind !== 'send' && call.kind !== 'sendrec' && call.kind !== 'notify') || !call.ep) continue;
      const r = ws.endpoint(call.ep, s.uri, s.facts, call.scope);
      if (r.value === undefined || r.special) continue;
      const list = map.get(r.value) ?? [];
      list.push(new Site(ws, s, call));
      map.set(r.value, list);
    }
    return map;
  });
}

function fileLabel(uri: string): string {
  return path.basename(uriToPath(uri));
}

export function communicationGraph(ws: Workspace, uri?: string): CommunicationGraph {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();
  const states = uri ? ws.peers(uri) : [...ws.analyzer.all()];
  const configs = uri ? [ws.configFor(uri)].filter((c) => c !== undefined) : [...ws.configs.values()];
  for (const cfg of configs) {
    for (const e of cfg.lastGood?.endpoints ?? []) {
      const span = cfg.parsed.spans.endpoints.get(e.name);
      const served = cfg.lastGood?.protocol?.types.some((t) => t.server === e.name) ?? false;
      nodes.set(e.name, {
        id: e.name,
        name: e.name,
        number: e.number,
        dc: e.dc,
        node: e.node,
        server: e.server === true || served,
        locations: span ? [{ uri: cfg.uri, range: toRange(spanToRng(cfg.text, span)) }] : [],
      });
    }
  }
  const nodeFor = (s: DocState): string[] => {
    const own = ws.ownEndpoints(s);
    if (own.length === 0) {
      const id = `file:${fileLabel(s.uri)}`;
      if (!nodes.has(id)) nodes.set(id, { id, locations: [] });
      return [id];
    }
    return own.map((o) => {
      const id = o.decl?.name ?? o.name ?? String(o.value);
      const bind = s.facts.calls.find((c) => c.kind === 'bind');
      const loc: Location | undefined = bind ? { uri: s.uri, range: toRange(bind.range) } : undefined;
      const node = nodes.get(id) ?? { id, ...(o.value !== undefined ? { number: o.value } : {}), locations: [] };
      if (loc) node.locations.push(loc);
      if (s.facts.loops.length > 0) node.server = true;
      nodes.set(id, node);
      return id;
    });
  };
  const addEdge = (from: string, to: string, kind: EdgeKind, type: string | undefined, loc: Location): void => {
    const key = `${from}\u0000${to}\u0000${kind}`;
    const e = edges.get(key) ?? { from, to, kind, types: [], locations: [] };
    if (type && !e.types.includes(type)) e.types.push(type);
    e.locations.push(loc);
    edges.set(key, e);
  };
  for (const s of states) {
    const calls = ws.ipcCalls(s).filter((c) => c.kind === 'send' || c.kind === 'sendrec' || c.kind === 'notify' || c.kind === 'reply');
    if (calls.length === 0) continue;
    const froms = nodeFor(s);
    for (const call of calls) {
      if (!call.ep) continue;
      const loc: Location = { uri: s.uri, range: toRange(call.range) };
      const type = callType(ws, s, call);
      const r = ws.endpoint(call.ep, s.uri, s.facts, call.scope);
      if (r.requester) {
        // A reply goes to whoever sent the request: every static client of this server.
        for (const own of ws.ownEndpoints(s)) {
          if (own.value === undefined) continue;
          for (const site of callSitesTo(ws, own.value, s.uri)) {
            if (site.call.kind !== 'sendrec' && site.call.kind !== 'send') continue;
            for (const to of nodeFor(site.state)) for (const from of froms) addEdge(from, to, call.kind === 'reply' ? 'reply' : (call.kind as EdgeKind), type, loc);
          }
        }
        continue;
      }
      if (r.value === undefined || r.special) continue;
      const to = r.decl?.name ?? r.name ?? String(r.value);
      if (!nodes.has(to)) nodes.set(to, { id: to, number: r.value, locations: [] });
      for (const from of froms) addEdge(from, to, call.kind as EdgeKind, type, loc);
    }
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}
