/**
 * Progress of start-up indexing, shown by the editor: LSP work-done progress, which VS
 * Code puts in its status bar ("DVS: indexing 120 of 500 files"). A client that does not
 * support it, refuses it or does not answer in time gets none, and indexing never waits
 * for it longer than CREATE_TIMEOUT_MS.
 */
import type { Connection, WorkDoneProgressServerReporter } from 'vscode-languageserver';

/** Reports are sent at most this often: a large workspace must not flood the channel. */
const REPORT_MS = 200;
const CREATE_TIMEOUT_MS = 1000;

export class IndexProgress {
  private reporter: WorkDoneProgressServerReporter | undefined;
  private done = 0;
  private lastReport = 0;

  private constructor(private readonly total: number) {}

  /** Ask the editor for a progress token and show that `total` files are to be indexed. */
  static async begin(connection: Connection, total: number): Promise<IndexProgress> {
    const p = new IndexProgress(total);
    let timer: NodeJS.Timeout | undefined;
    try {
      const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), CREATE_TIMEOUT_MS)));
      p.reporter = await Promise.race([connection.window.createWorkDoneProgress(), late]);
      p.reporter?.begin('DVS: indexing', 0, `0 of ${total} files`, false);
    } catch (e) {
      connection.console.info(`no indexing progress: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      clearTimeout(timer);
    }
    p.lastReport = performance.now();
    return p;
  }

  /** One more file indexed (code or dvs.json). */
  fileDone(): void {
    this.done++;
    if (!this.reporter) return;
    const now = performance.now();
    if (now - this.lastReport < REPORT_MS) return;
    this.lastReport = now;
    this.reporter.report(Math.min(100, Math.floor((100 * this.done) / Math.max(1, this.total))), `${this.done} of ${this.total} files`);
  }

  end(): void {
    this.reporter?.done();
    this.reporter = undefined;
  }
}
