/**
 * Background check of the indexed files (SPEC §8): after start-up indexing, while the
 * editor is idle, the diagnostics of every closed C file are computed unit by unit in
 * slices (the server runs them between messages, like the background parse), so that
 * the per-unit findings caches are filled and the diagnostics code is JIT-warm when the
 * file is opened: an indexed file opened later is published from the caches. Nothing is
 * published; the check only fills caches that computeDiagnostics would fill itself, keyed
 * by the same contexts, so diagnostics are the same with or without it.
 */
import type { Analyzer, DocState } from './analyzer';
import { precheckUnits } from './features/diagnostics';
import type { Workspace } from './workspace';

interface CheckJob {
  uri: string;
  state: DocState;
  next: number;
  ctx?: string;
}

export class BackgroundCheck {
  private readonly queue: string[] = [];
  private job: CheckJob | undefined;
  /** Files checked to the end (for tests and the log). */
  done = 0;

  constructor(
    private readonly analyzer: Analyzer,
    private readonly ws: Workspace,
    /** Open documents are checked when they are published; the check skips them. */
    private readonly isOpen: (uri: string) => boolean,
  ) {}

  /** Queue files to check (again); a file already queued keeps its place. */
  enqueue(uris: Iterable<string>): void {
    const queued = new Set(this.queue);
    for (const u of uris) if (!queued.has(u)) this.queue.push(u), queued.add(u);
  }

  get pending(): boolean {
    return this.job !== undefined || this.queue.length > 0;
  }

  /**
   * Check for about `budgetMs`, at least one unit (a unit is not split: one may run past
   * the budget). A file that changed
   * since its check started (an edit, a watched-file change) is checked from its new state;
   * its unchanged units hit the caches. A file opened meanwhile is dropped.
   */
  step(budgetMs: number): void {
    const deadline = performance.now() + budgetMs;
    // At least one unit per call, however small the budget.
    for (let first = true; first || performance.now() < deadline; first = false) {
      while (!this.job) {
        const uri = this.queue.shift();
        if (uri === undefined) return;
        const state = this.analyzer.get(uri);
        if (state && state.lang === 'c' && !this.isOpen(uri)) this.job = { uri, state, next: 0 };
      }
      const job = this.job;
      const current = this.analyzer.get(job.uri);
      if (!current || this.isOpen(job.uri)) {
        this.job = undefined;
        continue;
      }
      if (current !== job.state) {
        job.state = current;
        job.next = 0;
      }
      let more: boolean;
      try {
        more = precheckUnits(this.ws, current, job, deadline);
      } catch (e) {
        // Not again on every slice: the file's own open computes (and reports) it.
        this.job = undefined;
        throw e;
      }
      if (!more) {
        // The signature lets the open of this file tell that nothing other files see changed.
        this.ws.recordSignature(job.uri);
        this.job = undefined;
        this.done++;
      }
    }
  }
}
