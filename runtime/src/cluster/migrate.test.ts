/**
 * Live migration through the real launcher: the migration sample's counter
 * server moves from node0 to node1 (`dvs migrate`, the command line) while
 * clients on node0 and node2 call it. No caller sees an error or hangs,
 * every call is answered exactly once (the clients' answers, the servers'
 * served counts and the handed-over total reconcile), and status shows the
 * new placement. Bounded in time; the cluster is taken down even on failure.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { alive, Cluster, dvsdSupportsMultiNode } from './cluster';
import { buildDir, dvsdPath } from './paths';

const run = promisify(execFile);
const DVS = path.join(__dirname, '..', 'cli', 'dvs.js');
const SAMPLES = path.join(__dirname, '..', '..', '..', 'samples', 'c');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dvs-migrate-test-'));
const started: Cluster[] = [];

before(() => {
  if (!dvsdSupportsMultiNode()) throw new Error(`${dvsdPath()} has no --listen option: rebuild the runtime`);
});
process.once('SIGTERM', () => {
  void Promise.all(started.map((c) => c.down().catch(() => undefined))).finally(() => process.exit(143));
});
after(async () => {
  for (const c of started) await c.down().catch(() => undefined);
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 20000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A sample's dvs.json with the built programs, a unique cluster name, in tmp. */
function sampleConfig(sample: string, edit: (c: { cluster: { name: string }; endpoints: { name: string; program: { build?: string; run: string; args?: string[] } }[] }) => void): string {
  const config = JSON.parse(fs.readFileSync(path.join(SAMPLES, sample, 'dvs.json'), 'utf8'));
  config.cluster.name = `${sample}-${process.pid}`;
  delete config.$schema;
  for (const e of config.endpoints) {
    delete e.program.build;
    e.program.run = path.join(buildDir(), 'samples', sample, e.program.run);
  }
  edit(config);
  const dir = path.join(tmp, sample);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'dvs.json');
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

test('dvs migrate moves the counter server from node0 to node1 under traffic: no error, no hang, counts reconciled', { timeout: 120000 }, async () => {
  const CALLS = 1500;
  const stateFile = path.join(tmp, 'counter.state');
  const file = sampleConfig('migrate', (c) => {
    for (const e of c.endpoints) {
      if (e.name === 'counter') e.program.args = [stateFile];
      else e.program.args = [String(CALLS), '2000'];
    }
  });
  const c = await Cluster.up(file);
  started.push(c);
  try {
    // Let traffic flow for a while, then migrate from the command line.
    await until('both clients to be served', () => {
      const s = fs.readFileSync(path.join(c.dir, 'logs', 'counter.log'), 'utf8');
      return s.includes('endpoint 1 on node 0') ? true : undefined;
    });
    // A migration that cannot happen is rolled back with a clear error: client_a
    // is never idle in receive (it calls, then sleeps).
    await assert.rejects(
      c.migrate(20, 1, { idleTimeoutMs: 300 }),
      /migration of client_a \(endpoint 20\) failed: it did not become idle within 0\.3 s \(it is .+\); rolled back/,
    );
    for (const n of (await c.status()).nodes) {
      const p = n.procs.find((x) => x.endpoint === 20)!;
      assert.ok(!p.flags.includes('MIGRATING'), `${n.name}: ${p.flags.join(',')}`);
    }
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    const out = await run('node', [DVS, 'migrate', '1', 'node1', file], { timeout: 60000 });
    const took = Date.now() - t0;
    assert.match(out.stdout, /^\[1\/5\] migr_start of counter \(endpoint 1\) on node1, node2, node0: its callers now wait$/m);
    assert.match(out.stdout, /^\[2\/5\] waiting for counter \(endpoint 1\) on node0 to be idle/m);
    assert.match(out.stdout, /^\[3\/5\] stopping counter \(endpoint 1\) on node0 \(pid \d+\)$/m);
    assert.match(out.stdout, /^\[4\/5\] starting counter \(endpoint 1\) on node1, bound there by migr_commit$/m);
    assert.match(out.stdout, /^counter \(endpoint 1\) migrated from node0 to node1 \(pid \d+\)$/m);

    const codes = await until('the clients to finish', () => {
      const x = c.exitCodes();
      return x.has('client_a') && x.has('client_b') ? x : undefined;
    }, 60000);
    assert.equal(codes.get('client_a'), 0, c.logs('client_a'));
    assert.equal(codes.get('client_b'), 0, c.logs('client_b'));

    // Status and ps: the server runs on node1 now.
    const s = await c.status();
    const ep = s.endpoints.find((e) => e.name === 'counter')!;
    assert.equal(ep.node, 1);
    assert.equal(ep.declaredNode, 0);
    assert.equal(ep.state, 'running');
    const st = await run('node', [DVS, 'status', file]);
    assert.match(st.stdout, /^counter\s+1\s+0\s+node1 \(dvs\.json: node0\)\s+running\s+\d+\s+receiving from ANY\s+-$/m);
    const ps = await run('node', [DVS, 'ps', file]);
    assert.match(ps.stdout, /^node0\s+0\s+1\s+-\s+counter_server\s+remote on node 1/m);

    // Reconcile: every call answered once, by one of the two servers.
    const answered = (name: string) => {
      const m = /(\d+) calls, (\d+) answered, 0 errors, last total (\d+); by server:(( pid \d+: \d+)+)/.exec(c.logs(name));
      assert.ok(m, c.logs(name));
      assert.equal(Number(m[1]), CALLS);
      assert.equal(Number(m[2]), CALLS);
      return m[4]!;
    };
    const byA = answered('client_a');
    const byB = answered('client_b');
    process.kill(ep.pid!, 'SIGTERM');
    const log = await until('the new server to report', () => {
      const l = c.logs('counter');
      return /served \d+, total \d+, state saved[\s\S]*served \d+, total \d+, state saved/.test(l) ? l : undefined;
    });
    const served = [...log.matchAll(/counter_server (\d+): served (\d+), total (\d+)/g)].map((m) => ({ pid: Number(m[1]), served: Number(m[2]), total: Number(m[3]) }));
    assert.equal(served.length, 2, log);
    assert.equal(served[0]!.served + served[1]!.served, 2 * CALLS, `served counts vs answers:\n${log}`);
    assert.equal(served[1]!.total, 2 * CALLS, 'the handed-over total counts every call once');
    assert.match(log, /migrated from node 0, total \d+ handed over/);
    // Both clients met the old and the new server (they were held and replayed, not failed).
    for (const by of [byA, byB]) for (const p of served) assert.match(by, new RegExp(` pid ${p.pid}: \\d+`), by);
    assert.ok(took < 30000, `migration took ${took} ms`);

    // Migrating where it already is, or to a node that does not exist, is refused clearly.
    await assert.rejects(c.migrate(1, 1), /counter \(endpoint 1\) is not running on node1|already runs on node1/);
    await assert.rejects(run('node', [DVS, 'migrate', '1', 'node9', file]), (e: { stderr: string }) => /no node 'node9'/.test(e.stderr));
    const pids = c.pids();
    await c.down();
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} survived down`);
  } finally {
    await c.down().catch(() => undefined);
  }
});

test('primary/backup: dvs crash of the primary\'s node; the backup on the lowest node takes over, clients keep being served', { timeout: 120000 }, async () => {
  const CALLS = 2000;
  const file = sampleConfig('failover', (c) => {
    for (const e of c.endpoints) if (e.name !== 'fo_server') e.program.args = [String(CALLS), '2000'];
  });
  const steps: string[] = [];
  const c = await Cluster.up(file, { onProgress: (s, d, t) => steps.push(`[${d}/${t}] ${s}`) });
  started.push(c);
  try {
    assert.match(steps.join('\n'), /\[\d+\/\d+\] starting the backup of fo_server on node1 \(standby pid \d+, bkupbind\)/);
    assert.match(steps.join('\n'), /\[\d+\/\d+\] starting the backup of fo_server on node2 \(standby pid \d+, bkupbind\)/);
    let s = await c.status();
    let ep = s.endpoints.find((e) => e.name === 'fo_server')!;
    assert.equal(ep.node, 0);
    assert.deepEqual(ep.backups?.map((b) => b.node), [1, 2]);
    const ps = await run('node', [DVS, 'ps', file]);
    assert.match(ps.stdout, /^node1\s+0\s+1\s+\d+\s+\S+\s+backup \(standby pid \d+\) of the primary on node 0/m);
    // (what the server is doing depends on the traffic of the moment)
    assert.match(ps.stdout, /^node0\s+0\s+1\s+\d+\s+fo_server\s+.+ \(primary; backups on node 1, 2\)/m);
    const st = await run('node', [DVS, 'status', file]);
    assert.match(st.stdout, /^fo_server\s+1\s+0\s+node0\s+running\s+\d+\s+.+\s+node1 \(pid \d+\), node2 \(pid \d+\)$/m);
    // Migrating onto a standby's node is refused before anything changes.
    await assert.rejects(c.migrate(1, 1), /node1 holds a standby of fo_server \(endpoint 1\)/);
    // The standbys are not bound: they wait in mnx_wait4bind.
    assert.doesNotMatch(c.logs('fo_server@node1'), /serving/);

    await until('the clients to be served by the primary', () =>
      /answered by pid \d+ on node 0/.test(c.logs('client_a')) && /answered by pid \d+ on node 0/.test(c.logs('client_b')) ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 500));
    const crash = await run('node', [DVS, 'crash', 'node0', file], { timeout: 20000 });
    assert.match(crash.stdout, /node node0 crashed: dvsd \(pid \d+\) and \d+ program\(s\) killed/);
    const t0 = Date.now();

    const codes = await until('the clients to finish', () => {
      const x = c.exitCodes();
      return x.has('client_a') && x.has('client_b') ? x : undefined;
    }, 60000);
    for (const n of ['client_a', 'client_b']) {
      assert.equal(codes.get(n), 0, c.logs(n));
      assert.match(c.logs(n), new RegExp(`${CALLS} calls, 0 errors`));
      assert.match(c.logs(n), /answered by pid \d+ on node 1/, c.logs(n)); // the lowest backup node won
      assert.doesNotMatch(c.logs(n), /on node 2/);
    }
    assert.match(c.logs('fo_server@node1'), /serving endpoint 1 on node 1/);
    assert.match(c.logs('node1'), /endpoint 1 of DC 0: taken over by the backup on node 1 \(here\)/);
    assert.match(c.logs('node2'), /endpoint 1 of DC 0: taken over by the backup on node 1 \(primary's node 0 lost\)/);
    assert.ok(Date.now() - t0 < 60000);

    s = await c.status();
    ep = s.endpoints.find((e) => e.name === 'fo_server')!;
    assert.equal(ep.node, 1);
    assert.equal(ep.declaredNode, 0);
    assert.match(ep.describe, /backup fo_server@node1 took over/);
    assert.deepEqual(ep.backups?.map((b) => b.node), [2], 'node2 still stands by, now for node1');
    assert.equal(s.nodes.find((n) => n.id === 0)!.up, false);
    const pids = c.pids();
    await c.down();
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} survived down`);
  } finally {
    await c.down().catch(() => undefined);
  }
});

test('dvs restart --node of a node that held a standby starts the standby again; a takeover onto it then works', { timeout: 150000 }, async () => {
  const file = sampleConfig('failover', (c) => {
    (c as { cluster: { name: string } }).cluster.name = `failover-restart-${process.pid}`;
    for (const e of c.endpoints) {
      if (e.name === 'client_a') e.program.args = ['100000', '5000'];
      if (e.name === 'client_b') e.program.args = ['100000', '5000']; // on node2: restarted with it
    }
  });
  const c = await Cluster.up(file);
  started.push(c);
  try {
    const fo = async () => (await c.status()).endpoints.find((e) => e.name === 'fo_server')!;
    assert.deepEqual((await fo()).backups?.map((b) => b.node), [1, 2]);
    await until('the clients to be served by the primary', () =>
      /answered by pid \d+ on node 0/.test(c.logs('client_a')) && /answered by pid \d+ on node 0/.test(c.logs('client_b')) ? true : undefined,
    );
    // node2 dies with its standby (and client_b): its daemon could not withdraw it.
    await run('node', [DVS, 'crash', 'node2', file], { timeout: 20000 });
    assert.deepEqual((await fo()).backups?.map((b) => b.node), [1]);

    const out = await run('node', [DVS, 'restart', '--node', 'node2', file], { timeout: 60000 });
    assert.match(out.stdout, /started client_b on node2 \(endpoint 21, pid \d+\)/);
    assert.match(out.stdout, /started the backup of fo_server on node2 \(standby pid \d+ of the primary on node0, bkupbind\)/);
    const s = await c.status();
    const ep = s.endpoints.find((e) => e.name === 'fo_server')!;
    assert.deepEqual(ep.backups?.map((b) => b.node), [1, 2]);
    // Every node counts on both standbys again (the launcher told them).
    for (const n of s.nodes) {
      const p = n.procs.find((x) => x.endpoint === 1)!;
      assert.deepEqual(p.bkup_nodes, [1, 2], `${n.name}: ${JSON.stringify(p)}`);
    }
    const ps = await run('node', [DVS, 'ps', file]);
    assert.match(ps.stdout, /^node2\s+0\s+1\s+\d+\s+\S+\s+backup \(standby pid \d+\) of the primary on node 0/m);
    assert.match(ps.stdout, /^node0\s+0\s+1\s+\d+\s+fo_server\s+.+ \(primary; backups on node 1, 2\)/m);
    const st = await run('node', [DVS, 'status', file]);
    assert.match(st.stdout, /^fo_server\s+1\s+0\s+node0\s+running\s+\d+\s+.+\s+node1 \(pid \d+\), node2 \(pid \d+\)$/m);
    await until('the restarted client_b to be served', () => (/answered by pid \d+ on node 0/.test(c.logs('client_b')) ? true : undefined));

    // The takeover goes to the restarted standby: node1 (the lowest) and then
    // the primary's node die; node2 is the only one left.
    await run('node', [DVS, 'crash', 'node1', file], { timeout: 20000 });
    await run('node', [DVS, 'crash', 'node0', file], { timeout: 20000 });
    await until('client_b to be served by the standby on node2', () => (/answered by pid \d+ on node 2/.test(c.logs('client_b')) ? true : undefined), 30000);
    assert.match(c.logs('node2'), /endpoint 1 of DC 0: taken over by the backup on node 2 \(here\)/);
    assert.match(c.logs('fo_server@node2'), /serving endpoint 1 on node 2/);
    assert.doesNotMatch(c.logs('client_b'), /fo_client 21: call \d+: /, 'no call of client_b failed');
    const after2 = (await c.status()).endpoints.find((e) => e.name === 'fo_server')!;
    assert.equal(after2.node, 2);
    assert.equal(after2.state, 'running');

    // The primary's node comes back: the endpoint stays where it was taken over,
    // node0 becomes its standby (not a second primary).
    const back = await run('node', [DVS, 'restart', '--node', 'node0', file], { timeout: 60000 });
    assert.match(back.stdout, /started the backup of fo_server on node0 \(standby pid \d+ of the primary on node2, bkupbind\)/);
    assert.doesNotMatch(back.stdout, /started fo_server on node0/);
    const s3 = await c.status();
    const ep3 = s3.endpoints.find((e) => e.name === 'fo_server')!;
    assert.equal(ep3.node, 2);
    assert.equal(ep3.state, 'running');
    assert.deepEqual(ep3.backups?.map((b) => b.node), [0]);
    const ps3 = await run('node', [DVS, 'ps', file]);
    assert.match(ps3.stdout, /^node0\s+0\s+1\s+\d+\s+\S+\s+backup \(standby pid \d+\) of the primary on node 2/m);
    await new Promise((r) => setTimeout(r, 300));
    assert.match(c.logs('client_b').split('answered by').pop()!, /on node 2/, 'client_b is still served on node2');
  } finally {
    await c.down().catch(() => undefined);
  }
});
