/**
 * The MINIX-3 message of m3ipc.h (48 bytes on LP64) as a typed object. The
 * offsets mirror the C header; runtime/addon checks the size at compile
 * time and message.test.ts checks the offsets against a C program.
 */
import { addressOfBuffer, describe } from './validate';

/** Size in bytes of a `message`. */
export const MESSAGE_SIZE = 48;

type Kind = 'i32' | 'i16' | 'long' | 'ptr' | 'bytes' | 'timespec' | 'i32x4';

/** Field name -> [byte offset, kind, length for byte arrays]. */
const LAYOUT = {
  m1_i1: [8, 'i32'], m1_i2: [12, 'i32'], m1_i3: [16, 'i32'],
  m1_p1: [24, 'ptr'], m1_p2: [32, 'ptr'], m1_p3: [40, 'ptr'],
  m2_i1: [8, 'i32'], m2_i2: [12, 'i32'], m2_i3: [16, 'i32'],
  m2_l1: [24, 'long'], m2_l2: [32, 'long'], m2_p1: [40, 'ptr'],
  m3_i1: [8, 'i32'], m3_i2: [12, 'i32'], m3_p1: [16, 'ptr'], m3_ca1: [24, 'bytes', 14],
  m4_l1: [8, 'long'], m4_l2: [16, 'long'], m4_l3: [24, 'long'], m4_l4: [32, 'long'], m4_l5: [40, 'long'],
  m5_c1: [8, 'i16'], m5_c2: [10, 'i16'], m5_i1: [12, 'i32'], m5_i2: [16, 'i32'],
  m5_l1: [24, 'long'], m5_l2: [32, 'long'], m5_l3: [40, 'long'],
  m6_ca1: [8, 'bytes', 32],
  m7_i1: [8, 'i32'], m7_i2: [12, 'i32'], m7_i3: [16, 'i32'], m7_i4: [20, 'i32'],
  m7_p1: [24, 'ptr'], m7_p2: [32, 'ptr'],
  m8_i1: [8, 'i32'], m8_i2: [12, 'i32'],
  m8_p1: [16, 'ptr'], m8_p2: [24, 'ptr'], m8_p3: [32, 'ptr'], m8_p4: [40, 'ptr'],
  m9_i1: [8, 'i32'], m9_l1: [16, 'long'], m9_t1: [24, 'timespec'],
  mA_dst: [8, 'i32'], mA_nr: [12, 'i32'], mA_ia: [16, 'i32x4'],
} as const satisfies Record<string, readonly [number, Kind, number?]>;

type Layout = typeof LAYOUT;
type FieldsOf<K extends Kind> = { [F in keyof Layout]: Layout[F][1] extends K ? F : never }[keyof Layout];

/** The `int`/`short` fields (`m1_i1`, `m5_c1`, …). */
export type IntField = FieldsOf<'i32' | 'i16'>;
/** The `long` fields (`m2_l1`, `m4_l1`, …): numbers (exact up to 2^53). */
export type LongField = FieldsOf<'long'>;
/** The pointer fields (`m1_p1`, …): 64-bit addresses, only meaningful for vcopy. */
export type PointerField = FieldsOf<'ptr'>;
/** Every MINIX field name. */
export type FieldName = keyof Layout;

/** `struct timespec` of `m9_t1`. */
export interface Timespec {
  tv_sec: number;
  tv_nsec: number;
}

/** The MINIX fields as read from a message. */
export type MessageFields = { [F in IntField | LongField]: number } & { [F in PointerField]: bigint } & {
  m3_ca1: Buffer;
  m6_ca1: Buffer;
  m9_t1: Timespec;
  mA_ia: number[];
};

/**
 * What a message to send may contain: `type` and any MINIX fields (unset
 * fields are zero). A pointer field may be given as a Buffer: its address is
 * sent and the Buffer is kept alive until the call settles.
 */
export type MessageInit = { type?: number } & { [F in IntField]?: number } & {
  [F in LongField]?: number | bigint;
} & { [F in PointerField]?: bigint | number | Uint8Array } & {
  m3_ca1?: string | Uint8Array;
  m6_ca1?: string | Uint8Array;
  m9_t1?: Timespec;
  mA_ia?: readonly number[];
};

/**
 * A message as received (or built): `source`, `type` and every MINIX field
 * as a property that reads and writes `raw`, the 48 bytes exactly as in C.
 * Fields of different layouts overlap, as in the C union.
 */
export class Message {
  /** The 48 bytes of the C `message`. */
  readonly raw: Buffer;

  constructor(raw?: Buffer) {
    this.raw = raw ?? newRaw();
  }

  /** The sender (`m_source`), written by the runtime on delivery. */
  get source(): number {
    return this.raw.readInt32LE(0);
  }

  /** The message type (`m_type`). */
  get type(): number {
    return this.raw.readInt32LE(4);
  }
  set type(v: number) {
    this.raw.writeInt32LE(v, 4);
  }

  /** A plain object with source, type and the fields of layout `layout` (1…9, or 'A'). */
  fields(layout: number | 'A'): Record<string, unknown> {
    const out: Record<string, unknown> = { source: this.source, type: this.type };
    const prefix = `m${layout}_`;
    for (const f of Object.keys(LAYOUT)) if (f.startsWith(prefix)) out[f] = (this as unknown as Record<string, unknown>)[f];
    return out;
  }

  toJSON(): object {
    return { source: this.source, type: this.type, raw: this.raw.toString('hex') };
  }
}
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface Message extends MessageFields {}

for (const [name, spec] of Object.entries(LAYOUT) as [FieldName, readonly [number, Kind, number?]][]) {
  const [off, kind, len] = spec;
  Object.defineProperty(Message.prototype, name, {
    enumerable: true,
    get(this: Message) {
      return readField(this.raw, off, kind, len);
    },
    set(this: Message, v: unknown) {
      writeField(this.raw, name, off, kind, len, v, undefined);
    },
  });
}

function readField(raw: Buffer, off: number, kind: Kind, len?: number): unknown {
  switch (kind) {
    case 'i32':
      return raw.readInt32LE(off);
    case 'i16':
      return raw.readInt16LE(off);
    case 'long':
      return Number(raw.readBigInt64LE(off));
    case 'ptr':
      return raw.readBigUInt64LE(off);
    case 'bytes':
      return Buffer.from(raw.subarray(off, off + len!));
    case 'timespec':
      return { tv_sec: Number(raw.readBigInt64LE(off)), tv_nsec: Number(raw.readBigInt64LE(off + 8)) };
    case 'i32x4':
      return [0, 1, 2, 3].map((i) => raw.readInt32LE(off + 4 * i));
  }
}

function intIn(name: string, v: unknown, bits: 16 | 32): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${name} must be an integer, got ${describe(v)}`);
  const lim = 2 ** (bits - 1);
  if (v < -lim || v >= lim) throw new RangeError(`${name} must fit in ${bits} bits, got ${v}`);
  return v;
}

function writeField(raw: Buffer, name: string, off: number, kind: Kind, len: number | undefined, v: unknown, keep: unknown[] | undefined): void {
  switch (kind) {
    case 'i32':
      raw.writeInt32LE(intIn(name, v, 32), off);
      return;
    case 'i16':
      raw.writeInt16LE(intIn(name, v, 16), off);
      return;
    case 'long':
      if (typeof v === 'bigint') raw.writeBigInt64LE(BigInt.asIntN(64, v), off);
      else if (typeof v === 'number' && Number.isSafeInteger(v)) raw.writeBigInt64LE(BigInt(v), off);
      else throw new TypeError(`${name} must be an integer or a bigint, got ${describe(v)}`);
      return;
    case 'ptr':
      if (v instanceof Uint8Array) {
        raw.writeBigUInt64LE(addressOfBuffer(v), off);
        keep?.push(v);
      } else if (typeof v === 'bigint') raw.writeBigUInt64LE(BigInt.asUintN(64, v), off);
      else if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) raw.writeBigUInt64LE(BigInt(v), off);
      else throw new TypeError(`${name} must be a bigint address or a Buffer, got ${describe(v)}`);
      return;
    case 'bytes': {
      const b = typeof v === 'string' ? Buffer.from(v, 'latin1') : v instanceof Uint8Array ? v : undefined;
      if (!b) throw new TypeError(`${name} must be a string or a Buffer, got ${describe(v)}`);
      if (b.length > len!) throw new RangeError(`${name} holds at most ${len} bytes, got ${b.length}`);
      raw.fill(0, off, off + len!);
      raw.set(b, off);
      return;
    }
    case 'timespec': {
      const t = v as Timespec;
      if (typeof t !== 'object' || t === null) throw new TypeError(`${name} must be { tv_sec, tv_nsec }, got ${describe(v)}`);
      for (const [k, o] of [['tv_sec', 0], ['tv_nsec', 8]] as const) {
        if (!Number.isSafeInteger(t[k])) throw new TypeError(`${name}.${k} must be an integer, got ${describe(t[k])}`);
        raw.writeBigInt64LE(BigInt(t[k]), off + o);
      }
      return;
    }
    case 'i32x4': {
      if (!Array.isArray(v) || v.length > 4) throw new TypeError(`${name} must be an array of at most 4 integers, got ${describe(v)}`);
      v.forEach((x, i) => raw.writeInt32LE(intIn(`${name}[${i}]`, x, 32), off + 4 * i));
      return;
    }
  }
}

/**
 * encode builds the 48 bytes of a message to send from a Message (its raw
 * bytes are copied) or a MessageInit. Buffers given as pointer fields are
 * pushed on `keep`. Unknown fields are a TypeError (a typo would otherwise
 * send zero).
 */
export function encode(msg: unknown, what: string, keep: unknown[]): Buffer {
  if (msg instanceof Message) return Buffer.from(msg.raw); // a copy: the caller's message is not changed
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    throw new TypeError(`${what} must be a message object like { type, m1_i1 }, got ${describe(msg)}`);
  }
  const raw = newRaw();
  const init = msg as Record<string, unknown>;
  // for-in, not Object.entries: this runs on every call (hot path).
  for (const key in init) {
    const value = init[key];
    if (value === undefined) continue;
    if (key === 'type') {
      if (typeof value === 'number' && (value | 0) === value) raw.writeInt32LE(value, 4);
      else raw.writeInt32LE(intIn(`${what}.type`, value, 32), 4);
      continue;
    }
    if (key === 'source') continue; // written by the runtime; a received message may be resent
    const spec = SPECS.get(key);
    if (!spec) throw new TypeError(`${what} has an unknown field "${key}" (MINIX fields are m1_i1 … mA_ia)`);
    if (spec[1] === 'i32' && typeof value === 'number' && (value | 0) === value) raw.writeInt32LE(value, spec[0]);
    else writeField(raw, `${what}.${key}`, spec[0], spec[1], spec[2], value, keep);
  }
  return raw;
}

/** fieldOffsets: byte offset of every MINIX field (checked against the C header by message.test.ts). */
export function fieldOffsets(): Record<FieldName, number> {
  return Object.fromEntries(Object.entries(LAYOUT).map(([f, spec]) => [f, spec[0]])) as Record<FieldName, number>;
}

const SPECS = new Map<string, readonly [number, Kind, number?]>(Object.entries(LAYOUT));

/**
 * newRaw: 48 zeroed bytes from Node's buffer pool. Not Buffer.alloc: V8
 * keeps a typed array this small on its heap, and handing it to native code
 * moves it off the heap first (JSTypedArray::GetBuffer) on every call. That
 * made each sendrec slow enough that a peer on another CPU stopped spinning
 * for the next request: 40 µs instead of 1.5 µs per round trip (bench:ts).
 */
export function newRaw(): Buffer {
  return Buffer.allocUnsafe(MESSAGE_SIZE).fill(0);
}
