/**
 * Running programs on a node, bound to endpoints. The launcher plays the
 * original's manager: it starts the program with DVS_NODE/DVS_DC/DVS_EP set,
 * and binds it with lclbind while the program waits in mnx_wait4bind().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as readline from 'node:readline';

import * as control from './control';

export interface RunSpec {
  dir: string;
  program: string;
  args?: string[];
  dc?: number;
  /** Bind the process to this endpoint; omit to let it bind itself. */
  endpoint?: number;
  cwd?: string;
  /** More environment variables for the program. */
  env?: NodeJS.ProcessEnv;
  /** A command prefix the program runs under, e.g. ['ip', 'netns', 'exec', NS]. */
  wrap?: string[];
  /**
   * Send stdout and stderr to this file (appended) instead of onLine, and run
   * the program in its own process group so it outlives the launcher.
   */
  logFile?: string;
  /** Receives each output line of the program (stdout and stderr). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /**
   * Binds the started process instead of lclbind (with `endpoint` set): a
   * migration's commit on the new node, or bkupbind for a standby.
   */
  bind?: (pid: number) => Promise<void>;
}

export interface Running {
  child: ChildProcess;
  endpoint?: number;
  /** Resolves with the exit code (or 128 + signal number). */
  exited: Promise<number>;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGPIPE: 13, SIGTERM: 15 };

/**
 * bindWhenFree binds pid to ep, waiting up to 3 s while the slot is still
 * held: the previous owner may have just exited and its node not yet
 * noticed (dvsd reaps a death within milliseconds, asynchronously).
 */
async function bindWhenFree(dir: string, dc: number, pid: number, ep: number): Promise<void> {
  const deadline = Date.now() + 3000;
  for (;;) {
    try {
      await control.lclbind(dir, dc, pid, ep);
      return;
    } catch (err) {
      const used = err instanceof control.ControlError && err.errorName === 'EMOLSLOTUSED';
      if (!used || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export async function runProgram(spec: RunSpec): Promise<Running> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...(spec.env ?? {}), DVS_NODE: spec.dir };
  if (spec.endpoint !== undefined) {
    env['DVS_EP'] = String(spec.endpoint);
    env['DVS_DC'] = String(spec.dc ?? 0);
  }
  const wrap = spec.wrap ?? [];
  const [file, ...argv] = [...wrap, spec.program, ...(spec.args ?? [])];
  const log = spec.logFile !== undefined ? fs.openSync(spec.logFile, 'a', 0o600) : undefined;
  const child = spawn(file!, argv, {
    cwd: spec.cwd,
    env,
    detached: log !== undefined,
    stdio: log !== undefined ? ['ignore', log, log] : ['ignore', 'pipe', 'pipe'],
  });
  if (log !== undefined) {
    fs.closeSync(log);
    child.unref();
  }
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? 128 + (SIGNALS[signal ?? ''] ?? 0)));
    child.on('error', () => resolve(127));
  });
  for (const stream of ['stdout', 'stderr'] as const) {
    if (!child[stream]) continue;
    const rl = readline.createInterface({ input: child[stream]! });
    rl.on('line', (line) => (spec.onLine ? spec.onLine(line, stream) : process[stream].write(line + '\n')));
  }
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (err) => reject(new Error(`cannot start ${spec.program}: ${err.message}`)));
  });
  if (spec.endpoint !== undefined) {
    try {
      if (spec.bind) await spec.bind(child.pid!);
      else await bindWhenFree(spec.dir, spec.dc ?? 0, child.pid!, spec.endpoint);
    } catch (err) {
      child.kill('SIGKILL');
      throw new Error(`cannot bind ${spec.program} to endpoint ${spec.endpoint}: ${(err as Error).message}`);
    }
  }
  return { child, endpoint: spec.endpoint, exited };
}
