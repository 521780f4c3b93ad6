import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import type { ClusterStatus, EndpointStatus } from '../src/model/events';
import { buildTree, type TreeNode } from '../src/model/tree';
import { describeUpdate, reconcile } from '../src/model/treeDiff';

// A fresh value per call: every poll of the cluster yields new objects.
function status(over: { endpoints?: (eps: EndpointStatus[]) => EndpointStatus[]; sent?: number; link?: string } = {}): ClusterStatus {
  const endpoints: EndpointStatus[] = [
    { name: 'kv_server', number: 1, dc: 0, node: 0, state: 'running', pid: 10, describe: 'receiving from ANY' },
    { name: 'kv_logger', number: 2, dc: 0, node: 0, state: 'running', pid: 11, describe: 'receiving from ANY' },
    { name: 'client_a', number: 20, dc: 0, node: 1, state: 'running', pid: 12, describe: 'waiting for reply from 1' },
  ];
  return {
    name: 'kv',
    nodes: [
      { id: 0, name: 'node0', dir: '/d/0', up: true, links: [{ node: 1, state: over.link ?? 'up', sent: over.sent ?? 5, rcvd: 4 }], dcs: [{ id: 0, name: 'kv' }] },
      { id: 1, name: 'node1', dir: '/d/1', up: true, links: [{ node: 0, state: 'up', sent: 4, rcvd: over.sent ?? 5 }], dcs: [0] },
    ],
    endpoints: over.endpoints ? over.endpoints(endpoints) : endpoints,
  };
}

const find = (roots: TreeNode[], id: string): TreeNode => {
  const stack = [...roots];
  for (let n = stack.pop(); n; n = stack.pop()) {
    if (n.id === id) return n;
    stack.push(...n.children);
  }
  throw new Error(`no ${id}`);
};
const allIds = (roots: TreeNode[]): string[] => roots.flatMap((n) => [n.id, ...allIds(n.children)]);
const set = (name: string, change: Partial<EndpointStatus>) => (eps: EndpointStatus[]) =>
  eps.map((e) => (e.name === name ? { ...e, ...change } : e));

test('an unchanged status fires no change event and keeps every element object', () => {
  const shown = buildTree(status());
  const objects = new Map(allIds(shown).map((id) => [id, find(shown, id)]));
  for (let poll = 0; poll < 5; poll++) {
    const u = reconcile(shown, buildTree(status()));
    assert.deepEqual(u.fire, [], `poll ${poll} fired ${describeUpdate(u)}`);
    assert.deepEqual(u.changes, []);
    assert.equal(u.roots, shown);
    for (const [id, obj] of objects) assert.equal(find(u.roots, id), obj, `${id} is still the object VS Code holds`);
  }
});

test('one endpoint that changed fires a change for that element only', () => {
  const shown = buildTree(status());
  const server = find(shown, 'ep/0/1');
  const u = reconcile(shown, buildTree(status({ endpoints: set('kv_server', { describe: 'sending to 20' }) })));
  assert.notEqual(u.fire, 'all');
  assert.deepEqual(u.fire, [server], 'exactly the kv_server element, as the object shown before');
  assert.equal(server.description, 'sending to 20', 'updated in place');
  assert.equal(server.icon, 'arrow-up');
  assert.equal(server.endpoint?.describe, 'sending to 20', 'the command argument carries the new state');
  assert.deepEqual(u.changes.map((c) => c.id), ['ep/0/1']);
  assert.match(describeUpdate(u), /^refresh ep\/0\/1: ep\/0\/1 description: receiving from ANY → sending to 20, icon: arrow-down → arrow-up/);
  // The same status again: nothing more.
  assert.deepEqual(reconcile(shown, buildTree(status({ endpoints: set('kv_server', { describe: 'sending to 20' }) }))).fire, []);
});

test('moving counters (only in the tooltip) fire nothing, but the tooltip is current', () => {
  const shown = buildTree(status());
  const link = find(shown, 'link/0/1');
  const u = reconcile(shown, buildTree(status({ sent: 99 })));
  assert.deepEqual(u.fire, []);
  assert.match(link.tooltip, /sent 99/);
});

test('a killed endpoint refreshes its DC (whose count changed), and nothing else', () => {
  const shown = buildTree(status());
  const dc = find(shown, 'dc/0/0');
  const logger = find(shown, 'ep/0/2');
  const u = reconcile(shown, buildTree(status({ endpoints: set('kv_logger', { state: 'killed', describe: 'killed', pid: undefined }) })));
  assert.deepEqual(u.fire, [dc], 'the DC only: refreshing it re-fetches its endpoints');
  assert.equal(dc.description, 'DC 0 · 1/2 up');
  assert.equal(find(u.roots, 'ep/0/2'), logger, 'the endpoint keeps its object');
  assert.equal(logger.context, 'endpoint.down');
  assert.deepEqual(u.changes.map((c) => c.id).sort(), ['dc/0/0', 'ep/0/2']);
});

test('a cut link refreshes the Links folder of its node', () => {
  const shown = buildTree(status());
  const u = reconcile(shown, buildTree(status({ link: 'cut' })));
  assert.deepEqual(u.fire, [find(shown, 'links/0')]);
  assert.equal(find(shown, 'link/0/1').context, 'link.down');
});

test('an endpoint that appears refreshes its parent; the others keep their objects', () => {
  const shown = buildTree(status({ endpoints: (eps) => eps.filter((e) => e.name !== 'kv_logger') }));
  const dc = find(shown, 'dc/0/0');
  const server = find(shown, 'ep/0/1');
  const u = reconcile(shown, buildTree(status()));
  assert.deepEqual(u.fire, [dc]);
  assert.deepEqual(dc.children.map((c) => c.id), ['ep/0/1', 'ep/0/2']);
  assert.equal(dc.children[0], server);
  assert.match(describeUpdate(u), /children: \+ep\/0\/2/);
});

test('a change of the roots (cluster stopped or started) is a full refresh', () => {
  const shown = buildTree(status());
  const gone = reconcile(shown, buildTree(undefined));
  assert.equal(gone.fire, 'all');
  assert.deepEqual(gone.roots, []);
  const back = reconcile([], buildTree(status()));
  assert.equal(back.fire, 'all');
  assert.deepEqual(back.roots.map((n) => n.id), ['node/0', 'node/1']);
  assert.deepEqual(reconcile([], []).fire, [], 'nothing to nothing fires nothing');
});
