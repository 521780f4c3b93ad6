/**
 * `npm run bench:ts` (repository root): what the TypeScript API adds to a
 * local sendrec. In one run, one CPU (client and peer both on CPU 0) and two
 * CPUs (client on CPU 0, peer on CPU 1):
 *
 * - C: mnx_sendrec from C (runtime/addon/bench/peer.c) - the reference;
 * - TS async: `await ep.sendrec()` on the default wait path (io_uring:
 *   the JS thread runs the call, the loop waits on the slot's doorbell),
 *   and once more forced onto the endpoint-thread fallback
 *   (DVS_IPC_WAIT=thread: the call runs on the endpoint's thread, results
 *   through a ThreadSafeFunction);
 * - TS sync: `ep.sendrecSync()` (the call runs on the JS thread);
 * - Node `net`: a Unix-socket ping-pong with a C echo server;
 * - zeromq: REQ/REP over ipc:// between two Node processes (n/a if the
 *   package does not load).
 *
 * Every row: 48-byte messages, median and p99 of the per-round-trip times
 * (µs). It is a report, not a test: absolute times on shared VMs move by 2x
 * within the hour; compare rows of one run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

import { startNode, stopNode } from '../cluster/node';
import { buildDir, nodesRoot, runtimeRoot } from '../cluster/paths';
import { asyncWaitMode, bind, Message } from './index';
import { loadNative, Op } from './native';

const N = Number(process.env['BENCH_N'] ?? 20000);

function stats(ns: number[]): string {
  ns.sort((a, b) => a - b);
  return `${(ns[ns.length >> 1]! / 1000).toFixed(3)} ${(ns[Math.floor(ns.length * 0.99)]! / 1000).toFixed(3)}`;
}

async function timed(n: number, once: (i: number) => Promise<void> | void): Promise<string> {
  const t: number[] = [];
  for (let i = -Math.floor(n / 10); i < n; i++) {
    const t0 = process.hrtime.bigint();
    await once(i);
    if (i >= 0) t.push(Number(process.hrtime.bigint() - t0));
  }
  return stats(t);
}

// ---- the client roles (run pinned, in their own process) ----

async function tsClient(mode: string, srv: number, me: number, nIter: number): Promise<void> {
  const n = nIter;
  let ep;
  for (let i = 0; ; i++) {
    try {
      ep = await bind(0, me);
      break;
    } catch (e) {
      if (i > 400) throw e;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  if (mode === 'pool') {
    // The alternative design: the blocking call on a libuv pool thread.
    await ep.unbind();
    const N_ = loadNative();
    const n = new N_.NativeEndpoint();
    if ((await n.bind(0, me)) < 0) throw new Error('bind failed');
    const raw = Buffer.alloc(48);
    console.log(await timed(nIter, async (i) => {
      raw.writeInt32LE(1, 4);
      raw.writeInt32LE(i, 8);
      const rc = await n.callPool(Op.Sendrec, srv, -1, raw);
      if (rc < 0) throw new Error(`callPool: ${rc}`);
    }));
    n.unbind();
    n.close();
    return;
  }
  if (mode === 'async') {
    console.log(await timed(n, async (i) => void (await ep.sendrec(srv, { type: 1, m1_i1: i }))));
  } else if (mode === 'sync') {
    console.log(await timed(n, (i) => void ep.sendrecSync(srv, { type: 1, m1_i1: i })));
  } else {
    // Reusing one Message: no per-call encoding.
    const m = new Message();
    console.log(await timed(n, async (i) => {
      m.type = 1;
      m.m1_i1 = i;
      await ep.sendrec(srv, m);
    }));
  }
  await ep.unbind();
}

async function netClient(file: string, n: number): Promise<void> {
  const sock = net.createConnection(file);
  sock.setNoDelay(true);
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const msg = Buffer.alloc(48);
  let pending: (() => void) | undefined;
  let got = 0;
  sock.on('data', (d: Buffer) => {
    got += d.length;
    if (got >= 48) {
      got -= 48;
      pending?.();
    }
  });
  console.log(await timed(n, () => new Promise<void>((r) => {
    pending = r;
    sock.write(msg);
  })));
  sock.destroy();
}

async function zmqServer(addr: string): Promise<void> {
  const zmq = require('zeromq') as typeof import('zeromq');
  const rep = new zmq.Reply();
  await rep.bind(addr);
  console.log('ready');
  for await (const [m] of rep) await rep.send(m!);
}

async function zmqClient(addr: string, n: number): Promise<void> {
  const zmq = require('zeromq') as typeof import('zeromq');
  const req = new zmq.Request();
  req.connect(addr);
  const msg = Buffer.alloc(48);
  console.log(await timed(n, async () => {
    await req.send(msg);
    await req.receive();
  }));
  req.close();
}

// ---- the orchestrator ----

function pinned(cpu: number, cmd: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn('taskset', ['-c', String(cpu), cmd, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
}

function firstLine(p: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: p.stdout! });
    rl.once('line', (l) => resolve(l));
    p.once('exit', (code) => reject(new Error(`exited with ${code} before printing`)));
  });
}

async function row(serverCmd: [string, string[]] | undefined, client: [string, string[]], cpus: [number, number], env: NodeJS.ProcessEnv): Promise<string> {
  let server: ChildProcess | undefined;
  try {
    if (serverCmd) {
      server = pinned(cpus[1], serverCmd[0], serverCmd[1], env);
      await firstLine(server);
    }
    const c = pinned(cpus[0], client[0], client[1], env);
    const line = await firstLine(c);
    await new Promise((r) => c.once('exit', r));
    return line;
  } catch (e) {
    return `n/a (${(e as Error).message})`;
  } finally {
    server?.kill('SIGKILL');
  }
}

function buildPeer(): string {
  const out = path.join(os.tmpdir(), `dvs-bench-peer-${process.getuid?.() ?? 0}`);
  const root = runtimeRoot();
  execFileSync('cc', ['-O2', '-I', path.join(root, 'include'), path.join(root, 'addon', 'bench', 'peer.c'), path.join(buildDir(), 'libm3ipc_static.a'), '-lpthread', '-o', out]);
  return out;
}

async function orchestrate(): Promise<void> {
  const peer = buildPeer();
  const dir = path.join(nodesRoot(), `bench-ts-${process.pid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  await startNode({ dir });
  const env = { ...process.env, DVS_NODE: dir, DVS_EP: '', DVS_DC: '' };
  const self = __filename;
  const node = process.execPath;
  let k = 0;
  const results: Record<string, [string, string]> = {};
  const rows = ['C mnx_sendrec', 'TS async sendrec (MessageInit)', 'TS async sendrec (reused Message)', 'TS async sendrec, endpoint-thread fallback (DVS_IPC_WAIT=thread)', 'TS sendrecSync', 'raw addon call on the libuv pool (AsyncWorker; not the design)', 'Node net Unix socket ↔ C echo', 'zeromq REQ/REP ipc:// (Node ↔ Node)'];
  try {
    for (const [col, cpus] of [[0, [0, 0]], [1, [0, 1]]] as const) {
      const cells: string[] = [];
      const srv = () => [String(10 + k), String(40 + k++)]; // fresh slots for every row (the DC has 64)
      let [s, c] = srv();
      cells.push(await row([peer, ['server', s!]], [peer, ['client', c!, s!, String(N)]], [...cpus], env));
      for (const mode of ['async', 'reuse', 'async-thread', 'sync', 'pool']) {
        [s, c] = srv();
        const [m, e] = mode === 'async-thread' ? ['async', { ...env, DVS_IPC_WAIT: 'thread' }] : [mode, env];
        cells.push(await row([peer, ['server', s!]], [node, [self, 'client', m, s!, c!, String(N)]], [...cpus], e));
      }
      const sock = path.join(dir, `bench-${col}.sock`);
      cells.push(await row([peer, ['unix', sock]], [node, [self, 'net', sock, String(N)]], [...cpus], env));
      const addr = `ipc://${path.join(dir, `zmq-${col}`)}`;
      cells.push(await row([node, [self, 'zmq-server', addr]], [node, [self, 'zmq-client', addr, String(Math.min(N, 5000))]], [...cpus], env));
      rows.forEach((r, i) => ((results[r] ??= ['', ''])[col] = cells[i]!));
    }
  } finally {
    await stopNode(dir);
  }
  const fmt = (cell: string): string => (cell.startsWith('n/a') ? cell : cell.split(' ').join(' | '));
  const lines = [
    `Command: \`npm run bench:ts\` (${N} round trips per row after a 10 % warm-up; zeromq 5000), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, async wait path: ${waitPath()}.`,
    '',
    '| 48-byte round trip, µs | one CPU median | one CPU p99 | two CPUs median | two CPUs p99 |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r} | ${fmt(results[r]![0])} | ${fmt(results[r]![1])} |`),
  ];
  const c1 = Number(results[rows[0]!]![0].split(' ')[0]);
  const a1 = Number(results[rows[1]!]![0].split(' ')[0]);
  if (Number.isFinite(c1) && Number.isFinite(a1)) {
    lines.push('', `SPEC §8 (TS async sendrec ≤ C + 5 µs on one CPU): ${a1.toFixed(2)} vs ${c1.toFixed(2)} + 5 → ${a1 <= c1 + 5 ? 'PASS' : 'MISS'} (${a1 >= c1 ? '+' : ''}${(a1 - c1).toFixed(2)} µs)`);
  }
  console.log(lines.join('\n'));
}

function waitPath(): string {
  const { mode, reason } = asyncWaitMode();
  return reason ? `${mode} (${reason})` : mode;
}

async function main(argv: string[]): Promise<void> {
  const [role, ...a] = argv;
  switch (role) {
    case undefined:
      return orchestrate();
    case 'client':
      return tsClient(a[0]!, Number(a[1]), Number(a[2]), Number(a[3]));
    case 'net':
      return netClient(a[0]!, Number(a[1]));
    case 'zmq-server':
      return zmqServer(a[0]!);
    case 'zmq-client':
      return zmqClient(a[0]!, Number(a[1]));
    default:
      throw new Error(`unknown role ${role}`);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench: ${(err as Error).message}`);
    process.exit(1);
  },
);
