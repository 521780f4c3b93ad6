/**
 * The IPC test scenarios. libm3ipc maps one node per process, so every test
 * of ipc.test.ts runs one scenario in its own Node process against its own
 * fresh node (DVS_NODE): `node scenarios.js NAME`. A scenario fails by
 * throwing; the exit status and stderr go back to the test.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';

import * as control from '../cluster/control';
import { runProgram, type Running } from '../cluster/launch';
import { buildDir } from '../cluster/paths';
import { addressOf, ANY, asyncWaitMode, bind, DvsError, Message, NOTIFY_FROM, SELF, waitForBind, type Endpoint } from './index';

const dir = (): string => process.env['DVS_NODE']!;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** rejectsWith: the promise fails with DvsError `errname`. */
async function rejectsWith(p: Promise<unknown>, errname: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DvsError, `expected a DvsError, got ${String(e)}`);
    assert.equal(e.name, 'DvsError');
    assert.equal(e.errname, errname);
    return true;
  });
}

/** waitState polls the node until endpoint `ep` shows `flag` (SENDING 0x4, RECEIVING 0x8). */
async function waitState(ep: number, flag: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const p = (await control.ps(dir())).find((x) => x.endpoint === ep);
    if (p && p.rts_flags & flag) return;
    await sleep(5);
  }
  throw new Error(`endpoint ${ep} never reached state ${flag}`);
}

const SENDING = 0x4;
const RECEIVING = 0x8;

async function withPrograms(body: (started: Running[]) => Promise<void>): Promise<void> {
  const started: Running[] = [];
  try {
    await body(started);
  } finally {
    for (const r of started) r.child.kill('SIGKILL');
  }
}

const scenarios: Record<string, () => Promise<void>> = {
  /** send is a rendezvous: it completes only when the receiver takes the message. */
  async rendezvous() {
    const a = await bind(0, 20);
    const b = await bind(0, 21);
    let sent = false;
    const s = a.send(21, { type: 9, m1_i1: -5, m1_i3: 77, m1_p2: 0x1234n }).then(() => (sent = true));
    await waitState(20, SENDING);
    assert.equal(sent, false);
    const m = await b.receive(ANY);
    await s;
    assert.equal(sent, true);
    assert.deepEqual([m.source, m.type, m.m1_i1, m.m1_i3, m.m1_p2], [20, 9, -5, 77, 0x1234n]);
    assert.equal(m.raw.length, 48);
  },

  /** Senders are received in FIFO order; receive(src) picks one sender. */
  async fifo() {
    const r = await bind(0, 20);
    const senders = [await bind(0, 21), await bind(0, 22), await bind(0, 23)];
    const sends: Promise<void>[] = [];
    for (const s of senders) {
      sends.push(s.send(20, { type: s.endpoint }));
      await waitState(s.endpoint, SENDING);
    }
    const picked = await r.receive(23);
    assert.equal(picked.source, 23);
    assert.equal((await r.receive(ANY)).source, 21);
    assert.equal((await r.receive(ANY)).source, 22);
    await Promise.all(sends);
  },

  /** TIMEOUT_NOWAIT fails with EMOLAGAIN, expiry with EMOLTIMEDOUT. */
  async timeouts() {
    const a = await bind(0, 20);
    await bind(0, 21);
    await rejectsWith(a.receive(ANY, { timeoutMs: 0 }), 'EMOLAGAIN');
    await rejectsWith(a.receive(ANY, { timeoutMs: 30 }), 'EMOLTIMEDOUT');
    await rejectsWith(a.send(21, { type: 1 }, { timeoutMs: 0 }), 'EMOLAGAIN');
    await rejectsWith(a.send(21, { type: 1 }, { timeoutMs: 30 }), 'EMOLTIMEDOUT');
    await rejectsWith(a.sendrec(21, { type: 1 }, { timeoutMs: 0 }), 'EMOLAGAIN');
    await rejectsWith(a.rcvrqst({ timeoutMs: 30 }), 'EMOLTIMEDOUT');
    assert.throws(() => a.receiveSync(ANY, { timeoutMs: 0 }), (e: unknown) => e instanceof DvsError && e.code === -11);
  },

  /** notify: only from system slots; repeats coalesce into one notification. */
  async notify() {
    const sys = await bind(0, 1);
    const dst = await bind(0, 2);
    const user = await bind(0, 20);
    await rejectsWith(user.notify(2), 'EMOLPRIVILEGES');
    await sys.notify(2);
    await sys.notify(2);
    await sys.notify(2);
    const m = await dst.receive(ANY);
    assert.equal(m.type, NOTIFY_FROM(1));
    assert.equal(m.source, 1);
    await rejectsWith(dst.receive(ANY, { timeoutMs: 0 }), 'EMOLAGAIN');
  },

  /** reply fails with EMOLPROCSTS unless the client waits in sendrec; special destinations. */
  async replyAndSelf() {
    const srv = await bind(0, 20);
    const cli = await bind(0, 21);
    await rejectsWith(srv.reply(21, { type: 1 }), 'EMOLPROCSTS');
    await rejectsWith(cli.send(21, { type: 1 }), 'EMOLENDPOINT');
    await rejectsWith(cli.send(SELF, { type: 1 }), 'EMOLENDPOINT');
    await rejectsWith(cli.sendrec(21, { type: 1 }), 'EMOLENDPOINT');
    await rejectsWith(cli.send(ANY, { type: 1 }), 'EMOLENDPOINT');
    await rejectsWith(cli.sendrec(40, { type: 1 }), 'EMOLDEADSRCDST');
    const call = cli.sendrec(20, { type: 3, m1_i1: 4 });
    const req = await srv.rcvrqst();
    req.type = 4;
    req.m1_i1 = req.m1_i1 * 10;
    await srv.reply(req.source, req);
    const ans = await call;
    assert.deepEqual([ans.source, ans.type, ans.m1_i1], [20, 4, 40]);
  },

  /**
   * vcopy from TypeScript: a TypeScript kv server on endpoint 1 serves the C
   * kv_client, copying each value out of and back into the client's memory.
   */
  async vcopy() {
    await withPrograms(async (started) => {
      const srv = await bind(0, 1);
      const out: string[] = [];
      const client = await runProgram({ dir: dir(), program: path.join(buildDir(), 'samples', 'kv', 'kv_client'), args: ['40'], endpoint: 20, onLine: (l) => out.push(l) });
      started.push(client);
      const store = new Map<number, Buffer>();
      let served = 0;
      const exited = client.exited.then((code) => ({ code }));
      for (;;) {
        const next = await Promise.race([srv.rcvrqst({ timeoutMs: 100 }).catch((e: unknown) => e), exited]);
        if (next && typeof next === 'object' && 'code' in next) {
          assert.equal(next.code, 0, out.join('\n'));
          break;
        }
        if (next instanceof DvsError && next.errname === 'EMOLTIMEDOUT') continue;
        if (!(next instanceof Message)) throw next;
        const req = next;
        const key = req.m1_i1;
        if (req.type === 1 /* KV_PUT */) {
          const v = Buffer.alloc(req.m1_i2);
          await srv.vcopy(req.source, req.m1_p1, SELF, v, v.length);
          store.set(key, v);
          req.type = 100;
        } else if (req.type === 2 /* KV_GET */) {
          const v = store.get(key);
          if (!v) req.type = 101;
          else {
            await srv.vcopy(SELF, v, req.source, req.m1_p1, v.length);
            req.type = 100;
            req.m1_i2 = v.length;
          }
        } else req.type = 102;
        await srv.reply(req.source, req);
        served++;
      }
      assert.equal(served, 80);
      assert.match(store.get(0)?.toString() ?? '', /^value \d+ written by 20$/);
    });
    // Two endpoints of one process: a plain memcpy's job (EMOLPERM, as in C).
    // (Not 20: the node frees the exited kv_client's slot a moment later.)
    const a = await bind(0, 24);
    const b = await bind(0, 25);
    const call = b.sendrec(24, { type: 1 });
    const req = await a.rcvrqst();
    await rejectsWith(a.vcopy(SELF, Buffer.alloc(8), req.source, 1n, 8), 'EMOLPERM');
    await a.reply(req.source, { type: 2 });
    await call;
  },

  /** The event loop keeps running while an endpoint is blocked in receive. */
  async eventLoop() {
    const a = await bind(0, 20);
    const blocked = a.receive(ANY, { timeoutMs: 1000 }).catch((e: unknown) => e);
    let last = performance.now();
    let worst = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
      ticks++;
    }, 10);
    const err = await blocked;
    clearInterval(timer);
    assert.ok(err instanceof DvsError && err.errname === 'EMOLTIMEDOUT');
    assert.ok(ticks > 20, `only ${ticks} ticks in 1 s`);
    assert.ok(worst < 100, `a 10 ms timer was delayed to ${worst.toFixed(1)} ms`);
    console.log(`ticks ${ticks}, worst interval ${worst.toFixed(1)} ms`);
  },

  /** Misuse throws clear errors and never crashes the process. */
  async misuse() {
    await assert.rejects(bind(0, 'x' as unknown as number), { name: 'TypeError', message: 'endpoint must be an integer, got "x"' });
    await assert.rejects(bind('0' as unknown as number, 1), { name: 'TypeError', message: 'dc must be an integer, got "0"' });
    await assert.rejects(bind(0, 1.5), { name: 'TypeError', message: 'endpoint must be an integer, got 1.5' });
    await assert.rejects(bind(0, 2 ** 40), { name: 'RangeError' });
    await rejectsWith(bind(0, 5000), 'EMOLRANGE');
    await rejectsWith(bind(40, 20), 'EMOLBADDCID');
    const a = await bind(0, 20);
    await rejectsWith(bind(0, 20), 'EMOLSLOTUSED');
    await assert.rejects(a.send('x' as unknown as number, { type: 1 }), { name: 'TypeError', message: 'destination must be an integer, got "x"' });
    await assert.rejects(a.send(21, null as unknown as object), { name: 'TypeError', message: 'message must be a message object like { type, m1_i1 }, got null' });
    await assert.rejects(a.send(21, { type: 1, m1_x: 3 } as object), { name: 'TypeError', message: 'message has an unknown field "m1_x" (MINIX fields are m1_i1 … mA_ia)' });
    await assert.rejects(a.send(21, { m1_i1: '3' as unknown as number }), { name: 'TypeError', message: 'message.m1_i1 must be an integer, got "3"' });
    await assert.rejects(a.receive(ANY, { timeoutMs: -5 }), { name: 'TypeError', message: 'timeoutMs must be a non-negative integer (0 = do not wait), got -5' });
    await assert.rejects(a.vcopy(SELF, 'x' as unknown as Buffer, 21, 1n, 4), { name: 'TypeError', message: 'srcBuf must be a Buffer (this process) or a bigint address (a peer\'s), got "x"' });
    await assert.rejects(a.vcopy(SELF, Buffer.alloc(2), 21, 1n, 4), { name: 'RangeError' });
    assert.throws(() => addressOf('x' as unknown as Buffer), { name: 'TypeError', message: 'buf must be a Buffer or Uint8Array, got "x"' });
    // Calls on a peer that is not bound, then on an unbound endpoint.
    await rejectsWith(a.send(33, { type: 1 }), 'EMOLDSTDIED');
    await rejectsWith(a.sendrec(33, { type: 1 }), 'EMOLDEADSRCDST');
    await rejectsWith(a.receive(33), 'EMOLSRCDIED');
    await a.unbind();
    await rejectsWith(a.receive(ANY), 'EMOLNOTBIND');
    assert.throws(() => a.sendrecSync(21, { type: 1 }), (e: unknown) => e instanceof DvsError && e.errname === 'EMOLNOTBIND');
    await rejectsWith(a.unbind(), 'EMOLNOTBIND');
    // The slot is free again.
    const again = await bind(0, 20);
    await again.unbind();
  },

  /** unbind wakes this endpoint's own blocked call; the node unbinding us is noticed. */
  async unbindWakes() {
    const a = await bind(0, 20);
    const b = await bind(0, 21);
    // The expectations are attached at once: a rejection with no handler yet would end the process.
    const pending = rejectsWith(a.receive(ANY), 'EMOLNOTBIND');
    await waitState(20, RECEIVING);
    await a.unbind();
    await pending;
    const waitingOnB = rejectsWith((await bind(0, 22)).receive(21), 'EMOLSRCDIED');
    await waitState(22, RECEIVING);
    await control.request(dir(), 'unbind 0 21');
    await waitingOnB;
    await rejectsWith(b.receive(ANY), 'EMOLNOTBIND');
  },

  /** Several endpoints of one process talk to each other (process + thread bindings). */
  async twoEndpoints() {
    const eps: Endpoint[] = [];
    for (const n of [20, 21, 22]) eps.push(await bind(0, n));
    const procs = await control.ps(dir());
    assert.deepEqual(procs.map((p) => p.pid).filter((p) => p === process.pid).length, 3);
    // The first endpoint (process binding) unbinds; the others keep working.
    await eps[0]!.unbind();
    const server = (async () => {
      for (let i = 0; i < 100; i++) {
        const r = await eps[2]!.rcvrqst();
        await eps[2]!.reply(r.source, { type: 2, m1_i1: r.m1_i1 + 1 });
      }
    })();
    for (let i = 0; i < 100; i++) assert.equal((await eps[1]!.sendrec(22, { type: 1, m1_i1: i })).m1_i1, i + 1);
    await server;
    // A new endpoint takes the free process binding again.
    const again = await bind(0, 20);
    const got = again.receive(21);
    await eps[1]!.send(20, { type: 5 });
    assert.equal((await got).type, 5);
    // Exit (process.exit) with endpoints bound and one blocked in receive:
    // the environment's cleanup unbinds them and the process ends.
    void again.receive(ANY).catch(() => {});
    await waitState(20, RECEIVING);
  },

  /** A TypeScript client of the C kv server (vcopy into and out of our Buffers), async and sync. */
  async kvClient() {
    await withPrograms(async (started) => {
      const kv = path.join(buildDir(), 'samples', 'kv');
      started.push(await runProgram({ dir: dir(), program: path.join(kv, 'kv_server'), endpoint: 1, onLine: () => {} }));
      started.push(await runProgram({ dir: dir(), program: path.join(kv, 'kv_logger'), endpoint: 2, onLine: () => {} }));
      // The sample itself, as `dvs run --ep 21 -- node samples/ts/dist/kv-client.js 30` runs it.
      const sample = path.join(__dirname, '..', '..', '..', 'samples', 'ts', 'dist', 'kv-client.js');
      const out: string[] = [];
      const client = await runProgram({ dir: dir(), program: process.execPath, args: [sample, '30'], endpoint: 21, onLine: (l) => out.push(l) });
      started.push(client);
      assert.equal(await client.exited, 0, out.join('\n'));
      await sleep(20);
      assert.match(out.join('\n'), /kv-client: 30 puts and gets, 0 errors; server has 30 keys, 30 puts, 30 gets/);
      // And the synchronous variant from this process.
      const ep = await bind(0, 22);
      const v = Buffer.from('sync value');
      const p = ep.sendrecSync(1, { type: 1, m1_i1: 7, m1_i2: v.length, m1_p1: v });
      assert.equal(p.type, 100);
      const back = Buffer.alloc(64);
      const g = ep.sendrecSync(1, { type: 2, m1_i1: 7, m1_i2: back.length, m1_p1: back });
      assert.deepEqual(back.subarray(0, g.m1_i2), v);
      const s = ep.sendrecSync(1, { type: 3 });
      assert.deepEqual([s.type, s.m2_i1, s.m2_l1, s.m2_l2], [103, 31, 31, 31]);
    });
  },

  /** The C echo client against the TypeScript echo server sample, both started by the launcher. */
  async echoServer() {
    await withPrograms(async (started) => {
      const sample = path.join(__dirname, '..', '..', '..', 'samples', 'ts', 'dist', 'echo-server.js');
      const serverOut: string[] = [];
      const server = await runProgram({ dir: dir(), program: process.execPath, args: [sample, '50'], endpoint: 10, onLine: (l) => serverOut.push(l) });
      started.push(server);
      for (let i = 0; i < 500 && !serverOut.some((l) => l.includes('serving')); i++) await sleep(10);
      const lines: string[] = [];
      const client = await runProgram({ dir: dir(), program: path.join(buildDir(), 'samples', 'echo', 'echo_client'), args: ['50'], endpoint: 30, onLine: (l) => lines.push(l) });
      started.push(client);
      assert.equal(await client.exited, 0, lines.join('\n'));
      assert.equal(await server.exited, 0, serverOut.join('\n'));
      await sleep(20);
      assert.ok(lines.includes('echo_client: 50 round trips ok'), lines.join('\n'));
      assert.deepEqual(serverOut, ['echo-server: serving on endpoint 10']);
    });
  },

  /** A worker thread binds its own endpoint and uses the synchronous calls; its exit unbinds it. */
  async workerThread() {
    const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
    const srv = await bind(0, 20);
    const code = `
      const { parentPort } = require('node:worker_threads');
      const { bind } = require(${JSON.stringify(path.join(__dirname, 'index.js'))});
      bind(0, 21).then((ep) => {
        let sum = 0;
        for (let i = 0; i < 5; i++) sum += ep.sendrecSync(20, { type: 1, m1_i1: i }).m1_i1;
        parentPort.postMessage(sum); // and exit without unbind
      });`;
    const worker = new Worker(code, { eval: true });
    const serving = (async () => {
      for (let i = 0; i < 5; i++) {
        const r = await srv.rcvrqst();
        await srv.reply(r.source, { type: 2, m1_i1: r.m1_i1 * 10 });
      }
    })();
    const sum = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await serving;
    assert.equal(sum, 100);
    await new Promise((r) => worker.once('exit', r));
    // The worker's environment ended: its endpoint was unbound with it.
    const again = await bind(0, 21);
    await again.unbind();
  },

  /** Run by the launcher: bound with waitForBind, take one request and block in receive. */
  async stall() {
    const ep = await waitForBind({ timeoutMs: 10000 });
    await ep.rcvrqst();
    console.log('stalled');
    await ep.receive(ANY);
  },

  /** A TypeScript server killed while the C client waits for its reply: the client gets the error. */
  async killedWhileBlocked() {
    await withPrograms(async (started) => {
      const stallOut: string[] = [];
      const server = await runProgram({ dir: dir(), program: process.execPath, args: [__filename, 'stall'], endpoint: 10, onLine: (l) => stallOut.push(l) });
      started.push(server);
      const clientOut: string[] = [];
      const client = await runProgram({ dir: dir(), program: path.join(buildDir(), 'samples', 'echo', 'echo_client'), args: ['1'], endpoint: 30, onLine: (l) => clientOut.push(l) });
      started.push(client);
      for (let i = 0; i < 500 && !stallOut.includes('stalled'); i++) await sleep(10);
      assert.ok(stallOut.includes('stalled'), stallOut.join('\n'));
      server.child.kill('SIGKILL');
      assert.equal(await client.exited, 2);
      await sleep(20);
      assert.match(clientOut.join('\n'), /echo_client: sendrec: EMOL(SRCDIED|DSTDIED)/);
    });
  },

  /** Which wait path the async calls use: prints `mode reason` for the test to check. */
  async waitMode() {
    const { mode, reason } = asyncWaitMode();
    console.log(`${mode} ${reason}`);
  },

  /**
   * Timeouts of calls parked on the event loop's wait (io_uring path; the
   * same on the thread path): each expires on its own deadline, the request
   * is withdrawn, and the next call of the endpoint still gets its wake.
   */
  async waitTimeouts() {
    const a = await bind(0, 20);
    const b = await bind(0, 21);
    const c = await bind(0, 22);
    const t0 = performance.now();
    const order: string[] = [];
    const expect = (p: Promise<unknown>, name: string): Promise<void> => rejectsWith(p, 'EMOLTIMEDOUT').then(() => void order.push(name));
    // Three endpoints parked at once with different deadlines.
    await Promise.all([expect(a.receive(21, { timeoutMs: 120 }), 'a'), expect(b.sendrec(22, { type: 1 }, { timeoutMs: 40 }), 'b'), expect(c.send(20, { type: 2 }, { timeoutMs: 80 }), 'c')]);
    const took = performance.now() - t0;
    assert.deepEqual(order, ['b', 'c', 'a']);
    assert.ok(took >= 110 && took < 2000, `three timeouts took ${took.toFixed(1)} ms`);
    // The timed-out sendrec and send were withdrawn: nothing is queued.
    await rejectsWith(c.receive(ANY, { timeoutMs: 0 }), 'EMOLAGAIN');
    await rejectsWith(a.receive(ANY, { timeoutMs: 0 }), 'EMOLAGAIN');
    // The same endpoints wait again and are woken normally.
    for (let i = 0; i < 3; i++) {
      const got = a.receive(ANY, { timeoutMs: 5000 });
      await waitState(20, RECEIVING);
      await b.send(20, { type: 7, m1_i1: i });
      const m = await got;
      assert.deepEqual([m.type, m.m1_i1, m.source], [7, i, 21]);
    }
    // A deadline far away does not hold the result back.
    const late = a.receive(21, { timeoutMs: 60_000 });
    await waitState(20, RECEIVING);
    await b.send(20, { type: 8 });
    assert.equal((await late).type, 8);
  },

  /** The server dies while async calls wait for it: they fail at once, the loop kept running. */
  async serverDiesWhileWaiting() {
    await withPrograms(async (started) => {
      const stallOut: string[] = [];
      const server = await runProgram({ dir: dir(), program: process.execPath, args: [__filename, 'stall'], endpoint: 10, onLine: (l) => stallOut.push(l) });
      started.push(server);
      const a = await bind(0, 20);
      const c = await bind(0, 22);
      const taken = a.sendrec(10, { type: 1 }); // taken by rcvrqst: waits for the reply
      for (let i = 0; i < 500 && !stallOut.includes('stalled'); i++) await sleep(10);
      assert.ok(stallOut.includes('stalled'), stallOut.join('\n'));
      const outcomes = Promise.allSettled([taken, c.receive(10)]);
      await waitState(20, RECEIVING);
      await waitState(22, RECEIVING);
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      await sleep(50);
      server.child.kill('SIGKILL');
      const t0 = performance.now();
      const results = await outcomes;
      clearInterval(timer);
      assert.ok(performance.now() - t0 < 2000, 'the death was noticed within 2 s');
      assert.ok(ticks > 3, `the loop ran only ${ticks} ticks while the calls waited`);
      const names = results.map((r) => (r.status === 'rejected' && r.reason instanceof DvsError ? r.reason.errname : r.status));
      assert.match(names[0]!, /^EMOL(SRCDIED|DSTDIED)$/);
      assert.equal(names[1], 'EMOLSRCDIED');
      // The endpoints are usable afterwards.
      const got = a.receive(22);
      await c.send(20, { type: 3 });
      assert.equal((await got).type, 3);
    });
  },

  /**
   * Many calls outstanding on several endpoints at once: per endpoint they
   * run in call order; all of them wait on the loop together.
   */
  async manyOutstanding() {
    const servers = [await bind(0, 20), await bind(0, 21)];
    const clients: Endpoint[] = [];
    for (let n = 22; n < 28; n++) clients.push(await bind(0, n));
    const PER = 40;
    const serving = servers.map(async (srv) => {
      for (let i = 0; i < (clients.length / 2) * PER; i++) {
        const r = await srv.rcvrqst();
        await srv.reply(r.source, { type: 2, m1_i1: r.m1_i1, m1_i2: srv.endpoint });
      }
    });
    // Every client queues all its requests at once (no await in between).
    const replies = clients.map((cl, k) => Promise.all(Array.from({ length: PER }, (_, i) => cl.sendrec(20 + (k % 2), { type: 1, m1_i1: k * 1000 + i }))));
    const all = await Promise.all(replies);
    await Promise.all(serving);
    all.forEach((rs, k) => {
      assert.deepEqual(
        rs.map((m) => m.m1_i1),
        Array.from({ length: PER }, (_, i) => k * 1000 + i),
      );
      for (const m of rs) assert.equal(m.m1_i2, 20 + (k % 2));
    });
    // Receives queued on one endpoint are served in order by many senders.
    const inbox = servers[0]!;
    const got = Promise.all(Array.from({ length: 12 }, () => inbox.receive(ANY)));
    await Promise.all(clients.map((cl, k) => Promise.all([cl.send(20, { type: 5, m1_i1: k }), cl.send(20, { type: 6, m1_i1: k })])));
    const ms = await got;
    assert.equal(ms.length, 12);
    for (const cl of clients) assert.deepEqual(ms.filter((m) => m.source === cl.endpoint).map((m) => m.type), [5, 6]);
  },

  /** A synchronous call waits behind the endpoint's pending async calls, which end first, in order. */
  async syncAfterAsync() {
    const a = await bind(0, 20);
    const b = await bind(0, 21);
    // t0 before the calls: each deadline is counted from its call's start.
    const t0 = performance.now();
    const first = rejectsWith(a.receive(ANY, { timeoutMs: 30 }), 'EMOLTIMEDOUT');
    const second = rejectsWith(a.receive(ANY, { timeoutMs: 30 }), 'EMOLTIMEDOUT');
    assert.throws(() => a.receiveSync(ANY, { timeoutMs: 0 }), (e: unknown) => e instanceof DvsError && e.errname === 'EMOLAGAIN');
    // Both 30 ms receives had expired, one after the other, before it ran.
    assert.ok(performance.now() - t0 >= 59, `the sync call ran after ${(performance.now() - t0).toFixed(1)} ms`);
    await Promise.all([first, second]);
    // A parked receive that got its message, then a queued send, then sync.
    const got = a.receive(21);
    await waitState(20, RECEIVING);
    const s1 = b.send(20, { type: 4 }); // taken at once by the parked receive
    const s2 = b.send(20, { type: 5 }); // queued behind s1, then parks
    await waitState(21, SENDING);
    assert.equal(a.receiveSync(21, { timeoutMs: 0 }).type, 5);
    assert.equal((await got).type, 4);
    await Promise.all([s1, s2]);
  },

  /** bind honours DVS_EP/DVS_DC: the launcher's binding is taken, not a new one. */
  async launched() {
    const ep = await bind(0, Number(process.env['DVS_EP']));
    assert.equal(ep.endpoint, 25);
    const procs = await control.ps(dir());
    assert.equal(procs.find((p) => p.endpoint === 25)?.pid, process.pid);
  },
};

if (require.main === module) {
  const name = process.argv[2] ?? '';
  const run = scenarios[name];
  if (!run) {
    console.error(`unknown scenario ${JSON.stringify(name)}; known: ${Object.keys(scenarios).join(', ')}`);
    process.exit(64);
  }
  run().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? err.stack : String(err));
      process.exit(1);
    },
  );
}
