/**
 * The launcher on one node: dvs.json errors with positions, Cluster.up /
 * status / kill / restart / down, and the dvs cluster commands.
 * Every cluster gets a name of its own and is taken down even on failure.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';

import { alive, Cluster, ConfigLoadError, clusterDir } from './cluster';
import { loadConfig } from './config';
import { buildDir } from './paths';

const run = promisify(execFile);
const DVS = path.join(__dirname, '..', 'cli', 'dvs.js');
const KV = path.join(buildDir(), 'samples', 'kv');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dvs-up-test-'));
const started: Cluster[] = [];

// Killed from outside (a CI timeout): take the clusters down before going.
process.once('SIGTERM', () => {
  void Promise.all(started.map((c) => c.down().catch(() => undefined))).finally(() => process.exit(143));
});

after(async () => {
  for (const c of started) await c.down().catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

let seq = 0;
/** Writes a dvs.json (object or raw text) into a fresh folder and returns its path. */
function writeConfig(content: unknown, files: Record<string, string> = {}): string {
  const dir = path.join(tmp, `c${++seq}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text, { mode: 0o755 });
  const file = path.join(dir, 'dvs.json');
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

function oneNode(name: string, endpoints: unknown[]): unknown {
  return {
    cluster: { name: `${name}-${process.pid}` },
    nodes: [{ id: 0, name: 'solo' }],
    dcs: [{ id: 0, name: 'kv', nodes: [0], nr_procs: 64, nr_tasks: 8, nr_sysprocs: 16 }],
    endpoints,
  };
}

const kvServer = { name: 'kv_server', number: 1, dc: 0, node: 0, server: true, program: { run: path.join(KV, 'kv_server') } };
const kvLogger = { name: 'kv_logger', number: 2, dc: 0, node: 0, program: { run: path.join(KV, 'kv_logger') } };
const client = (name: string, ep: number, args: string[]) => ({ name, number: ep, dc: 0, node: 0, program: { run: path.join(KV, 'kv_client'), args } });

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 10000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function loadErrors(file: string): ConfigLoadError {
  try {
    loadConfig(file);
  } catch (e) {
    assert.ok(e instanceof ConfigLoadError, String(e));
    return e;
  }
  assert.fail('expected the config to be refused');
}

test('malformed dvs.json: every error with file, line, column and what was expected', async () => {
  // JSON syntax: a missing comma on line 3.
  const syntax = writeConfig('{\n  "cluster": { "name": "x" }\n  "nodes": []\n}\n');
  const e1 = loadErrors(syntax);
  assert.match(e1.message, /dvs\.json:3:3: error: JSON syntax error/);

  // Types and ranges, reported all at once.
  const typed = writeConfig(`{
  "cluster": { "name": "t" },
  "nodes": [ { "id": "zero", "name": "n0" } ],
  "dcs": [ { "id": 0, "name": "d", "nodes": [0], "nr_procs": 64, "nr_tasks": 8, "nr_sysprocs": 99 } ],
  "endpoints": [ { "name": "a b", "number": 1, "dc": 0, "node": 0 } ]
}
`);
  const e2 = loadErrors(typed);
  assert.match(e2.message, /dvs\.json:3:22: error: expected "id" to be an integer/);
  assert.match(e2.message, /dvs\.json:4:96: error: expected nr_sysprocs <= nr_procs/);
  assert.match(e2.message, /dvs\.json:5:28: error: expected "name" to be a C identifier/);
  assert.ok(e2.errors.length >= 3);

  // Cross references: an endpoint on a node outside its DC, an unknown DC.
  const cross = writeConfig(`{
  "cluster": { "name": "x" },
  "nodes": [ { "id": 0, "name": "n0" }, { "id": 1, "name": "n1" } ],
  "dcs": [ { "id": 0, "name": "d", "nodes": [0], "nr_procs": 64, "nr_tasks": 8, "nr_sysprocs": 16 } ],
  "endpoints": [
    { "name": "a", "number": 1, "dc": 0, "node": 1 },
    { "name": "b", "number": 2, "dc": 7, "node": 0 }
  ]
}
`);
  const e3 = loadErrors(cross);
  assert.match(e3.message, /dvs\.json:6:50: error: node 1 is not part of DC d/);
  assert.match(e3.message, /dvs\.json:7:39: error: expected a DC id declared in "dcs"/);

  // A missing file and a bad cluster name.
  assert.match(loadErrors(path.join(tmp, 'nope.json')).message, /nope\.json:1:1: error: cannot read the cluster file: no such file/);
  assert.match(
    loadErrors(writeConfig(oneNode('bad name/', []))).message,
    /expected a cluster name of letters/,
  );
});

test('dvs up on a malformed file prints each error and exits 1; a missing program is found after the build', async () => {
  const file = writeConfig('{\n  "cluster": { "name": 5 },\n  "nodes": [],\n  "dcs": [],\n  "endpoints": [\n}\n');
  await assert.rejects(run('node', [DVS, 'up', file], { timeout: 20000 }), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 1);
    assert.match(e.stderr, /dvs\.json:2:24: error: expected "name" to be a string/);
    assert.match(e.stderr, /dvs\.json:6:1: error: JSON syntax error/);
    assert.match(e.stderr, /error\(s\) in /);
    return true;
  });
  const missing = writeConfig(
    oneNode('missing', [{ name: 'srv', number: 1, dc: 0, node: 0, program: { build: 'true', run: 'not_built' } }]),
  );
  await assert.rejects(run('node', [DVS, 'up', missing], { timeout: 20000 }), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 1);
    assert.match(e.stderr, /dvs\.json:\d+:\d+: error: endpoint srv: expected the program .*not_built to exist after the build step/);
    return true;
  });
  const name = `missing-${process.pid}`;
  assert.equal(fs.existsSync(clusterDir(name)), false);
});

test('a failing build stops the start with its output; nothing is left running', async () => {
  const file = writeConfig(
    oneNode('badbuild', [{ name: 'srv', number: 1, dc: 0, node: 0, program: { build: 'echo compiling; echo oops >&2; exit 3', run: 'srv' } }]),
  );
  const logs: string[] = [];
  await assert.rejects(Cluster.up(file, { onLog: (s, l) => logs.push(`${s}: ${l}`) }), /build 'echo compiling.*' .*failed with status 3:\ncompiling\noops/);
  assert.deepEqual(logs, ['build: compiling', 'build: oops']);
  assert.equal(fs.existsSync(clusterDir(`badbuild-${process.pid}`)), false);
});

test('Cluster.up / status / kill / restart / down on one node with the kv sample', async () => {
  const file = writeConfig(
    oneNode('kv1', [kvServer, kvLogger, client('c1', 20, ['40']), client('c2', 21, ['20', '3', '50']), { name: 'spare', number: 30, dc: 0, node: 0 }]),
  );
  const steps: string[] = [];
  const lines: string[] = [];
  const cluster = await Cluster.up(file, {
    onProgress: (s, d, t) => steps.push(`[${d}/${t}] ${s}`),
    onLog: (s, l) => lines.push(`${s}| ${l}`),
  });
  started.push(cluster);
  try {
    assert.equal(steps.length, 5);
    assert.match(steps[0]!, /^\[1\/5\] starting solo \(dvsd pid \d+\)$/);
    assert.match(steps[1]!, /^\[2\/5\] starting kv_server on solo \(endpoint 1, pid \d+\)$/);
    assert.deepEqual(cluster.nodes.map((n) => [n.id, n.name]), [[0, 'solo']]);
    // Clients succeed.
    const codes = await until('the clients to finish', () => {
      const x = cluster.exitCodes();
      return x.has('c1') && x.has('c2') ? x : undefined;
    });
    assert.equal(codes.get('c1'), 0);
    assert.equal(codes.get('c2'), 0);
    await until('the output', () => lines.some((l) => l === 'c2| kv_client 21: round 3: 20 puts and gets, 0 errors') || undefined);
    assert.ok(lines.includes('c1| kv_client 20: 40 puts and gets, 0 errors'), lines.join('\n'));
    assert.match(cluster.logs('c1'), /kv_client 20: 40 puts and gets, 0 errors\n\[dvs\] c1 \(pid \d+\) exited with status 0/);
    assert.match(cluster.logs(), /\[kv_server\] kv_server: serving on endpoint 1/);

    let s = await cluster.status();
    assert.equal(s.nodes.length, 1);
    assert.equal(s.nodes[0]!.up, true);
    assert.deepEqual(s.nodes[0]!.dcs.map((d) => d.name), ['kv']);
    const ep = (n: string) => s.endpoints.find((e) => e.name === n)!;
    assert.equal(ep('kv_server').state, 'running');
    assert.equal(ep('kv_server').describe, 'receiving from ANY');
    assert.equal(ep('c1').state, 'dead');
    assert.equal(ep('c1').describe, 'exited with status 0');
    assert.equal(ep('spare').state, 'not started');

    // Another controller finds it; kill makes the endpoint dead.
    const other = await Cluster.attach(file);
    const serverPid = ep('kv_server').pid!;
    await other.kill(1);
    s = await cluster.status();
    assert.equal(ep('kv_server').state, 'dead');
    assert.equal(ep('kv_server').describe, 'killed by signal 9');
    assert.equal(alive(serverPid), false);
    await assert.rejects(other.kill(1), /endpoint 1 \(kv_server\) is not running/);
    await assert.rejects(other.kill(99), /declares no endpoint 99/);

    // restart brings it back under a new pid.
    await other.restart(1);
    s = await cluster.status();
    assert.equal(ep('kv_server').state, 'running');
    assert.notEqual(ep('kv_server').pid, serverPid);
    await assert.rejects(Cluster.up(file), /cluster kv1-\d+ is already running/);

    const pids = cluster.pids();
    await cluster.down();
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} survived down`);
    assert.equal(fs.existsSync(cluster.dir), false);
    await assert.rejects(Cluster.attach(file), /cluster kv1-\d+ is not running .*dvs up/);
  } finally {
    await cluster.down().catch(() => undefined);
  }
});

test('JavaScript and TypeScript endpoints run with node (TypeScript through the require hook)', async () => {
  const file = writeConfig(
    oneNode('scripts', [
      { name: 'js', number: 20, dc: 0, node: 0, program: { run: 'hello.js', args: ['a1'] } },
      { name: 'ts', number: 21, dc: 0, node: 0, program: { run: 'hello.ts', args: ['b2'] } },
    ]),
    {
      'hello.js': "console.log(`js ${process.argv[2]} ep ${process.env.DVS_EP} node ${process.env.DVS_NODE ? 'set' : 'unset'}`);\n",
      'hello.ts':
        "import { helper } from './helper';\nconst greet = (who: string): string => `ts ${who} ep ${process.env.DVS_EP}`;\nconsole.log(greet(process.argv[2] as string), helper(2));\n",
      'helper.ts': 'export function helper(n: number): number {\n  return n * 21;\n}\n',
    },
  );
  const cluster = await Cluster.up(file);
  started.push(cluster);
  try {
    await until('both scripts to end', () => (cluster.exitCodes().size === 2 ? true : undefined));
    assert.deepEqual([...cluster.exitCodes()].sort(), [['js', 0], ['ts', 0]]);
    assert.match(cluster.logs('js'), /^js a1 ep 20 node set$/m);
    assert.match(cluster.logs('ts'), /^ts b2 ep 21 42$/m);
  } finally {
    await cluster.down();
  }
});

test('inspect: script endpoints get an inspector port, reported with the pid, for debuggers to attach', async () => {
  const file = writeConfig(
    oneNode('inspect', [
      kvServer,
      { name: 'js', number: 20, dc: 0, node: 0, program: { run: 'wait.js' } },
    ]),
    { 'wait.js': 'setTimeout(() => undefined, 30000);\n' },
  );
  const seen: Array<{ name: string; pid: number; command: string[]; inspectPort?: number }> = [];
  const cluster = await Cluster.up(file, { inspect: true, onProgramStart: (p) => seen.push(p) });
  started.push(cluster);
  try {
    assert.deepEqual(seen.map((p) => p.name).sort(), ['js', 'kv_server']);
    const js = seen.find((p) => p.name === 'js')!;
    const server = seen.find((p) => p.name === 'kv_server')!;
    assert.ok(js.inspectPort && js.inspectPort > 0, 'the script endpoint has a port');
    assert.ok(js.command.includes(`--inspect=127.0.0.1:${js.inspectPort}`), js.command.join(' '));
    assert.equal(server.inspectPort, undefined, 'a C program gets no inspector');
    assert.ok(alive(js.pid));
    await until('the inspector to listen', () => (/Debugger listening on ws:\/\/127\.0\.0\.1:\d+\//.test(cluster.logs('js')) ? true : undefined));
  } finally {
    await cluster.down();
  }
});

test('dvs up --detach, status, ps, kill, logs, migrate, down from the command line', async () => {
  const file = writeConfig(oneNode('cli', [kvServer, kvLogger, client('c1', 20, ['10'])]));
  const name = `cli-${process.pid}`;
  try {
    const upOut = await run('node', [DVS, 'up', '--detach', file], { timeout: 30000 });
    assert.match(upOut.stdout, /^\[1\/4\] starting solo \(dvsd pid \d+\)$/m);
    assert.match(upOut.stdout, /cluster cli-\d+ is running: 1 node\(s\), 3 program\(s\)/);
    const args = ['--cluster', name];
    await until('c1 to finish', async () => {
      const s = JSON.parse((await run('node', [DVS, 'status', '--json', ...args])).stdout) as { endpoints: { name: string; state: string }[] };
      return s.endpoints.find((e) => e.name === 'c1')?.state === 'dead' || undefined;
    });
    const status = await run('node', [DVS, 'status', file]);
    assert.match(status.stdout, /^solo\s+0\s+up\s+-\s+0:kv\s+2\s+-$/m);
    assert.match(status.stdout, /^kv_server\s+1\s+0\s+solo\s+running\s+\d+\s+receiving from ANY\s+-$/m);
    const ps = await run('node', [DVS, 'ps', file]);
    assert.match(ps.stdout, /^NODE\s+DC\s+EP\s+PID\s+NAME\s+STATE/);
    assert.match(ps.stdout, /^solo\s+0\s+1\s+\d+\s+kv_server\s+receiving from ANY\s+\d+\s+20\s+0$/m);
    assert.match((await run('node', [DVS, 'logs', 'c1', ...args])).stdout, /kv_client 20: 10 puts and gets, 0 errors/);
    assert.match((await run('node', [DVS, 'kill', '2', ...args])).stdout, /endpoint 2 killed/);
    assert.match((await run('node', [DVS, 'status', ...args])).stdout, /^kv_logger\s+2\s+0\s+solo\s+dead\s+\d+\s+killed by signal 9\s+-$/m);
    await assert.rejects(run('node', [DVS, 'migrate', '1', 'solo', ...args]), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.match(e.stderr, /kv_server \(endpoint 1\) already runs on solo/);
      return true;
    });
    await assert.rejects(run('node', [DVS, 'link', 'bend', '0', '1', ...args]), /dvs link takes cut or restore, not 'bend'/);
    const pids = (await Cluster.attach(file)).pids();
    assert.match((await run('node', [DVS, 'down', ...args])).stdout, /cluster cli-\d+ stopped/);
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} survived dvs down`);
    await assert.rejects(run('node', [DVS, 'status', ...args]), /no cluster named cli-\d+ is running/);
  } finally {
    await (await Cluster.attach(file).catch(() => undefined))?.down();
  }
});

test('dvs up in the foreground streams output by endpoint and stops by itself after --seconds', async () => {
  const file = writeConfig(oneNode('fg', [kvServer, client('c1', 20, ['5', '2', '10'])]));
  const out = await run('node', [DVS, 'up', file, '--seconds', '2'], { timeout: 30000 });
  assert.match(out.stdout, /^\[3\/3\] starting c1 on solo/m);
  assert.match(out.stdout, /^kv_server\s+\| kv_server: serving on endpoint 1$/m);
  assert.match(out.stdout, /^c1\s+\| kv_client 20: round 2: 5 puts and gets, 0 errors$/m);
  assert.match(out.stdout, /cluster fg-\d+ stopped; programs that ended before: c1 ok\./);
  assert.equal(fs.existsSync(clusterDir(`fg-${process.pid}`)), false);
  // A failing program makes dvs up exit 1.
  const bad = writeConfig(oneNode('fgbad', [{ name: 'c1', number: 20, dc: 0, node: 0, program: { run: path.join(KV, 'kv_client'), args: ['1'] } }]));
  await assert.rejects(run('node', [DVS, 'up', bad, '--seconds', '2'], { timeout: 30000 }), (e: { code: number; stdout: string }) => {
    assert.equal(e.code, 1);
    assert.match(e.stdout, /c1 status 1/);
    return true;
  });
});

test('dvs help lists every cluster command', async () => {
  const help = await run('node', [DVS, 'help']);
  for (const cmd of ['up', 'status', 'ps', 'down', 'kill EP', 'restart EP', 'logs', 'link cut\\|restore A B', 'migrate EP NODE', 'crash NODE']) {
    assert.match(help.stdout, new RegExp(`dvs ${cmd}`));
  }
  assert.match(help.stdout, /^ {2}dvs {25}= dvs up of the built-in sample cluster/m);
});

test('Ctrl-C stops a foreground dvs up and leaves nothing behind', { timeout: 60000 }, async () => {
  const file = writeConfig(oneNode('sigint', [kvServer, kvLogger]));
  const { spawn } = await import('node:child_process');
  const child = spawn('node', [DVS, 'up', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const ended = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    await until('the cluster to run', () => (/kv_server: serving on endpoint 1/.test(out) ? true : undefined), 20000);
    const pids = (await Cluster.attach(file)).pids();
    assert.equal(pids.length, 3);
    child.kill('SIGINT');
    assert.equal(await ended, 0);
    assert.match(out, /stopping the cluster/);
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} survived Ctrl-C`);
    assert.equal(fs.existsSync(clusterDir(`sigint-${process.pid}`)), false);
  } finally {
    child.kill('SIGKILL');
    await (await Cluster.attach(file).catch(() => undefined))?.down();
  }
});

test('an aborted start stops what it started', async () => {
  const file = writeConfig(oneNode('abort', [kvServer, kvLogger, client('c1', 20, ['1'])]));
  const ac = new AbortController();
  await assert.rejects(
    Cluster.up(file, {
      signal: ac.signal,
      onProgress: (step) => {
        if (step.startsWith('starting kv_server')) ac.abort();
      },
    }),
    /cluster start was cancelled/,
  );
  assert.equal(fs.existsSync(clusterDir(`abort-${process.pid}`)), false);
});
