import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import type { ClusterStatus } from '../src/model/events';
import { buildTree, migrationTargets, summarize } from '../src/model/tree';

const status: ClusterStatus = {
  name: 'kv',
  nodes: [
    { id: 0, name: 'node0', dir: '/d/0', up: true, links: [{ node: 1, state: 'up', sent: 5, rcvd: 4 }], dcs: [{ id: 0, name: 'kv' }] },
    { id: 1, name: 'node1', dir: '/d/1', up: true, links: [{ node: 0, state: 'down', sent: 1, rcvd: 0 }], dcs: [0] },
  ],
  endpoints: [
    { name: 'KV_LOGGER', number: 2, dc: 0, node: 0, state: 'running', pid: 11, describe: 'receiving from ANY' },
    { name: 'KV_SERVER', number: 1, dc: 0, node: 0, state: 'running', pid: 10, describe: 'running' },
    { name: 'CLIENT', number: 20, dc: 0, node: 1, state: 'dead', describe: 'dead (exit status 1)' },
  ],
};

test('builds nodes → DCs → endpoints, sorted, with state and context values', () => {
  const t = buildTree(status);
  assert.deepEqual(t.map((n) => n.label), ['node0', 'node1']);
  const dc = t[0]!.children[0]!;
  assert.equal(dc.kind, 'dc');
  assert.equal(dc.description, 'DC 0 · 2/2 up');
  assert.deepEqual(dc.children.map((e) => [e.label, e.description, e.context]), [
    ['KV_SERVER (1)', 'running', 'endpoint.up'],
    ['KV_LOGGER (2)', 'receiving from ANY', 'endpoint.up'],
  ]);
  assert.equal(dc.children[1]!.icon, 'arrow-down', 'receiving is derived from the description');
  const client = t[1]!.children[0]!.children[0]!;
  assert.equal(client.context, 'endpoint.down');
  assert.equal(client.icon, 'error');
  assert.equal(t[1]!.children[0]!.label, 'dc0', 'a DC given as a bare id gets a default name');
});

test('links appear under their node with cut/restore context values', () => {
  const t = buildTree(status);
  const links0 = t[0]!.children.find((c) => c.kind === 'links')!;
  assert.equal(links0.children[0]!.context, 'link.up');
  assert.deepEqual(links0.children[0]!.link, { a: 0, b: 1 });
  const links1 = t[1]!.children.find((c) => c.kind === 'links')!;
  assert.equal(links1.children[0]!.context, 'link.down');
});

test('no status, no tree', () => {
  assert.deepEqual(buildTree(undefined), []);
});

test('the status bar health is derived from one status value', () => {
  assert.equal(summarize(undefined).health, 'stopped');
  assert.equal(summarize(undefined, true).health, 'starting');
  assert.equal(summarize(status).health, 'warning');
  assert.match(summarize(status).text, /1 link\(s\) down/);
  const healthy: ClusterStatus = {
    ...status,
    nodes: status.nodes.map((n) => ({ ...n, links: [] })),
    endpoints: status.endpoints.slice(0, 2),
  };
  assert.deepEqual(summarize(healthy), { health: 'ok', text: 'DVS kv: 2/2 nodes, 2/2 endpoints', detail: 'Cluster kv is healthy.' });
  const nodeDown: ClusterStatus = { ...healthy, nodes: [healthy.nodes[0]!, { ...healthy.nodes[1]!, up: false }] };
  assert.equal(summarize(nodeDown).health, 'error');
});

test('nodes carry what the crash/restart node actions act on, and an up/down context value', () => {
  const down: ClusterStatus = { ...status, nodes: [status.nodes[0]!, { ...status.nodes[1]!, up: false }] };
  const t = buildTree(down);
  assert.deepEqual(t.map((n) => [n.context, n.node]), [
    ['node.up', { id: 0, name: 'node0' }],
    ['node.down', { id: 1, name: 'node1' }],
  ]);
});

test('migration targets: other running nodes of the endpoint\'s DC', () => {
  const three: ClusterStatus = {
    ...status,
    nodes: [
      ...status.nodes,
      { id: 2, name: 'node2', dir: '/d/2', up: false, links: [], dcs: [0] },
      { id: 3, name: 'node3', dir: '/d/3', up: true, links: [], dcs: [{ id: 1, name: 'other' }] },
    ],
  };
  const server = status.endpoints.find((e) => e.name === 'KV_SERVER')!;
  assert.deepEqual(migrationTargets(three, server), [{ id: 1, name: 'node1' }], 'not its own node, not a down node, not another DC');
  assert.deepEqual(migrationTargets(three, { ...server, node: 1 }), [{ id: 0, name: 'node0' }]);
});
