#!/usr/bin/env node
/**
 * dvs - the DVS IPC command line. Every command is documented in `dvs help`
 * and runtime/README.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as control from '../cluster/control';
import { runProgram, type Running } from '../cluster/launch';
import { isRunning, logPath, startNode, stopNode, type DcSpec } from '../cluster/node';
import { buildDir, defaultNodeDir, nodesRoot } from '../cluster/paths';
import { runningClusters } from '../cluster/cluster';
import { psCells, PS_HEADER, table } from './table';
import { builtinClusterFile, CliUsageError, CLUSTER_HELP, clusterCommand, up } from './cluster-cmds';
import { cmdTrace, demoTrace, TRACE_HELP, TraceUsageError } from './trace-cmd';

const HELP = `dvs - run and inspect DVS IPC clusters and nodes

${CLUSTER_HELP}

node commands (one node, by its directory):
  dvs node start [--dir DIR] [--node-id N] [--name NAME] [--dc ID:NAME[:PROCS:TASKS:SYSPROCS]]...
                              start a node daemon (detached; log in DIR/dvsd.log)
  dvs node stop [--dir DIR]   stop it: blocked callers get EMOLSHUTDOWN
  dvs node status [--dir DIR] [--json]
                              the node, its DCs and how many endpoints are bound
  dvs ps --dir DIR [--dc N] [--json]
                              the process table of one node: endpoint, pid, state, counters
                              (without --dir and no cluster running: the default node)
  dvs run [--dir DIR] [--dc N] [--ep EP] -- PROGRAM [ARGS...]
                              run PROGRAM on the node; with --ep the launcher binds it
                              (the program calls mnx_wait4bind()); exits with its status
  dvs demo [--seconds N] [--clients N]
                              the key-value sample on a fresh node, with a live view and trace
${TRACE_HELP}
  dvs help | --help | --version

DIR defaults to $DVS_NODE, else ${defaultNodeDir({})}.`;

class UsageError extends CliUsageError {}

interface Parsed {
  flags: Map<string, string[]>;
  rest: string[];
}

/** parse reads --flag value pairs (and bare --json) up to a `--`. */
function parse(argv: string[], valued: string[], bare: string[] = []): Parsed {
  const flags = new Map<string, string[]>();
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (bare.includes(a)) {
      flags.set(a, ['true']);
    } else if (valued.includes(a)) {
      const v = argv[i + 1];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      flags.set(a, [...(flags.get(a) ?? []), v]);
      i++;
    } else if (a.startsWith('-')) {
      throw new UsageError(`unknown option '${a}'`);
    } else {
      break;
    }
  }
  return { flags, rest: argv.slice(i) };
}

function intFlag(p: Parsed, name: string, dflt: number | undefined, min: number, max: number): number | undefined {
  const v = p.flags.get(name)?.at(-1);
  if (v === undefined) return dflt;
  if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UsageError(`${name} takes a whole number from ${min} to ${max}, not '${v}'`);
  }
  return Number(v);
}

function parseDc(spec: string): DcSpec {
  const m = /^(\d+):([^:]{1,15})(?::(\d+):(\d+):(\d+))?$/.exec(spec);
  if (!m) throw new UsageError(`--dc takes ID:NAME[:NR_PROCS:NR_TASKS:NR_SYSPROCS] (NAME up to 15 characters), not '${spec}'`);
  const dc: DcSpec = { id: Number(m[1]), name: m[2]! };
  if (m[3] !== undefined) {
    dc.nr_procs = Number(m[3]);
    dc.nr_tasks = Number(m[4]);
    dc.nr_sysprocs = Number(m[5]);
  }
  return dc;
}

function dirOf(p: Parsed): string {
  return path.resolve(p.flags.get('--dir')?.at(-1) ?? defaultNodeDir());
}

export function formatPs(procs: control.ProcInfo[]): string {
  return table([PS_HEADER, ...procs.map(psCells)]);
}

async function cmdNode(argv: string[]): Promise<number> {
  const sub = argv[0];
  const p = parse(argv.slice(1), ['--dir', '--node-id', '--name', '--dc'], ['--json']);
  if (p.rest.length) throw new UsageError(`unexpected argument '${p.rest[0]}'`);
  const dir = dirOf(p);
  if (sub === 'start') {
    const info = await startNode({
      dir,
      nodeId: intFlag(p, '--node-id', undefined, 0, 31),
      name: p.flags.get('--name')?.at(-1),
      dcs: (p.flags.get('--dc') ?? []).map(parseDc),
    });
    console.log(`node ${info.node.id} (${info.node.name}) running in ${dir}, pid ${info.node.pid}`);
    console.log(`programs find it with: export DVS_NODE=${dir}`);
    return 0;
  }
  if (sub === 'stop') {
    await stopNode(dir);
    console.log(`node in ${dir} stopped`);
    return 0;
  }
  if (sub === 'status') {
    const info = await control.info(dir);
    const procs = await control.ps(dir);
    if (p.flags.has('--json')) {
      console.log(JSON.stringify({ ...info, bound: procs.length }));
      return 0;
    }
    console.log(`node ${info.node.id} (${info.node.name}), dvsd ${info.node.version}, pid ${info.node.pid}`);
    console.log(`directory ${info.node.dir}; log ${logPath(dir)}`);
    for (const dc of info.dcs) {
      const n = procs.filter((x) => x.dc === dc.id).length;
      console.log(
        `  DC ${dc.id} ${dc.name}: ${n} bound, slots ${-dc.nr_tasks}..${dc.nr_procs - 1} ` +
          `(system below ${dc.nr_sysprocs}), nodes [${dc.nodes.join(', ')}]`,
      );
    }
    if (info.node.repairs > 0) console.log(`  table repaired ${info.node.repairs} time(s) after a crash inside its lock`);
    return 0;
  }
  throw new UsageError(`dvs node takes start, stop or status${sub ? `, not '${sub}'` : ''}`);
}

async function cmdPs(argv: string[]): Promise<number> {
  const p = parse(argv, ['--dir', '--dc'], ['--json']);
  if (p.rest.length) throw new UsageError(`unexpected argument '${p.rest[0]}'`);
  const procs = await control.ps(dirOf(p), intFlag(p, '--dc', undefined, 0, 31));
  console.log(p.flags.has('--json') ? JSON.stringify(procs) : formatPs(procs));
  return 0;
}

async function cmdRun(argv: string[]): Promise<number> {
  const p = parse(argv, ['--dir', '--dc', '--ep']);
  const [program, ...args] = p.rest;
  if (!program) throw new UsageError('dvs run needs a program: dvs run [--ep EP] -- PROGRAM [ARGS...]');
  const dir = dirOf(p);
  await control.info(dir); // fail early, with advice, when no node runs
  const run = await runProgram({
    dir,
    program,
    args,
    dc: intFlag(p, '--dc', 0, 0, 31),
    endpoint: intFlag(p, '--ep', undefined, -64, 1 << 30),
  });
  const forward = (sig: NodeJS.Signals) => process.on(sig, () => run.child.kill(sig));
  forward('SIGINT');
  forward('SIGTERM');
  return run.exited;
}

/** The demo: the key-value sample on its own node, with a live table. */
async function cmdDemo(argv: string[]): Promise<number> {
  const p = parse(argv, ['--seconds', '--clients']);
  if (p.rest.length) throw new UsageError(`unexpected argument '${p.rest[0]}'`);
  const seconds = intFlag(p, '--seconds', 8, 1, 3600)!;
  const nclients = intFlag(p, '--clients', 3, 1, 40)!;
  const bin = path.join(buildDir(), 'samples', 'kv');
  for (const prog of ['kv_server', 'kv_logger', 'kv_client']) {
    if (!fs.existsSync(path.join(bin, prog))) {
      throw new Error(`${path.join(bin, prog)} is missing: build the runtime first (npm run build)`);
    }
  }
  const dir = path.join(nodesRoot(), 'demo');
  if (await isRunning(dir)) await stopNode(dir);
  const info = await startNode({ dir, name: 'demo', dcs: [{ id: 0, name: 'kv' }] });
  const tty = process.stdout.isTTY === true;
  const log: string[] = [];
  const say = (line: string) => {
    if (tty) {
      log.push(line);
      if (log.length > 8) log.shift();
    } else {
      console.log(line);
    }
  };
  say(`node ${info.node.id} (${info.node.name}) up in ${dir}`);
  const traceSub = demoTrace(dir, say, tty ? 2 : 4);
  const tag = (name: string) => (line: string) => say(`[${name}] ${line}`);
  const daemons: Running[] = [];
  let clientRuns = 0;
  let clientFailures = 0;
  let frameLines = 0;
  const draw = async () => {
    let procs: control.ProcInfo[] = [];
    try {
      procs = await control.ps(dir);
    } catch {
      return;
    }
    const table = formatPs(procs);
    if (tty) {
      const frame = [...log, '', table, '', `client runs ${clientRuns}, failures ${clientFailures}`].join('\n');
      if (frameLines) process.stdout.write(`\x1b[${frameLines}A\x1b[J`);
      process.stdout.write(frame + '\n');
      frameLines = frame.split('\n').length;
    } else {
      console.log(table.split('\n').map((l) => '  | ' + l).join('\n'));
    }
  };
  let stopping = false;
  const onSignal = () => {
    stopping = true;
  };
  process.once('SIGINT', onSignal);
  try {
    daemons.push(await runProgram({ dir, program: path.join(bin, 'kv_server'), endpoint: 1, onLine: tag('kv_server') }));
    daemons.push(await runProgram({ dir, program: path.join(bin, 'kv_logger'), endpoint: 2, onLine: tag('kv_logger') }));
    const deadline = Date.now() + seconds * 1000;
    const clientLoop = async (ep: number) => {
      while (!stopping && Date.now() < deadline) {
        const c = await runProgram({
          dir,
          program: path.join(bin, 'kv_client'),
          args: ['50'],
          endpoint: ep,
          onLine: tag(`client ${ep}`),
        });
        const code = await c.exited;
        clientRuns++;
        if (code !== 0) clientFailures++;
      }
    };
    const timer = setInterval(() => void draw(), tty ? 250 : 2000);
    await Promise.all(Array.from({ length: nclients }, (_, i) => clientLoop(20 + i)));
    clearInterval(timer);
    await draw();
    const procs = await control.ps(dir);
    const sent = procs.reduce((n, x) => n + x.lclsent, 0);
    console.log(
      `demo done: ${clientRuns} client runs, ${clientFailures} failed; the server and logger sent ${sent} messages`,
    );
    return clientFailures === 0 && clientRuns > 0 ? 0 : 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    traceSub.close();
    for (const d of daemons) d.child.kill('SIGTERM');
    await Promise.all(daemons.map((d) => d.exited));
    await stopNode(dir).catch(() => undefined);
  }
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'node':
      return cmdNode(rest);
    case 'ps':
      // Across the running cluster, unless a node is named (--dir) or none runs.
      if (!rest.includes('--dir') && (runningClusters().length > 0 || rest.some((a) => a.endsWith('.json')))) {
        return clusterCommand('ps', rest);
      }
      return cmdPs(rest);
    case 'up':
    case 'status':
    case 'down':
    case 'kill':
    case 'restart':
    case 'logs':
    case 'link':
    case 'migrate':
    case 'crash':
      return clusterCommand(cmd, rest);
    case undefined:
      // No arguments: the built-in sample cluster, in the foreground.
      return up(builtinClusterFile(), { detach: false, verbose: false });
    case 'run':
      return cmdRun(rest);
    case 'demo':
      return cmdDemo(rest);
    case 'trace':
      return cmdTrace(rest).catch((e: Error) => Promise.reject(e instanceof TraceUsageError ? new UsageError(e.message) : e));
    case 'help':
    case '--help':
    case '-h':
      console.log(HELP);
      return 0;
    case '--version': {
      const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
        version: string;
      };
      console.log(`dvs ${pkg.version}`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command '${cmd}'`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      if (err instanceof CliUsageError) {
        console.error(`dvs: ${err.message}\nrun 'dvs help' for usage`);
        process.exit(2);
      }
      console.error(`dvs: ${err.message}`);
      process.exit(1);
    },
  );
}
