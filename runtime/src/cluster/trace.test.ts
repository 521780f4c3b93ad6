/**
 * The trace against a real dvsd: pushed events, history, exports, the
 * formatter, slow and closed subscribers, malformed requests.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import * as control from './control';
import { runProgram } from './launch';
import { startNode, stopNode } from './node';
import { buildDir, nodesRoot } from './paths';
import {
  formatEvent,
  fromJsonLines,
  mergeByCausality,
  parseFilter,
  subscribeTrace,
  toChromeTrace,
  toJsonLines,
  traceHistory,
  type TraceEvent,
} from './trace';
import { KV_PROTOCOL } from '../cli/trace-cmd';
import { freshNodeDir } from './testing';

const run = promisify(execFile);
const DVS = path.join(__dirname, '..', 'cli', 'dvs.js');
const KV = path.join(buildDir(), 'samples', 'kv');

function freshDir(name: string): string {
  return freshNodeDir('test-trace', name);
}

function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) resolve();
      else if (Date.now() > until) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

/** kvRound runs the kv server and one client doing n puts and gets. */
async function kvRound(dir: string, n: number): Promise<void> {
  const server = await runProgram({ dir, program: path.join(KV, 'kv_server'), endpoint: 1, onLine: () => undefined });
  try {
    const client = await runProgram({ dir, program: path.join(KV, 'kv_client'), args: [String(n)], endpoint: 20, onLine: () => undefined });
    assert.equal(await client.exited, 0);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
}

const ev = (over: Partial<TraceEvent>): TraceEvent => ({
  seq: 1, ts: 1_000_000, lamport: 1, node: 0, dc: 0, op: 'send', src: 20, dst: 1, type: 1,
  bytes: 48, result: 0, pid: 10, reply_to: 0, ...over,
});

test('a subscriber gets the events pushed, and history keeps them', { timeout: 60_000 }, async () => {
  const dir = freshDir('push');
  await startNode({ dir, dcs: [{ id: 0, name: 'kv' }] });
  try {
    const got: TraceEvent[] = [];
    let ended: Error | undefined;
    const sub = subscribeTrace(dir, (e) => got.push(e), (e) => (ended = e));
    assert.equal(await sub.lostAtStart, 0);
    await kvRound(dir, 5);
    // The client made 5 puts and 5 gets: a sendrec and a reply each.
    await waitFor(() => got.filter((e) => e.op === 'reply' && e.src === 1 && e.dst === 20).length >= 10, 5000, '10 replies');
    const reqs = got.filter((e) => e.op === 'sendrec' && e.src === 20 && e.dst === 1);
    assert.equal(reqs.length, 10);
    assert.deepEqual(reqs.map((e) => e.type), [1, 2, 1, 2, 1, 2, 1, 2, 1, 2]);
    for (const r of got.filter((e) => e.op === 'reply' && e.dst === 20)) {
      const req = got.find((e) => e.seq === r.reply_to);
      assert.ok(req && req.op === 'sendrec' && req.src === 20, `reply #${r.seq} points at its request`);
      assert.ok(req.lamport < r.lamport);
    }
    assert.equal(reqs[0]!.file, 'kv_client.c');
    assert.ok((reqs[0]!.line ?? 0) > 0);
    assert.ok(got.some((e) => e.op === 'bind' && e.src === 20));
    assert.ok(got.some((e) => e.op === 'vcopy' && e.bytes > 0));
    for (let i = 1; i < got.length; i++) {
      assert.equal(got[i]!.seq, got[i - 1]!.seq + 1, 'no gaps');
      assert.ok(got[i]!.lamport > got[i - 1]!.lamport);
    }
    sub.close();
    assert.equal(ended, undefined, 'close() is not an error');

    const hist = await traceHistory(dir, 5);
    assert.equal(hist.length, 5);
    const all = await traceHistory(dir, 100000);
    assert.ok(all.length >= got.length);
    assert.deepEqual(all.slice(0, got.length), got, 'history holds what was pushed');
  } finally {
    await stopNode(dir);
  }
});

test('the stream ends with an error when the node stops', { timeout: 60_000 }, async () => {
  const dir = freshDir('end');
  await startNode({ dir });
  const sub = subscribeTrace(dir, () => undefined, (e) => (ended = e));
  let ended: Error | undefined;
  await sub.lostAtStart;
  await stopNode(dir);
  await waitFor(() => ended !== undefined, 3000, 'the end of the stream');
  assert.match(ended!.message, /ended/);
});

// Bounded: if the daemon never dropped the slow reader this fails instead of
// hanging the suite.
test('slow and closed subscribers do not hurt the daemon', { timeout: 120_000 }, async () => {
  const dir = freshDir('slow');
  await startNode({ dir, dcs: [{ id: 0, name: 'kv' }] });
  try {
    // A subscriber that never reads, and one that closes at once.
    const slow = net.createConnection(control.controlSocketPath(dir));
    slow.write('trace\n');
    slow.pause();
    const gone = net.createConnection(control.controlSocketPath(dir));
    gone.write('trace\n');
    await new Promise((r) => setTimeout(r, 100));
    gone.destroy();
    // Enough traffic to put the slow reader more than 8 MB behind, with a
    // margin for events a starved daemon could not drain from the ring.
    await kvRound(dir, 12000);
    await kvRound(dir, 12000);
    // The daemon still answers requests promptly.
    const t0 = Date.now();
    assert.equal((await control.info(dir)).node.id, 0);
    assert.ok(Date.now() - t0 < 2000);
    // The slow one was dropped with a final overflow line.
    let text = '';
    slow.setEncoding('utf8');
    slow.on('data', (c: string) => (text += c));
    const closed = new Promise<void>((r) => slow.on('close', () => r()));
    slow.resume();
    await closed;
    assert.equal(text.trimEnd().split('\n').at(-1), '{"ev":"overflow"}');
    // A new subscriber gets everything that happens next.
    const got: TraceEvent[] = [];
    const sub = subscribeTrace(dir, (e) => got.push(e));
    await sub.lostAtStart;
    await kvRound(dir, 5);
    await waitFor(() => got.filter((e) => e.op === 'reply' && e.dst === 20).length >= 10, 5000, '10 replies');
    sub.close();
  } finally {
    await stopNode(dir);
  }
});

test('malformed trace requests get a clear error', { timeout: 60_000 }, async () => {
  const dir = freshDir('bad');
  await startNode({ dir });
  try {
    await assert.rejects(control.request(dir, 'trace bogus'), (e: unknown) => {
      assert.ok(e instanceof control.ControlError);
      assert.equal(e.errorName, 'EMOLBADREQUEST');
      assert.match(e.message, /bad trace request 'bogus'.*trace history \[N\]/);
      return true;
    });
    await assert.rejects(control.request(dir, 'trace history 0'), /trace history takes N from 1 to 100000/);
    await assert.rejects(control.request(dir, 'trace history lots'), /not 'lots'/);
    await assert.rejects(control.request(dir, 'trace history 5 6'), /bad trace request/);
    assert.deepEqual(await traceHistory(dir, 10), []);
    const help = await control.request(dir, 'help');
    assert.ok((help['requests'] as string[]).includes('trace history [N]'));
  } finally {
    await stopNode(dir);
  }
});

test('dvs trace --history, --filter and --export', { timeout: 60_000 }, async () => {
  const dir = freshDir('cli');
  await startNode({ dir, dcs: [{ id: 0, name: 'kv' }] });
  try {
    await control.request(dir, 'trace on');
    await kvRound(dir, 3);
    const cfg = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dvs-trace-')), 'dvs.json');
    fs.writeFileSync(cfg, JSON.stringify({ protocol: { types: KV_PROTOCOL } }));
    const { stdout } = await run('node', [DVS, 'trace', '--dir', dir, '--history', '1000', '--config', cfg, '--filter', 'op=sendrec ep=20']);
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 6);
    assert.match(lines[0]!, /node0 dc0 +20 -> 1 +sendrec KV_PUT +\(kv_client\.c:\d+\)/);
    assert.match(lines[1]!, /sendrec KV_GET/);
    const out = cfg.replace(/dvs\.json$/, 'trace.json');
    await run('node', [DVS, 'trace', '--dir', dir, '--export', 'chrome', out, '--config', cfg]);
    const chrome = JSON.parse(fs.readFileSync(out, 'utf8')) as { traceEvents: { ph: string; name: string }[] };
    assert.ok(chrome.traceEvents.some((e) => e.ph === 's' && e.name === 'sendrec KV_GET'));
    const jl = cfg.replace(/dvs\.json$/, 'trace.jsonl');
    await run('node', [DVS, 'trace', '--dir', dir, '--export', 'jsonl', jl, '--filter', 'errors']);
    for (const e of fromJsonLines(fs.readFileSync(jl, 'utf8'))) assert.ok(e.result < 0);
    await assert.rejects(run('node', [DVS, 'trace', '--dir', dir, '--export', 'svg', jl]), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr, /--export takes chrome or jsonl/);
      return true;
    });
  } finally {
    await stopNode(dir);
  }
});

test('Chrome export: lanes, metadata and matched flows', () => {
  const events = [
    ev({ seq: 1, lamport: 1, op: 'sendrec', src: 20, dst: 1, type: 2, ts: 1000 }),
    ev({ seq: 2, lamport: 2, op: 'vcopy', src: 20, dst: 1, bytes: 100, ts: 2000 }),
    ev({ seq: 3, lamport: 3, op: 'reply', src: 1, dst: 20, type: 100, reply_to: 1, ts: 3000 }),
    ev({ seq: 4, lamport: 4, op: 'timeout', src: 1, dst: 0x7ace, result: -61, err: 'EMOLTIMEDOUT', call: 'mnx_receive_T', ts: 4000 }),
    ev({ seq: 1, lamport: 2, node: 1, op: 'send', src: 5, dst: 6, ts: 1500 }),
  ];
  const doc = JSON.parse(JSON.stringify(toChromeTrace(events, KV_PROTOCOL))) as {
    traceEvents: { ph: string; name: string; pid: number; tid: number; id?: number; cat?: string; args?: { name?: string } }[];
  };
  const te = doc.traceEvents;
  const procs = te.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => e.args!.name);
  assert.deepEqual(procs, ['node0', 'node1']);
  const threads = te.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => `${e.pid}:${e.args!.name}`);
  assert.deepEqual(threads.sort(), ['0:dc0 ep 1', '0:dc0 ep 20', '1:dc0 ep 5', '1:dc0 ep 6']);
  const starts = te.filter((e) => e.ph === 's');
  const finishes = te.filter((e) => e.ph === 'f');
  assert.equal(starts.length, 3);
  assert.deepEqual(starts.map((e) => e.id).sort(), finishes.map((e) => e.id).sort());
  for (const s of starts) {
    const f = finishes.find((x) => x.id === s.id)!;
    assert.notEqual(s.tid, f.tid, 'a flow joins two lanes');
  }
  const req = starts.find((e) => e.cat === 'sendrec')!;
  const rep = starts.find((e) => e.cat === 'reply')!;
  assert.equal(req.name, 'sendrec KV_GET');
  assert.equal(rep.name, 'reply KV_OK');
  assert.notEqual(req.id, rep.id, 'request and reply are separate flows');
  assert.ok(te.some((e) => e.ph === 'i' && e.name === 'timeout mnx_receive_T EMOLTIMEDOUT'));
  assert.ok(te.some((e) => e.ph === 'X' && e.name === 'sendrec KV_GET'));
});

test('JSON lines round-trip, causal merge, formatter and filters', () => {
  const a = [ev({ seq: 1, lamport: 5, node: 1 }), ev({ seq: 2, lamport: 7, node: 1, op: 'error', result: -109, err: 'EMOLDSTDIED', call: 'mnx_send' })];
  const b = [ev({ seq: 1, lamport: 5, node: 0, file: 'x.c', line: 3 }), ev({ seq: 2, lamport: 6, node: 0 })];
  const merged = mergeByCausality([...a, ...b]);
  assert.deepEqual(merged.map((e) => `${e.node}/${e.seq}`), ['0/1', '1/1', '0/2', '1/2']);
  assert.deepEqual(fromJsonLines(toJsonLines(merged)), merged);
  assert.equal(toJsonLines([]), '');

  const line = formatEvent(ev({ ts: 43_201_234_567_000, op: 'sendrec', type: 2, file: 'kv_client.c', line: 40 }), KV_PROTOCOL);
  assert.equal(line, '12:00:01.234567 node0 dc0   20 -> 1    sendrec KV_GET  (kv_client.c:40)');
  assert.match(formatEvent(ev({ op: 'reply', src: 1, dst: 20, type: 100, reply_to: 9 }), KV_PROTOCOL), /1 -> 20 +reply KV_OK \(to #9\)$/);
  assert.match(formatEvent(a[1]!), /error mnx_send EMOLDSTDIED$/);
  assert.match(formatEvent(ev({ op: 'notify', type: 0x1002 })), /notify NOTIFY\(2\)$/);
  assert.match(formatEvent(ev({ op: 'sendrec', type: 77 })), /sendrec 77$/);
  assert.match(formatEvent(ev({ op: 'migr_commit', src: 1, dst: 2 })), /node0 dc0 +1 -> - +migr_commit of 1 to node2$/);
  assert.match(formatEvent(ev({ op: 'migr_start', src: 1, dst: 0x6ace, result: -332, err: 'EMOLMIGRATE' })), /migr_start of 1 EMOLMIGRATE$/);

  const f = parseFilter('op=send,error ep=20', KV_PROTOCOL);
  assert.deepEqual(merged.filter(f).map((e) => e.op), ['send', 'send', 'send', 'error']);
  assert.equal(merged.filter(parseFilter('errors')).length, 1);
  assert.equal([ev({ type: 2 }), ev({ type: 1 })].filter(parseFilter('type=KV_GET', KV_PROTOCOL)).length, 1);
  assert.throws(() => parseFilter('colour=red'), /bad filter term 'colour=red'/);
  assert.throws(() => parseFilter('type=KV_NOPE', KV_PROTOCOL), /not a number nor a protocol type name/);
});
