/**
 * Live figures per endpoint for the language server, which shows them in hover and code
 * lens while a cluster runs (SPEC §6; `dvs/liveStats`): messages the endpoint sent and
 * received, the median of the last WINDOW round trips of the sendrecs it made or served,
 * and its state from the cluster status. Fed with the trace hub's batches (every message
 * is one event, at delivery); memory and the work per update stay bounded however long
 * the cluster runs. `changed` returns only the figures that differ from those it returned
 * last, so nothing is sent while nothing happens. Pure: the unit tests drive it with events.
 */
import type { LiveStatsParams } from '@dvs/language-server/protocol';
import type { ClusterStatus, TraceEvent } from './events';
import { LatencyTracker, isError, laneKey, quantile } from './trace';

const MESSAGES = new Set(['send', 'sendrec', 'notify', 'reply']);
/** Round trips per endpoint the median is taken over. */
const WINDOW = 1024;

export class LiveStats {
  private readonly counts = new Map<string, { sent: number; received: number }>();
  private latency = this.tracker();
  /** Per endpoint name: the figures `changed` returned last, and as JSON. */
  private readonly reported = new Map<string, { json: string; figure: LiveStatsParams }>();
  /** Per endpoint: its last WINDOW round trips (ns), a ring written at `next`. */
  private readonly windows = new Map<string, { ns: number[]; next: number }>();
  /** Endpoints whose p50 must be computed again (a round trip of theirs came in). */
  private readonly newSamples = new Set<string>();
  private readonly p50Cache = new Map<string, number>();

  add(batch: readonly TraceEvent[]): void {
    for (const e of batch) {
      if (!MESSAGES.has(e.op) || isError(e)) continue;
      this.count(laneKey(e.dc, e.src)).sent++;
      this.count(laneKey(e.dc, e.dst)).received++;
      this.latency.add(e);
    }
  }

  /** The figures of every endpoint of the status; an endpoint is named as in dvs.json. */
  figures(status: ClusterStatus): LiveStatsParams[] {
    return status.endpoints.map((ep) => {
      const key = laneKey(ep.dc, ep.number);
      const c = this.counts.get(key);
      return { endpoint: ep.name || String(ep.number), sent: c?.sent ?? 0, received: c?.received ?? 0, p50Us: this.p50Us(ep.dc, ep.number), state: ep.state };
    });
  }

  /** The figures that differ from the ones returned last time (all of them the first time). */
  changed(status: ClusterStatus): LiveStatsParams[] {
    const out: LiveStatsParams[] = [];
    for (const f of this.figures(status)) {
      const json = JSON.stringify(f);
      if (this.reported.get(f.endpoint)?.json === json) continue;
      this.reported.set(f.endpoint, { json, figure: f });
      out.push(f);
    }
    return out;
  }

  /**
   * The cluster stopped: every endpoint reported so far, once more with the state
   * `stopped` (hover and code lens must not say "running" afterwards); then all is
   * forgotten, for the next cluster.
   */
  stopped(): LiveStatsParams[] {
    const out = [...this.reported.values()].map(({ figure }) => ({ ...figure, state: 'stopped' }));
    this.reported.clear();
    this.counts.clear();
    this.windows.clear();
    this.newSamples.clear();
    this.p50Cache.clear();
    this.latency = this.tracker();
    return out;
  }

  /** A round trip counts for the client and for the server. */
  private tracker(): LatencyTracker {
    return new LatencyTracker((dc, client, server, ns) => {
      for (const ep of [client, server]) {
        const key = laneKey(dc, ep);
        let w = this.windows.get(key);
        if (!w) this.windows.set(key, (w = { ns: [], next: 0 }));
        w.ns[w.next] = ns;
        w.next = (w.next + 1) % WINDOW;
        this.newSamples.add(key);
      }
    });
  }

  private count(key: string): { sent: number; received: number } {
    let c = this.counts.get(key);
    if (!c) this.counts.set(key, (c = { sent: 0, received: 0 }));
    return c;
  }

  /** Median round trip in µs, one decimal (a local sendrec takes a fraction of one). */
  private p50Us(dc: number, endpoint: number): number {
    const key = laneKey(dc, endpoint);
    let p50 = this.p50Cache.get(key);
    if (p50 === undefined || this.newSamples.has(key)) {
      const samples = [...(this.windows.get(key)?.ns ?? [])].sort((a, b) => a - b);
      p50 = Math.round(quantile(samples, 0.5) / 100) / 10;
      this.p50Cache.set(key, p50);
      this.newSamples.delete(key);
    }
    return p50;
  }
}
