/**
 * The multi-node launcher and controller: `Cluster.up(dvs.json)` builds the
 * programs, starts one dvsd per node, waits for the links, declares remote
 * endpoints and starts every endpoint's program; `Cluster.attach` finds a
 * running cluster again through `<nodesRoot()>/<name>/cluster.json`.
 *
 * Used by the `dvs` command and the VS Code extension: no native code here.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

import { checkPrograms, ConfigLoadError, loadConfig, programPath, type DvsConfig, type DvsEndpoint, type DvsNode, type LoadedConfig } from './config';
import * as control from './control';
import { runProgram, type Running } from './launch';
import * as netns from './netns';
import { logPath, startNode, stopNode } from './node';
import { buildDir, dvsdPath, nodesRoot, runtimeRoot } from './paths';

export { ConfigLoadError } from './config';

export interface ClusterNodeInfo {
  id: number;
  name: string;
  dir: string;
  host: string;
  port: number;
}

export interface LinkInfo {
  node: number;
  state: 'up' | 'connecting' | 'cut' | string;
  sent: number;
  rcvd: number;
}

export interface ClusterStatus {
  name: string;
  nodes: {
    id: number;
    name: string;
    dir: string;
    up: boolean;
    links: LinkInfo[];
    dcs: control.DcInfo[];
    procs: control.ProcInfo[];
  }[];
  endpoints: {
    name: string;
    number: number;
    dc: number;
    node: number;
    state: 'running' | 'dead' | 'not started';
    pid?: number;
    describe: string;
    /** Where dvs.json puts it, when it runs elsewhere now (migrated, or taken over by a backup). */
    declaredNode?: number;
    /** Standbys (bkupbind) waiting to take the endpoint over: their nodes and pids. */
    backups?: { node: number; pid: number }[];
  }[];
}

export interface MigrateOptions {
  dc?: number;
  /** One call per step of the migration. */
  onProgress?(step: string, done: number, total: number): void;
  /** How long the endpoint may take to become idle (receiving, nobody awaiting its reply); 10 s by default. */
  idleTimeoutMs?: number;
}

export interface MigrateResult {
  name: string;
  from: number;
  to: number;
  pid: number;
}

export interface UpOptions {
  /** One call per step: `step` says what is being done, `done` of `total` steps. */
  onProgress?(step: string, done: number, total: number): void;
  /** Every output line of the build and of the programs, by source (endpoint or node name, or 'build'). */
  onLog?(source: string, line: string): void;
  signal?: AbortSignal;
  /**
   * Start JavaScript/TypeScript programs with a Node inspector on a free loopback port
   * ('brk': stop on the first line), for debuggers to attach (the VS Code extension does).
   */
  inspect?: boolean | 'brk';
  /** Called once per started program, e.g. to attach a debugger to it. */
  onProgramStart?(p: { name: string; number: number; dc: number; node: number; pid: number; command: string[]; inspectPort?: number }): void;
}

/** What cluster.json holds. */
interface ProgramState {
  name: string;
  number: number;
  dc: number;
  node: number;
  pid: number;
  /** /proc start time of pid, so a recycled pid is never signalled. */
  start: string;
  log: string;
  command: string[];
}

interface NodeState extends ClusterNodeInfo {
  pid: number;
  start: string;
  netns?: string;
}

interface ClusterState {
  version: 1;
  /** Where migrated endpoints live now (endpoint name -> node id); dvs.json's node otherwise. */
  placement?: Record<string, number>;
  name: string;
  config: string;
  dir: string;
  started: string;
  secretFile?: string;
  netns?: netns.NetnsPlan;
  nodes: NodeState[];
  programs: ProgramState[];
}

const LINK_TIMEOUT_MS = 20000;
const STOP_GRACE_MS = 3000;

/** The folder of a cluster's state: node dirs, logs, cluster.json. */
export function clusterDir(name: string): string {
  return path.join(nodesRoot(), name);
}

function statePath(name: string): string {
  return path.join(clusterDir(name), 'cluster.json');
}

/** The names of the clusters that have a state file. */
export function runningClusters(): string[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(nodesRoot());
  } catch {
    return [];
  }
  return names.filter((n) => fs.existsSync(statePath(n))).sort();
}

/** The /proc start time of a pid ('' when it does not exist). */
export function procStart(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

/** Whether pid is alive and is still the process that started at `start`. */
export function alive(pid: number, start?: string): boolean {
  if (!(pid > 0)) return false;
  const s = procStart(pid);
  if (!s) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
  } catch {
    return false;
  }
  return start === undefined || start === '' || s === start;
}

async function delay(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

function freePorts(host: string, count: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const servers: net.Server[] = [];
    const ports: number[] = [];
    const next = () => {
      if (ports.length === count) {
        let open = servers.length;
        if (open === 0) resolve(ports);
        for (const s of servers) s.close(() => --open === 0 && resolve(ports));
        return;
      }
      const s = net.createServer();
      s.once('error', (e) => {
        for (const x of servers) x.close();
        reject(new Error(`cannot find a free port on ${host}: ${e.message}`));
      });
      s.listen(0, host, () => {
        servers.push(s);
        ports.push((s.address() as net.AddressInfo).port);
        next();
      });
    };
    next();
  });
}

let cachedDvsdHelp: string | undefined;

/** dvsd's --help text (cached). */
export function dvsdHelp(): string {
  if (cachedDvsdHelp === undefined) {
    try {
      const r = spawnSync(dvsdPath(), ['--help'], { encoding: 'utf8', timeout: 5000 });
      cachedDvsdHelp = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    } catch {
      cachedDvsdHelp = '';
    }
  }
  return cachedDvsdHelp;
}

/** Whether this dvsd can run multi-node clusters (it has the proxy options). */
export function dvsdSupportsMultiNode(): boolean {
  return dvsdHelp().includes('--listen');
}

/** The command line that runs an endpoint's program. */
function commandFor(loaded: LoadedConfig, e: DvsEndpoint, inspect?: string): string[] {
  const prog = programPath(loaded, e.program!.run);
  const args = e.program!.args ?? [];
  const node = [process.execPath, ...(inspect ? [inspect] : [])];
  if (/\.(js|mjs)$/.test(prog)) return [...node, prog, ...args];
  if (/\.ts$/.test(prog)) return [...node, '-r', path.join(runtimeRoot(), 'dist', 'cluster', 'ts-register.js'), prog, ...args];
  return [prog, ...args];
}

function isScriptProgram(e: DvsEndpoint): boolean {
  return /\.(js|mjs|ts)$/.test(e.program?.run ?? '');
}

/** Log tailing: polls the log files and hands new complete lines to a callback. */
class Tailer {
  private readonly offsets = new Map<string, number>();
  private readonly partial = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sources: () => [string, string][],
    private readonly onLine: (source: string, line: string) => void,
  ) {}

  start(fromEnd: boolean): void {
    if (fromEnd) for (const [, file] of this.sources()) this.offsets.set(file, size(file));
    this.timer = setInterval(() => this.poll(), 150);
    this.timer.unref();
  }

  poll(): void {
    for (const [source, file] of this.sources()) {
      const at = this.offsets.get(file) ?? 0;
      const now = size(file);
      if (now <= at) continue;
      let chunk = '';
      try {
        const fd = fs.openSync(file, 'r');
        const buf = Buffer.alloc(now - at);
        fs.readSync(fd, buf, 0, buf.length, at);
        fs.closeSync(fd);
        chunk = buf.toString('utf8');
      } catch {
        continue;
      }
      this.offsets.set(file, now);
      const text = (this.partial.get(file) ?? '') + chunk;
      const lines = text.split('\n');
      this.partial.set(file, lines.pop() ?? '');
      for (const l of lines) this.onLine(source, l);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.poll();
  }
}

function size(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

export class Cluster {
  readonly config: DvsConfig;
  readonly nodes: ClusterNodeInfo[];
  private tailer: Tailer | undefined;
  /** Exit codes of the programs this controller started and saw end. */
  private readonly exits = new Map<string, number>();
  private readonly children = new Map<string, Running>();

  private constructor(
    private readonly loaded: LoadedConfig,
    private state: ClusterState,
  ) {
    this.config = loaded.config;
    this.nodes = state.nodes.map(({ id, name, dir, host, port }) => ({ id, name, dir, host, port }));
  }

  /** The cluster's name (from dvs.json). */
  get name(): string {
    return this.state.name;
  }

  /** The folder holding the node directories, the logs and cluster.json. */
  get dir(): string {
    return this.state.dir;
  }

  /** The dvs.json this cluster was started from. */
  get file(): string {
    return this.loaded.file;
  }

  /** Whether the nodes run in network namespaces. */
  get isolated(): boolean {
    return this.state.netns !== undefined;
  }

  /**
   * Starts the cluster described by `file` and resolves once every program
   * runs. On failure (or abort) everything started so far is stopped again.
   */
  static async up(file: string, opts: UpOptions = {}): Promise<Cluster> {
    const loaded = loadConfig(file);
    const c = loaded.config;
    const name = c.cluster.name;
    const dir = clusterDir(name);
    const progress = opts.onProgress ?? (() => undefined);
    const log = opts.onLog ?? (() => undefined);
    const aborted = () => {
      if (opts.signal?.aborted) throw new Error('cluster start was cancelled');
    };

    // A cluster of that name already running? A stale state (dead nodes) is cleaned up.
    if (fs.existsSync(statePath(name))) {
      const old = await Cluster.attach(file).catch(() => undefined);
      if (old && (await old.anyNodeAlive())) {
        throw new Error(`cluster ${name} is already running (nodes in ${dir}); stop it with: dvs down ${displayFile(loaded.file)}`);
      }
      if (old) await old.down();
    }
    if (c.nodes.length > 1 && !dvsdSupportsMultiNode()) {
      throw new Error(
        `${displayFile(loaded.file)} has ${c.nodes.length} nodes, but this dvsd (${dvsdPath()}) cannot run multi-node clusters ` +
          `(no --listen in 'dvsd --help'): rebuild the runtime with the node proxies`,
      );
    }

    const builds = [...new Set(c.endpoints.map((e) => e.program?.build).filter((b): b is string => !!b))];
    const withProgram = c.endpoints.filter((e) => e.program);
    const multi = c.nodes.length > 1;
    const standbys = withProgram.flatMap((e) => (e.backups ?? []).map((b) => ({ e, b })));
    const total = builds.length + c.nodes.length + (multi ? 2 : 0) + withProgram.length + standbys.length;
    let done = 0;
    const step = (what: string) => progress(what, ++done, total);

    // 1. Build.
    for (const b of builds) {
      aborted();
      step(`building: ${b}`);
      await runBuild(b, loaded.folder, (line) => log('build', line), opts.signal);
    }
    checkPrograms(loaded);

    // 2. Plan the nodes: directories, addresses, ports, secret, namespaces.
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.join(dir, 'logs'), { recursive: true, mode: 0o700 });
    const state: ClusterState = {
      version: 1,
      name,
      config: loaded.file,
      dir,
      started: new Date().toISOString(),
      nodes: [],
      programs: [],
    };
    const cluster = new Cluster(loaded, state);
    try {
      const wantNetns = c.nodes.some((n) => n.isolate === 'netns');
      if (wantNetns && multi) {
        if (process.getuid?.() === 0) {
          state.netns = await netns.plan(name, c.nodes.map((n) => n.id));
          progress(`isolating the nodes in network namespaces (bridge ${state.netns.bridge}, 10.213.${state.netns.index}.0/24)`, done, total);
          cluster.save();
          await netns.create(state.netns);
        } else {
          progress('"isolate": "netns" needs root: the nodes run on loopback instead', done, total);
        }
      }
      const hosts = c.nodes.map((n) => (state.netns ? netns.address(state.netns, n.id) : n.host && n.host !== 'localhost' ? n.host : '127.0.0.1'));
      let ports: number[] = [];
      if (multi) {
        if (state.netns) ports = c.nodes.map(() => netns.PORT);
        else {
          for (const h of new Set(hosts)) {
            const idx = hosts.map((x, i) => (x === h ? i : -1)).filter((i) => i >= 0);
            const got = await freePorts(h, idx.length);
            idx.forEach((i, k) => (ports[i] = got[k]!));
          }
        }
        state.secretFile = writeSecret(loaded, dir);
      }

      // 3. Start the nodes.
      for (const [i, n] of c.nodes.entries()) {
        aborted();
        const node = await cluster.startNodeDaemon(n, hosts, ports);
        state.nodes.push(node);
        (cluster.nodes as ClusterNodeInfo[]).push({ id: n.id, name: n.name, dir: node.dir, host: hosts[i]!, port: ports[i] ?? 0 });
        cluster.save();
        step(`starting ${n.name} (dvsd pid ${node.pid}${multi ? `, ${hosts[i]}:${ports[i]}` : ''}${node.netns ? `, netns ${node.netns}` : ''})`);
      }
      cluster.tailer = new Tailer(() => cluster.logSources(), log);
      cluster.tailer.start(false);

      // 4. Links up, remote endpoints declared.
      if (multi) {
        step(`waiting for the ${(c.nodes.length * (c.nodes.length - 1)) / 2} link(s) between the nodes`);
        await cluster.waitLinks(LINK_TIMEOUT_MS, opts.signal);
        step('declaring remote endpoints (rmtbind)');
        for (const n of state.nodes) await cluster.declareRemoteEndpoints(n);
      }

      // 5. Programs: servers first.
      const ordered = [...withProgram.filter((e) => e.server), ...withProgram.filter((e) => !e.server)];
      for (const e of ordered) {
        aborted();
        let inspectPort: number | undefined;
        if (opts.inspect && isScriptProgram(e)) inspectPort = (await freePorts('127.0.0.1', 1))[0];
        const p = await cluster.startProgram(e, inspectPort === undefined ? undefined : `--inspect${opts.inspect === 'brk' ? '-brk' : ''}=127.0.0.1:${inspectPort}`);
        opts.onProgramStart?.({ name: e.name, number: e.number, dc: e.dc, node: e.node, pid: p.pid, command: p.command, ...(inspectPort ? { inspectPort } : {}) });
        step(`starting ${e.name} on ${cluster.nodeName(e.node)} (endpoint ${e.number}, pid ${p.pid})`);
      }

      // 6. Standbys: the same program on each backup node, bound with
      // bkupbind (it waits in mnx_wait4bind until a takeover); every other
      // node of the DC learns where the standbys are, so that the daemons
      // can pick the same one when the primary's node dies.
      for (const { e, b } of standbys) {
        aborted();
        const p = await cluster.startStandby(e, b, e.node);
        step(`starting the backup of ${e.name} on ${cluster.nodeName(b)} (standby pid ${p.pid}, bkupbind)`);
      }
      cluster.save();
      return cluster;
    } catch (err) {
      await cluster.down().catch(() => undefined);
      throw err;
    }
  }

  /** Finds the running cluster that `file` describes. */
  static async attach(file: string): Promise<Cluster> {
    const loaded = loadConfig(file);
    const name = loaded.config.cluster.name;
    let state: ClusterState;
    try {
      state = JSON.parse(fs.readFileSync(statePath(name), 'utf8')) as ClusterState;
    } catch {
      throw new Error(`cluster ${name} is not running (no ${statePath(name)}); start it with: dvs up ${displayFile(loaded.file)}`);
    }
    return new Cluster(loaded, state);
  }

  /** Finds a running cluster by name (the config path comes from its state). */
  static async attachByName(name: string): Promise<Cluster> {
    let state: ClusterState;
    try {
      state = JSON.parse(fs.readFileSync(statePath(name), 'utf8')) as ClusterState;
    } catch {
      throw new Error(`no cluster named ${name} is running`);
    }
    try {
      return new Cluster(loadConfig(state.config), state);
    } catch (err) {
      if (err instanceof ConfigLoadError) {
        throw new Error(`cluster ${name} runs from ${state.config}, which no longer loads:\n${err.message}`);
      }
      throw err;
    }
  }

  private save(): void {
    const file = statePath(this.state.name);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.state, null, 2) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, file);
  }

  private reload(): void {
    try {
      this.state = JSON.parse(fs.readFileSync(statePath(this.state.name), 'utf8')) as ClusterState;
    } catch {
      // Gone: keep what we know.
    }
  }

  private nodeName(id: number): string {
    return this.config.nodes.find((n) => n.id === id)?.name ?? `node ${id}`;
  }

  private nodeState(id: number): NodeState {
    const n = this.state.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`cluster ${this.name} has no node ${id} (nodes: ${this.state.nodes.map((x) => x.id).join(', ')})`);
    return n;
  }

  private endpoint(number: number, dc?: number): DvsEndpoint {
    const all = this.config.endpoints.filter((e) => e.number === number && (dc === undefined || e.dc === dc));
    if (all.length === 0) throw new Error(`cluster ${this.name} declares no endpoint ${number}${dc !== undefined ? ` in DC ${dc}` : ''}`);
    if (all.length > 1) throw new Error(`endpoint ${number} exists in DCs ${all.map((e) => e.dc).join(', ')}: say which DC`);
    return all[0]!;
  }

  private logFile(source: string): string {
    return path.join(this.state.dir, 'logs', `${source}.log`);
  }

  private logSources(): [string, string][] {
    const out: [string, string][] = this.state.nodes.map((n) => [n.name, logPath(n.dir)]);
    for (const e of this.config.endpoints) {
      if (!e.program) continue;
      out.push([e.name, this.logFile(e.name)]);
      for (const b of e.backups ?? []) out.push([backupName(e, this.nodeName(b)), this.logFile(backupName(e, this.nodeName(b)))]);
    }
    return out;
  }

  private exitFile(name: string): string {
    return path.join(this.state.dir, 'logs', `${name}.exit`);
  }

  private async startProgram(
    e: DvsEndpoint,
    inspect?: string,
    how: { node?: number; bind?: (pid: number) => Promise<void>; name?: string; env?: NodeJS.ProcessEnv } = {},
  ): Promise<ProgramState> {
    const node = this.nodeState(how.node ?? this.homeOf(e));
    const command = commandFor(this.loaded, e, inspect);
    const name = how.name ?? e.name;
    const logFile = this.logFile(name);
    fs.rmSync(this.exitFile(name), { force: true });
    this.exits.delete(name);
    let running: Running;
    try {
      running = await runProgram({
        dir: node.dir,
        program: command[0]!,
        args: command.slice(1),
        dc: e.dc,
        endpoint: e.number,
        cwd: this.loaded.folder,
        logFile,
        // In an Electron host (VS Code desktop) process.execPath is Electron: make it act as Node.
        env: { DVS_CLUSTER: this.name, DVS_ENDPOINT_NAME: e.name, ...(how.env ?? {}), ...(process.versions['electron'] ? { ELECTRON_RUN_AS_NODE: '1' } : {}) },
        ...(node.netns ? { wrap: ['ip', 'netns', 'exec', node.netns] } : {}),
        ...(how.bind ? { bind: how.bind } : {}),
      });
    } catch (err) {
      throw new Error(`${name} on ${node.name}: ${(err as Error).message}`);
    }
    const pid = running.child.pid!;
    this.children.set(name, running);
    void running.exited.then((code) => {
      // Replaced meanwhile (a migration, perhaps by another dvs process,
      // started its successor): this end is not the endpoint's.
      let now: ProgramState | undefined;
      try {
        now = (JSON.parse(fs.readFileSync(statePath(this.state.name), 'utf8')) as ClusterState).programs.find((x) => x.name === name);
      } catch {
        // no state any more: the cluster is going down
      }
      if (now && now.pid !== pid) return;
      this.exits.set(name, code);
      try {
        fs.writeFileSync(this.exitFile(name), `${pid} ${code}\n`);
        fs.appendFileSync(logFile, `[dvs] ${name} (pid ${pid}) exited with status ${code}\n`);
      } catch {
        // The cluster was taken down meanwhile.
      }
    });
    const p: ProgramState = { name, number: e.number, dc: e.dc, node: node.id, pid, start: procStart(pid), log: logFile, command };
    this.state.programs = this.state.programs.filter((x) => x.name !== name);
    this.state.programs.push(p);
    this.save();
    return p;
  }

  /** Resolves when every program started by this controller has exited (or at once for an attached cluster). */
  async programsExited(): Promise<Map<string, number>> {
    await Promise.all([...this.children.values()].map((r) => r.exited));
    return new Map(this.exits);
  }

  /** Exit codes seen so far, by endpoint name. */
  exitCodes(): Map<string, number> {
    const out = new Map(this.exits);
    const names = this.config.endpoints.flatMap((e) => [e.name, ...(e.backups ?? []).map((b) => backupName(e, this.nodeName(b)))]);
    for (const name of names) {
      if (out.has(name)) continue;
      try {
        const [, code] = fs.readFileSync(this.exitFile(name), 'utf8').trim().split(' ');
        if (code !== undefined) out.set(name, Number(code));
      } catch {
        // not exited (or not known)
      }
    }
    return out;
  }

  private async anyNodeAlive(): Promise<boolean> {
    return this.state.nodes.some((n) => alive(n.pid, n.start));
  }

  private async links(dir: string): Promise<LinkInfo[]> {
    const r = await control.request(dir, 'links');
    return (r['links'] as LinkInfo[]) ?? [];
  }

  private async waitLinks(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let missing = '';
    while (Date.now() < deadline) {
      if (signal?.aborted) throw new Error('cluster start was cancelled');
      missing = '';
      for (const n of this.state.nodes) {
        if (!alive(n.pid, n.start)) {
          throw new Error(`dvsd of ${n.name} exited while the links came up:\n${tail(logPath(n.dir))}`);
        }
        const links = await this.links(n.dir).catch(() => [] as LinkInfo[]);
        for (const m of this.state.nodes) {
          if (m.id === n.id) continue;
          const l = links.find((x) => x.node === m.id);
          if (!l || l.state !== 'up') {
            missing = `${n.name} -> ${m.name} (${m.host}:${m.port}) is ${l ? l.state : 'not known to dvsd'}`;
            break;
          }
        }
        if (missing) break;
      }
      if (!missing) return;
      await delay(100);
    }
    const from = this.state.nodes.find((n) => missing.startsWith(n.name + ' '));
    throw new Error(
      `the link ${missing} after ${timeoutMs / 1000} s` + (from ? `; the end of ${logPath(from.dir)}:\n${tail(logPath(from.dir))}` : ''),
    );
  }

  /** Nodes, links, DCs, processes and the state of every declared endpoint. */
  async status(): Promise<ClusterStatus> {
    this.reload();
    const nodes: ClusterStatus['nodes'] = [];
    for (const n of this.state.nodes) {
      let up = false;
      let dcs: control.DcInfo[] = [];
      let procs: control.ProcInfo[] = [];
      let links: LinkInfo[] = [];
      try {
        const info = await control.info(n.dir);
        up = true;
        dcs = info.dcs;
        procs = await control.ps(n.dir);
        if (this.state.nodes.length > 1) links = await this.links(n.dir).catch(() => []);
      } catch {
        up = false;
      }
      nodes.push({ id: n.id, name: n.name, dir: n.dir, up, links, dcs, procs });
    }
    const exits = this.exitCodes();
    const endpoints: ClusterStatus['endpoints'] = this.config.endpoints.map((e) => {
      // Where it runs: the node whose table has it local (after a migration
      // or a takeover that is not dvs.json's node).
      const local = (n: ClusterStatus['nodes'][number]) => n.procs.find((x) => x.dc === e.dc && x.endpoint === e.number && !x.flags.includes('REMOTE') && x.pid > 0);
      const node = nodes.find((n) => n.up && local(n)) ?? nodes.find((n) => n.id === this.homeOf(e));
      const p = node ? local(node) : undefined;
      const at = node?.id ?? this.homeOf(e);
      const backups = nodes.flatMap((n) =>
        n.procs.filter((x) => x.dc === e.dc && x.endpoint === e.number && x.standby && x.pid > 0).map((x) => ({ node: n.id, pid: x.pid })),
      );
      const base = { name: e.name, number: e.number, dc: e.dc, node: at, ...(at !== e.node ? { declaredNode: e.node } : {}), ...(backups.length ? { backups } : {}) };
      if (p && p.pid > 0) {
        const standby = this.state.programs.find((x) => x.pid === p.pid && x.name !== e.name);
        const how = standby ? ` (backup ${standby.name} took over)` : '';
        return { ...base, state: 'running' as const, pid: p.pid, describe: control.describeState(p) + how };
      }
      const launched = this.state.programs.find((x) => x.name === e.name);
      if (node && !node.up) {
        return { ...base, state: 'dead' as const, ...(launched ? { pid: launched.pid } : {}), describe: `node ${node.name} is down` };
      }
      if (launched) {
        const code = exits.get(e.name);
        const stillThere = alive(launched.pid, launched.start);
        return {
          ...base,
          state: 'dead' as const,
          pid: launched.pid,
          describe: stillThere
            ? 'not bound (process alive)'
            : code === undefined
              ? 'exited'
              : code > 128
                ? `killed by signal ${code - 128}`
                : `exited with status ${code}`,
        };
      }
      return { ...base, state: 'not started' as const, describe: e.program ? 'not started' : 'no program in dvs.json' };
    });
    return { name: this.name, nodes, endpoints };
  }

  /** Stops every program (SIGTERM, then SIGKILL), every node, the namespaces, and removes the state. */
  async down(): Promise<void> {
    this.reload();
    this.tailer?.stop();
    // Programs: those we started, and whatever is bound on the nodes.
    const victims = new Map<number, string>();
    for (const p of this.state.programs) if (alive(p.pid, p.start)) victims.set(p.pid, p.start);
    for (const n of this.state.nodes) {
      const procs = await control.ps(n.dir).catch(() => [] as control.ProcInfo[]);
      for (const p of procs) if (p.pid > 0 && !p.flags.includes('REMOTE') && alive(p.pid)) victims.set(p.pid, procStart(p.pid));
    }
    await terminate(victims, STOP_GRACE_MS);
    for (const n of this.state.nodes) {
      if (!alive(n.pid, n.start)) continue;
      await stopNode(n.dir, STOP_GRACE_MS).catch(() => undefined);
      await terminate(new Map([[n.pid, n.start]]), STOP_GRACE_MS);
    }
    for (const r of this.children.values()) await Promise.race([r.exited, delay(1000)]);
    if (this.state.netns) await netns.destroy(this.state.netns).catch(() => undefined);
    fs.rmSync(this.state.dir, { recursive: true, force: true });
  }

  /** SIGKILLs the program bound to an endpoint; its slot is freed by dvsd. */
  async kill(endpoint: number, dc?: number): Promise<void> {
    this.reload();
    const e = this.endpoint(endpoint, dc);
    const node = this.nodeState(await this.liveHome(e));
    const procs = await control.ps(node.dir, e.dc).catch(() => [] as control.ProcInfo[]);
    const p = procs.find((x) => x.endpoint === e.number && !x.flags.includes('REMOTE'));
    const launched = this.state.programs.find((x) => x.name === e.name);
    const pid = p?.pid ?? (launched && alive(launched.pid, launched.start) ? launched.pid : 0);
    if (!(pid > 0)) throw new Error(`endpoint ${e.number} (${e.name}) is not running`);
    process.kill(pid, 'SIGKILL');
    // Wait until the node has noticed (bounded).
    for (let i = 0; i < 100; i++) {
      const now = await control.ps(node.dir, e.dc).catch(() => [] as control.ProcInfo[]);
      if (!now.some((x) => x.endpoint === e.number && x.pid === pid)) break;
      await delay(20);
    }
    if (launched && launched.pid === pid) {
      try {
        if (!fs.existsSync(this.exitFile(e.name))) fs.writeFileSync(this.exitFile(e.name), `${pid} ${128 + 9}\n`);
        fs.appendFileSync(launched.log, `[dvs] ${e.name} (pid ${pid}) killed\n`);
      } catch {
        // ignore
      }
    }
  }

  /**
   * Starts the dvsd of node `n` in a fresh node directory, with the cluster's
   * addresses, ports, secret and namespace (used by up and restartNode).
   */
  private async startNodeDaemon(n: DvsNode, hosts: string[], ports: number[]): Promise<NodeState> {
    const c = this.config;
    const multi = c.nodes.length > 1;
    const i = c.nodes.findIndex((x) => x.id === n.id);
    const nodeDir = path.join(this.state.dir, n.name);
    fs.rmSync(nodeDir, { recursive: true, force: true });
    const dcs = c.dcs
      .filter((d) => d.nodes.includes(n.id))
      .map((d) => ({ id: d.id, name: d.name, nr_procs: d.nr_procs, nr_tasks: d.nr_tasks, nr_sysprocs: d.nr_sysprocs, ...(multi ? { nodes: d.nodes } : {}) }));
    const extraArgs: string[] = [];
    if (multi) {
      extraArgs.push('--listen', `${hosts[i]}:${ports[i]}`, '--secret-file', this.state.secretFile!);
      for (const [j, m] of c.nodes.entries()) if (m.id !== n.id) extraArgs.push('--peer', `${m.id}=${hosts[j]}:${ports[j]}`);
    }
    const ns = this.state.netns ? netns.nsName(this.state.netns, n.id) : undefined;
    const info = await startNode({
      dir: nodeDir,
      nodeId: n.id,
      name: n.name,
      dcs,
      extraArgs,
      ...(ns ? { wrap: ['ip', 'netns', 'exec', ns] } : {}),
    });
    return {
      id: n.id,
      name: n.name,
      dir: nodeDir,
      host: hosts[i]!,
      port: ports[i] ?? 0,
      pid: info.node.pid,
      start: procStart(info.node.pid),
      ...(ns ? { netns: ns } : {}),
    };
  }

  /**
   * Starts endpoint e's program on node b as a standby of its primary on
   * node `primary`: bound there with bkupbind (it waits in mnx_wait4bind
   * until a takeover), and every other live node of the DC is told where
   * the standby is (`backup`), so that the daemons pick the same one when
   * the primary's node dies (used by up and restartNode).
   */
  private async startStandby(e: DvsEndpoint, b: number, primary: number): Promise<ProgramState> {
    const bn = this.nodeState(b);
    const p = await this.startProgram(e, undefined, {
      node: b,
      name: backupName(e, bn.name),
      bind: async (pid) => {
        await control.request(bn.dir, `bkupbind ${e.dc} ${pid} ${e.number} ${primary}`);
      },
    });
    const dc = this.config.dcs.find((d) => d.id === e.dc)!;
    for (const n of this.state.nodes) {
      if (n.id === b || !dc.nodes.includes(n.id) || !alive(n.pid, n.start)) continue;
      await control.request(n.dir, `backup ${e.dc} ${e.number} ${b}`).catch((err: Error) => {
        throw new Error(`declaring the backup of ${e.name} on ${bn.name} to ${n.name} failed: ${err.message}`);
      });
    }
    return p;
  }

  /** Tells node `n` where every endpoint of another node lives (rmtbind). */
  private async declareRemoteEndpoints(n: NodeState): Promise<void> {
    for (const e of this.config.endpoints) {
      const home = this.homeOf(e);
      if (home === n.id) continue;
      const dc = this.config.dcs.find((d) => d.id === e.dc);
      if (!dc || !dc.nodes.includes(n.id)) continue;
      await control.request(n.dir, `rmtbind ${e.dc} ${e.number} ${home} ${e.name.slice(0, 15)}`).catch((err: Error) => {
        throw new Error(`rmtbind of ${e.name} (endpoint ${e.number}, node ${home}) on ${n.name} failed: ${err.message}`);
      });
    }
  }

  /**
   * Starts a node again, after its dvsd died or was killed (or stops it
   * first if it runs): the node's programs are stopped, a fresh dvsd takes
   * the same address and port, the links to the other nodes come back (they
   * reconnect by themselves), the remote endpoints are declared again and the
   * node's programs start again, servers first, then the standbys it held for
   * other nodes' endpoints (bkupbind, every node told); an endpoint of the node
   * that a standby took over meanwhile stays there, and the node becomes its
   * standby. The old dvsd log is kept as
   * logs/NODE.previous.log.
   */
  async restartNode(id: number, onProgress?: (what: string) => void): Promise<void> {
    this.reload();
    const old = this.nodeState(id);
    const n = this.config.nodes.find((x) => x.id === id)!;
    const say = onProgress ?? (() => undefined);
    // The endpoints placed on this node (dvs.json's node unless migrated).
    const mine = this.config.endpoints.filter((e) => this.homeOf(e) === id);
    const victims = new Map<number, string>();
    for (const p of this.state.programs) if (p.node === id && alive(p.pid, p.start)) victims.set(p.pid, p.start);
    if (alive(old.pid, old.start)) {
      for (const p of await control.ps(old.dir).catch(() => [] as control.ProcInfo[])) {
        if (p.pid > 0 && !p.flags.includes('REMOTE') && alive(p.pid)) victims.set(p.pid, procStart(p.pid));
      }
    }
    if (victims.size > 0) {
      say(`stopping ${victims.size} program(s) of ${n.name}`);
      await terminate(victims, STOP_GRACE_MS);
    }
    if (alive(old.pid, old.start)) {
      say(`stopping dvsd of ${n.name} (pid ${old.pid})`);
      await stopNode(old.dir, STOP_GRACE_MS).catch(() => undefined);
      await terminate(new Map([[old.pid, old.start]]), STOP_GRACE_MS);
    }
    try {
      fs.renameSync(logPath(old.dir), path.join(this.state.dir, 'logs', `${n.name}.previous.log`));
    } catch {
      // no log to keep
    }
    const hosts = this.config.nodes.map((x) => this.nodeState(x.id).host);
    const ports = this.config.nodes.map((x) => this.nodeState(x.id).port);
    const fresh = await this.startNodeDaemon(n, hosts, ports);
    this.state.nodes = this.state.nodes.map((x) => (x.id === id ? fresh : x));
    this.save();
    say(`started dvsd of ${n.name} (pid ${fresh.pid}${this.state.nodes.length > 1 ? `, ${fresh.host}:${fresh.port}` : ''})`);
    for (const m of this.state.nodes) {
      if (m.id === id || !alive(m.pid, m.start)) continue;
      say(`waiting for the link ${n.name} <-> ${m.name}`);
      await this.waitLink(id, m.id, LINK_TIMEOUT_MS);
    }
    // An endpoint of this node that a standby took over while it was down lives
    // there now: this node comes back as its standby, not as a second primary
    // (the launcher's placement follows the takeover from now on).
    const moved = new Map<string, number>();
    for (const e of mine) {
      if (!e.program || !e.backups?.length) continue;
      const live = await this.liveHome(e);
      if (live !== id) moved.set(e.name, live);
    }
    if (moved.size > 0) {
      this.state.placement = { ...(this.state.placement ?? {}), ...Object.fromEntries(moved) };
      this.save();
    }
    if (this.state.nodes.length > 1) await this.declareRemoteEndpoints(fresh);
    for (const e of [...mine.filter((x) => x.server), ...mine.filter((x) => !x.server)]) {
      if (!e.program || moved.has(e.name)) continue;
      const p = await this.startProgram(e);
      say(`started ${e.name} on ${n.name} (endpoint ${e.number}, pid ${p.pid})`);
    }
    // The fresh daemon knows nothing of the other nodes' standbys (they were
    // declared to its predecessor): tell it where the live ones are, from their
    // nodes' own tables, or it could never pick them for a takeover.
    for (const m of this.state.nodes) {
      if (m.id === id || !alive(m.pid, m.start)) continue;
      for (const p of await control.ps(m.dir).catch(() => [] as control.ProcInfo[])) {
        if (!p.standby || p.pid <= 0) continue;
        const dc = this.config.dcs.find((d) => d.id === p.dc);
        if (!dc || !dc.nodes.includes(id)) continue;
        await control.request(fresh.dir, `backup ${p.dc} ${p.endpoint} ${m.id}`).catch((err: Error) => {
          throw new Error(`declaring the standby of endpoint ${p.endpoint} on ${m.name} to ${n.name} failed: ${err.message}`);
        });
      }
    }
    // The standbys this node held for endpoints that live on other nodes: they
    // died with it. Registered again (bkupbind here, `backup` on every other
    // node), the other nodes count on this node for a takeover again — they
    // still did (its daemon died before it could withdraw them), so until now a
    // takeover onto it would have failed.
    for (const e of this.config.endpoints) {
      if (!e.program || !((e.backups ?? []).includes(id) || moved.has(e.name))) continue;
      const home = await this.liveHome(e);
      if (home === id) continue; // it lives here now: no standby of itself
      const hn = this.nodeState(home);
      if (!alive(hn.pid, hn.start)) {
        say(`not restarting the backup of ${e.name} on ${n.name}: its primary's node ${hn.name} is down`);
        continue;
      }
      const p = await this.startStandby(e, id, home);
      say(`started the backup of ${e.name} on ${n.name} (standby pid ${p.pid} of the primary on ${hn.name}, bkupbind)`);
    }
  }

  /** Stops the endpoint's program if it runs and starts it again. */
  async restart(endpoint: number, dc?: number): Promise<void> {
    this.reload();
    const e = this.endpoint(endpoint, dc);
    if (!e.program) throw new Error(`endpoint ${e.number} (${e.name}) has no program in dvs.json`);
    const home = await this.liveHome(e);
    const node = this.nodeState(home);
    const procs = await control.ps(node.dir, e.dc).catch(() => [] as control.ProcInfo[]);
    const p = procs.find((x) => x.endpoint === e.number && !x.flags.includes('REMOTE'));
    const launched = this.state.programs.find((x) => x.name === e.name);
    const victims = new Map<number, string>();
    if (p && p.pid > 0) victims.set(p.pid, procStart(p.pid));
    if (launched && alive(launched.pid, launched.start)) victims.set(launched.pid, launched.start);
    await terminate(victims, STOP_GRACE_MS);
    for (let i = 0; i < 100; i++) {
      const now = await control.ps(node.dir, e.dc).catch(() => [] as control.ProcInfo[]);
      if (!now.some((x) => x.endpoint === e.number && !x.flags.includes('REMOTE'))) break;
      await delay(20);
    }
    await this.startProgram(e, undefined, { node: home });
  }

  /**
   * Fault injection: SIGKILLs a node's dvsd and every program bound on it,
   * as if the machine died. Its links drop at once on the other nodes;
   * their backups take its endpoints over (backup.c).
   */
  async crashNode(id: number): Promise<{ dvsd: number; programs: number[] }> {
    this.reload();
    const n = this.nodeState(id);
    if (!alive(n.pid, n.start)) throw new Error(`node ${n.name} is not running`);
    const procs = await control.ps(n.dir).catch(() => [] as control.ProcInfo[]);
    const victims = new Set<number>();
    for (const p of procs) if (p.pid > 0 && alive(p.pid)) victims.add(p.pid);
    for (const p of this.state.programs) if (p.node === id && alive(p.pid, p.start)) victims.add(p.pid);
    process.kill(n.pid, 'SIGKILL');
    for (const pid of victims) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (let i = 0; i < 100 && alive(n.pid, n.start); i++) await delay(20);
    return { dvsd: n.pid, programs: [...victims] };
  }

  private pair(a: number, b: number): [NodeState, NodeState] {
    if (a === b) throw new Error(`a link joins two different nodes, not ${a} and ${b}`);
    return [this.nodeState(a), this.nodeState(b)];
  }

  /** Cuts the link between nodes a and b (both directions); with namespaces, also on the network. */
  async linkCut(a: number, b: number): Promise<void> {
    await this.link('cut', a, b);
  }

  /** Restores the link between nodes a and b. */
  async linkRestore(a: number, b: number): Promise<void> {
    await this.link('restore', a, b);
  }

  private async link(op: 'cut' | 'restore', a: number, b: number): Promise<void> {
    this.reload();
    const [na, nb] = this.pair(a, b);
    if (this.state.netns) await netns[op](this.state.netns, a, b);
    await control.request(na.dir, `link ${op} ${b}`);
    await control.request(nb.dir, `link ${op} ${a}`);
  }

  /** Waits until the link between a and b is up on both sides (bounded). */
  async waitLink(a: number, b: number, timeoutMs = 10000): Promise<void> {
    const [na, nb] = this.pair(a, b);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const la = (await this.links(na.dir).catch(() => [])).find((l) => l.node === b);
      const lb = (await this.links(nb.dir).catch(() => [])).find((l) => l.node === a);
      if (la?.state === 'up' && lb?.state === 'up') return;
      await delay(100);
    }
    throw new Error(`the link ${na.name} <-> ${nb.name} did not come back within ${timeoutMs / 1000} s`);
  }

  /**
   * The logs: of one source (an endpoint or node name), or of all of them,
   * each line prefixed with its source.
   */
  logs(source?: string): string {
    const sources = this.logSources();
    if (source !== undefined) {
      const s = sources.find(([n]) => n === source);
      if (!s) throw new Error(`no log named ${source}; there are: ${sources.map(([n]) => n).join(', ')}`);
      return readOr(s[1]);
    }
    return sources
      .map(([n, f]) =>
        readOr(f)
          .split('\n')
          .filter((l) => l.length)
          .map((l) => `[${n}] ${l}`)
          .join('\n'),
      )
      .filter((x) => x.length)
      .join('\n');
  }

  /** Streams new log lines (programs and nodes) to onLog until stopped. */
  follow(onLog: (source: string, line: string) => void): { stop(): void } {
    const t = new Tailer(() => this.logSources(), onLog);
    t.start(true);
    return { stop: () => t.stop() };
  }

  /** Whether cluster.json still exists (false after a `dvs down` elsewhere). */
  stillRecorded(): boolean {
    return fs.existsSync(statePath(this.state.name));
  }

  /** The pids of every dvsd and program of the cluster (for checks). */
  pids(): number[] {
    this.reload();
    return [...this.state.nodes.map((n) => n.pid), ...this.state.programs.map((p) => p.pid)];
  }

  /** The node an endpoint runs on: dvs.json's, or where it was migrated to. */
  nodeOf(endpoint: number, dc?: number): ClusterNodeInfo {
    this.reload();
    const e = this.endpoint(endpoint, dc);
    const n = this.nodeState(this.homeOf(e));
    return { id: n.id, name: n.name, dir: n.dir, host: n.host, port: n.port };
  }

  /** Where the launcher last put an endpoint (dvs.json's node unless migrated). */
  private homeOf(e: DvsEndpoint): number {
    return this.state.placement?.[e.name] ?? e.node;
  }

  /**
   * Where an endpoint lives now, from the nodes' own tables: the node on
   * which its slot is local (a takeover by a backup moves it without the
   * launcher); the launcher's placement when no live node has it.
   */
  async liveHome(e: DvsEndpoint): Promise<number> {
    for (const n of this.state.nodes) {
      if (!alive(n.pid, n.start)) continue;
      const procs = await control.ps(n.dir, e.dc).catch(() => [] as control.ProcInfo[]);
      if (procs.some((p) => p.endpoint === e.number && !p.flags.includes('REMOTE') && p.pid > 0)) return n.id;
    }
    return this.homeOf(e);
  }

  /**
   * Live migration of an endpoint to another node, as the original's
   * manager does it (m3ipc-semantics.md §6): migr_start on every node of
   * its DC (callers from now on wait, WAITMIGR); wait until its process is
   * idle in receive with no caller awaiting its reply; stop it; start the
   * endpoint's program on the target node, bound there by migr_commit;
   * migr_commit on every other node (the old home last). Callers held
   * meanwhile are replayed to the new node and never see the migration.
   * On a failure before the new program is bound everything is rolled
   * back (a program already stopped is started again where it was) and the
   * error says what failed. The program's state is its own business: the
   * new process starts fresh unless the program hands it over itself.
   */
  async migrate(endpoint: number, to: number, opts: MigrateOptions = {}): Promise<MigrateResult> {
    this.reload();
    const e = this.endpoint(endpoint, opts.dc);
    const label = `${e.name} (endpoint ${e.number})`;
    if (!e.program) throw new Error(`${label} has no program in dvs.json: there is nothing to start on the target node`);
    const target = this.nodeState(to);
    const dc = this.config.dcs.find((d) => d.id === e.dc)!;
    if (!dc.nodes.includes(to)) throw new Error(`node ${target.name} is not part of DC ${dc.name} (nodes ${dc.nodes.join(', ')}): ${label} cannot live there`);
    const from = await this.liveHome(e);
    if (from === to) throw new Error(`${label} already runs on ${target.name}`);
    const home = this.nodeState(from);
    const nodes = this.state.nodes.filter((n) => dc.nodes.includes(n.id));
    for (const n of nodes) if (!alive(n.pid, n.start)) throw new Error(`node ${n.name} is down: a migration needs every node of DC ${dc.name}`);
    const standby = (await control.ps(target.dir, e.dc)).find((p) => p.endpoint === e.number && p.standby);
    if (standby) {
      throw new Error(`${target.name} holds a standby of ${label} (pid ${standby.pid}): migrate it to a node without one (a takeover promotes standbys)`);
    }
    const old = (await control.ps(home.dir, e.dc)).find((p) => p.endpoint === e.number && !p.flags.includes('REMOTE'));
    if (!old || !(old.pid > 0)) throw new Error(`${label} is not running on ${home.name}`);
    const total = 5;
    const progress = (step: string, done: number) => opts.onProgress?.(step, done, total);
    const rollback = async (which: NodeState[]) => {
      for (const n of which) await control.request(n.dir, `migrate rollback ${e.dc} ${e.number}`).catch(() => undefined);
    };

    const order = [...nodes.filter((x) => x.id !== from), home];
    progress(`migr_start of ${label} on ${order.map((n) => n.name).join(', ')}: its callers now wait`, 1);
    const idleMs = opts.idleTimeoutMs ?? 10000;
    const started: NodeState[] = [];
    const startBy = Date.now() + idleMs;
    // The home last: the other nodes then already hold their callers, so
    // its process soon stops doing remote operations (EMOLBUSY).
    for (const n of order) {
      for (;;) {
        try {
          await control.request(n.dir, `migrate start ${e.dc} ${e.number}`);
          started.push(n);
          break;
        } catch (err) {
          // EMOLBUSY / EMOLONCOPY: its process is in a remote operation or a
          // copy right now (the original refuses then); those end quickly.
          const transient = err instanceof control.ControlError && (err.errorName === 'EMOLBUSY' || err.errorName === 'EMOLONCOPY');
          if (transient && Date.now() < startBy) {
            await delay(5);
            continue;
          }
          await rollback(started);
          throw new Error(`migration of ${label} failed: migr_start on ${n.name}: ${(err as Error).message}; rolled back`);
        }
      }
    }

    progress(`waiting for ${label} on ${home.name} to be idle (receiving, no caller awaiting its reply)`, 2);
    const deadline = Date.now() + idleMs;
    let why = '';
    for (;;) {
      why = await this.busyReason(e, home, nodes);
      if (!why) break;
      if (Date.now() > deadline) {
        await rollback(nodes);
        throw new Error(`migration of ${label} failed: it did not become idle within ${idleMs / 1000} s (${why}); rolled back`);
      }
      await delay(20);
    }

    progress(`stopping ${label} on ${home.name} (pid ${old.pid})`, 3);
    await terminate(new Map([[old.pid, procStart(old.pid)]]), STOP_GRACE_MS);
    const launched = this.state.programs.find((x) => x.name === e.name);
    if (launched && launched.pid === old.pid) {
      try {
        fs.appendFileSync(launched.log, `[dvs] ${e.name} (pid ${old.pid}) stopped: migrating to ${target.name}\n`);
      } catch {
        // the log is optional
      }
    }

    progress(`starting ${label} on ${target.name}, bound there by migr_commit`, 4);
    let p: ProgramState;
    try {
      p = await this.startProgram(e, undefined, {
        node: to,
        // The program may take its state over from its predecessor (samples/c/migrate).
        env: { DVS_MIGRATED_FROM: String(from) },
        bind: async (pid) => {
          await control.request(target.dir, `migrate commit ${e.dc} ${e.number} ${to} ${pid}`);
        },
      });
    } catch (err) {
      // Put it back where it was: a fresh process committed on the old home.
      const reason = (err as Error).message;
      try {
        await this.startProgram(e, undefined, {
          node: from,
          bind: async (pid) => {
            await control.request(home.dir, `migrate commit ${e.dc} ${e.number} ${from} ${pid}`);
          },
        });
        await rollback(nodes.filter((n) => n.id !== from));
      } catch {
        await rollback(nodes);
      }
      throw new Error(`migration of ${label} to ${target.name} failed: ${reason}; it was restarted on ${home.name}`);
    }

    progress(`migr_commit on ${nodes.filter((n) => n.id !== to).map((n) => n.name).join(', ')}: callers replayed to ${target.name}`, 5);
    const others = [...nodes.filter((n) => n.id !== to && n.id !== from), home];
    const failed: string[] = [];
    for (const n of others) {
      await control.request(n.dir, `migrate commit ${e.dc} ${e.number} ${to}`).catch((err: Error) => failed.push(`${n.name}: ${err.message}`));
    }
    this.state.placement = { ...(this.state.placement ?? {}), [e.name]: to };
    this.save();
    if (failed.length) throw new Error(`${label} runs on ${target.name} now, but migr_commit failed on ${failed.join('; ')}`);
    return { name: e.name, from, to, pid: p.pid };
  }

  /** Why the endpoint cannot be stopped for a migration yet ('' when it can). */
  private async busyReason(e: DvsEndpoint, home: NodeState, nodes: NodeState[]): Promise<string> {
    const MIS_SENDREC = 0x20000;
    const procs = await control.ps(home.dir, e.dc);
    const me = procs.find((p) => p.endpoint === e.number && !p.flags.includes('REMOTE'));
    if (!me) return 'it is no longer bound';
    if (!me.flags.includes('RECEIVING') || me.flags.includes('SENDING') || me.getfrom !== control.ANY) return `it is ${control.describeState(me)}`;
    for (const n of nodes) {
      const ps = n === home ? procs : await control.ps(n.dir, e.dc);
      const waiting = ps.find(
        (p) => p.flags.includes('RECEIVING') && !p.flags.includes('SENDING') && p.getfrom === e.number && (p.misc_flags & MIS_SENDREC) !== 0,
      );
      if (waiting) return `endpoint ${waiting.endpoint} on ${n.name} awaits its reply`;
    }
    return '';
  }
}

/** The program name (log, state) of an endpoint's standby on a node. */
function backupName(e: DvsEndpoint, nodeName: string): string {
  return `${e.name}@${nodeName}`;
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function tail(file: string, lines = 15): string {
  return readOr(file).trimEnd().split('\n').slice(-lines).join('\n') || '(empty log)';
}

function displayFile(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

/** SIGTERM each pid, wait up to graceMs, SIGKILL what is left, wait until gone. */
async function terminate(victims: Map<number, string>, graceMs: number): Promise<void> {
  const live = () => [...victims].filter(([pid, start]) => alive(pid, start));
  for (const [signal, ms] of [['SIGTERM', graceMs], ['SIGKILL', 2000]] as const) {
    for (const [pid] of live()) {
      try {
        process.kill(pid, signal);
      } catch {
        // gone
      }
    }
    const deadline = Date.now() + ms;
    while (live().length && Date.now() < deadline) await delay(20);
  }
}

/** The cluster secret: the configured file, the env var's value, or a generated one (mode 0600). */
function writeSecret(loaded: LoadedConfig, dir: string): string {
  const src = loaded.config.cluster.secret;
  const file = path.join(dir, 'secret');
  if (src && 'file' in src) {
    const p = path.resolve(loaded.folder, src.file);
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      throw new Error(`the cluster secret file ${p} (cluster.secret.file in ${displayFile(loaded.file)}) does not exist`);
    }
    if ((st.mode & 0o077) !== 0) throw new Error(`the cluster secret file ${p} must be private: chmod 600 ${p}`);
    return p;
  }
  const value = src && 'env' in src ? process.env[src.env] : undefined;
  fs.writeFileSync(file, value && value.length ? value : crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return file;
}

/** Runs one build command in the dvs.json folder, with pkg-config finding libm3ipc. */
function runBuild(command: string, cwd: string, onLine: (line: string) => void, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const pc = path.join(buildDir(), 'pkgconfig');
    const env = { ...process.env, PKG_CONFIG_PATH: [pc, process.env['PKG_CONFIG_PATH']].filter(Boolean).join(':') };
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
    const lines: string[] = [];
    const take = (buf: Buffer) => {
      for (const l of buf.toString('utf8').split('\n')) {
        if (!l.length) continue;
        lines.push(l);
        onLine(l);
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (e) => reject(new Error(`build '${command}' in ${cwd} could not run: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`build '${command}' in ${cwd} failed with status ${code}:\n${lines.slice(-15).join('\n')}`));
    });
  });
}
