/**
 * Starting and stopping node daemons. A node runs detached from the
 * command that started it; its log is <dir>/dvsd.log.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as control from './control';
import { dvsdPath } from './paths';

export interface DcSpec {
  id: number;
  name: string;
  nr_procs?: number;
  nr_tasks?: number;
  nr_sysprocs?: number;
  /** The nodes the DC spans (dvsd adds the local node). */
  nodes?: number[];
}

export interface NodeSpec {
  dir: string;
  nodeId?: number;
  name?: string;
  dcs?: DcSpec[];
  /** More dvsd options (the multi-node ones: --listen, --peer, --secret-file). */
  extraArgs?: string[];
  /** A command prefix dvsd runs under, e.g. ['ip', 'netns', 'exec', NS]. */
  wrap?: string[];
}

export function dcArg(dc: DcSpec): string {
  const tail =
    dc.nr_procs !== undefined || dc.nr_tasks !== undefined || dc.nr_sysprocs !== undefined
      ? `:${dc.nr_procs ?? 64}:${dc.nr_tasks ?? 8}:${dc.nr_sysprocs ?? 16}`
      : '';
  const nodes = dc.nodes && dc.nodes.length ? `${tail ? '' : ':64:8:16'}:${dc.nodes.join(',')}` : '';
  return `${dc.id}:${dc.name}${tail}${nodes}`;
}

export function logPath(dir: string): string {
  return path.join(dir, 'dvsd.log');
}

async function delay(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** isRunning says whether a daemon answers in dir. */
export async function isRunning(dir: string): Promise<boolean> {
  try {
    await control.info(dir);
    return true;
  } catch {
    return false;
  }
}

/**
 * startNode launches dvsd for spec and resolves once it answers. If it
 * exits instead, the error carries the end of its log.
 */
export async function startNode(spec: NodeSpec, timeoutMs = 10000): Promise<control.NodeInfo> {
  if (await isRunning(spec.dir)) {
    throw new Error(`a node is already running in ${spec.dir}; stop it with: dvs node stop --dir ${spec.dir}`);
  }
  fs.mkdirSync(spec.dir, { recursive: true, mode: 0o700 });
  const args = ['--dir', spec.dir];
  if (spec.nodeId !== undefined) args.push('--node-id', String(spec.nodeId));
  if (spec.name !== undefined) args.push('--name', spec.name);
  for (const dc of spec.dcs ?? []) args.push('--dc', dcArg(dc));
  args.push(...(spec.extraArgs ?? []));
  const log = fs.openSync(logPath(spec.dir), 'a', 0o600);
  const wrap = spec.wrap ?? [];
  const child = wrap.length
    ? spawn(wrap[0]!, [...wrap.slice(1), dvsdPath(), ...args], { detached: true, stdio: ['ignore', log, log] })
    : spawn(dvsdPath(), args, { detached: true, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exited: number | null = null;
  child.on('exit', (code) => {
    exited = code ?? -1;
  });
  child.unref();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== null) {
      throw new Error(`dvsd exited with status ${exited}:\n${tail(logPath(spec.dir))}`);
    }
    try {
      return await control.info(spec.dir);
    } catch {
      await delay(20);
    }
  }
  throw new Error(`dvsd did not become ready within ${timeoutMs} ms:\n${tail(logPath(spec.dir))}`);
}

/** stopNode asks the daemon to shut down and waits for it to exit. */
export async function stopNode(dir: string, timeoutMs = 5000): Promise<void> {
  const { node } = await control.info(dir);
  await control.shutdown(dir);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(node.pid, 0);
    } catch {
      return;
    }
    await delay(20);
  }
  process.kill(node.pid, 'SIGKILL');
}

function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
