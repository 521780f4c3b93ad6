/**
 * Endpoints: bind, the IPC primitives (promise-based, never blocking the
 * event loop) and their synchronous twins for worker threads.
 */
import { check, DvsError } from './errors';
import { encode, Message, newRaw, type MessageInit } from './message';
import { loadNative, Op, type NativeAddress, type NativeEndpoint } from './native';
import { addressOfBuffer, describe, int32, timeoutOf } from './validate';

/** Any source: legal only as the source of `receive`. */
export const ANY = 0x7ace;
/** No process (what `getfrom`/`sendto` show when idle). */
export const NONE = 0x6ace;
/** The caller itself (for `vcopy`). */
export const SELF = 0x8ace;
/** `timeoutMs` value that fails at once with EMOLAGAIN instead of blocking. */
export const TIMEOUT_NOWAIT = 0;
/** Notifications arrive as messages of type `NOTIFY_FROM(sender slot)`. */
export const NOTIFY_MESSAGE = 0x1000;
/** The type of a notification from system slot `nr`. */
export const NOTIFY_FROM = (nr: number): number => NOTIFY_MESSAGE | nr;
/** Largest vcopy, in bytes (1 MiB). */
export const MAXCOPYLEN = 16 * 65536;

/** Every call takes these options. */
export interface CallOptions {
  /** Give up after this many milliseconds (EMOLTIMEDOUT); 0 fails at once with EMOLAGAIN if the call would block. Default: wait forever. */
  timeoutMs?: number;
}

/** `bind({ dc, endpoint, node })`. */
export interface BindOptions {
  /** DC id (0 … 31). */
  dc: number;
  /** Endpoint number inside the DC. */
  endpoint: number;
  /** The node's runtime directory (`DVS_NODE`); default: `$DVS_NODE`, else the default node. One process uses one node. */
  node?: string;
  /** When the launcher binds us (`dvs run --ep`), how long to wait for it; default 10 s. */
  timeoutMs?: number;
}

/** One bound endpoint: the IPC primitives of SPEC §4. Calls on one endpoint run one at a time, in call order. */
export class Endpoint {
  readonly #native: NativeEndpoint;
  #bound = true;
  /** The DC this endpoint lives in. */
  readonly dc: number;
  /** The endpoint number. */
  readonly endpoint: number;

  /** @internal use {@link bind} or {@link waitForBind}. */
  constructor(native: NativeEndpoint, dc: number, endpoint: number) {
    this.#native = native;
    this.dc = dc;
    this.endpoint = endpoint;
  }

  /** Whether `unbind()` has not been called yet (the node may still have unbound it). */
  get bound(): boolean {
    return this.#bound;
  }

  #live(call: string): NativeEndpoint {
    if (!this.#bound) throw new DvsError(-310 /* EMOLNOTBIND */, call, `endpoint ${this.endpoint} was unbound`);
    return this.#native;
  }

  async #msgCall(op: Op, call: string, peer: number, raw: Buffer | null, keep: unknown[], opts: CallOptions | undefined): Promise<number> {
    const to = timeoutOf(opts);
    const rc = await this.#live(call).call(op, peer, to, raw, keep.length ? keep : undefined);
    return check(rc, call);
  }

  /** send: a rendezvous; resolves once `dst` has received the message. */
  async send(dst: number, msg: MessageInit | Message, opts?: CallOptions): Promise<void> {
    const keep: unknown[] = [];
    const raw = encode(msg, 'message', keep);
    await this.#msgCall(Op.Send, 'send', int32('destination', dst), raw, keep, opts);
  }

  /** receive from `src` (or `ANY`): pending notifications first, then senders in FIFO order. */
  async receive(src: number, opts?: CallOptions): Promise<Message> {
    const raw = newRaw();
    await this.#msgCall(Op.Receive, 'receive', int32('source', src), raw, [], opts);
    return new Message(raw);
  }

  /** sendrec: send a request and wait for the reply (the reply is returned). */
  async sendrec(dst: number, msg: MessageInit | Message, opts?: CallOptions): Promise<Message> {
    const keep: unknown[] = [];
    const raw = encode(msg, 'message', keep);
    await this.#msgCall(Op.Sendrec, 'sendrec', int32('destination', dst), raw, keep, opts);
    return new Message(raw);
  }

  /** rcvrqst: receive a request from a client in `sendrec` (never a notification). */
  async rcvrqst(opts?: CallOptions): Promise<Message> {
    const raw = newRaw();
    await this.#msgCall(Op.Rcvrqst, 'rcvrqst', 0, raw, [], opts);
    return new Message(raw);
  }

  /** reply to a client waiting in `sendrec`; never blocks (EMOLPROCSTS if it is not waiting). */
  async reply(dst: number, msg: MessageInit | Message, opts?: CallOptions): Promise<void> {
    const keep: unknown[] = [];
    const raw = encode(msg, 'message', keep);
    await this.#msgCall(Op.Reply, 'reply', int32('destination', dst), raw, keep, opts);
  }

  /** notify `dst` (system slots only); never blocks, so `timeoutMs` has no effect. Repeats coalesce. */
  async notify(dst: number, opts?: CallOptions): Promise<void> {
    await this.#msgCall(Op.Notify, 'notify', int32('destination', dst), null, [], opts);
  }

  /**
   * vcopy `bytes` from `src` in `srcEp`'s memory to `dst` in `dstEp`'s. For
   * this process's side (`SELF` or this endpoint) pass a Buffer; for a peer
   * pass the address it sent (a bigint from a pointer field). A peer must be
   * blocked receiving (inside its sendrec).
   */
  async vcopy(srcEp: number, src: Uint8Array | bigint, dstEp: number, dst: Uint8Array | bigint, bytes: number, opts?: CallOptions): Promise<void> {
    const a = this.#vcopyArgs(srcEp, src, dstEp, dst, bytes, opts);
    check(await this.#live('vcopy').vcopy(...a), 'vcopy');
  }

  /** unbind: frees the endpoint; a call of it that is blocked fails with EMOLNOTBIND, peers see it gone. */
  async unbind(): Promise<void> {
    this.unbindSync();
  }

  // ---- Synchronous variants: block the calling thread. For worker threads
  // (or scripts without an event loop to keep alive); on the main thread
  // they freeze timers and I/O for the whole rendezvous.

  /** Blocking {@link send}. */
  sendSync(dst: number, msg: MessageInit | Message, opts?: CallOptions): void {
    const raw = encode(msg, 'message', []);
    check(this.#live('send').callSync(Op.Send, int32('destination', dst), timeoutOf(opts), raw), 'send');
  }

  /** Blocking {@link receive}. */
  receiveSync(src: number, opts?: CallOptions): Message {
    const raw = newRaw();
    check(this.#live('receive').callSync(Op.Receive, int32('source', src), timeoutOf(opts), raw), 'receive');
    return new Message(raw);
  }

  /** Blocking {@link sendrec}. */
  sendrecSync(dst: number, msg: MessageInit | Message, opts?: CallOptions): Message {
    const raw = encode(msg, 'message', []);
    check(this.#live('sendrec').callSync(Op.Sendrec, int32('destination', dst), timeoutOf(opts), raw), 'sendrec');
    return new Message(raw);
  }

  /** Blocking {@link rcvrqst}. */
  rcvrqstSync(opts?: CallOptions): Message {
    const raw = newRaw();
    check(this.#live('rcvrqst').callSync(Op.Rcvrqst, 0, timeoutOf(opts), raw), 'rcvrqst');
    return new Message(raw);
  }

  /** Synchronous {@link reply} (reply never blocks). */
  replySync(dst: number, msg: MessageInit | Message, opts?: CallOptions): void {
    const raw = encode(msg, 'message', []);
    check(this.#live('reply').callSync(Op.Reply, int32('destination', dst), timeoutOf(opts), raw), 'reply');
  }

  /** Synchronous {@link notify}. */
  notifySync(dst: number): void {
    check(this.#live('notify').callSync(Op.Notify, int32('destination', dst), -1, null), 'notify');
  }

  /** Synchronous {@link vcopy}. */
  vcopySync(srcEp: number, src: Uint8Array | bigint, dstEp: number, dst: Uint8Array | bigint, bytes: number): void {
    const a = this.#vcopyArgs(srcEp, src, dstEp, dst, bytes, undefined);
    check(this.#live('vcopy').vcopySync(...a), 'vcopy');
  }

  /** Synchronous {@link unbind}. */
  unbindSync(): void {
    const native = this.#live('unbind');
    this.#bound = false;
    live.delete(this);
    const rc = native.unbind();
    native.close();
    check(rc, 'unbind');
  }

  #vcopyArgs(srcEp: number, src: unknown, dstEp: number, dst: unknown, bytes: number, opts: unknown): [number, NativeAddress, number, NativeAddress, number] {
    int32('srcEp', srcEp);
    int32('dstEp', dstEp);
    int32('bytes', bytes);
    if (bytes < 0 || bytes > MAXCOPYLEN) throw new RangeError(`bytes must be between 0 and ${MAXCOPYLEN} (MAXCOPYLEN), got ${bytes}`);
    for (const [name, v] of [['srcBuf', src], ['dstBuf', dst]] as const) {
      if (v instanceof Uint8Array) {
        if (v.byteLength < bytes) throw new RangeError(`${name} has ${v.byteLength} bytes, fewer than the ${bytes} to copy`);
      } else if (typeof v !== 'bigint') {
        throw new TypeError(`${name} must be a Buffer (this process) or a bigint address (a peer's), got ${describe(v)}`);
      }
    }
    timeoutOf(opts);
    return [srcEp, src as NativeAddress, dstEp, dst as NativeAddress, bytes];
  }
}

/** Bound endpoints stay reachable until unbind (a forgotten endpoint is not unbound by the GC). */
const live = new Set<Endpoint>();
/** The node this process mapped (libm3ipc maps one node per process). */
let nodeInUse: string | undefined;

function useNode(node: string | undefined): void {
  const current = nodeInUse ?? process.env['DVS_NODE'] ?? '';
  if (node !== undefined) {
    if (typeof node !== 'string' || node === '') throw new TypeError(`node must be a node directory path, got ${describe(node)}`);
    if (nodeInUse !== undefined && node !== nodeInUse) {
      throw new Error(`this process already uses node ${JSON.stringify(nodeInUse || '(default)')}; one process talks to one node`);
    }
    // libm3ipc reads DVS_NODE when it first maps the node's table.
    process.env['DVS_NODE'] = node;
    nodeInUse = node;
    return;
  }
  nodeInUse = current;
}

function launcherEndpoint(): { dc: number; endpoint: number } | undefined {
  const ep = process.env['DVS_EP'];
  if (!ep) return undefined;
  return { dc: Number(process.env['DVS_DC'] ?? 0), endpoint: Number(ep) };
}
let launcherBindTaken = false;

async function open(call: string, run: (n: NativeEndpoint) => Promise<number>, dc: number): Promise<Endpoint> {
  const N = loadNative();
  const native = new N.NativeEndpoint();
  const rc = await run(native);
  if (rc < 0) {
    native.close();
    throw new DvsError(rc, call);
  }
  const ep = new Endpoint(native, dc, rc);
  live.add(ep);
  return ep;
}

/**
 * bind this process to `endpoint` of DC `dc` and return the Endpoint. The
 * first endpoint of a process holds the process binding (`mnx_bind`), the
 * others a thread binding (`mnx_tbind`), each on its own thread.
 *
 * When the launcher started us for this very endpoint (`dvs run --ep N`
 * sets `DVS_EP`/`DVS_DC`), it binds us itself: bind then waits for that
 * (see {@link waitForBind}) instead of binding.
 *
 * @example const ep = await bind(0, 20);  // or bind({ dc: 0, endpoint: 20, node: dir })
 */
export async function bind(dc: number, endpoint: number): Promise<Endpoint>;
export async function bind(options: BindOptions): Promise<Endpoint>;
export async function bind(dcOrOptions: number | BindOptions, endpoint?: number): Promise<Endpoint> {
  let dc: number, ep: number, node: string | undefined, timeoutMs: number | undefined;
  if (typeof dcOrOptions === 'object' && dcOrOptions !== null) {
    ({ dc, endpoint: ep, node, timeoutMs } = dcOrOptions);
    int32('dc', dc);
    int32('endpoint', ep);
  } else {
    dc = int32('dc', dcOrOptions);
    ep = int32('endpoint', endpoint);
  }
  const to = timeoutOf(timeoutMs === undefined ? undefined : { timeoutMs });
  useNode(node);
  const launched = launcherEndpoint();
  if (launched && !launcherBindTaken && launched.dc === dc && launched.endpoint === ep) {
    return waitForBind({ timeoutMs: timeoutMs === undefined ? 10_000 : to });
  }
  return open('bind', (n) => n.bind(dc, ep), dc);
}

/**
 * waitForBind waits until a manager binds this process (`mnx_wait4bind`):
 * what a program started by `dvs run --ep N` calls (DC from `DVS_DC`).
 */
export async function waitForBind(options?: { timeoutMs?: number; dc?: number }): Promise<Endpoint> {
  const to = timeoutOf(options);
  const dc = options?.dc === undefined ? Number(process.env['DVS_DC'] ?? 0) : int32('dc', options.dc);
  useNode(undefined);
  launcherBindTaken = true;
  try {
    return await open('waitForBind', (n) => n.wait4bind(dc, to), dc);
  } catch (err) {
    launcherBindTaken = false;
    throw err;
  }
}

/**
 * addressOf returns where `buf`'s bytes live, for a peer that vcopies into
 * or out of it (put it in a pointer field, or pass the Buffer itself as the
 * field and it is converted and kept alive for the call). Keep the buffer
 * referenced while the peer may copy.
 */
export function addressOf(buf: Uint8Array): bigint {
  if (!(buf instanceof Uint8Array)) throw new TypeError(`buf must be a Buffer or Uint8Array, got ${describe(buf)}`);
  return addressOfBuffer(buf);
}

/**
 * How this process's asynchronous calls wait (loads the addon):
 * - `io_uring`: the call runs on the JS thread up to the point where it
 *   would block, then the event loop waits for the slot's futex doorbell
 *   through an io_uring FUTEX_WAIT (Linux >= 6.7) - about the cost of the
 *   synchronous call;
 * - `thread`: each endpoint's calls run on its own thread (kernels without
 *   io_uring FUTEX_WAIT, io_uring forbidden, or `DVS_IPC_WAIT=thread` in the
 *   environment); `reason` says why.
 * Both have the same semantics; neither blocks the event loop.
 */
export function asyncWaitMode(): { mode: 'io_uring' | 'thread'; reason: string } {
  const n = loadNative();
  return { mode: n.waitMode, reason: n.waitModeReason };
}

/** The live endpoints of this process (those not unbound yet). */
export function endpoints(): Endpoint[] {
  return [...live];
}
