/**
 * A client of a node daemon's control socket (`<node dir>/control.sock`).
 *
 * Protocol (runtime/README.md): one request line, one JSON reply line that
 * always has `ok`. This file mirrors the replies of runtime/src/dvsd/control.c.
 */
import * as net from 'node:net';
import * as path from 'node:path';

export interface DcInfo {
  id: number;
  name: string;
  nr_procs: number;
  nr_tasks: number;
  nr_sysprocs: number;
  nodes: number[];
}

export interface NodeInfo {
  node: {
    id: number;
    name: string;
    dir: string;
    pid: number;
    version: string;
    repairs: number;
    max_copylen: number;
  };
  dcs: DcInfo[];
}

export interface ProcInfo {
  dc: number;
  nr: number;
  endpoint: number;
  pid: number;
  tid: number;
  node: number;
  name: string;
  /** Names of the set p_rts_flags bits: SENDING, RECEIVING, REMOTE, ... */
  flags: string[];
  rts_flags: number;
  misc_flags: number;
  getfrom: number;
  sendto: number;
  nqueued: number;
  lclsent: number;
  rmtsent: number;
  lclcopy: number;
  rmtcopy: number;
  /** The endpoint this slot waits for while it migrates (NONE otherwise). */
  waitmigr?: number;
  /** A REMOTE slot naming a local standby process (bkupbind): pid is the standby. */
  standby?: boolean;
  /** Nodes that hold a standby of this endpoint. */
  bkup_nodes?: number[];
}

/** A refusal from the daemon, with its EMOL* name and numeric code. */
export class ControlError extends Error {
  constructor(
    readonly errorName: string,
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

/** Thrown when nothing answers on the node's socket. */
export class NodeNotRunningError extends Error {
  constructor(readonly dir: string, cause: string) {
    super(`no node is running in ${dir} (${cause}); start one with: dvs node start --dir ${dir}`);
    this.name = 'NodeNotRunningError';
  }
}

export const ANY = 0x7ace;
export const NONE = 0x6ace;

export function controlSocketPath(dir: string): string {
  return path.join(dir, 'control.sock');
}

/** request sends one line and resolves with the parsed reply. */
export function request(dir: string, line: string, timeoutMs = 5000): Promise<Record<string, unknown>> {
  if (line.includes('\n')) {
    return Promise.reject(new Error('a control request is a single line'));
  }
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(controlSocketPath(dir));
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`node in ${dir} did not answer '${line}' within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(line + '\n'));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      let reply: Record<string, unknown>;
      try {
        reply = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
      } catch {
        reject(new Error(`node in ${dir} sent a malformed reply: ${buf.slice(0, 200)}`));
        return;
      }
      if (reply['ok'] === true) {
        resolve(reply);
      } else {
        reject(
          new ControlError(
            String(reply['error'] ?? 'EMOLGENERIC'),
            Number(reply['code'] ?? -99),
            String(reply['message'] ?? 'request failed'),
          ),
        );
      }
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(new NodeNotRunningError(dir, err.code));
      } else {
        reject(err);
      }
    });
    sock.on('end', () => {
      if (!buf.includes('\n')) {
        clearTimeout(timer);
        reject(new Error(`node in ${dir} closed the connection without a reply`));
      }
    });
  });
}

export async function info(dir: string): Promise<NodeInfo> {
  const r = await request(dir, 'info');
  return { node: r['node'] as NodeInfo['node'], dcs: r['dcs'] as DcInfo[] };
}

export async function ps(dir: string, dc?: number): Promise<ProcInfo[]> {
  const r = await request(dir, dc === undefined ? 'ps' : `ps ${dc}`);
  return r['procs'] as ProcInfo[];
}

export async function lclbind(dir: string, dc: number, pid: number, ep: number): Promise<number> {
  const r = await request(dir, `lclbind ${dc} ${pid} ${ep}`);
  return Number(r['endpoint']);
}

export async function unbind(dir: string, dc: number, ep: number): Promise<void> {
  await request(dir, `unbind ${dc} ${ep}`);
}

export async function shutdown(dir: string): Promise<void> {
  await request(dir, 'shutdown');
}

/** endpointName renders the special values as the C header names them. */
export function endpointName(ep: number): string {
  if (ep === ANY) return 'ANY';
  if (ep === NONE) return '-';
  return String(ep);
}

/** describeState says in words what an endpoint is doing. */
export function describeState(p: ProcInfo): string {
  const f = new Set(p.flags);
  if (f.has('REMOTE') && p.standby) return `backup (standby pid ${p.pid}) of the primary on node ${p.node}`;
  if (f.has('MIGRATING')) return f.has('REMOTE') ? `migrating (was on node ${p.node})` : 'migrating';
  if (f.has('REMOTE')) return `remote on node ${p.node}`;
  if (f.has('WAITMIGR')) return `waiting for ${endpointName(p.waitmigr ?? NONE)} to finish migrating`;
  if (f.has('SENDING') && f.has('RECEIVING')) return `sendrec to ${endpointName(p.sendto)}`;
  if (f.has('SENDING')) return `sending to ${endpointName(p.sendto)}`;
  if (f.has('RECEIVING')) {
    return p.getfrom === ANY ? 'receiving from ANY' : `waiting for reply from ${endpointName(p.getfrom)}`;
  }
  if (f.has('ONCOPY')) return 'copying';
  return 'running';
}
