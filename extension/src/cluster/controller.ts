/**
 * The extension's view of a running cluster, over the runtime's `Cluster` controller
 * (runtime/src/cluster/cluster.ts). Optional runtime features (trace, migration) are
 * looked up at run time, so the extension says what is missing instead of failing.
 *
 * NOTE: nothing here imports `vscode`, and nothing loads a native addon: daemons and
 * programs are separate processes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { formatConfigError, parseDvsConfig, type DvsConfig } from '@dvs/grammar';
import * as runtime from '@dvs/runtime';

import type { ClusterStatus, TraceEvent } from '../model/events';

export interface UpOptions {
  onProgress?: (step: string, done: number, total: number) => void;
  onLog?: (source: string, line: string) => void;
  signal?: AbortSignal;
  /** Start script endpoints with an inspector port and report it through `onDebugTarget`. */
  inspect?: 'off' | 'inspect' | 'inspect-brk';
  onDebugTarget?: (t: DebugTarget) => void;
}

export interface DebugTarget {
  endpoint: string;
  number: number;
  dc: number;
  pid: number;
  kind: 'node' | 'native';
  /** Inspector port of a script endpoint. */
  port?: number;
  /** Absolute path of a native program (for gdb). */
  program?: string;
}

export interface ClusterHandle {
  readonly name: string;
  readonly file: string;
  readonly nodes: ReadonlyArray<{ id: number; name: string; dir: string }>;
  /** What this runtime can do: the view hides or explains the rest. */
  readonly supports: { links: boolean; migrate: boolean; trace: boolean };
  status(): Promise<ClusterStatus>;
  down(): Promise<void>;
  stop(ep: number, dc?: number): Promise<void>;
  kill(ep: number, dc?: number): Promise<void>;
  restart(ep: number, dc?: number): Promise<void>;
  linkCut(a: number, b: number): Promise<void>;
  linkRestore(a: number, b: number): Promise<void>;
  /** Fault injection: SIGKILL a node's dvsd and its programs (`dvs crash`); and start it again. */
  crashNode(id: number): Promise<void>;
  restartNode(id: number): Promise<void>;
  logs(source?: string): string[];
  /** Live migration of an endpoint to a node (`dvs migrate`); throws when the runtime has none. */
  migrate(ep: number, node: number, dc: number | undefined, onProgress?: (step: string, done: number, total: number) => void): Promise<void>;
}

/** The runtime's optional exports, looked up at run time so an older runtime still works. */
interface RuntimeUpOptions {
  onProgress?(step: string, done: number, total: number): void;
  onLog?(source: string, line: string): void;
  signal?: AbortSignal;
  inspect?: boolean | 'brk';
  onProgramStart?(p: { name: string; number: number; dc: number; node: number; pid: number; command: string[]; inspectPort?: number }): void;
}

interface RuntimeExtras {
  Cluster?: {
    up(file: string, opts: RuntimeUpOptions): Promise<RuntimeCluster>;
    attach(file: string): Promise<RuntimeCluster | undefined>;
  };
  subscribeTrace?: (dir: string, onEvent: (e: TraceEvent) => void, onError?: (err: Error) => void) => { close(): void };
  traceHistory?: (dir: string, n?: number) => Promise<TraceEvent[]>;
  toChromeTrace?: (events: readonly TraceEvent[], protocol?: unknown) => unknown;
  toJsonLines?: (events: readonly TraceEvent[]) => string;
}

interface RuntimeCluster {
  name?: string;
  nodes: Array<{ id: number; name: string; dir: string }>;
  status(): Promise<ClusterStatus>;
  down(): Promise<void>;
  kill(ep: number, dc?: number): Promise<void>;
  restart(ep: number, dc?: number): Promise<void>;
  stop?(ep: number, dc?: number): Promise<void>;
  linkCut(a: number, b: number): Promise<void>;
  linkRestore(a: number, b: number): Promise<void>;
  logs(source?: string): string | string[] | Promise<string[]>;
  follow?(onLog: (source: string, line: string) => void): { stop(): void };
  migrate?(ep: number, node: number, opts?: { dc?: number; onProgress?(step: string, done: number, total: number): void }): Promise<unknown>;
  crashNode?(id: number): Promise<unknown>;
  restartNode?(id: number, onProgress?: (what: string) => void): Promise<void>;
}

export const extras = runtime as unknown as RuntimeExtras;

/** Loads and validates dvs.json, with errors formatted like a compiler's. */
export function loadConfig(file: string): DvsConfig {
  const parsed = parseDvsConfig(fs.readFileSync(file, 'utf8'), file);
  const errors = parsed.errors.filter((e) => e.severity === 'error');
  if (!parsed.config || errors.length > 0) {
    throw new Error(`${file} is not a valid cluster file:\n${errors.map(formatConfigError).join('\n')}`);
  }
  return parsed.config;
}

export async function up(file: string, opts: UpOptions): Promise<ClusterHandle> {
  if (extras.Cluster) {
    const inspect = opts.inspect ?? 'off';
    const c = await extras.Cluster.up(file, {
      onProgress: opts.onProgress,
      onLog: opts.onLog,
      signal: opts.signal,
      ...(inspect === 'off' ? {} : { inspect: inspect === 'inspect-brk' ? 'brk' : true }),
      onProgramStart: (p) =>
        opts.onDebugTarget?.(
          p.inspectPort
            ? { endpoint: p.name, number: p.number, dc: p.dc, pid: p.pid, kind: 'node', port: p.inspectPort }
            : { endpoint: p.name, number: p.number, dc: p.dc, pid: p.pid, kind: p.command[0] === process.execPath ? 'node' : 'native', program: p.command[0] },
        ),
    });
    return wrapRuntimeCluster(file, c);
  }
  throw new Error(NO_CONTROLLER);
}

/** Finds the cluster of `file` left running (by another window or `dvs up`); logs go to onLog. */
export async function attach(file: string, onLog?: (source: string, line: string) => void): Promise<ClusterHandle | undefined> {
  if (extras.Cluster) {
    const c = await extras.Cluster.attach(file).catch(() => undefined);
    if (!c) return undefined;
    const s = await c.status().catch(() => undefined);
    if (!s || !s.nodes.some((n) => n.up)) return undefined;
    const follower = onLog && c.follow ? c.follow(onLog) : undefined;
    return wrapRuntimeCluster(file, c, () => follower?.stop());
  }
  return undefined;
}

const NO_CONTROLLER = 'this @dvs/runtime has no Cluster controller; install a runtime with `dvs up` support';

function wrapRuntimeCluster(file: string, c: RuntimeCluster, onDown?: () => void): ClusterHandle {
  let logs: string[] = [];
  return {
    name: c.name ?? path.basename(path.dirname(file)),
    file,
    nodes: c.nodes,
    supports: { links: true, migrate: typeof c.migrate === 'function', trace: extras.subscribeTrace !== undefined },
    status: () => c.status(),
    down: async () => {
      onDown?.();
      await c.down();
    },
    stop: (ep, dc) => (c.stop ? c.stop(ep, dc) : c.kill(ep, dc)),
    kill: (ep, dc) => c.kill(ep, dc),
    restart: (ep, dc) => c.restart(ep, dc),
    linkCut: (a, b) => c.linkCut(a, b),
    linkRestore: (a, b) => c.linkRestore(a, b),
    crashNode: async (id) => {
      if (!c.crashNode) throw new Error('this runtime cannot crash a node (update @dvs/runtime)');
      await c.crashNode(id);
    },
    restartNode: async (id) => {
      if (!c.restartNode) throw new Error('this runtime cannot restart a node (update @dvs/runtime)');
      await c.restartNode(id);
    },
    migrate: async (ep, node, dc, onProgress) => {
      if (typeof c.migrate !== 'function') throw new Error('this runtime cannot migrate endpoints (its Cluster has no migrate)');
      await c.migrate(ep, node, { ...(dc !== undefined ? { dc } : {}), ...(onProgress ? { onProgress } : {}) });
    },
    logs: (source) => {
      const r = c.logs(source);
      if (typeof r === 'string') logs = r.split('\n');
      else if (Array.isArray(r)) logs = r;
      else void r.then((l) => (logs = l));
      return logs;
    },
  };
}
