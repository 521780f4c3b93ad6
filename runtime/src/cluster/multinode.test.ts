/**
 * The launcher with several nodes: three dvsd over loopback TCP, the kv
 * sample's clients on nodes 1 and 2 calling the server on node 0 (sendrec and
 * vcopy across nodes), links in status, link cut giving EMOLNOTCONN instead
 * of a hang, link restore; and (as root) the same with every node in its own
 * network namespace. Bounded in time; clusters are taken down even on failure.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { alive, Cluster, dvsdSupportsMultiNode } from './cluster';
import * as netns from './netns';
import { buildDir, dvsdPath } from './paths';

const run = promisify(execFile);
const DVS = path.join(__dirname, '..', 'cli', 'dvs.js');
const KV = path.join(buildDir(), 'samples', 'kv');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dvs-multi-test-'));
const started: Cluster[] = [];

before(() => {
  if (!dvsdSupportsMultiNode()) {
    throw new Error(`${dvsdPath()} has no --listen option: the multi-node tests need dvsd with the node proxies (rebuild the runtime)`);
  }
});

// Killed from outside (a CI timeout): take the clusters down before going.
process.once('SIGTERM', () => {
  void Promise.all(started.map((c) => c.down().catch(() => undefined))).finally(() => process.exit(143));
});

after(async () => {
  for (const c of started) await c.down().catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function threeNodes(name: string, isolate?: 'netns'): string {
  const prog = (run: string, args?: string[]) => ({ run: path.join(KV, run), ...(args ? { args } : {}) });
  const config = {
    cluster: { name: `${name}-${process.pid}` },
    nodes: [0, 1, 2].map((id) => ({ id, name: `node${id}`, ...(isolate ? { isolate } : {}) })),
    dcs: [{ id: 0, name: 'kv', nodes: [0, 1, 2], nr_procs: 64, nr_tasks: 8, nr_sysprocs: 16 }],
    endpoints: [
      { name: 'kv_server', number: 1, dc: 0, node: 0, server: true, program: prog('kv_server') },
      { name: 'kv_logger', number: 2, dc: 0, node: 0, program: prog('kv_logger') },
      { name: 'client_a', number: 20, dc: 0, node: 1, program: prog('kv_client', ['40']) },
      { name: 'client_b', number: 21, dc: 0, node: 1, program: prog('kv_client', ['40']) },
      { name: 'client_c', number: 22, dc: 0, node: 2, program: prog('kv_client', ['40']) },
    ],
  };
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'dvs.json');
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 15000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits for the named programs to exit and returns their codes. */
async function exits(c: Cluster, names: string[], ms = 20000): Promise<Map<string, number>> {
  return until(`${names.join(', ')} to exit`, () => {
    const x = c.exitCodes();
    return names.every((n) => x.has(n)) ? x : undefined;
  }, ms);
}

/** The shared scenario: clients across nodes, links, cut, restore, kill, down. */
async function scenario(c: Cluster, file: string): Promise<void> {
  const codes = await exits(c, ['client_a', 'client_b', 'client_c']);
  for (const n of ['client_a', 'client_b', 'client_c']) assert.equal(codes.get(n), 0, `${n}:\n${c.logs(n)}`);
  assert.match(c.logs('client_c'), /kv_client 22: 40 puts and gets, 0 errors/);

  let s = await c.status();
  for (const n of s.nodes) {
    assert.equal(n.up, true);
    assert.deepEqual(n.links.map((l) => [l.node, l.state]).sort(), [0, 1, 2].filter((x) => x !== n.id).map((x) => [x, 'up']));
  }
  // node0 sees the clients as remote endpoints, node1 sees the server.
  const node1 = s.nodes.find((n) => n.id === 1)!;
  assert.ok(node1.procs.some((p) => p.endpoint === 1 && p.flags.includes('REMOTE')), JSON.stringify(node1.procs));
  const cli = await run('node', [DVS, 'status', file], { timeout: 20000 });
  assert.match(cli.stdout, /^node0\s+0\s+up\s+\S+:\d+\s+0:kv\s+2\s+node1 up \(\d+ sent, \d+ rcvd\); node2 up/m);

  // Cut node0 <-> node1: a client on node1 fails with EMOLNOTCONN, it does not hang.
  await run('node', [DVS, 'link', 'cut', 'node0', 'node1', file], { timeout: 20000 });
  s = await c.status();
  assert.notEqual(s.nodes.find((n) => n.id === 0)!.links.find((l) => l.node === 1)!.state, 'up');
  await c.restart(20);
  const cut = await exits(c, ['client_a'], 15000);
  assert.equal(cut.get('client_a'), 1);
  assert.match(c.logs('client_a'), /EMOLNOTCONN/);
  // node2 is not affected.
  await c.restart(22);
  assert.equal((await exits(c, ['client_c'])).get('client_c'), 0);

  await run('node', [DVS, 'link', 'restore', '0', '1', file], { timeout: 20000 });
  await c.waitLink(0, 1, 15000);
  await c.restart(20);
  assert.equal((await exits(c, ['client_a'])).get('client_a'), 0, c.logs('client_a'));

  // kill makes the server dead in status, on every view.
  await c.kill(1);
  s = await c.status();
  assert.equal(s.endpoints.find((e) => e.name === 'kv_server')!.state, 'dead');

  const pids = c.pids();
  await c.down();
  for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} survived down`);
  assert.equal(fs.existsSync(c.dir), false);
}

test('three nodes over loopback: kv clients on nodes 1 and 2, links, cut, restore, kill, down', { timeout: 120000 }, async () => {
  const file = threeNodes('tri');
  const steps: string[] = [];
  const c = await Cluster.up(file, { onProgress: (s, d, t) => steps.push(`[${d}/${t}] ${s}`) });
  started.push(c);
  try {
    assert.match(steps.join('\n'), /\[1\/10\] starting node0 \(dvsd pid \d+, 127\.0\.0\.1:\d+\)/);
    assert.match(steps.join('\n'), /\[4\/10\] waiting for the 3 link\(s\) between the nodes/);
    assert.equal(c.nodes.length, 3);
    assert.ok(c.nodes.every((n) => n.port > 0 && n.host === '127.0.0.1'));
    await scenario(c, file);
  } finally {
    await c.down().catch(() => undefined);
  }
});

test('three nodes in network namespaces (root): own addresses, real cut, clean-up', { timeout: 120000 }, async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to create network namespaces');
    return;
  }
  const file = threeNodes('ns', 'netns');
  const steps: string[] = [];
  const c = await Cluster.up(file, { onProgress: (s) => steps.push(s) });
  started.push(c);
  let names: string[] = [];
  try {
    assert.ok(c.isolated);
    assert.match(steps.join('\n'), /isolating the nodes in network namespaces \(bridge dvsbr\d+, 10\.213\.\d+\.0\/24\)/);
    const idx = c.nodes[0]!.host.split('.')[2];
    assert.deepEqual(c.nodes.map((n) => n.host), [1, 2, 3].map((k) => `10.213.${idx}.${k}`));
    names = [0, 1, 2].map((n) => `dvs${idx}-n${n}`);
    const present = await netns.list();
    for (const n of names) assert.ok(present.includes(n), `namespace ${n} missing (${present.join(', ')})`);
    await scenario(c, file);
    const left = await netns.list();
    for (const n of names) assert.ok(!left.includes(n), `namespace ${n} left behind`);
    assert.equal(fs.existsSync(`/sys/class/net/dvsbr${idx}`), false, 'bridge left behind');
  } finally {
    await c.down().catch(() => undefined);
  }
});

test('the cluster secret: from an environment variable, from a private file, refused when readable by others', { timeout: 60000 }, async () => {
  const dir = path.join(tmp, 'secret');
  fs.mkdirSync(dir, { recursive: true });
  const two = (name: string, secret: unknown) => {
    const file = path.join(dir, `${name}.json`);
    fs.writeFileSync(
      file,
      JSON.stringify({
        cluster: { name: `${name}-${process.pid}`, secret },
        nodes: [{ id: 0, name: 'a' }, { id: 1, name: 'b' }],
        dcs: [{ id: 0, name: 'd', nodes: [0, 1], nr_procs: 64, nr_tasks: 8, nr_sysprocs: 16 }],
        endpoints: [],
      }),
    );
    return file;
  };
  process.env['DVS_TEST_SECRET'] = 'an environment secret of 32 chars';
  const env = await Cluster.up(two('envsecret', { env: 'DVS_TEST_SECRET' }));
  started.push(env);
  try {
    const f = path.join(env.dir, 'secret');
    assert.equal(fs.readFileSync(f, 'utf8'), 'an environment secret of 32 chars');
    assert.equal(fs.statSync(f).mode & 0o777, 0o600);
  } finally {
    await env.down();
    delete process.env['DVS_TEST_SECRET'];
  }
  const secretFile = path.join(dir, 'cluster.key');
  fs.writeFileSync(secretFile, 'a file secret that is long enough\n', { mode: 0o644 });
  fs.chmodSync(secretFile, 0o644);
  await assert.rejects(Cluster.up(two('filesecret', { file: 'cluster.key' })), /cluster secret file .*cluster\.key must be private: chmod 600/);
  fs.chmodSync(secretFile, 0o600);
  const ok = await Cluster.up(two('filesecret', { file: 'cluster.key' }));
  started.push(ok);
  try {
    assert.ok((await ok.status()).nodes.every((n) => n.links.every((l) => l.state === 'up')));
  } finally {
    await ok.down();
  }
});

test('the events sample on three nodes: notify across nodes, then sendrec to pull the tick', { timeout: 60000 }, async () => {
  const bin = path.join(buildDir(), 'samples', 'events');
  const dir = path.join(tmp, 'events');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'dvs.json');
  const sample = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'samples', 'c', 'events', 'dvs.json'), 'utf8')) as {
    cluster: { name: string };
    endpoints: { name: string; program: { build?: string; run: string; args?: string[] } }[];
  };
  sample.cluster.name = `events-${process.pid}`;
  for (const e of sample.endpoints) {
    delete e.program.build;
    e.program.run = path.join(bin, e.program.run);
    if (e.name.startsWith('watcher')) e.program.args = ['4'];
    else e.program.args = ['100', '10', '11'];
  }
  fs.writeFileSync(file, JSON.stringify(sample));
  const c = await Cluster.up(file);
  started.push(c);
  try {
    const codes = await exits(c, ['watcher_a', 'watcher_b']);
    assert.equal(codes.get('watcher_a'), 0, c.logs('watcher_a'));
    assert.equal(codes.get('watcher_b'), 0, c.logs('watcher_b'));
    assert.match(c.logs('watcher_a'), /^watcher 10: notification 4, tick \d+/m);
    assert.match(c.logs('watcher_b'), /^watcher 11: notification 4, tick \d+/m);
  } finally {
    await c.down();
  }
});

test('a crashed node shows as down, its endpoints dead; restarted, it serves again; down cleans everything', { timeout: 90000 }, async () => {
  const file = threeNodes('nodedeath');
  const c = await Cluster.up(file);
  started.push(c);
  try {
    await exits(c, ['client_c']);
    await c.restart(22); // a fresh client_c that we then orphan
    const node2 = c.nodes.find((n) => n.id === 2)!;
    const before = await c.status();
    const oldPid = JSON.parse(fs.readFileSync(path.join(c.dir, 'cluster.json'), 'utf8')).nodes[2].pid as number;
    assert.equal(before.nodes[2]!.up, true);
    const killed = await run('node', [DVS, 'crash', 'node2', file], { timeout: 20000 });
    assert.match(killed.stdout, /node node2 crashed: dvsd \(pid \d+\) and \d+ program\(s\) killed/);
    assert.equal(alive(oldPid), false);
    const s = await until('node2 to show down', async () => {
      const x = await c.status();
      return x.nodes[2]!.up ? undefined : x;
    });
    const ep = s.endpoints.find((e) => e.name === 'client_c')!;
    assert.equal(ep.state, 'dead');
    assert.equal(ep.describe, `node ${node2.name} is down`);
    await until('node0 to see its link to node2 go', async () => {
      const x = await c.status();
      return x.nodes[0]!.links.find((l) => l.node === 2)?.state === 'up' ? undefined : true;
    });

    // Restarted: a fresh dvsd on the same port, links back, client_c runs again against node0.
    const restarted = await run('node', [DVS, 'restart', '--node', '2', file], { timeout: 60000 });
    assert.match(restarted.stdout, /started dvsd of node2 \(pid \d+, 127\.0\.0\.1:\d+\)/);
    assert.match(restarted.stdout, /started client_c on node2 \(endpoint 22, pid \d+\)/);
    assert.match(restarted.stdout, /node2 restarted/);
    const newPid = JSON.parse(fs.readFileSync(path.join(c.dir, 'cluster.json'), 'utf8')).nodes[2].pid as number;
    assert.notEqual(newPid, oldPid);
    assert.equal((await exits(c, ['client_c'])).get('client_c'), 0, c.logs('client_c'));
    assert.match(c.logs('client_c'), /kv_client 22: 40 puts and gets, 0 errors/);
    const after = await c.status();
    for (const n of after.nodes) {
      assert.equal(n.up, true, n.name);
      assert.deepEqual(n.links.map((l) => [l.node, l.state]).sort(), [0, 1, 2].filter((x) => x !== n.id).map((x) => [x, 'up']));
    }
    assert.ok(fs.existsSync(path.join(c.dir, 'logs', 'node2.previous.log')));
    // Usage errors are clear.
    await assert.rejects(run('node', [DVS, 'restart', '--node', '9', file], { timeout: 20000 }), /no node 9/);

    const pids = c.pids();
    await c.down();
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} survived down`);
  } finally {
    await c.down().catch(() => undefined);
  }
});

test('C and TypeScript endpoints in one 2-node cluster (samples/ts/dvs.json): .ts entries run through the hook', { timeout: 60000 }, async () => {
  const folder = path.join(__dirname, '..', '..', '..', 'samples', 'ts');
  const sample = JSON.parse(fs.readFileSync(path.join(folder, 'dvs.json'), 'utf8')) as {
    cluster: { name: string };
    endpoints: { name: string; program: { run: string; args?: string[] } }[];
  };
  sample.cluster.name = `mixed-${process.pid}`;
  for (const e of sample.endpoints) e.program.run = path.resolve(folder, e.program.run);
  const dir = path.join(tmp, 'mixed');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'dvs.json');
  fs.writeFileSync(file, JSON.stringify(sample));
  const c = await Cluster.up(file);
  started.push(c);
  try {
    const codes = await exits(c, ['ts_kv_client', 'echo_client'], 30000);
    assert.equal(codes.get('ts_kv_client'), 0, c.logs('ts_kv_client'));
    assert.equal(codes.get('echo_client'), 0, c.logs('echo_client'));
    assert.match(c.logs('ts_kv_client'), /kv-client: 100 puts and gets, 0 errors/);
    assert.match(c.logs('echo_client'), /echo_client: 100 round trips ok/);
    assert.match(c.logs('echo_server'), /echo-server: serving on endpoint 10/);
  } finally {
    await c.down();
  }
});
