/**
 * `dvs trace`: the live message trace of a node, its history, and exports.
 *
 *   dvs trace [--dir DIR] [--config dvs.json] [--filter EXPR] [--follow | --history N]
 *   dvs trace --export chrome|jsonl FILE [--dir DIR] [--config dvs.json] [--filter EXPR] [--history N]
 *
 * Without --history it follows the node live (the daemon pushes events)
 * until Ctrl-C. With --config, message types are shown by their protocol
 * names (dvs.json `protocol.types`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { defaultNodeDir } from '../cluster/paths';
import {
  formatEvent,
  parseFilter,
  showWallClock,
  subscribeTrace,
  toChromeTrace,
  toJsonLines,
  traceHistory,
  type ProtocolType,
  type TraceEvent,
  type TraceSubscription,
} from '../cluster/trace';

export const TRACE_HELP = `  dvs trace [--dir DIR] [--config dvs.json] [--filter EXPR] [--follow | --history N]
                              the node's IPC events, live (default) or the last N;
                              EXPR: op=send,reply ep=20 type=KV_GET node=0 dc=0 errors
  dvs trace --export chrome|jsonl FILE [--history N] [--dir DIR] [--config dvs.json] [--filter EXPR]
                              write the last N (default 100000) events for Perfetto
                              (chrome) or as JSON lines`;

/** The key-value sample's protocol (samples/c/kv/kv_proto.h), for `dvs demo`. */
export const KV_PROTOCOL: ProtocolType[] = [
  { name: 'KV_PUT', number: 1, layout: 'm1', fields: { key: 'm1_i1', len: 'm1_i2', value: 'm1_p1' } },
  { name: 'KV_GET', number: 2, layout: 'm1', fields: { key: 'm1_i1', size: 'm1_i2', buf: 'm1_p1' } },
  { name: 'KV_STATS', number: 3, layout: 'm1' },
  { name: 'KV_OK', number: 100, layout: 'm1', fields: { key: 'm1_i1', len: 'm1_i2' } },
  { name: 'KV_NOTFOUND', number: 101, layout: 'm1', fields: { key: 'm1_i1' } },
  { name: 'KV_ERROR', number: 102, layout: 'm1', fields: { code: 'm1_i1' } },
  { name: 'KV_STATS_REPLY', number: 103, layout: 'm2', fields: { keys: 'm2_i1', puts: 'm2_l1', gets: 'm2_l2' } },
];

export class TraceUsageError extends Error {}

interface Opts {
  dir: string;
  config?: string;
  filter?: string;
  follow: boolean;
  history?: number;
  exportFormat?: 'chrome' | 'jsonl';
  exportFile?: string;
}

function parseArgs(argv: string[]): Opts {
  const o: Opts = { dir: process.env['DVS_NODE'] ?? defaultNodeDir(), follow: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new TraceUsageError(`${a} needs a value`);
      return x;
    };
    if (a === '--dir') o.dir = v();
    else if (a === '--config') o.config = v();
    else if (a === '--filter') o.filter = v();
    else if (a === '--follow') o.follow = true;
    else if (a === '--history') {
      const n = v();
      if (!/^\d+$/.test(n) || Number(n) < 1 || Number(n) > 100000) {
        throw new TraceUsageError(`--history takes a whole number from 1 to 100000, not '${n}'`);
      }
      o.history = Number(n);
    } else if (a === '--export') {
      const f = v();
      if (f !== 'chrome' && f !== 'jsonl') throw new TraceUsageError(`--export takes chrome or jsonl, not '${f}'`);
      o.exportFormat = f;
      o.exportFile = v();
    } else throw new TraceUsageError(`unknown argument '${a}' for dvs trace`);
  }
  if (o.follow && o.history !== undefined) throw new TraceUsageError('--follow and --history exclude each other');
  if (o.follow && o.exportFormat) throw new TraceUsageError('--export writes the history; it cannot --follow');
  o.dir = path.resolve(o.dir);
  return o;
}

/** loadProtocol reads `protocol.types` of a dvs.json. */
export function loadProtocol(file: string): ProtocolType[] {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  const types = (doc as { protocol?: { types?: unknown } }).protocol?.types;
  if (types === undefined) return [];
  if (!Array.isArray(types)) throw new Error(`${file}: protocol.types must be an array`);
  return types as ProtocolType[];
}

/** cmdTrace runs `dvs trace ...`; resolves with the exit code. */
export async function cmdTrace(argv: string[]): Promise<number> {
  showWallClock();
  const o = parseArgs(argv);
  const protocol = o.config ? loadProtocol(o.config) : undefined;
  const filter = parseFilter(o.filter ?? '', protocol);
  if (o.exportFormat) {
    const events = (await traceHistory(o.dir, o.history ?? 100000)).filter(filter);
    const text = o.exportFormat === 'chrome' ? JSON.stringify(toChromeTrace(events, protocol)) : toJsonLines(events);
    fs.writeFileSync(o.exportFile!, text);
    console.log(`wrote ${events.length} events to ${o.exportFile} (${o.exportFormat})`);
    return 0;
  }
  if (o.history !== undefined) {
    for (const e of await traceHistory(o.dir, o.history)) if (filter(e)) console.log(formatEvent(e, protocol));
    return 0;
  }
  return new Promise<number>((resolve) => {
    const sub = subscribeTrace(
      o.dir,
      (e) => {
        if (filter(e)) console.log(formatEvent(e, protocol));
      },
      (err) => {
        console.error(`dvs trace: ${err.message}`);
        resolve(1);
      },
      (lost) => console.error(`dvs trace: ${lost} events lost so far (the node's ring overran)`),
    );
    sub.lostAtStart.then(
      () => console.error(`dvs trace: following ${o.dir} (Ctrl-C to stop)`),
      () => undefined,
    );
    process.once('SIGINT', () => {
      sub.close();
      resolve(0);
    });
  });
}

/**
 * demoTrace shows a few decoded trace lines per second (for `dvs demo`):
 * a sample of at most perSecond events, each with how many it stands for.
 */
export function demoTrace(dir: string, say: (line: string) => void, perSecond = 4): TraceSubscription {
  return sampledTrace([dir], KV_PROTOCOL, say, perSecond)[0]!;
}

/**
 * sampledTrace shows the live trace of several nodes in a terminal: every
 * error and timeout, and a sample of the messages (at most perSecond lines
 * a second in all, with a count of what was skipped), decoded with the
 * protocol's names. The daemons push the events; nothing is polled.
 */
export function sampledTrace(
  dirs: string[],
  protocol: ProtocolType[],
  say: (line: string) => void,
  perSecond = 4,
): TraceSubscription[] {
  showWallClock();
  let last = 0;
  let skipped = 0;
  const onEvent = (e: TraceEvent) => {
    const now = Date.now();
    const message = e.op === 'send' || e.op === 'sendrec' || e.op === 'reply' || e.op === 'notify';
    const failed = e.op === 'error' || e.op === 'timeout';
    if (!failed && (!message || now - last < 1000 / perSecond)) {
      skipped++;
      return;
    }
    last = now;
    say(`[trace] ${formatEvent(e, protocol)}${skipped ? `   (+${skipped} more)` : ''}`);
    skipped = 0;
  };
  return dirs.map((dir) => subscribeTrace(dir, onEvent, () => undefined));
}
