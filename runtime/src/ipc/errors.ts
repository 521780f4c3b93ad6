/**
 * DvsError: a failed IPC call, with the numeric EMOL* code of m3ipc.h.
 */
import { loadNative } from './native';

/**
 * The error every IPC call rejects (or throws) with when libm3ipc returns a
 * negative code.
 *
 * - `name` is always `'DvsError'`;
 * - `code` is the negative number (`-61`);
 * - `errname` is the M3-IPC name (`'EMOLTIMEDOUT'`), for `switch`es and logs;
 * - `call` is the operation that failed (`'receive'`).
 *
 * @example
 * try { await ep.receive(ANY, { timeoutMs: 100 }); }
 * catch (e) { if (e instanceof DvsError && e.errname === 'EMOLTIMEDOUT') ... }
 */
export class DvsError extends Error {
  override readonly name = 'DvsError';
  readonly code: number;
  readonly errname: string;
  readonly call: string;

  constructor(code: number, call: string, detail?: string) {
    const n = loadNative();
    const errname = n.errname(code) ?? `EMOL${-code}`;
    super(`${call}: ${n.strerror(code)}${detail ? ` (${detail})` : ''}`);
    this.code = code;
    this.errname = errname;
    this.call = call;
  }
}

/** check turns a libm3ipc result into a value or a DvsError. */
export function check(rc: number, call: string, detail?: string): number {
  if (rc < 0) throw new DvsError(rc, call, detail);
  return rc;
}
