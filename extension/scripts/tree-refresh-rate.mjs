// How often the Cluster view would refresh, measured on a real cluster without VS Code.
// Starts the kv sample (a unique cluster name), polls cluster.status() at the view's
// cadence, and counts per poll what the view fires: the old rule (a full refresh whenever
// the visible tree differs) and the current one (model/treeDiff.ts: the changed elements).
// Usage (after `npm run build` in extension/ and the runtime build):
//   node scripts/tree-refresh-rate.mjs idle|busy [seconds=30] [pollMs=1500]
// idle: kv_server + kv_logger, nobody calls them; busy: plus the three kv clients of the e2e.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
const { Cluster, buildDir } = require('@dvs/runtime');
const { buildTree } = require('../out/src/model/tree.js');
const { reconcile } = require('../out/src/model/treeDiff.js');

const [mode = 'idle', secs = '30', pollMs = '1500'] = process.argv.slice(2);
if (!['idle', 'busy'].includes(mode)) throw new Error(`mode must be idle or busy, not ${mode}`);
const KV = path.join(buildDir(), 'samples', 'kv');
const prog = (run, args) => ({ run: path.join(KV, run), ...(args ? { args } : {}) });
const clients = mode === 'busy'
  ? [['client_a', 20, 1, '1000'], ['client_b', 21, 1, '1500'], ['client_c', 22, 2, '2000']].map(([name, number, node, pause]) =>
    ({ name, number, dc: 0, node, program: prog('kv_client', ['50', '0', pause]) }))
  : [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dvs-treerate-'));
const file = path.join(dir, 'dvs.json');
fs.writeFileSync(file, JSON.stringify({
  cluster: { name: `treerate-${process.pid}` },
  nodes: [0, 1, 2].map((id) => ({ id, name: `node${id}` })),
  dcs: [{ id: 0, name: 'kv', nodes: [0, 1, 2], nr_procs: 64, nr_tasks: 8, nr_sysprocs: 16 }],
  endpoints: [
    { name: 'kv_server', number: 1, dc: 0, node: 0, server: true, program: prog('kv_server') },
    { name: 'kv_logger', number: 2, dc: 0, node: 0, program: prog('kv_logger') },
    ...clients,
  ],
}));

// The old view's rule: one full refresh whenever this key changed.
const oldKey = (roots) => JSON.stringify(roots, (k, v) => (k === 'endpoint' || k === 'link' || k === 'tooltip' ? undefined : v));

const c = await Cluster.up(file, {});
try {
  await new Promise((r) => setTimeout(r, 2000)); // past the start-up transitions
  let shown = buildTree(await c.status());
  let key = oldKey(shown);
  let polls = 0, oldFull = 0, newEvents = 0, newFull = 0, newElements = 0;
  const ids = new Map();
  const t0 = Date.now();
  while (Date.now() - t0 < Number(secs) * 1000) {
    await new Promise((r) => setTimeout(r, Number(pollMs)));
    const next = buildTree(await c.status());
    polls++;
    const k = oldKey(next);
    if (k !== key) oldFull++;
    key = k;
    const u = reconcile(shown, next);
    shown = u.roots;
    if (u.fire === 'all') { newEvents++; newFull++; }
    else if (u.fire.length > 0) {
      newEvents++;
      newElements += u.fire.length;
      for (const n of u.fire) ids.set(n.id, (ids.get(n.id) ?? 0) + 1);
    }
  }
  const s = (Date.now() - t0) / 1000;
  console.log(`${mode}: ${polls} polls in ${s.toFixed(1)} s (every ${pollMs} ms)`);
  console.log(`  old rule: ${oldFull} full refreshes (${(oldFull / s).toFixed(2)}/s)`);
  console.log(`  now:      ${newEvents} change events (${(newEvents / s).toFixed(2)}/s), ${newFull} full, ${newElements} elements: ${[...ids].map(([id, n]) => `${id} x${n}`).join(', ') || 'none'}`);
} finally {
  await c.down();
  fs.rmSync(dir, { recursive: true, force: true });
}
