/**
 * The IPC trace of a node: live subscription, history, causal merge of
 * several nodes' streams, a human formatter and the exporters (Chrome
 * trace-event JSON for Perfetto, JSON lines).
 *
 * Protocol (runtime/README.md, "Trace"): the control request `trace` is
 * answered with `{"ok":true,"streaming":true,"lost":N}` and then the daemon
 * pushes one JSON event per line until the client closes the connection;
 * `trace history [N]` answers `{"ok":true,"events":[...]}`. Lines with an
 * `ev` key are stream notices, not events: `{"ev":"lost","lost":N}` (the
 * ring overran, N in total) and `{"ev":"overflow"}` (this subscriber fell
 * too far behind and was dropped).
 */
import * as net from 'node:net';

import { ANY, ControlError, NodeNotRunningError, NONE, controlSocketPath, request } from './control';

export type TraceOp =
  | 'send'
  | 'sendrec'
  | 'reply'
  | 'notify'
  | 'vcopy'
  | 'bind'
  | 'unbind'
  | 'error'
  | 'timeout'
  /** migration of endpoint src (migr_commit: dst is its new node) */
  | 'migr_start'
  | 'migr_commit'
  | 'migr_rollback';

/** One recorded IPC event (the daemon's JSON shape; fixed). */
export interface TraceEvent {
  /** 1, 2, ... per node */
  seq: number;
  /** CLOCK_MONOTONIC of the node, ns */
  ts: number;
  /** Lamport clock: orders events causally across nodes */
  lamport: number;
  node: number;
  dc: number;
  op: TraceOp;
  /** the true sender (messages), the caller (others) */
  src: number;
  /** the receiver (messages), the peer argument (error/timeout), NONE for bind/unbind */
  dst: number;
  /** m_type (messages) */
  type: number;
  bytes: number;
  result: number;
  pid: number;
  /** seq of the sendrec request a reply answers, else 0 */
  reply_to: number;
  /** EMOL* name when result < 0 */
  err?: string;
  /** the call that failed (error/timeout events) */
  call?: string;
  file?: string;
  line?: number;
}

/** A message type of dvs.json's `protocol.types`. */
export interface ProtocolType {
  name: string;
  number: number;
  layout?: string;
  fields?: Record<string, string>;
  reply?: string;
}

export interface TraceSubscription {
  /** The daemon's count of events lost (ring overruns) when we subscribed. */
  readonly lostAtStart: Promise<number>;
  /** Stop receiving: closes the connection. */
  close(): void;
}

const MESSAGE_OPS: ReadonlySet<string> = new Set(['send', 'sendrec', 'reply', 'notify']);

/**
 * subscribeTrace streams a node's events as the daemon pushes them (no
 * polling). onError is called once when the stream ends for any reason
 * other than close(): the node stopped, it dropped us for falling behind
 * (message says so), or the connection failed. It does not reconnect.
 */
export function subscribeTrace(
  dir: string,
  onEvent: (e: TraceEvent) => void,
  onError?: (err: Error) => void,
  onLost?: (lost: number) => void,
): TraceSubscription {
  const sock = net.createConnection(controlSocketPath(dir));
  let buf = '';
  let answered = false;
  let closed = false;
  let ended = false;
  let resolveLost!: (n: number) => void;
  let rejectLost!: (e: Error) => void;
  const lostAtStart = new Promise<number>((res, rej) => {
    resolveLost = res;
    rejectLost = rej;
  });
  lostAtStart.catch(() => undefined);
  const end = (err: Error) => {
    if (ended) return;
    ended = true;
    if (!answered) rejectLost(err);
    sock.destroy();
    if (!closed) onError?.(err);
  };
  sock.setEncoding('utf8');
  sock.on('connect', () => sock.write('trace\n'));
  sock.on('data', (chunk: string) => {
    buf += chunk;
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const line of lines) {
      if (!line) continue;
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line) as Record<string, unknown>;
      } catch {
        end(new Error(`node in ${dir} sent a malformed trace line: ${line.slice(0, 200)}`));
        return;
      }
      if (!answered) {
        answered = true;
        if (obj['ok'] !== true) {
          const e = new ControlError(String(obj['error'] ?? 'EMOLGENERIC'), Number(obj['code'] ?? -99), String(obj['message'] ?? 'trace refused'));
          rejectLost(e);
          end(e);
          return;
        }
        resolveLost(Number(obj['lost'] ?? 0));
        continue;
      }
      if (obj['ev'] === 'overflow') {
        end(new Error(`node in ${dir} dropped this trace subscriber: it fell too far behind`));
        return;
      }
      if (obj['ev'] === 'lost') {
        onLost?.(Number(obj['lost']));
        continue;
      }
      if (closed) return;
      onEvent(obj as unknown as TraceEvent);
    }
  });
  sock.on('error', (err: NodeJS.ErrnoException) => {
    end(err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? new NodeNotRunningError(dir, err.code) : err);
  });
  sock.on('close', () => end(new Error(`the trace stream of the node in ${dir} ended (the node stopped?)`)));
  return {
    lostAtStart,
    close() {
      closed = true;
      sock.destroy();
    },
  };
}

/** traceHistory returns the last n (1..100000) events the daemon keeps. */
export async function traceHistory(dir: string, n = 1000): Promise<TraceEvent[]> {
  const r = await request(dir, `trace history ${n}`, 30000);
  return r['events'] as TraceEvent[];
}

/** traceRecording turns "always record" on or off (`dvsd --trace`). */
export async function traceRecording(dir: string, on: boolean): Promise<boolean> {
  const r = await request(dir, on ? 'trace on' : 'trace off');
  return r['recording'] === true;
}

/** mergeByCausality orders several nodes' events: Lamport, then node, then seq. */
export function mergeByCausality(events: TraceEvent[]): TraceEvent[] {
  return [...events].sort((a, b) => a.lamport - b.lamport || a.node - b.node || a.seq - b.seq);
}

function protocolMap(protocol?: ProtocolType[]): Map<number, ProtocolType> {
  return new Map((protocol ?? []).map((t) => [t.number, t]));
}

/** typeName names a message type: the protocol's name, NOTIFY(n), or the number. */
export function typeName(type: number, protocol?: ProtocolType[] | Map<number, ProtocolType>): string {
  const map = protocol instanceof Map ? protocol : protocolMap(protocol);
  const t = map.get(type);
  if (t) return t.name;
  if ((type & 0x1000) === 0x1000) return `NOTIFY(${type & 0xfff})`;
  return String(type);
}

function epName(ep: number): string {
  if (ep === ANY) return 'ANY';
  if (ep === NONE) return '-';
  return String(ep);
}

/* Microseconds to add to a node's monotonic clock to get the wall clock;
 * 0 shows the monotonic time itself (since the machine booted). */
let wallOffsetUs = 0;

/**
 * showWallClock makes formatEvent print events at their time of day. The
 * daemons stamp events with CLOCK_MONOTONIC, which Node's hrtime also reads,
 * so the offset is exact for nodes on this machine.
 */
export function showWallClock(): void {
  wallOffsetUs = Date.now() * 1000 - Number(process.hrtime.bigint() / 1000n);
}

function clock(ts: number): string {
  const us = Math.floor(ts / 1000) + wallOffsetUs;
  let s = Math.floor(us / 1e6);
  if (wallOffsetUs) {
    const d = new Date(s * 1000);
    s = d.getHours() * 3600 + d.getMinutes() * 60 + d.getSeconds();
  }
  const hh = String(Math.floor(s / 3600) % 24).padStart(2, '0');
  const mm = String(Math.floor(s / 60) % 60).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `${hh}:${mm}:${ss}.${String(us % 1e6).padStart(6, '0')}`;
}

/**
 * formatEvent renders one event for people, e.g.
 * `12:00:01.234567 node0 dc0  20 -> 1  sendrec KV_GET  (kv_client.c:40)`.
 */
export function formatEvent(e: TraceEvent, protocol?: ProtocolType[] | Map<number, ProtocolType>): string {
  const map = protocol instanceof Map ? protocol : protocolMap(protocol);
  let what: string;
  if (MESSAGE_OPS.has(e.op)) {
    what = `${e.op} ${typeName(e.type, map)}`;
    if (e.op === 'reply' && e.reply_to) what += ` (to #${e.reply_to})`;
  } else if (e.op === 'vcopy') {
    what = `vcopy ${e.bytes} bytes`;
  } else if (e.op === 'error' || e.op === 'timeout') {
    what = `${e.op} ${e.call ?? '?'} ${e.err ?? e.result}`;
  } else if (e.op === 'unbind' && e.result < 0) {
    what = `unbind ${e.err ?? e.result}`;
  } else if (e.op === 'migr_start' || e.op === 'migr_commit' || e.op === 'migr_rollback') {
    what = `${e.op} of ${epName(e.src)}${e.op === 'migr_commit' ? ` to node${e.dst}` : ''}${e.result < 0 ? ` ${e.err ?? e.result}` : ''}`;
    const site = e.file ? `  (${e.file}:${e.line ?? 0})` : '';
    return `${clock(e.ts)} node${e.node} dc${e.dc} ${epName(e.src).padStart(4)} -> ${'-'.padEnd(4)} ${what}${site}`;
  } else {
    what = e.op;
  }
  const site = e.file ? `  (${e.file}:${e.line ?? 0})` : '';
  const route = `${epName(e.src).padStart(4)} -> ${epName(e.dst).padEnd(4)}`;
  return `${clock(e.ts)} node${e.node} dc${e.dc} ${route} ${what}${site}`;
}

/** toJsonLines: one event per line (the daemon's own shape). */
export function toJsonLines(events: TraceEvent[]): string {
  return events.map((e) => JSON.stringify(e)).join('\n') + (events.length ? '\n' : '');
}

/** fromJsonLines reads what toJsonLines wrote (blank lines are skipped). */
export function fromJsonLines(text: string): TraceEvent[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as TraceEvent);
}

interface ChromeEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  id?: number;
  cat?: string;
  bp?: string;
  s?: string;
  args?: Record<string, unknown>;
}

/**
 * toChromeTrace builds Chrome trace-event JSON (opens in Perfetto and
 * chrome://tracing): one process per node, one thread lane per endpoint
 * (tid = DC * 1000000 + endpoint + 1000, named "dcD ep E"). Every message
 * is an "X" slice on the sender's lane plus a flow ("s" on the sender's
 * lane, "f" on the receiver's, same id) so arrows join the lanes; a
 * sendrec request and its reply are separate flows (categories "sendrec"
 * and "reply"). Other events are instants ("i") on the caller's lane.
 * Timestamps are µs of the node's monotonic clock.
 */
export function toChromeTrace(events: TraceEvent[], protocol?: ProtocolType[]): { traceEvents: ChromeEvent[]; displayTimeUnit: string } {
  const map = protocolMap(protocol);
  const out: ChromeEvent[] = [];
  const nodes = new Set<number>();
  const lanes = new Map<string, { pid: number; tid: number; name: string }>();
  const lane = (node: number, dc: number, ep: number) => {
    const tid = dc * 1000000 + ep + 1000;
    const key = `${node}/${tid}`;
    if (!lanes.has(key)) lanes.set(key, { pid: node, tid, name: `dc${dc} ep ${epName(ep)}` });
    nodes.add(node);
    return tid;
  };
  let flowId = 1;
  for (const e of events) {
    const ts = e.ts / 1000;
    const args: Record<string, unknown> = { seq: e.seq, lamport: e.lamport, src: e.src, dst: e.dst, pid: e.pid };
    if (e.file) args['site'] = `${e.file}:${e.line ?? 0}`;
    if (e.reply_to) args['reply_to'] = e.reply_to;
    if (e.result < 0) args['err'] = e.err ?? e.result;
    if (MESSAGE_OPS.has(e.op)) {
      const from = lane(e.node, e.dc, e.src);
      const to = lane(e.node, e.dc, e.dst);
      const name = `${e.op} ${typeName(e.type, map)}`;
      args['type'] = e.type;
      out.push({ name, cat: e.op, ph: 'X', pid: e.node, tid: from, ts, dur: 1, args });
      const id = flowId++;
      out.push({ name, cat: e.op, ph: 's', id, pid: e.node, tid: from, ts });
      out.push({ name, cat: e.op, ph: 'f', bp: 'e', id, pid: e.node, tid: to, ts: ts + 0.5 });
      out.push({ name, cat: e.op, ph: 'X', pid: e.node, tid: to, ts: ts + 0.5, dur: 0.5, args: { seq: e.seq, received_from: e.src } });
    } else {
      const tid = lane(e.node, e.dc, e.src);
      const name = e.op === 'error' || e.op === 'timeout' ? `${e.op} ${e.call ?? ''} ${e.err ?? e.result}` : e.op === 'vcopy' ? `vcopy ${e.bytes} B` : e.op;
      if (e.op === 'vcopy') args['bytes'] = e.bytes;
      out.push({ name, cat: e.op, ph: 'i', s: 't', pid: e.node, tid, ts, args });
    }
  }
  const meta: ChromeEvent[] = [];
  for (const n of [...nodes].sort((a, b) => a - b)) {
    meta.push({ name: 'process_name', ph: 'M', pid: n, tid: 0, args: { name: `node${n}` } });
    meta.push({ name: 'process_sort_index', ph: 'M', pid: n, tid: 0, args: { sort_index: n } });
  }
  for (const l of lanes.values()) {
    meta.push({ name: 'thread_name', ph: 'M', pid: l.pid, tid: l.tid, args: { name: l.name } });
    meta.push({ name: 'thread_sort_index', ph: 'M', pid: l.pid, tid: l.tid, args: { sort_index: l.tid } });
  }
  return { traceEvents: [...meta, ...out], displayTimeUnit: 'ns' };
}

/** A parsed `--filter` expression: words joined by AND. */
export type TraceFilter = (e: TraceEvent) => boolean;

/**
 * parseFilter reads `op=send,reply ep=20 type=KV_GET node=0 dc=0 errors`
 * (space separated terms, all must hold; a term's values are ORed; ep
 * matches src or dst; type takes numbers or protocol names).
 */
export function parseFilter(expr: string, protocol?: ProtocolType[]): TraceFilter {
  const byName = new Map((protocol ?? []).map((t) => [t.name, t.number]));
  const terms: TraceFilter[] = [];
  for (const word of expr.split(/\s+/).filter(Boolean)) {
    if (word === 'errors') {
      terms.push((e) => e.result < 0);
      continue;
    }
    const m = /^(op|ep|type|node|dc|src|dst)=(.+)$/.exec(word);
    if (!m) throw new Error(`bad filter term '${word}': expected op=, ep=, src=, dst=, type=, node=, dc= or errors`);
    const key = m[1]!;
    const vals = m[2]!.split(',');
    if (key === 'op') {
      const ops = new Set(vals);
      terms.push((e) => ops.has(e.op));
      continue;
    }
    const nums = new Set(
      vals.map((v) => {
        if (/^-?\d+$/.test(v)) return Number(v);
        if (key === 'type' && byName.has(v)) return byName.get(v)!;
        throw new Error(`bad filter value '${v}' in '${word}'${key === 'type' ? ': not a number nor a protocol type name' : ': not a number'}`);
      }),
    );
    if (key === 'ep') terms.push((e) => nums.has(e.src) || nums.has(e.dst));
    else terms.push((e) => nums.has(e[key as 'type' | 'node' | 'dc' | 'src' | 'dst']));
  }
  return (e) => terms.every((t) => t(e));
}
