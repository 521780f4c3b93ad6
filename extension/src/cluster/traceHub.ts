/**
 * One trace subscription per node of the running cluster, merged into one stream.
 * The hub keeps a capped copy of the events (for export and for a panel opened late) and
 * pushes batches to listeners; it never polls.
 */
import type { TraceEvent } from '../model/events';
import { extras, type ClusterHandle } from './controller';

export type TraceListener = (batch: TraceEvent[]) => void;

export class TraceHub {
  private events: TraceEvent[] = [];
  dropped = 0;
  private subs: Array<{ close(): void }> = [];
  private readonly listeners = new Set<TraceListener>();
  private pending: TraceEvent[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly maxEvents: number,
    private readonly onError: (message: string) => void,
  ) {}

  get available(): boolean {
    return extras.subscribeTrace !== undefined;
  }

  /**
   * Subscribes to every node, then adds what the nodes recorded before the subscription
   * (their history) without duplicates: a history event is kept only when it is older
   * than the first live event of its node.
   */
  start(cluster: ClusterHandle): void {
    this.stop();
    const subscribe = extras.subscribeTrace;
    if (!subscribe) return;
    const firstLive = new Map<number, number>();
    const lastHistory = new Map<number, number>();
    for (const n of cluster.nodes) {
      try {
        this.subs.push(
          subscribe(
            n.dir,
            (e) => {
              if (e.seq <= (lastHistory.get(e.node) ?? -1)) return;
              if (!firstLive.has(e.node)) firstLive.set(e.node, e.seq);
              this.push(e);
            },
            (err) => this.onError(`trace of ${n.name}: ${err.message}`),
          ),
        );
      } catch (err) {
        this.onError(`trace of ${n.name}: ${(err as Error).message}`);
      }
      const history = extras.traceHistory;
      if (history) {
        void history(n.dir, 10_000).then(
          (events) => {
            for (const e of events) {
              if (e.seq >= (firstLive.get(e.node) ?? Infinity)) continue;
              lastHistory.set(e.node, Math.max(lastHistory.get(e.node) ?? -1, e.seq));
              this.push(e);
            }
          },
          () => undefined,
        );
      }
    }
  }

  stop(): void {
    for (const s of this.subs) s.close();
    this.subs = [];
    this.flush();
  }

  clear(): void {
    this.events = [];
    this.dropped = 0;
  }

  /** Events arrive one by one; they are handed on in batches every 50 ms, in causal order. */
  push(e: TraceEvent): void {
    this.pending.push(e);
    this.flushTimer ??= setTimeout(() => this.flush(), 50);
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending.sort((a, b) => a.lamport - b.lamport || a.node - b.node || a.seq - b.seq);
    this.pending = [];
    this.events.push(...batch);
    if (this.events.length > this.maxEvents) {
      const n = this.events.length - this.maxEvents;
      this.events.splice(0, n);
      this.dropped += n;
    }
    for (const l of this.listeners) l(batch);
  }

  onEvents(l: TraceListener): { dispose(): void } {
    this.listeners.add(l);
    return { dispose: () => this.listeners.delete(l) };
  }

  all(): readonly TraceEvent[] {
    return this.events;
  }
}

/** Chrome trace-event JSON (Perfetto), from the runtime when it has the exporter. */
export function chromeTrace(events: readonly TraceEvent[], protocol?: unknown): string {
  if (extras.toChromeTrace) return JSON.stringify(extras.toChromeTrace(events, protocol));
  // Fallback: one instant event per IPC event, pid = node, tid = endpoint.
  const traceEvents = events.map((e) => ({
    name: `${e.op} ${e.src}→${e.dst}`,
    cat: e.op,
    ph: 'i',
    s: 't',
    ts: e.ts / 1000,
    pid: e.node,
    tid: e.src,
    args: { ...e },
  }));
  return JSON.stringify({ traceEvents, displayTimeUnit: 'ns' });
}

export function jsonLines(events: readonly TraceEvent[]): string {
  if (extras.toJsonLines) return extras.toJsonLines(events);
  return events.map((e) => JSON.stringify(e)).join('\n') + (events.length ? '\n' : '');
}
