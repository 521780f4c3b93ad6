/**
 * The extension's view of a running cluster. It uses the runtime's `Cluster` controller
 * (runtime/src/cluster/cluster.ts) when the installed runtime has it, and otherwise a
 * local fallback built on the runtime's node primitives (`startNode`, `runProgram`,
 * `control.ps`) that runs every node of dvs.json as a separate daemon on this host,
 * without proxies between them (links are then reported as unsupported).
 *
 * NOTE: nothing here imports `vscode`, and nothing loads a native addon: daemons and
 * programs are separate processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';

import { formatConfigError, isScriptEntry, parseDvsConfig, type DvsConfig, type DvsEndpoint } from '@dvs/grammar';
import * as runtime from '@dvs/runtime';

import type { ClusterStatus, EndpointStatus, TraceEvent } from '../model/events';

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
  logs(source?: string): string[];
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
  migrate?(ep: number, node: number, dc?: number): Promise<void>;
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
  return LocalCluster.up(file, opts);
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
  return LocalCluster.attach(file);
}

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
    logs: (source) => {
      const r = c.logs(source);
      if (typeof r === 'string') logs = r.split('\n');
      else if (Array.isArray(r)) logs = r;
      else void r.then((l) => (logs = l));
      return logs;
    },
  };
}

interface Launched {
  decl: DvsEndpoint;
  nodeDir: string;
  child?: ChildProcess;
  pid?: number;
  exit?: number;
  /** Set when we stopped it on purpose. */
  stopped?: boolean;
}

/** The fallback controller: one dvsd per node on this host, no proxies. */
export class LocalCluster implements ClusterHandle {
  readonly supports = { links: false, migrate: false, trace: extras.subscribeTrace !== undefined };
  private readonly launched = new Map<string, Launched>();
  private readonly logLines: string[] = [];

  private constructor(
    readonly file: string,
    readonly config: DvsConfig,
    readonly nodes: Array<{ id: number; name: string; dir: string }>,
    private readonly opts: UpOptions,
  ) {}

  get name(): string {
    return this.config.cluster.name;
  }

  static nodeDirs(config: DvsConfig): Array<{ id: number; name: string; dir: string }> {
    const root = path.join(runtime.nodesRoot(), `cluster-${config.cluster.name.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
    return config.nodes.map((n) => ({ id: n.id, name: n.name, dir: path.join(root, n.name) }));
  }

  static async attach(file: string): Promise<LocalCluster | undefined> {
    const config = loadConfig(file);
    const nodes = LocalCluster.nodeDirs(config);
    for (const n of nodes) if (!(await runtime.isRunning(n.dir))) return undefined;
    const c = new LocalCluster(file, config, nodes, {});
    for (const e of config.endpoints) {
      const node = nodes.find((n) => n.id === e.node);
      if (node) c.launched.set(key(e.dc, e.number), { decl: e, nodeDir: node.dir });
    }
    return c;
  }

  static async up(file: string, opts: UpOptions): Promise<LocalCluster> {
    const config = loadConfig(file);
    const nodes = LocalCluster.nodeDirs(config);
    const c = new LocalCluster(file, config, nodes, opts);
    try {
      await c.start();
    } catch (err) {
      await c.down().catch(() => undefined);
      throw err;
    }
    return c;
  }

  private log(source: string, line: string): void {
    this.logLines.push(`[${source}] ${line}`);
    if (this.logLines.length > 5000) this.logLines.splice(0, 1000);
    this.opts.onLog?.(source, line);
  }

  private checkAbort(): void {
    if (this.opts.signal?.aborted) throw new Error('cluster start cancelled');
  }

  private async start(): Promise<void> {
    const dir = path.dirname(this.file);
    const builds = [...new Set(this.config.endpoints.map((e) => e.program?.build).filter((b): b is string => !!b))];
    const withProgram = this.config.endpoints.filter((e) => e.program);
    const total = builds.length + this.nodes.length + withProgram.length;
    let done = 0;
    const progress = (step: string) => this.opts.onProgress?.(step, done++, total);
    for (const cmd of builds) {
      this.checkAbort();
      progress(`build: ${cmd}`);
      await this.build(cmd, dir);
    }
    for (const n of this.nodes) {
      this.checkAbort();
      progress(`node ${n.name}`);
      if (await runtime.isRunning(n.dir)) await runtime.stopNode(n.dir).catch(() => undefined);
      const dcs = this.config.dcs
        .filter((d) => d.nodes.includes(n.id))
        .map((d) => ({ id: d.id, name: d.name, nr_procs: d.nr_procs, nr_tasks: d.nr_tasks, nr_sysprocs: d.nr_sysprocs }));
      await runtime.startNode({ dir: n.dir, nodeId: n.id, name: n.name, dcs });
      this.log(n.name, `dvsd started in ${n.dir}`);
    }
    // Servers first, so clients find them bound.
    const ordered = [...withProgram].sort((a, b) => Number(!!b.server) - Number(!!a.server));
    for (const e of ordered) {
      this.checkAbort();
      progress(`endpoint ${e.name}`);
      await this.launch(e);
      if (e.server) await delay(150);
    }
    this.opts.onProgress?.('up', total, total);
  }

  private build(cmd: string, cwd: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', cmd], { cwd, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
      for (const s of [child.stdout, child.stderr]) readline.createInterface({ input: s }).on('line', (l) => this.log('build', l));
      child.on('error', (err) => reject(new Error(`build step '${cmd}' could not start: ${err.message}`)));
      child.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`build step '${cmd}' failed with status ${code} (see the DVS output)`)),
      );
    });
  }

  private async launch(e: DvsEndpoint): Promise<void> {
    const node = this.nodes.find((n) => n.id === e.node);
    if (!node || !e.program) return;
    const dir = path.dirname(this.file);
    const run = e.program.run;
    const script = isScriptEntry(run);
    const inspect = this.opts.inspect ?? 'off';
    let program = path.resolve(dir, run);
    let args = e.program.args ?? [];
    if (script) {
      args = [...(inspect === 'off' ? [] : [`--${inspect}=127.0.0.1:0`]), program, ...args];
      program = 'node';
    }
    const entry: Launched = { decl: e, nodeDir: node.dir };
    this.launched.set(key(e.dc, e.number), entry);
    let reported = false;
    const running = await runtime.runProgram({
      dir: node.dir,
      program,
      args,
      dc: e.dc,
      endpoint: e.number,
      cwd: dir,
      onLine: (line) => {
        this.log(e.name, line);
        const m = /Debugger listening on ws:\/\/[^:]+:(\d+)\//.exec(line);
        if (m && !reported && entry.pid) {
          reported = true;
          this.opts.onDebugTarget?.({ endpoint: e.name, number: e.number, dc: e.dc, pid: entry.pid, kind: 'node', port: Number(m[1]) });
        }
      },
    });
    entry.child = running.child;
    entry.pid = running.child.pid;
    entry.exit = undefined;
    entry.stopped = false;
    void running.exited.then((code) => {
      if (entry.child === running.child) {
        entry.exit = code;
        this.log(e.name, `exited with status ${code}`);
      }
    });
    if (!script && entry.pid) {
      this.opts.onDebugTarget?.({ endpoint: e.name, number: e.number, dc: e.dc, pid: entry.pid, kind: 'native', program });
    }
  }

  async status(): Promise<ClusterStatus> {
    const nodes: ClusterStatus['nodes'] = [];
    const endpoints: EndpointStatus[] = [];
    const seen = new Set<string>();
    for (const n of this.nodes) {
      let up = false;
      let dcs: Array<{ id: number; name: string }> = this.config.dcs
        .filter((d) => d.nodes.includes(n.id))
        .map((d) => ({ id: d.id, name: d.name }));
      let procs: runtime.control.ProcInfo[] = [];
      try {
        const info = await runtime.control.info(n.dir);
        dcs = info.dcs.map((d) => ({ id: d.id, name: d.name }));
        procs = await runtime.control.ps(n.dir);
        up = true;
      } catch {
        up = false;
      }
      nodes.push({ id: n.id, name: n.name, dir: n.dir, up, links: [], dcs, procs });
      for (const p of procs) {
        const k = key(p.dc, p.endpoint);
        seen.add(k);
        const decl = this.config.endpoints.find((e) => e.dc === p.dc && e.number === p.endpoint);
        endpoints.push({
          name: decl?.name ?? (p.name || `ep ${p.endpoint}`),
          number: p.endpoint,
          dc: p.dc,
          node: n.id,
          state: stateWord(p.flags),
          pid: p.pid,
          describe: runtime.control.describeState(p),
        });
      }
    }
    for (const e of this.config.endpoints) {
      if (seen.has(key(e.dc, e.number))) continue;
      const l = this.launched.get(key(e.dc, e.number));
      let state = 'unbound';
      let describe = 'not running';
      if (l?.child) {
        if (l.exit !== undefined) {
          state = l.stopped ? 'stopped' : l.exit === 0 ? 'exited' : 'dead';
          describe = l.stopped ? 'stopped' : l.exit === 0 ? 'exited (status 0)' : `dead (exit status ${l.exit})`;
        } else {
          state = 'starting';
          describe = 'starting';
        }
      } else if (!e.program) {
        describe = 'no program declared';
      }
      endpoints.push({ name: e.name, number: e.number, dc: e.dc, node: e.node, state, pid: l?.pid, describe });
    }
    return { name: this.name, nodes, endpoints };
  }

  private entry(ep: number, dc?: number): Launched {
    for (const l of this.launched.values()) {
      if (l.decl.number === ep && (dc === undefined || l.decl.dc === dc)) return l;
    }
    throw new Error(`endpoint ${ep} was not started by this cluster`);
  }

  private async signal(l: Launched, sig: NodeJS.Signals): Promise<void> {
    let pid = l.child && l.exit === undefined ? l.child.pid : undefined;
    if (!pid) {
      const procs = await runtime.control.ps(l.nodeDir, l.decl.dc).catch(() => []);
      pid = procs.find((p) => p.endpoint === l.decl.number)?.pid;
    }
    if (!pid) return;
    try {
      process.kill(pid, sig);
    } catch {
      return;
    }
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && alive(pid)) await delay(20);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }

  async stop(ep: number, dc?: number): Promise<void> {
    const l = this.entry(ep, dc);
    l.stopped = true;
    await this.signal(l, 'SIGTERM');
  }

  async kill(ep: number, dc?: number): Promise<void> {
    await this.signal(this.entry(ep, dc), 'SIGKILL');
  }

  async restart(ep: number, dc?: number): Promise<void> {
    const l = this.entry(ep, dc);
    l.stopped = true;
    await this.signal(l, 'SIGTERM');
    // The daemon unbinds the slot when it notices the death; wait for it before rebinding.
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      const procs = await runtime.control.ps(l.nodeDir, l.decl.dc).catch(() => []);
      if (!procs.some((p) => p.endpoint === l.decl.number)) break;
      await delay(30);
    }
    await this.launch(l.decl);
  }

  async linkCut(): Promise<void> {
    throw new Error('links between nodes need the multi-node runtime; this runtime runs each node on its own');
  }

  async linkRestore(): Promise<void> {
    throw new Error('links between nodes need the multi-node runtime; this runtime runs each node on its own');
  }

  logs(source?: string): string[] {
    return source ? this.logLines.filter((l) => l.startsWith(`[${source}]`)) : [...this.logLines];
  }

  async down(): Promise<void> {
    const all = [...this.launched.values()];
    for (const l of all) l.stopped = true;
    await Promise.all(all.map((l) => this.signal(l, 'SIGTERM').catch(() => undefined)));
    for (const n of this.nodes) {
      if (await runtime.isRunning(n.dir)) {
        await runtime.stopNode(n.dir).catch((err: Error) => this.log(n.name, `stop: ${err.message}`));
        this.log(n.name, 'dvsd stopped');
      }
    }
  }
}

function key(dc: number, ep: number): string {
  return `${dc}:${ep}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One state word from the slot's flags (the view picks icons by it). */
export function stateWord(flags: string[]): string {
  const f = new Set(flags);
  if (f.has('MIGRATING')) return 'migrating';
  if (f.has('SENDING') && f.has('RECEIVING')) return 'sendrec';
  if (f.has('SENDING')) return 'sending';
  if (f.has('RECEIVING')) return 'receiving';
  return 'running';
}
