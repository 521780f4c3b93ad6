import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import type { TraceContext, TraceEvent } from '../src/model/events';
import { Decoder, LatencyTracker, NO_CALL_SITE, PauseBuffer, TraceModel, arrowKind, callSite, formatDuration } from '../src/model/trace';

const ctx: TraceContext = {
  nodes: [
    { id: 0, name: 'node0' },
    { id: 1, name: 'node1' },
  ],
  dcs: [{ id: 0, name: 'kv' }],
  endpoints: [
    { name: 'KV_SERVER', number: 1, dc: 0, node: 0 },
    { name: 'KV_LOGGER', number: 2, dc: 0, node: 0 },
    { name: 'CLIENT', number: 20, dc: 0, node: 1 },
  ],
  types: [
    { name: 'KV_PUT', number: 1, layout: 'm1', fields: { key: 'm1_i1', length: 'm1_i2' }, reply: 'KV_OK' },
    { name: 'KV_OK', number: 100, layout: 'm1', fields: { key: 'm1_i1' } },
  ],
};

let seq = 0;
function ev(p: Partial<TraceEvent>): TraceEvent {
  seq++;
  return { seq, ts: seq * 1000, lamport: seq, node: 0, dc: 0, op: 'send', src: 20, dst: 1, type: 1, bytes: 48, result: 0, pid: 1, reply_to: 0, ...p } as TraceEvent;
}

test('decodes message types and fields with the protocol of dvs.json', () => {
  const d = new Decoder(ctx);
  assert.equal(d.message(ev({ op: 'sendrec', fields: { m1_i1: 3, m1_i2: 5 } })), 'KV_PUT key=3 length=5');
  assert.equal(d.message(ev({ op: 'sendrec' })), 'KV_PUT (key, length)');
  assert.equal(d.message(ev({ op: 'reply', type: 100, src: 1, dst: 20 })), 'KV_OK (key)');
  assert.equal(d.message(ev({ op: 'send', type: 7 })), 'type 7');
  assert.equal(d.message(ev({ op: 'send', result: -64, err: 'EMOLNOTCONN' })), 'KV_PUT (key, length) ✗ EMOLNOTCONN');
  assert.equal(d.message(ev({ op: 'error', call: 'sendrec', src: 20, dst: 1, result: -64, err: 'EMOLNOTCONN' })), 'sendrec → KV_SERVER ✗ EMOLNOTCONN');
  assert.equal(d.endpointName(0, 0x7ace), 'ANY');
  assert.equal(d.endpointName(0, 20), 'CLIENT');
});

test('draws send, notify, sendrec request and reply differently', () => {
  assert.deepEqual(['send', 'notify', 'sendrec', 'reply', 'vcopy', 'bind'].map(arrowKind), ['send', 'notify', 'request', 'reply', 'vcopy', 'marker']);
});

test('lanes are one per endpoint, grouped by node then DC', () => {
  const m = new TraceModel(ctx);
  m.append([ev({ src: 21, dst: 1, node: 1 })]);
  assert.deepEqual(
    m.lanes().map((l) => `${l.node}/${l.dc}/${l.label}`),
    ['0/0/KV_SERVER', '0/0/KV_LOGGER', '1/0/CLIENT', '1/0/ep 21'],
  );
});

test('filters by node, DC, endpoint, type, errors and search', () => {
  const m = new TraceModel(ctx);
  m.append([
    ev({ op: 'sendrec', src: 20, dst: 1, type: 1, node: 1 }),
    ev({ op: 'reply', src: 1, dst: 20, type: 100 }),
    ev({ op: 'notify', src: 1, dst: 2, type: 0x1000 }),
    ev({ op: 'send', src: 20, dst: 1, type: 1, result: -64, err: 'EMOLNOTCONN', node: 1 }),
  ]);
  const count = (f: Parameters<TraceModel['setFilter']>[0]) => {
    m.setFilter(f);
    return m.visibleCount;
  };
  assert.equal(count({}), 4);
  assert.equal(count({ errorsOnly: true }), 1);
  assert.equal(count({ types: [100] }), 1);
  assert.equal(count({ endpoints: ['0:2'] }), 1);
  assert.equal(count({ dcs: [1] }), 0);
  assert.equal(count({ nodes: [1] }), 3, 'the client on node 1 takes part in three events');
  assert.equal(count({ search: 'kv_ok' }), 1);
  assert.equal(count({ search: 'NOTIFY' }), 1);
  // New events are filtered as they arrive.
  m.setFilter({ errorsOnly: true });
  m.append([ev({ op: 'timeout', result: -61 }), ev({})]);
  assert.equal(m.visibleCount, 2);
});

test('latency per pair matches replies to requests through reply_to', () => {
  const l = new LatencyTracker();
  const a = ev({ op: 'sendrec', src: 20, dst: 1, ts: 1000 });
  const b = ev({ op: 'sendrec', src: 21, dst: 1, ts: 1500 });
  l.add(a);
  l.add(b);
  l.add(ev({ op: 'reply', src: 1, dst: 21, reply_to: b.seq, ts: 4500 }));
  l.add(ev({ op: 'reply', src: 1, dst: 20, reply_to: a.seq, ts: 3000 }));
  l.add(ev({ op: 'reply', src: 1, dst: 20, reply_to: 999, ts: 9000 }), );
  const stats = l.stats(new Decoder(ctx));
  assert.deepEqual(
    stats.map((s) => [s.client, s.server, s.count, s.p50]),
    [
      ['ep 21', 'KV_SERVER', 1, 3000],
      ['CLIENT', 'KV_SERVER', 1, 2000],
    ],
  );
});

test('pause keeps every event and hands them over on resume', () => {
  const got: TraceEvent[] = [];
  const b = new PauseBuffer((batch) => got.push(...batch));
  b.push([ev({})]);
  b.pause();
  b.push([ev({}), ev({})]);
  b.push([ev({})]);
  assert.equal(got.length, 1);
  assert.equal(b.buffered, 3);
  b.resume();
  assert.equal(got.length, 4);
  assert.equal(b.buffered, 0);
});

test('the cap drops the oldest events and counts them', () => {
  const m = new TraceModel(ctx, 1000);
  for (let i = 0; i < 25; i++) m.append(Array.from({ length: 100 }, () => ev({})));
  assert.equal(m.size, 1000);
  assert.equal(m.dropped, 1500);
  assert.equal(m.visibleCount, 1000);
  const rows = m.layoutWindow(0, 1);
  assert.equal(rows[0]!.event.seq, m.all()[0]!.seq);
});

test('100,000 events: appending, filtering and scrolling touch a bounded number of events', () => {
  const m = new TraceModel(ctx);
  const N = 100_000;
  const ops = ['sendrec', 'reply', 'send', 'notify'];
  for (let i = 0; i < N; i += 1000) {
    m.append(Array.from({ length: 1000 }, (_, k) => ev({ op: ops[(i + k) % 4] as TraceEvent['op'], src: (i + k) % 4 === 1 ? 1 : 20 + ((i + k) % 7), dst: 1 })));
  }
  assert.equal(m.visibleCount, N);
  assert.equal(m.work, N, 'each appended event is examined once');

  // A viewport of 40 rows, scrolled through 1,000 positions over the whole trace.
  const ROW = 22;
  const before = m.work;
  let rowsLaidOut = 0;
  for (let f = 0; f < 1000; f++) {
    const top = Math.floor((f / 1000) * N) * ROW;
    const { first, last } = TraceModel.window(top, 40 * ROW, ROW, m.visibleCount);
    const rows = m.layoutWindow(first, last);
    assert.ok(rows.length <= 42);
    rowsLaidOut += rows.length;
  }
  assert.equal(m.work - before, rowsLaidOut, 'layout touches only the visible rows');
  assert.ok(rowsLaidOut <= 1000 * 42);

  // A filter change rescans once; the following frames again cost only the viewport.
  const w0 = m.work;
  m.setFilter({ types: [1], errorsOnly: false, endpoints: ['0:20'] });
  assert.equal(m.work - w0, N);
  const w1 = m.work;
  const { first, last } = TraceModel.window(0, 40 * ROW, ROW, m.visibleCount);
  m.layoutWindow(first, last);
  assert.ok(m.work - w1 <= 42);
  assert.ok(m.visibleCount > 0 && m.visibleCount < N);
});

test('formats durations', () => {
  assert.equal(formatDuration(500), '500 ns');
  assert.equal(formatDuration(2500), '2.5 µs');
  assert.equal(formatDuration(3_000_000), '3.00 ms');
});

test('a call site is the recorded file and line; an event without one says why nothing opens', () => {
  assert.deepEqual(callSite(ev({ file: 'kv_client.c', line: 40 })), { file: 'kv_client.c', line: 40 });
  // A file without a (usable) line still opens, at the top of the file.
  assert.deepEqual(callSite(ev({ file: 'kv_client.c' })), { file: 'kv_client.c', line: 1 });
  assert.deepEqual(callSite(ev({ file: 'kv_client.c', line: 0 })), { file: 'kv_client.c', line: 1 });
  // Remote deliveries, TypeScript endpoints, programs built without -DDVS_TRACE_CALLSITES.
  assert.equal(callSite(ev({})), undefined);
  assert.equal(callSite(ev({ file: '' })), undefined);
  assert.match(NO_CALL_SITE, /No call site/);
  assert.match(NO_CALL_SITE, /-DDVS_TRACE_CALLSITES/);
});
