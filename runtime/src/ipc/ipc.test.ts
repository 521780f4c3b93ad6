/**
 * The TypeScript IPC API against a real node: every test starts its own
 * node in a fresh directory and runs one scenario (scenarios.ts) in its own
 * Node process, because libm3ipc maps one node per process.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

import { runProgram } from '../cluster/launch';
import { startNode, stopNode } from '../cluster/node';
import { nodesRoot } from '../cluster/paths';
import { freshNodeDir } from '../cluster/testing';

const SCENARIOS = path.join(__dirname, 'scenarios.js');

function freshDir(name: string): string {
  return freshNodeDir('ipc', name);
}

/** scenario runs one scenario; `wait` forces the async wait path (DVS_IPC_WAIT), else the default. Returns its output. */
async function scenario(name: string, wait?: 'thread'): Promise<string> {
  const dir = freshDir(name);
  await startNode({ dir });
  try {
    const env = { ...process.env, DVS_NODE: dir, DVS_EP: '', DVS_DC: '', DVS_IPC_WAIT: wait ?? '' };
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = execFile(process.execPath, [SCENARIOS, name], { env, timeout: 30_000 }, (_err, stdout, stderr) =>
        resolve({ code: child.exitCode, out: stdout + stderr }),
      );
    });
    assert.equal(code, 0, `scenario ${name}${wait ? ` (DVS_IPC_WAIT=${wait})` : ''} failed:\n${out}`);
    return out;
  } finally {
    await stopNode(dir);
  }
}

const SCENARIOS_BY_TITLE: [title: string, scenario: string][] = [
  ['send is a rendezvous and delivers the MINIX fields with the source', 'rendezvous'],
  ['senders are received in FIFO order, receive(src) picks one', 'fifo'],
  ['TIMEOUT_NOWAIT gives EMOLAGAIN and expiry EMOLTIMEDOUT', 'timeouts'],
  ['notify needs a system slot and coalesces repeats', 'notify'],
  ['reply needs a client in sendrec (EMOLPROCSTS); self and special destinations give EMOLENDPOINT', 'replyAndSelf'],
  ['vcopy from TypeScript into and out of a C client; within one process EMOLPERM', 'vcopy'],
  ['the event loop keeps running while an endpoint is blocked in receive', 'eventLoop'],
  ['misuse throws clear errors and never crashes the process', 'misuse'],
  ["unbind wakes the endpoint's blocked call; an unbind by the node is noticed", 'unbindWakes'],
  ['several endpoints in one process talk to each other', 'twoEndpoints'],
  ['a TypeScript client of the C kv server (async and sync)', 'kvClient'],
  ['a C client of the TypeScript echo server sample', 'echoServer'],
  ['a worker thread binds its own endpoint, calls sendrecSync, and is unbound when it ends', 'workerThread'],
  ['a TypeScript server killed while blocked: its C client gets EMOLSRCDIED', 'killedWhileBlocked'],
  ['calls waiting on the event loop time out on their own deadlines and are withdrawn', 'waitTimeouts'],
  ['the server dies while async calls wait for it: they fail with the death codes', 'serverDiesWhileWaiting'],
  ['many outstanding calls on several endpoints complete, in call order per endpoint', 'manyOutstanding'],
  ["a synchronous call runs after the endpoint's pending async calls", 'syncAfterAsync'],
];
// Every scenario on the default wait path (io_uring where the kernel has
// IORING_OP_FUTEX_WAIT) and on the endpoint-thread fallback.
for (const [title, name] of SCENARIOS_BY_TITLE) test(title, async () => void (await scenario(name)));
for (const [title, name] of SCENARIOS_BY_TITLE) test(`${title} [endpoint threads]`, async () => void (await scenario(name, 'thread')));

test('the async wait path: io_uring unless unavailable (with the reason), thread when forced', async () => {
  const def = (await scenario('waitMode')).trim();
  assert.match(def, /^(io_uring|thread \S.*)$/, def);
  if (def.startsWith('thread')) console.log(`# this kernel falls back to endpoint threads: ${def}`);
  assert.equal((await scenario('waitMode', 'thread')).trim(), 'thread DVS_IPC_WAIT=thread');
});

test('bind honours DVS_EP/DVS_DC set by the launcher', async () => {
  const dir = freshDir('launched');
  await startNode({ dir });
  try {
    const out: string[] = [];
    const r = await runProgram({ dir, program: process.execPath, args: [SCENARIOS, 'launched'], endpoint: 25, onLine: (l) => out.push(l) });
    assert.equal(await r.exited, 0, out.join('\n'));
  } finally {
    await stopNode(dir);
  }
});

test('importing the package loads no native code', async () => {
  const code = `require(${JSON.stringify(path.join(__dirname, '..', 'index.js'))});
    const loaded = Object.keys(require.cache).filter((f) => f.endsWith('.node'));
    if (loaded.length) { console.error(loaded); process.exit(1); }`;
  await new Promise<void>((resolve, reject) =>
    execFile(process.execPath, ['-e', code], (err, _o, stderr) => (err ? reject(new Error(stderr)) : resolve())),
  );
});

test('a load failure lists every path tried', async () => {
  // A copy of the loader in a directory with no build next to it.
  const tmp = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'dvs-addon-'));
  const nested = path.join(tmp, 'dist', 'ipc');
  fs.mkdirSync(nested, { recursive: true });
  fs.copyFileSync(path.join(__dirname, 'native.js'), path.join(nested, 'native.js'));
  const code = `try { require(${JSON.stringify(path.join(nested, 'native.js'))}).loadNative(); } catch (e) { console.log(e.message); }`;
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['-e', code], { env: { ...process.env, DVS_ADDON: '/nonexistent/dvs_ipc.node' } }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
  fs.rmSync(tmp, { recursive: true, force: true });
  assert.match(out, /cannot load the DVS IPC native addon; tried:/);
  for (const p of ['/nonexistent/dvs_ipc.node', path.join(tmp, 'addon', 'build', 'Release', 'dvs_ipc.node'), path.join(tmp, 'addon', 'build', 'Debug', 'dvs_ipc.node')]) {
    assert.ok(out.includes(`  ${p}: `), `${p} missing from:\n${out}`);
  }
  assert.match(out, /DVS_ADDON/);
});
