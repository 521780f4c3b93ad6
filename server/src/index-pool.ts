/**
 * A small pool of indexing threads (index-worker.ts). `analyze` resolves with the file's
 * analysis as the main thread's Analyzer would have produced it (facts and per-unit
 * cache, no tree). If the worker script is missing (a bundle that did not ship it) or a
 * thread dies, the caller gets a rejection and analyses the file itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DocState } from './analyzer';

interface Pending {
  resolve: (s: DocState) => void;
  reject: (e: Error) => void;
  worker: Worker;
}

export class IndexPool {
  private readonly workers: Worker[] = [];
  private readonly load = new Map<Worker, number>();
  private readonly pending = new Map<number, Pending>();
  /** Resolves when the thread has its grammars, or with false when it died first. */
  private readonly readiness = new Map<Worker, Promise<boolean>>();
  private readyCount = 0;
  private nextId = 1;

  private constructor(private readonly script: string) {}

  /** A pool of `size` threads, or undefined when threads cannot be used here. */
  static create(size: number, script = path.join(__dirname, 'index-worker.js')): IndexPool | undefined {
    if (size <= 0 || !fs.existsSync(script)) return undefined;
    const pool = new IndexPool(script);
    for (let i = 0; i < size; i++) pool.spawn();
    return pool;
  }

  private spawn(): void {
    const w = new Worker(this.script);
    // Indexing must never keep the server process alive on its own.
    w.unref();
    this.workers.push(w);
    this.load.set(w, 0);
    let markReady: (ok: boolean) => void = () => undefined;
    this.readiness.set(w, new Promise<boolean>((r) => (markReady = r)));
    w.on('message', (m: { id: number; ready?: boolean; state?: DocState; error?: string }) => {
      if (m.ready) {
        this.readyCount++;
        markReady(true);
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      this.load.set(w, (this.load.get(w) ?? 1) - 1);
      if (m.state) p.resolve(m.state);
      else p.reject(new Error(m.error ?? 'index worker failed'));
    });
    const fail = (why: string): void => {
      markReady(false);
      if (!this.workers.includes(w)) return;
      this.workers.splice(this.workers.indexOf(w), 1);
      this.load.delete(w);
      for (const [id, p] of this.pending) {
        if (p.worker !== w) continue;
        this.pending.delete(id);
        p.reject(new Error(why));
      }
    };
    w.on('error', (e) => fail(`index worker error: ${e.message}`));
    w.on('exit', (code) => fail(`index worker exited (${code})`));
  }

  get size(): number {
    return this.workers.length;
  }

  /** Threads that have loaded their grammars. */
  get ready(): number {
    return this.readyCount;
  }

  /** The live threads. */
  threads(): readonly Worker[] {
    return [...this.workers];
  }

  /** True once `w` can take work; false if it died before. */
  whenReady(w: Worker): Promise<boolean> {
    return this.readiness.get(w) ?? Promise.resolve(false);
  }

  /** Analyse on thread `w` (or the least busy thread). */
  analyze(uri: string, text: string, on?: Worker): Promise<DocState> {
    // The least busy thread: files differ a lot in size.
    let w: Worker | undefined = on && this.workers.includes(on) ? on : undefined;
    if (!w) for (const c of this.workers) if (!w || (this.load.get(c) ?? 0) < (this.load.get(w) ?? 0)) w = c;
    if (!w) return Promise.reject(new Error('no index worker'));
    const worker = w;
    const id = this.nextId++;
    this.load.set(worker, (this.load.get(worker) ?? 0) + 1);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker });
      worker.postMessage({ id, uri, text });
    });
  }

  async close(): Promise<void> {
    const ws = this.workers.splice(0);
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
