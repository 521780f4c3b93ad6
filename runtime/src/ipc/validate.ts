/**
 * Argument checks with exact messages, run before anything reaches the
 * native addon (a wrong type must be a TypeError, never a crash).
 */
import { loadNative } from './native';

/** describe renders a bad value for an error message: `"x"`, `undefined`, `1.5`, `object`. */
export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v}`;
}

/** int32 checks an integer argument (endpoints, DC ids, sizes). */
export function int32(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${name} must be an integer, got ${describe(v)}`);
  if (v < -(2 ** 31) || v >= 2 ** 31) throw new RangeError(`${name} must fit in 32 bits, got ${v}`);
  return v;
}

/** Timeout for the _T calls: undefined = forever (-1), 0 = TIMEOUT_NOWAIT. */
export function timeoutOf(opts: unknown): number {
  if (opts === undefined) return -1;
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`options must be an object like { timeoutMs }, got ${describe(opts)}`);
  const t = (opts as { timeoutMs?: unknown }).timeoutMs;
  if (t === undefined || t === Infinity) return -1;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 0) {
    throw new TypeError(`timeoutMs must be a non-negative integer (0 = do not wait), got ${describe(t)}`);
  }
  if (t >= 2 ** 31) throw new RangeError(`timeoutMs must be below 2^31, got ${t}`);
  return t;
}

/** addressOfBuffer: where a Uint8Array's bytes live (the addon is loaded on demand). */
export function addressOfBuffer(buf: Uint8Array): bigint {
  return loadNative().addressOf(buf);
}
