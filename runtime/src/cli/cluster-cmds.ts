/**
 * The cluster commands of `dvs`: up, status, ps (across nodes), down, kill,
 * restart, logs, link cut|restore, migrate. They drive the controller in
 * ../cluster/cluster.ts, like the VS Code extension does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Cluster, ConfigLoadError, runningClusters, type ClusterStatus } from '../cluster/cluster';
import { loadConfig } from '../cluster/config';
import * as control from '../cluster/control';
import { nodesRoot, runtimeRoot } from '../cluster/paths';
import type { ProtocolType } from '../cluster/trace';
import { sampledTrace } from './trace-cmd';
import { psCells, PS_HEADER, table } from './table';

export class CliUsageError extends Error {}

export const CLUSTER_HELP = `cluster commands (a cluster is described by a dvs.json file):
  dvs                         = dvs up of the built-in sample cluster (the 3-node key-value demo)
  dvs up [FILE] [--detach] [--seconds N] [--verbose] [--no-trace]
                              build the programs, start one dvsd per node, connect them, start
                              every endpoint; stays in the foreground printing the programs'
                              output and a sample of the live trace of every node (decoded
                              with the protocol; --no-trace hides it) until Ctrl-C (or N
                              seconds), then stops the cluster.
                              --detach returns once everything runs. FILE defaults to ./dvs.json
  dvs status [FILE] [--json]  nodes, links, DCs and the state of every endpoint
  dvs ps [FILE] [--json]      the process tables of all nodes of the running cluster
                              (with --dir DIR: of one node, see below)
  dvs down [FILE]             stop every program and node, delete the cluster's state
  dvs kill EP [--dc N] [FILE] SIGKILL the program of endpoint EP (it shows as dead)
  dvs restart EP [--dc N] [FILE]
                              stop endpoint EP's program and start it again
  dvs restart --node NODE [FILE]
                              start a node again (stopping it first if it runs): a fresh dvsd
                              on the same address, links back up, its programs started again,
                              and the standbys (backups) it held for other nodes' endpoints
  dvs logs [SOURCE] [FILE]    the output of an endpoint's program or a node's dvsd (all without SOURCE)
  dvs link cut|restore A B [FILE]
                              cut or restore the link between nodes A and B (fault injection:
                              callers blocked on the other node get EMOLNOTCONN)
  dvs migrate EP NODE [--dc N] [FILE]
                              live migration of endpoint EP to NODE (id or name): callers wait
                              and are replayed there; the program restarts on NODE (its state
                              is its own to hand over)
  dvs crash NODE [FILE]       fault injection: SIGKILL a node's dvsd and its programs (its
                              endpoints' backups, "backups" in dvs.json, take them over)
Without FILE the commands act on the running cluster (./dvs.json's, or the only one running;
--cluster NAME picks one).`;

interface Args {
  flags: Map<string, string>;
  positional: string[];
}

/** parseArgs accepts flags anywhere; `valued` flags take the next word. */
function parseArgs(argv: string[], valued: string[], bare: string[]): Args {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (valued.includes(a)) {
      const v = argv[++i];
      if (v === undefined) throw new CliUsageError(`${a} needs a value`);
      flags.set(a, v);
    } else if (bare.includes(a)) {
      flags.set(a, 'true');
    } else if (a.startsWith('--')) {
      throw new CliUsageError(`unknown option '${a}'`);
    } else {
      positional.push(a);
    }
  }
  return { flags, positional };
}

function int(value: string | undefined, what: string, min: number, max: number): number {
  if (value === undefined || !/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new CliUsageError(`${what} takes a whole number from ${min} to ${max}, not '${value ?? ''}'`);
  }
  return Number(value);
}

/** The built-in sample cluster: the repository's 3-node key-value demo. */
export function builtinClusterFile(): string {
  const inRepo = path.resolve(runtimeRoot(), '..', 'samples', 'c', 'kv', 'dvs.json');
  if (fs.existsSync(inRepo)) return inRepo;
  throw new Error(`the built-in sample cluster (${inRepo}) is not here: pass a dvs.json (dvs up FILE)`);
}

/** Finds the cluster a command is about. */
async function target(args: Args, fileArg?: string): Promise<Cluster> {
  const name = args.flags.get('--cluster');
  if (fileArg !== undefined) return Cluster.attach(fileArg);
  if (name !== undefined) return Cluster.attachByName(name);
  const running = runningClusters();
  if (fs.existsSync('dvs.json')) {
    const c = await Cluster.attach('dvs.json').catch(() => undefined);
    if (c) return c;
  }
  if (running.length === 1) return Cluster.attachByName(running[0]!);
  if (running.length === 0) throw new Error('no cluster is running; start one with: dvs up [dvs.json]');
  throw new Error(`several clusters are running (${running.join(', ')}): say which with --cluster NAME or a dvs.json`);
}

function isConfigError(err: unknown): err is ConfigLoadError {
  return err instanceof ConfigLoadError;
}

/** Runs a cluster command; a malformed dvs.json prints every error with its position and gives 1. */
export async function clusterCommand(cmd: string, argv: string[]): Promise<number> {
  try {
    switch (cmd) {
      case 'up':
        return await cmdUp(argv);
      case 'status':
        return await cmdStatus(argv);
      case 'ps':
        return await cmdPs(argv);
      case 'down':
        return await cmdDown(argv);
      case 'kill':
      case 'restart':
        return await cmdKill(cmd, argv);
      case 'logs':
        return await cmdLogs(argv);
      case 'link':
        return await cmdLink(argv);
      case 'migrate':
        return await cmdMigrate(argv);
      case 'crash':
        return await cmdCrash(argv);
      default:
        throw new CliUsageError(`unknown command '${cmd}'`);
    }
  } catch (err) {
    if (isConfigError(err)) {
      for (const line of err.message.split('\n')) console.error(line);
      console.error(`dvs: ${err.errors.length} error(s) in ${err.file}`);
      return 1;
    }
    throw err;
  }
}

async function cmdUp(argv: string[]): Promise<number> {
  const a = parseArgs(argv, ['--seconds'], ['--detach', '--verbose', '--no-trace']);
  if (a.positional.length > 1) throw new CliUsageError(`dvs up takes one dvs.json, not '${a.positional.join(' ')}'`);
  const file = a.positional[0] ?? (fs.existsSync('dvs.json') ? 'dvs.json' : undefined);
  if (file === undefined) throw new CliUsageError('no dvs.json here: dvs up FILE');
  return up(file, {
    detach: a.flags.has('--detach'),
    verbose: a.flags.has('--verbose'),
    trace: !a.flags.has('--no-trace'),
    seconds: a.flags.has('--seconds') ? int(a.flags.get('--seconds'), '--seconds', 1, 86400) : undefined,
  });
}

/** dvs up: progress lines, then (in the foreground) the programs' output until Ctrl-C. */
export async function up(
  file: string,
  o: { detach: boolean; verbose: boolean; seconds?: number; trace?: boolean },
): Promise<number> {
  const loaded = loadConfig(file);
  const pad = Math.max(11, ...loaded.config.endpoints.map((e) => e.name.length), ...loaded.config.nodes.map((n) => n.name.length));
  const width = (n: string) => n.padEnd(pad + 1);
  const tty = process.stdout.isTTY === true;
  const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);
  const showNodes = o.verbose;
  // Loading first also reports a malformed file before anything starts.
  const nodeNames = new Set(loaded.config.nodes.map((n) => n.name));
  const onLog = (source: string, line: string) => {
    // dvsd's own lines: only link changes, unless --verbose.
    if (nodeNames.has(source) && !showNodes && !/\blink\b/.test(line)) return;
    if (source === 'build' && !o.verbose) return;
    console.log(`${width(source)}| ${nodeNames.has(source) || source === 'build' ? dim(line) : line}`);
  };
  const abort = new AbortController();
  let stopping = false;
  const onSignal = () => {
    if (!stopping) {
      stopping = true;
      abort.abort();
      console.log('\nstopping the cluster…');
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let cluster: Cluster;
  try {
    cluster = await Cluster.up(file, {
      onProgress: (step, done, total) => console.log(`[${done}/${total}] ${step}`),
      onLog,
      signal: abort.signal,
    });
  } catch (err) {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    throw err;
  }
  const eps = cluster.config.endpoints.filter((e) => e.program).length;
  if (o.detach) {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    console.log(
      `cluster ${cluster.name} is running: ${cluster.nodes.length} node(s), ${eps} program(s); ` +
        `logs in ${path.join(cluster.dir, 'logs')}\nsee it with: dvs status; stop it with: dvs down`,
    );
    return 0;
  }
  console.log(
    `cluster ${cluster.name} is running: ${cluster.nodes.length} node(s), ${eps} program(s). ` +
      (o.seconds ? `It stops in ${o.seconds} s; ` : '') +
      `Ctrl-C stops it; dvs status / dvs link cut A B in another terminal.`,
  );
  // The live trace of every node, decoded with the cluster's protocol.
  const traces = o.trace === false ? [] : sampledTrace(cluster.nodes.map((n) => n.dir),
    (cluster.config.protocol?.types ?? []) as ProtocolType[], (line) => console.log(`${width('trace')}| ${line.replace(/^\[trace\] /, '')}`));
  const start = Date.now();
  while (!stopping) {
    if (o.seconds !== undefined && Date.now() - start >= o.seconds * 1000) break;
    if (!cluster.stillRecorded()) {
      console.log(`cluster ${cluster.name} was stopped elsewhere`);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      return 0;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const t of traces) t.close();
  const exits = cluster.exitCodes();
  const failed = [...exits].filter(([, code]) => code !== 0);
  await cluster.down();
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  const ended = [...exits].map(([n, code]) => `${n} ${code === 0 ? 'ok' : `status ${code}`}`);
  console.log(
    `cluster ${cluster.name} stopped` + (ended.length ? `; programs that ended before: ${ended.join(', ')}` : '') + '.',
  );
  return failed.length ? 1 : 0;
}

function formatStatus(s: ClusterStatus, c: Cluster): string {
  const out: string[] = [`cluster ${s.name} (${c.file})${c.isolated ? ', nodes in network namespaces' : ''}`, ''];
  const nodeName = (id: number) => s.nodes.find((n) => n.id === id)?.name ?? String(id);
  const nodeRows = [['NODE', 'ID', 'STATE', 'ADDRESS', 'DCS', 'BOUND', 'LINKS']];
  for (const n of s.nodes) {
    const info = c.nodes.find((x) => x.id === n.id);
    nodeRows.push([
      n.name,
      String(n.id),
      n.up ? 'up' : 'down',
      info && info.port ? `${info.host}:${info.port}` : '-',
      n.dcs.map((d) => `${d.id}:${d.name}`).join(',') || '-',
      String(n.procs.filter((p) => !p.flags.includes('REMOTE')).length),
      n.links.map((l) => `${nodeName(l.node)} ${l.state} (${l.sent} sent, ${l.rcvd} rcvd)`).join('; ') || '-',
    ]);
  }
  out.push(table(nodeRows), '');
  const epRows = [['ENDPOINT', 'EP', 'DC', 'NODE', 'STATE', 'PID', 'DOING', 'BACKUPS']];
  for (const e of s.endpoints) {
    // A migrated endpoint, or one a backup took over, runs away from its dvs.json node.
    const where = nodeName(e.node) + (e.declaredNode !== undefined ? ` (dvs.json: ${nodeName(e.declaredNode)})` : '');
    const backups = e.backups?.map((b) => `${nodeName(b.node)} (pid ${b.pid})`).join(', ') ?? '-';
    epRows.push([e.name, String(e.number), String(e.dc), where, e.state, e.pid ? String(e.pid) : '-', e.describe, backups]);
  }
  out.push(table(epRows));
  return out.join('\n');
}

async function cmdStatus(argv: string[]): Promise<number> {
  const a = parseArgs(argv, ['--cluster'], ['--json']);
  const c = await target(a, a.positional[0]);
  const s = await c.status();
  console.log(a.flags.has('--json') ? JSON.stringify(s) : formatStatus(s, c));
  return s.nodes.every((n) => n.up) ? 0 : 1;
}

/** dvs ps across the cluster's nodes (dvs.ts keeps `dvs ps --dir` for one node). */
async function cmdPs(argv: string[]): Promise<number> {
  const a = parseArgs(argv, ['--cluster', '--dc'], ['--json']);
  const dc = a.flags.has('--dc') ? int(a.flags.get('--dc'), '--dc', 0, 31) : undefined;
  const c = await target(a, a.positional[0]);
  const s = await c.status();
  const rows = [['NODE', ...PS_HEADER]];
  const all: (control.ProcInfo & { nodeName: string })[] = [];
  for (const n of s.nodes) {
    for (const p of n.procs) {
      if (dc !== undefined && p.dc !== dc) continue;
      all.push({ ...p, nodeName: n.name });
      rows.push([n.name, ...psCells(p)]);
    }
    if (!n.up) rows.push([n.name, '-', '-', '-', '-', 'node is down', '-', '-', '-']);
  }
  console.log(a.flags.has('--json') ? JSON.stringify(all) : table(rows));
  return 0;
}

async function cmdDown(argv: string[]): Promise<number> {
  const a = parseArgs(argv, ['--cluster'], []);
  const c = await target(a, a.positional[0]);
  await c.down();
  console.log(`cluster ${c.name} stopped; nothing of it is left in ${path.join(nodesRoot(), c.name)}`);
  return 0;
}

async function cmdKill(cmd: 'kill' | 'restart', argv: string[]): Promise<number> {
  const a = parseArgs(argv, ['--cluster', '--dc', '--node'], []);
  if (a.flags.has('--node')) {
    const [file, extra] = a.positional;
    if (extra !== undefined || a.flags.has('--dc')) {
      throw new CliUsageError(`dvs ${cmd} --node takes a node and at most a dvs.json: dvs ${cmd} --node NODE [FILE]`);
    }
    const c = await target(a, file);
    const v = a.flags.get('--node')!;
    const byName = c.nodes.find((n) => n.name === v);
    const id = byName ? byName.id : int(v, '--node', 0, 31);
    const name = c.nodes.find((n) => n.id === id)?.name ?? `node ${id}`;
    if (cmd === 'kill') throw new CliUsageError(`to kill a node, use: dvs crash ${v}`);
    await c.restartNode(id, (what) => console.log(`  ${what}`));
    console.log(`${name} restarted`);
    return 0;
  }
  const [ep, file] = a.positional;
  if (ep === undefined) throw new CliUsageError(`dvs ${cmd} needs an endpoint number: dvs ${cmd} EP (or --node NODE)`);
  const n = int(ep, `dvs ${cmd}`, -65536, 65536);
  const dc = a.flags.has('--dc') ? int(a.flags.get('--dc'), '--dc', 0, 31) : undefined;
  const c = await target(a, file);
  if (cmd === 'kill') {
    await c.kill(n, dc);
    console.log(`endpoint ${n} killed`);
  } else {
    await c.restart(n, dc);
    console.log(`endpoint ${n} restarted`);
  }
  return 0;
}

async function cmdLogs(argv: string[]): Promise<number> {
  const a = parseArgs(argv, ['--cluster'], []);
  let [source, file] = a.positional;
  if (source !== undefined && file === undefined && source.endsWith('.json')) [source, file] = [undefined, source];
  const c = await target(a, file);
  process.stdout.write(c.logs(source));
  return 0;
}

async function cmdLink(argv: string[]): Promise<number> {
  const a = parseArgs(argv, ['--cluster'], []);
  const [op, x, y, file] = a.positional;
  if (op !== 'cut' && op !== 'restore') throw new CliUsageError(`dvs link takes cut or restore${op ? `, not '${op}'` : ''}`);
  const c = await target(a, file);
  const node = (v: string | undefined): number => {
    if (v === undefined) throw new CliUsageError(`dvs link ${op} needs two nodes: dvs link ${op} A B`);
    const byName = c.nodes.find((n) => n.name === v);
    return byName ? byName.id : int(v, 'a node', 0, 31);
  };
  const na = node(x);
  const nb = node(y);
  if (op === 'cut') await c.linkCut(na, nb);
  else await c.linkRestore(na, nb);
  console.log(`link ${na} <-> ${nb} ${op === 'cut' ? 'cut' : 'restored'}`);
  return 0;
}

async function cmdCrash(argv: string[]): Promise<number> {
  const a = parseArgs(argv, ['--cluster'], []);
  const [which, file] = a.positional;
  if (which === undefined) throw new CliUsageError('dvs crash needs a node (id or name): dvs crash NODE');
  const c = await target(a, file);
  const n = c.nodes.find((x) => x.name === which) ?? c.nodes.find((x) => String(x.id) === which);
  if (!n) throw new CliUsageError(`no node '${which}' in cluster ${c.name} (nodes: ${c.nodes.map((x) => `${x.id} ${x.name}`).join(', ')})`);
  const r = await c.crashNode(n.id);
  console.log(`node ${n.name} crashed: dvsd (pid ${r.dvsd}) and ${r.programs.length} program(s) killed`);
  return 0;
}

async function cmdMigrate(argv: string[]): Promise<number> {
  const a = parseArgs(argv, ['--cluster', '--dc'], []);
  const [ep, to, file] = a.positional;
  if (ep === undefined || to === undefined) throw new CliUsageError('dvs migrate needs an endpoint and a node: dvs migrate EP NODE');
  const n = int(ep, 'dvs migrate', -65536, 65536);
  const c = await target(a, file);
  const dc = a.flags.has('--dc') ? int(a.flags.get('--dc'), '--dc', 0, 31) : undefined;
  const from = c.nodeOf(n, dc);
  const help = await control.request(from.dir, 'help');
  const requests = ((help['requests'] as string[]) ?? []).filter((r) => r.startsWith('migrate'));
  if (requests.length === 0) {
    console.error(`dvs: migrate is not supported yet: needs migration in dvsd (the node's control 'help' lists no migrate request)`);
    return 1;
  }
  const dest = c.nodes.find((x) => x.name === to) ?? c.nodes.find((x) => String(x.id) === to);
  if (!dest) throw new CliUsageError(`no node '${to}' in cluster ${c.name} (nodes: ${c.nodes.map((x) => `${x.id} ${x.name}`).join(', ')})`);
  const r = await c.migrate(n, dest.id, {
    ...(dc !== undefined ? { dc } : {}),
    onProgress: (step, done, total) => console.log(`[${done}/${total}] ${step}`),
  });
  const was = c.nodes.find((x) => x.id === r.from)?.name ?? `node ${r.from}`;
  console.log(`${r.name} (endpoint ${n}) migrated from ${was} to ${dest.name} (pid ${r.pid})`);
  return 0;
}
