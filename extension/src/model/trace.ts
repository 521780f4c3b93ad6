/**
 * The Message Trace's model: an append-only event store with a cap, lanes (one per
 * endpoint, grouped by node and DC), filters, search, per-pair latency and a windowed
 * layout. It is pure and DOM-free: the webview renders what `layoutWindow` returns, and
 * the unit tests drive it with 100,000 events.
 *
 * Cost model (what the tests check through `work`): appending an event is O(1) amortised
 * (lanes, latency and the filtered index are updated incrementally); changing a filter
 * rescans the store once; laying out a viewport only touches the rows in the viewport.
 */
import type { EndpointDecl, ProtocolType, TraceContext, TraceEvent } from './events';

export type ArrowKind = 'send' | 'notify' | 'request' | 'reply' | 'vcopy' | 'marker';

export interface Lane {
  key: string;
  dc: number;
  endpoint: number;
  node: number;
  label: string;
}

export interface TraceFilter {
  nodes?: number[];
  dcs?: number[];
  /** Lane keys (`dc:endpoint`). */
  endpoints?: string[];
  /** Message type numbers. */
  types?: number[];
  errorsOnly?: boolean;
  /** Case-insensitive text matched against the decoded label. */
  search?: string;
}

export interface Row {
  /** Index into the store (stable while nothing is dropped). */
  index: number;
  /** Row number in the filtered view. */
  row: number;
  kind: ArrowKind;
  fromLane: number;
  toLane: number;
  label: string;
  error: boolean;
  event: TraceEvent;
}

export interface PairStats {
  client: string;
  server: string;
  count: number;
  p50: number;
  p95: number;
  max: number;
  mean: number;
}

const NOTIFY_MESSAGE = 0x1000;
const SPECIAL: Record<number, string> = { 0x7ace: 'ANY', 0x6ace: 'NONE', 0x8ace: 'SELF' };

export function laneKey(dc: number, endpoint: number): string {
  return `${dc}:${endpoint}`;
}

export function arrowKind(op: string): ArrowKind {
  switch (op) {
    case 'send':
      return 'send';
    case 'notify':
      return 'notify';
    case 'sendrec':
      return 'request';
    case 'reply':
      return 'reply';
    case 'vcopy':
      return 'vcopy';
    default:
      return 'marker';
  }
}

/** Where a trace event's call is in the source, as the runtime recorded it. */
export interface CallSite {
  file: string;
  /** 1-based. */
  line: number;
}

/**
 * Why a clicked event opens nothing: said in the panel, because a click that does
 * nothing looks like a broken panel. The runtime records a call site only for calls made
 * on the event's own node by a C program built with -DDVS_TRACE_CALLSITES.
 */
export const NO_CALL_SITE =
  'No call site recorded for this event, so there is no source line to open. Call sites come from C programs built with ' +
  '-DDVS_TRACE_CALLSITES; messages from another node (the daemon delivers them), calls of TypeScript endpoints and ' +
  'events of the daemon itself (migrations) carry none.';

/** The event's call site, or undefined when the runtime recorded none. */
export function callSite(e: TraceEvent): CallSite | undefined {
  if (!e.file) return undefined;
  return { file: e.file, line: e.line !== undefined && e.line > 0 ? e.line : 1 };
}

/** True for an event that failed (error/timeout ops, or a negative result). */
export function isError(e: TraceEvent): boolean {
  return e.op === 'error' || e.op === 'timeout' || e.result < 0 || (e.err !== undefined && e.err !== '');
}

/** Decodes message types with the protocol of dvs.json. */
export class Decoder {
  private readonly types = new Map<number, ProtocolType>();
  private readonly endpoints = new Map<string, EndpointDecl>();

  constructor(ctx: TraceContext) {
    for (const t of ctx.types) this.types.set(t.number, t);
    for (const e of ctx.endpoints) this.endpoints.set(laneKey(e.dc, e.number), e);
  }

  endpointName(dc: number, ep: number): string {
    const special = SPECIAL[ep];
    if (special) return special;
    return this.endpoints.get(laneKey(dc, ep))?.name ?? `ep ${ep}`;
  }

  endpointNode(dc: number, ep: number): number | undefined {
    return this.endpoints.get(laneKey(dc, ep))?.node;
  }

  typeName(type: number): string {
    if (type === NOTIFY_MESSAGE) return 'NOTIFY';
    return this.types.get(type)?.name ?? `type ${type}`;
  }

  /** `KV_PUT key=3 length=5`, or `KV_PUT (key, length)` when the runtime recorded no field values. */
  message(e: TraceEvent): string {
    if (e.op === 'bind' || e.op === 'unbind') return `${e.op} ${this.endpointName(e.dc, e.src)}`;
    if (e.op === 'error' || e.op === 'timeout') {
      return `${e.call ?? e.op} → ${this.endpointName(e.dc, e.dst)} ✗ ${e.err ?? e.result}`;
    }
    const t = this.types.get(e.type);
    let text = e.op === 'notify' ? 'NOTIFY' : this.typeName(e.type);
    if (t?.fields) {
      const names = Object.entries(t.fields);
      if (e.fields) {
        text += names.map(([name, acc]) => (e.fields![acc] !== undefined ? ` ${name}=${e.fields![acc]}` : '')).join('');
      } else if (names.length > 0) {
        text += ` (${names.map(([name]) => name).join(', ')})`;
      }
    }
    if (e.op === 'vcopy') text = `vcopy ${e.bytes} B`;
    if (isError(e)) text += ` ✗ ${e.err ?? e.result}`;
    return text;
  }
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/**
 * Round trips of sendrec: a request is matched with the reply whose `reply_to` is the
 * request's `seq` (same DC, reply going back to the requester). Each round trip goes to
 * `onRoundTrip` when given (the live figures keep their own bounded window), else into
 * the per-pair samples that `stats` summarises (the trace panel's table).
 */
export class LatencyTracker {
  private readonly pending = new Map<string, TraceEvent[]>();
  private readonly samples = new Map<string, number[]>();

  constructor(private readonly onRoundTrip?: (dc: number, client: number, server: number, ns: number) => void) {}

  add(e: TraceEvent): void {
    if (e.op === 'sendrec' && !isError(e)) {
      const k = laneKey(e.dc, e.src);
      const list = this.pending.get(k) ?? [];
      list.push(e);
      // A client has one sendrec outstanding; keep a few in case replies arrive late.
      if (list.length > 8) list.shift();
      this.pending.set(k, list);
    } else if (e.op === 'reply' && !isError(e)) {
      const k = laneKey(e.dc, e.dst);
      const list = this.pending.get(k);
      if (!list || list.length === 0) return;
      let i = e.reply_to === undefined ? -1 : list.findIndex((r) => r.seq === e.reply_to);
      if (i < 0) i = list.findIndex((r) => r.dst === e.src);
      if (i < 0) return;
      const req = list[i]!;
      list.splice(i, 1);
      const ns = Math.max(0, e.ts - req.ts);
      if (this.onRoundTrip) {
        this.onRoundTrip(e.dc, req.src, req.dst, ns);
        return;
      }
      const pair = `${e.dc}:${req.src}→${req.dst}`;
      const arr = this.samples.get(pair) ?? [];
      arr.push(ns);
      this.samples.set(pair, arr);
    }
  }

  stats(decoder?: Decoder): PairStats[] {
    const out: PairStats[] = [];
    for (const [pair, values] of this.samples) {
      const [dc, rest] = pair.split(':') as [string, string];
      const [client, server] = rest.split('→').map(Number) as [number, number];
      const sorted = [...values].sort((a, b) => a - b);
      const name = (ep: number) => (decoder ? decoder.endpointName(Number(dc), ep) : String(ep));
      out.push({
        client: name(client),
        server: name(server),
        count: sorted.length,
        p50: quantile(sorted, 0.5),
        p95: quantile(sorted, 0.95),
        max: sorted[sorted.length - 1] ?? 0,
        mean: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
      });
    }
    return out.sort((a, b) => b.count - a.count);
  }
}

export class TraceModel {
  private events: TraceEvent[] = [];
  /** Events dropped from the front because of the cap. */
  dropped = 0;
  private readonly laneIndex = new Map<string, number>();
  private lanesCache: Lane[] | undefined;
  private readonly laneList: Lane[] = [];
  private filter: TraceFilter = {};
  /** Store indices (minus `dropped`) of the events that pass the filter, in order. */
  private filtered: number[] = [];
  readonly latency = new LatencyTracker();
  private decoder: Decoder;
  private readonly typesSeen = new Set<number>();
  errors = 0;
  /** Events examined so far: the unit tests bound the work with it. */
  work = 0;

  constructor(
    private ctx: TraceContext = { nodes: [], dcs: [], endpoints: [], types: [] },
    readonly maxEvents = 200_000,
  ) {
    this.decoder = new Decoder(ctx);
    for (const e of ctx.endpoints) this.ensureLane(e.dc, e.number, e.node);
  }

  setContext(ctx: TraceContext): void {
    this.ctx = ctx;
    this.decoder = new Decoder(ctx);
    for (const e of ctx.endpoints) this.ensureLane(e.dc, e.number, e.node);
    for (const l of this.laneList) l.label = this.decoder.endpointName(l.dc, l.endpoint);
    this.lanesCache = undefined;
  }

  get context(): TraceContext {
    return this.ctx;
  }

  get decode(): Decoder {
    return this.decoder;
  }

  get size(): number {
    return this.events.length;
  }

  get total(): number {
    return this.events.length + this.dropped;
  }

  get visibleCount(): number {
    return this.filtered.length;
  }

  get types(): number[] {
    return [...this.typesSeen].sort((a, b) => a - b);
  }

  event(i: number): TraceEvent | undefined {
    return this.events[i];
  }

  private ensureLane(dc: number, endpoint: number, node?: number): void {
    if (SPECIAL[endpoint] !== undefined) return;
    const key = laneKey(dc, endpoint);
    if (this.laneIndex.has(key)) return;
    const lane: Lane = {
      key,
      dc,
      endpoint,
      node: node ?? this.decoder.endpointNode(dc, endpoint) ?? -1,
      label: this.decoder.endpointName(dc, endpoint),
    };
    this.laneIndex.set(key, this.laneList.length);
    this.laneList.push(lane);
    this.lanesCache = undefined;
  }

  /** Lanes grouped by node, then DC, then endpoint number. */
  lanes(): Lane[] {
    if (!this.lanesCache) {
      this.lanesCache = [...this.laneList].sort((a, b) => a.node - b.node || a.dc - b.dc || a.endpoint - b.endpoint);
    }
    return this.lanesCache;
  }

  /** Lane position (column) of an endpoint in `lanes()`, or -1. */
  lanePosition(dc: number, endpoint: number): number {
    const lanes = this.lanes();
    // Lanes are few (tens); a linear scan per visible row keeps the cost bounded by the viewport.
    return lanes.findIndex((l) => l.dc === dc && l.endpoint === endpoint);
  }

  append(batch: readonly TraceEvent[]): void {
    for (const e of batch) {
      this.work++;
      // The recording node tells where the source runs, unless dvs.json says otherwise.
      this.ensureLane(e.dc, e.src, e.op === 'reply' || e.op === 'bind' || e.op === 'unbind' ? undefined : e.node);
      if (e.op !== 'bind' && e.op !== 'unbind') this.ensureLane(e.dc, e.dst);
      this.typesSeen.add(e.type);
      if (isError(e)) this.errors++;
      this.latency.add(e);
      this.events.push(e);
      if (this.matches(e)) this.filtered.push(this.events.length - 1 + this.dropped);
    }
    if (this.events.length > this.maxEvents) this.dropFront(this.events.length - this.maxEvents);
  }

  private dropFront(n: number): void {
    this.events = this.events.slice(n);
    this.dropped += n;
    let k = 0;
    while (k < this.filtered.length && this.filtered[k]! < this.dropped) k++;
    if (k > 0) this.filtered = this.filtered.slice(k);
  }

  setFilter(filter: TraceFilter): void {
    this.filter = { ...filter, search: filter.search?.toLowerCase() || undefined };
    this.filtered = [];
    for (let i = 0; i < this.events.length; i++) {
      this.work++;
      if (this.matches(this.events[i]!)) this.filtered.push(i + this.dropped);
    }
  }

  getFilter(): TraceFilter {
    return this.filter;
  }

  matches(e: TraceEvent): boolean {
    const f = this.filter;
    if (f.errorsOnly && !isError(e)) return false;
    if (f.nodes && f.nodes.length > 0) {
      const srcNode = this.decoder.endpointNode(e.dc, e.src) ?? e.node;
      const dstNode = this.decoder.endpointNode(e.dc, e.dst) ?? e.node;
      if (!f.nodes.includes(e.node) && !f.nodes.includes(srcNode) && !f.nodes.includes(dstNode)) return false;
    }
    if (f.dcs && f.dcs.length > 0 && !f.dcs.includes(e.dc)) return false;
    if (f.endpoints && f.endpoints.length > 0) {
      if (!f.endpoints.includes(laneKey(e.dc, e.src)) && !f.endpoints.includes(laneKey(e.dc, e.dst))) return false;
    }
    if (f.types && f.types.length > 0 && !f.types.includes(e.type)) return false;
    if (f.search) {
      const text = `${this.decoder.message(e)} ${this.decoder.endpointName(e.dc, e.src)} ${this.decoder.endpointName(e.dc, e.dst)} ${e.op} ${e.file ?? ''}`;
      if (!text.toLowerCase().includes(f.search)) return false;
    }
    return true;
  }

  /** The filtered view's row range that a viewport shows. */
  static window(scrollTop: number, viewportHeight: number, rowHeight: number, rowCount: number): { first: number; last: number } {
    const first = Math.max(0, Math.floor(scrollTop / rowHeight));
    const last = Math.min(rowCount, Math.ceil((scrollTop + viewportHeight) / rowHeight) + 1);
    return { first, last: Math.max(first, last) };
  }

  /** Layout of rows [first, last) of the filtered view: only these events are touched. */
  layoutWindow(first: number, last: number): Row[] {
    const rows: Row[] = [];
    const end = Math.min(last, this.filtered.length);
    for (let r = Math.max(0, first); r < end; r++) {
      const index = this.filtered[r]! - this.dropped;
      const e = this.events[index]!;
      this.work++;
      const kind = arrowKind(e.op);
      const fromLane = this.lanePosition(e.dc, e.src);
      const toLane = kind === 'marker' ? fromLane : this.lanePosition(e.dc, e.dst);
      rows.push({
        index,
        row: r,
        kind,
        fromLane,
        toLane: toLane < 0 ? fromLane : toLane,
        label: this.decoder.message(e),
        error: isError(e),
        event: e,
      });
    }
    return rows;
  }

  /** Filtered row of the next (or previous) event matching `text`, starting after `fromRow`. */
  findNext(text: string, fromRow: number, backwards = false): number {
    const needle = text.toLowerCase();
    const n = this.filtered.length;
    for (let k = 1; k <= n; k++) {
      const r = (((backwards ? fromRow - k : fromRow + k) % n) + n) % n;
      const e = this.events[this.filtered[r]! - this.dropped]!;
      this.work++;
      if (this.decoder.message(e).toLowerCase().includes(needle)) return r;
    }
    return -1;
  }

  /** Every stored event (for export), oldest first. */
  all(): readonly TraceEvent[] {
    return this.events;
  }
}

/** Buffer for live follow / pause: while paused, events wait here and nothing is lost. */
export class PauseBuffer {
  private held: TraceEvent[] = [];
  paused = false;

  constructor(private readonly sink: (batch: TraceEvent[]) => void) {}

  push(batch: TraceEvent[]): void {
    if (this.paused) this.held.push(...batch);
    else this.sink(batch);
  }

  get buffered(): number {
    return this.held.length;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const held = this.held;
    this.held = [];
    if (held.length > 0) this.sink(held);
  }
}

/** Formats nanoseconds for the latency table. */
export function formatDuration(ns: number): string {
  if (ns < 1_000) return `${ns.toFixed(0)} ns`;
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(1)} µs`;
  if (ns < 1_000_000_000) return `${(ns / 1_000_000).toFixed(2)} ms`;
  return `${(ns / 1_000_000_000).toFixed(2)} s`;
}
