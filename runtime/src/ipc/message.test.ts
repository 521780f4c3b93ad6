/**
 * The MINIX message layout of message.ts against the C header, and the
 * conversions of every field kind (no node needed).
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { encode, fieldOffsets, Message, MESSAGE_SIZE } from './message';

test('every field offset and the size match m3ipc.h', () => {
  const offsets = fieldOffsets();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dvs-layout-'));
  const src = path.join(tmp, 'layout.c');
  const lines = Object.keys(offsets).map((f) => `  printf("${f} %zu\\n", offsetof(message, ${f}));`);
  fs.writeFileSync(src, `#include <stddef.h>\n#include <stdio.h>\n#include "m3ipc.h"\nint main(void) {\n  printf("size %zu\\n", sizeof(message));\n${lines.join('\n')}\n  return 0;\n}\n`);
  const exe = path.join(tmp, 'layout');
  execFileSync('cc', ['-I', path.join(__dirname, '..', '..', 'include'), src, '-o', exe]);
  const fromC = Object.fromEntries(execFileSync(exe, { encoding: 'utf8' }).trim().split('\n').map((l) => {
    const [k, v] = l.split(' ');
    return [k!, Number(v)];
  }));
  fs.rmSync(tmp, { recursive: true, force: true });
  assert.equal(fromC['size'], MESSAGE_SIZE);
  for (const [f, off] of Object.entries(offsets)) assert.equal(off, fromC[f], f);
});

test('fields of every kind round-trip through raw', () => {
  const keep: unknown[] = [];
  const buf = Buffer.from('pointed at');
  const m = new Message(encode({ type: -3, m1_i1: -1, m1_i2: 2 ** 31 - 1, m1_p1: buf, m1_p3: 0xdeadbeefcafen }, 'message', keep));
  assert.deepEqual([m.type, m.m1_i1, m.m1_i2, m.m1_p3], [-3, -1, 2 ** 31 - 1, 0xdeadbeefcafen]);
  assert.equal(typeof m.m1_p1, 'bigint');
  assert.deepEqual(keep, [buf]);
  const l = new Message(encode({ m2_l1: -(2 ** 40), m2_l2: 5n }, 'message', []));
  assert.deepEqual([l.m2_l1, l.m2_l2], [-(2 ** 40), 5]);
  const c = new Message(encode({ m3_ca1: 'name', m5_c1: -2 }, 'message', []));
  assert.equal(c.m3_ca1.toString('latin1').replace(/\0+$/, ''), 'name');
  const t = new Message(encode({ m9_t1: { tv_sec: 12, tv_nsec: 345 } }, 'message', []));
  assert.deepEqual(t.m9_t1, { tv_sec: 12, tv_nsec: 345 });
  const a = new Message(encode({ mA_ia: [1, 2, 3, 4] }, 'message', []));
  assert.deepEqual(a.mA_ia, [1, 2, 3, 4]);
  // Setters write raw; the union overlaps as in C (m1_i1 and m2_i1 share offset 8).
  a.m2_i1 = 99;
  assert.equal(a.m1_i1, 99);
  assert.equal(a.raw.readInt32LE(8), 99);
});

test('bad fields are TypeErrors and RangeErrors with exact messages', () => {
  assert.throws(() => encode({ m1_i1: 2 ** 31 }, 'message', []), { name: 'RangeError', message: 'message.m1_i1 must fit in 32 bits, got 2147483648' });
  assert.throws(() => encode({ m5_c1: 40000 }, 'message', []), { name: 'RangeError', message: 'message.m5_c1 must fit in 16 bits, got 40000' });
  assert.throws(() => encode({ m1_p1: 'x' as unknown as bigint }, 'message', []), { name: 'TypeError', message: 'message.m1_p1 must be a bigint address or a Buffer, got "x"' });
  assert.throws(() => encode({ m3_ca1: 'fifteen chars!!' }, 'message', []), { name: 'RangeError', message: 'message.m3_ca1 holds at most 14 bytes, got 15' });
  assert.throws(() => encode([1] as unknown as object, 'message', []), { name: 'TypeError', message: 'message must be a message object like { type, m1_i1 }, got an array' });
});
