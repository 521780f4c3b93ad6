/**
 * The cluster controller and the dvs command against a real dvsd.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import * as control from './control';
import { runProgram } from './launch';
import { isRunning, startNode, stopNode } from './node';
import { buildDir, nodesRoot } from './paths';
import { freshNodeDir } from './testing';

const run = promisify(execFile);
const DVS = path.join(__dirname, '..', 'cli', 'dvs.js');
const KV = path.join(buildDir(), 'samples', 'kv');

function freshDir(name: string): string {
  return freshNodeDir('test', name);
}

test('startNode, info, ps and stopNode', async () => {
  const dir = freshDir('life');
  const info = await startNode({ dir, nodeId: 2, name: 'life', dcs: [{ id: 1, name: 'one' }, { id: 3, name: 'three', nr_procs: 32, nr_tasks: 4, nr_sysprocs: 8 }] });
  assert.equal(info.node.id, 2);
  assert.equal(info.node.name, 'life');
  assert.deepEqual(info.dcs.map((d) => [d.id, d.name, d.nr_procs]), [[1, 'one', 64], [3, 'three', 32]]);
  assert.deepEqual(await control.ps(dir), []);
  await assert.rejects(startNode({ dir }), /already running/);
  await stopNode(dir);
  assert.equal(await isRunning(dir), false);
  await assert.rejects(control.info(dir), control.NodeNotRunningError);
});

test('a bad DC is refused with the daemon\'s own message', async () => {
  const dir = freshDir('bad');
  await assert.rejects(startNode({ dir, dcs: [{ id: 1, name: 'a', nr_procs: 5000 }] }), /BADRANGE|bad range/i);
});

test('control errors carry the EMOL name and code', async () => {
  const dir = freshDir('errors');
  await startNode({ dir });
  try {
    await assert.rejects(control.lclbind(dir, 0, 999999, 5), (e: unknown) => {
      assert.ok(e instanceof control.ControlError);
      assert.equal(e.errorName, 'EMOLBADPID');
      assert.equal(e.code, -305);
      return true;
    });
    await assert.rejects(control.request(dir, 'nonsense'), /unknown request 'nonsense'/);
    await assert.rejects(control.request(dir, 'two\nlines'), /single line/);
  } finally {
    await stopNode(dir);
  }
});

test('runProgram binds a C program to its endpoint and ps shows it', async () => {
  const dir = freshDir('run');
  await startNode({ dir });
  try {
    const server = await runProgram({ dir, program: path.join(KV, 'kv_server'), endpoint: 1, onLine: () => {} });
    let procs: control.ProcInfo[] = [];
    for (let i = 0; i < 200 && !procs.some((p) => p.flags.includes('RECEIVING')); i++) {
      procs = await control.ps(dir);
      await new Promise((r) => setTimeout(r, 10));
    }
    const p = procs.find((x) => x.endpoint === 1)!;
    assert.equal(p.pid, server.child.pid);
    assert.equal(control.describeState(p), 'receiving from ANY');
    const lines: string[] = [];
    const client = await runProgram({ dir, program: path.join(KV, 'kv_client'), args: ['30'], endpoint: 20, onLine: (l) => lines.push(l) });
    assert.equal(await client.exited, 0);
    assert.match(lines.join('\n'), /kv_client 20: 30 puts and gets, 0 errors/);
    await assert.rejects(
      runProgram({ dir, program: path.join(KV, 'kv_client'), endpoint: 1, onLine: () => {} }),
      /EMOLSLOTUSED/,
    );
    server.child.kill('SIGKILL');
    await server.exited;
  } finally {
    await stopNode(dir);
  }
});

test('dvs: usage errors exit 2 with a hint; no node gives advice', async () => {
  await assert.rejects(run('node', [DVS, 'bogus']), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 2);
    assert.match(e.stderr, /unknown command 'bogus'/);
    return true;
  });
  await assert.rejects(run('node', [DVS, 'ps', '--dir', freshDir('usage'), '--dc', 'x']), /--dc takes a whole number/);
  await assert.rejects(run('node', [DVS, 'node', 'start', '--dc', '1:waytoolongdcname000']), /--dc takes ID:NAME/);
  const dir = freshDir('none');
  await assert.rejects(run('node', [DVS, 'ps', '--dir', dir]), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 1);
    assert.match(e.stderr, /no node is running .* dvs node start --dir/);
    return true;
  });
  const help = await run('node', [DVS, 'help']);
  for (const cmd of ['node start', 'node stop', 'node status', 'ps', 'run', 'demo']) assert.match(help.stdout, new RegExp(`dvs ${cmd}`));
});

test('dvs node start/status/run/ps/stop from the command line', async () => {
  const dir = freshDir('cli');
  const start = await run('node', [DVS, 'node', 'start', '--dir', dir, '--name', 'cli', '--dc', '0:kv']);
  assert.match(start.stdout, /node 0 \(cli\) running/);
  try {
    const status = await run('node', [DVS, 'node', 'status', '--dir', dir]);
    assert.match(status.stdout, /DC 0 kv: 0 bound, slots -8\.\.63/);
    const server = run('node', [DVS, 'run', '--dir', dir, '--ep', '1', '--', path.join(KV, 'kv_server')]);
    for (let i = 0; i < 200; i++) {
      if ((await control.ps(dir)).some((p) => p.endpoint === 1)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const client = await run('node', [DVS, 'run', '--dir', dir, '--ep', '21', '--', path.join(KV, 'kv_client'), '10']);
    assert.match(client.stdout, /kv_client 21: 10 puts and gets, 0 errors/);
    const ps = await run('node', [DVS, 'ps', '--dir', dir]);
    assert.match(ps.stdout, /^DC\s+EP\s+PID\s+NAME\s+STATE/);
    assert.match(ps.stdout, /\n0\s+1\s+\d+\s+kv_server\s+receiving from ANY\s+20\s+20\s+0/);
    const json = JSON.parse((await run('node', [DVS, 'ps', '--dir', dir, '--json'])).stdout) as control.ProcInfo[];
    assert.equal(json.length, 1);
    await run('node', [DVS, 'node', 'stop', '--dir', dir]);
    // The server sees EMOLSHUTDOWN and exits 0; dvs run exits with its status.
    const served = await server;
    assert.match(served.stdout, /kv_server: serving on endpoint 1/);
  } catch (e) {
    if (await isRunning(dir)) await stopNode(dir);
    throw e;
  }
});

test('the control socket refuses garbage without dying', async () => {
  const dir = freshDir('garbage');
  await startNode({ dir });
  try {
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.createConnection(path.join(dir, 'control.sock'));
      let buf = '';
      s.on('data', (d) => (buf += d.toString()));
      s.on('end', () => resolve(buf));
      s.on('error', reject);
      s.write(Buffer.alloc(5000, 0x41));
    });
    assert.match(reply, /longer than 4096 bytes/);
    assert.equal((await control.info(dir)).node.id, 0);
  } finally {
    await stopNode(dir);
  }
});
