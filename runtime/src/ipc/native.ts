/**
 * The raw surface of the native addon (runtime/addon) and its loader. This
 * file is private: everything public goes through ./endpoint.ts, which
 * checks every argument before it reaches native code.
 */
import * as path from 'node:path';

/** Operation numbers: `enum dvs_op` in runtime/addon/src/endpoint_thread.h. */
export const enum Op {
  Bind = 0,
  Wait4Bind = 1,
  Send = 2,
  Receive = 3,
  Sendrec = 4,
  Rcvrqst = 5,
  Reply = 6,
  Notify = 7,
  Vcopy = 8,
}

/** A local buffer, or an address in the peer's memory. */
export type NativeAddress = Uint8Array | bigint;

export interface NativeEndpoint {
  bind(dc: number, ep: number): Promise<number>;
  wait4bind(dc: number, timeoutMs: number): Promise<number>;
  /** `raw` (48 bytes) is the message in and out; `keep` stays referenced until the call settles. */
  call(op: Op, a: number, timeoutMs: number, raw: Uint8Array | null, keep?: unknown): Promise<number>;
  callSync(op: Op, a: number, timeoutMs: number, raw: Uint8Array | null): number;
  /** The call on a libuv pool thread (benchmark only; process binding, idle endpoint, else EMOLBUSY). */
  callPool(op: Op, a: number, timeoutMs: number, raw: Uint8Array): Promise<number>;
  vcopy(srcEp: number, src: NativeAddress, dstEp: number, dst: NativeAddress, bytes: number): Promise<number>;
  vcopySync(srcEp: number, src: NativeAddress, dstEp: number, dst: NativeAddress, bytes: number): number;
  unbind(): number;
  close(): void;
}

export interface Native {
  NativeEndpoint: new () => NativeEndpoint;
  addressOf(buf: Uint8Array): bigint;
  errname(code: number): string | null;
  strerror(code: number): string;
  messageSize: number;
  /** How asynchronous calls wait: `io_uring` (the JS thread waits on the slot's doorbell through the event loop) or `thread` (one thread per endpoint). */
  waitMode: 'io_uring' | 'thread';
  /** Why `thread` was chosen (empty for `io_uring`). */
  waitModeReason: string;
}

let native: Native | undefined;

/** The places the addon is looked for, in order. */
export function addonCandidates(): string[] {
  const addonDir = path.join(__dirname, '..', '..', 'addon', 'build');
  const list = [path.join(addonDir, 'Release', 'dvs_ipc.node'), path.join(addonDir, 'Debug', 'dvs_ipc.node')];
  const override = process.env['DVS_ADDON'];
  return override ? [override, ...list] : list;
}

/**
 * loadNative loads the addon on first use (never at import time: the
 * cluster controller and the VS Code extension import this package without
 * native code). A failure lists every path tried and why.
 */
export function loadNative(): Native {
  if (native) return native;
  const tried: string[] = [];
  for (const file of addonCandidates()) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      native = require(file) as Native;
      return native;
    } catch (err) {
      tried.push(`  ${file}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(
    `cannot load the DVS IPC native addon; tried:\n${tried.join('\n')}\n` +
      'Build it with `npm run build` in runtime/ (node-gyp), or set DVS_ADDON to the path of dvs_ipc.node.',
  );
}
