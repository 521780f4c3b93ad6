import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import type { ClusterStatus, TraceEvent } from '../src/model/events';
import { LiveStats } from '../src/model/liveStats';

let seq = 0;
function ev(p: Partial<TraceEvent>): TraceEvent {
  seq++;
  return { seq, ts: seq * 1000, lamport: seq, node: 0, dc: 0, op: 'send', src: 20, dst: 1, type: 1, bytes: 48, result: 0, pid: 1, reply_to: 0, ...p } as TraceEvent;
}

function status(states: Record<string, string> = {}): ClusterStatus {
  const ep = (name: string, number: number, node: number) => ({ name, number, dc: 0, node, state: states[name] ?? 'running', describe: '' });
  return { name: 'kv', nodes: [], endpoints: [ep('KV_SERVER', 1, 0), ep('LOGGER', 2, 0), ep('CLIENT', 20, 1), ep('OTHER', 21, 1)] };
}

/** A sendrec from `client` answered by `server` after `ns` nanoseconds. */
function roundTrip(client: number, server: number, ns: number): TraceEvent[] {
  const req = ev({ op: 'sendrec', src: client, dst: server });
  return [req, ev({ op: 'reply', src: server, dst: client, reply_to: req.seq, ts: req.ts + ns })];
}

test('counts messages sent and received per endpoint; errors and non-messages do not count', () => {
  const s = new LiveStats();
  s.add([...roundTrip(20, 1, 3000), ev({ op: 'notify', src: 1, dst: 2 }), ev({ op: 'send', src: 20, dst: 1, result: -64, err: 'EMOLNOTCONN' }), ev({ op: 'bind', src: 21, dst: 0x6ace }), ev({ op: 'vcopy', src: 1, dst: 20 })]);
  const by = Object.fromEntries(s.figures(status()).map((f) => [f.endpoint, f]));
  assert.deepEqual([by.CLIENT?.sent, by.CLIENT?.received], [1, 1]);
  assert.deepEqual([by.KV_SERVER?.sent, by.KV_SERVER?.received], [2, 1], 'a reply and a notify sent, a request received');
  assert.deepEqual([by.LOGGER?.sent, by.LOGGER?.received], [0, 1]);
  assert.deepEqual([by.OTHER?.sent, by.OTHER?.received, by.OTHER?.p50Us], [0, 0, 0]);
});

test('p50 is the median round trip of the sendrecs an endpoint made or served, in µs', () => {
  const s = new LiveStats();
  for (const ns of [1000, 2000, 9000]) s.add(roundTrip(20, 1, ns));
  s.add(roundTrip(21, 1, 500));
  const by = Object.fromEntries(s.figures(status()).map((f) => [f.endpoint, f]));
  assert.equal(by.CLIENT?.p50Us, 2, 'client 20: 1, 2, 9 µs');
  assert.equal(by.OTHER?.p50Us, 0.5);
  assert.equal(by.KV_SERVER?.p50Us, 1, 'the server: 0.5, 1, 2, 9 µs');
  // New round trips move the median (the cached value is recomputed).
  for (let i = 0; i < 5; i++) s.add(roundTrip(20, 1, 9000));
  assert.equal(Object.fromEntries(s.figures(status()).map((f) => [f.endpoint, f])).CLIENT?.p50Us, 9);
});

test('changed returns only what changed since last time; stopped reports every endpoint once as stopped', () => {
  const s = new LiveStats();
  assert.equal(s.changed(status()).length, 4, 'everything the first time');
  assert.deepEqual(s.changed(status()), [], 'nothing happened');
  s.add([ev({ op: 'send', src: 20, dst: 2 })]);
  assert.deepEqual(s.changed(status()).map((f) => f.endpoint).sort(), ['CLIENT', 'LOGGER']);
  assert.deepEqual(s.changed(status({ KV_SERVER: 'receiving' })).map((f) => [f.endpoint, f.state]), [['KV_SERVER', 'receiving']]);
  const stopped = s.stopped();
  assert.equal(stopped.length, 4);
  assert.ok(stopped.every((f) => f.state === 'stopped'));
  assert.equal(stopped.find((f) => f.endpoint === 'CLIENT')?.sent, 1, 'with the last figures');
  // The next cluster starts from zero.
  assert.equal(s.figures(status()).find((f) => f.endpoint === 'CLIENT')?.sent, 0);
  assert.equal(s.changed(status()).length, 4);
});

test('p50 is taken over the last 1,024 round trips: memory and work stay bounded on long runs', () => {
  const s = new LiveStats();
  const batch: TraceEvent[] = [];
  for (let i = 0; i < 1500; i++) batch.push(...roundTrip(20, 1, 1000));
  for (let i = 0; i < 1024; i++) batch.push(...roundTrip(20, 1, 5000));
  s.add(batch);
  const client = s.figures(status()).find((f) => f.endpoint === 'CLIENT');
  assert.equal(client?.p50Us, 5, 'the 1 µs round trips have left the window');
  assert.equal(client?.sent, 2524);
});
