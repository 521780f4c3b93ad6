/**
 * Nodes in network namespaces (`"isolate": "netns"`, root only): one
 * namespace per node with a veth pair to a bridge of the cluster, its own
 * address 10.213.<cluster>.<node id + 1>/24, and links that can be cut on the
 * network itself (an unreachable route in both namespaces).
 */
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';

export interface NetnsPlan {
  /** The third byte of the addresses, 1..250. */
  index: number;
  bridge: string;
  nodes: number[];
}

/** The port every dvsd listens on inside its namespace. */
export const PORT = 7400;

function ip(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: 10000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

export function nsName(p: NetnsPlan, node: number): string {
  return `dvs${p.index}-n${node}`;
}

export function address(p: NetnsPlan, node: number): string {
  return `10.213.${p.index}.${node + 1}`;
}

function vethHost(p: NetnsPlan, node: number): string {
  return `dvs${p.index}h${node}`;
}

/** Chooses a cluster index whose bridge does not exist yet (derived from the name, so stable). */
export async function plan(name: string, nodes: number[]): Promise<NetnsPlan> {
  const h = crypto.createHash('sha256').update(name).digest().readUInt32BE(0);
  for (let k = 0; k < 250; k++) {
    const index = ((h + k) % 250) + 1;
    const bridge = `dvsbr${index}`;
    if (!fs.existsSync(`/sys/class/net/${bridge}`)) return { index, bridge, nodes };
  }
  throw new Error('no free cluster index for network namespaces (250 bridges dvsbr* exist)');
}

/** Creates the bridge, the namespaces and the veth pairs. */
export async function create(p: NetnsPlan): Promise<void> {
  await ip(['link', 'add', p.bridge, 'type', 'bridge']);
  await ip(['addr', 'add', `10.213.${p.index}.254/24`, 'dev', p.bridge]);
  await ip(['link', 'set', p.bridge, 'up']);
  for (const n of p.nodes) {
    const ns = nsName(p, n);
    const host = vethHost(p, n);
    const peer = `dvs${p.index}p${n}`;
    await ip(['netns', 'add', ns]);
    await ip(['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
    await ip(['link', 'set', peer, 'netns', ns]);
    await ip(['link', 'set', host, 'master', p.bridge]);
    await ip(['link', 'set', host, 'up']);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    await ip(['-n', ns, 'link', 'set', peer, 'name', 'eth0']);
    await ip(['-n', ns, 'addr', 'add', `${address(p, n)}/24`, 'dev', 'eth0']);
    await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
  }
}

/** Deletes everything create made (ignores what is already gone). */
export async function destroy(p: NetnsPlan): Promise<void> {
  for (const n of p.nodes) {
    await ip(['netns', 'del', nsName(p, n)]).catch(() => undefined);
    await ip(['link', 'del', vethHost(p, n)]).catch(() => undefined);
  }
  await ip(['link', 'del', p.bridge]).catch(() => undefined);
}

/** Makes a and b unreachable from each other. */
export async function cut(p: NetnsPlan, a: number, b: number): Promise<void> {
  await ip(['-n', nsName(p, a), 'route', 'replace', 'unreachable', `${address(p, b)}/32`]);
  await ip(['-n', nsName(p, b), 'route', 'replace', 'unreachable', `${address(p, a)}/32`]);
}

export async function restore(p: NetnsPlan, a: number, b: number): Promise<void> {
  await ip(['-n', nsName(p, a), 'route', 'del', 'unreachable', `${address(p, b)}/32`]).catch(() => undefined);
  await ip(['-n', nsName(p, b), 'route', 'del', 'unreachable', `${address(p, a)}/32`]).catch(() => undefined);
}

/** The namespaces that exist now (for tests and clean-up checks). */
export async function list(): Promise<string[]> {
  const out = await ip(['netns', 'list']).catch(() => '');
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((l) => l.length);
}
