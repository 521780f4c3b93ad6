/**
 * The Cluster view's tree, built from one `cluster.status()` value: nodes → DCs →
 * endpoints, plus each node's links. Pure, so it is unit-tested without VS Code; the
 * TreeDataProvider only turns these items into TreeItems.
 */
import type { ClusterStatus, EndpointStatus, NodeStatus } from './events';

export type TreeKind = 'node' | 'dc' | 'endpoint' | 'links' | 'link';

export interface TreeNode {
  id: string;
  kind: TreeKind;
  label: string;
  description: string;
  tooltip: string;
  /** A codicon name. */
  icon: string;
  /** A theme color id for the icon, when the state deserves one. */
  color?: string;
  /** `contextValue`: the menus in package.json match on it. */
  context: string;
  children: TreeNode[];
  /** What the context actions act on. */
  endpoint?: EndpointStatus;
  link?: { a: number; b: number };
  node?: { id: number; name: string };
}

/**
 * One state word for an endpoint: the runtime says running/dead/not started and describes
 * what a running one does ("receiving from ANY", "sending to 2", "waiting for reply from 1").
 */
export function stateOf(ep: EndpointStatus): string {
  if (ep.state !== 'running') return ep.state;
  const d = ep.describe ?? '';
  if (/^migrat/.test(d)) return 'migrating';
  if (/^sendrec|^waiting for reply/.test(d)) return 'sendrec';
  if (/^sending/.test(d)) return 'sending';
  if (/^receiving/.test(d)) return 'receiving';
  return 'running';
}

/** Short state word → icon and color. */
export function endpointLook(state: string): { icon: string; color?: string } {
  switch (state) {
    case 'dead':
    case 'exited':
    case 'killed':
      return { icon: 'error', color: 'errorForeground' };
    case 'stopped':
    case 'not started':
    case 'unbound':
      return { icon: 'circle-slash', color: 'disabledForeground' };
    case 'migrating':
      return { icon: 'arrow-swap', color: 'charts.yellow' };
    case 'receiving':
      return { icon: 'arrow-down', color: 'charts.blue' };
    case 'sending':
    case 'sendrec':
      return { icon: 'arrow-up', color: 'charts.orange' };
    case 'starting':
      return { icon: 'loading~spin' };
    default:
      return { icon: 'pass-filled', color: 'charts.green' };
  }
}

export function isEndpointUp(ep: EndpointStatus): boolean {
  return !['dead', 'exited', 'killed', 'stopped', 'unbound', 'not started'].includes(ep.state);
}

function dcsOf(node: NodeStatus): Array<{ id: number; name: string }> {
  return node.dcs.map((d) => (typeof d === 'number' ? { id: d, name: `dc${d}` } : d));
}

function endpointItem(ep: EndpointStatus): TreeNode {
  const look = endpointLook(stateOf(ep));
  const up = isEndpointUp(ep);
  return {
    id: `ep/${ep.dc}/${ep.number}`,
    kind: 'endpoint',
    label: `${ep.name} (${ep.number})`,
    description: ep.describe || ep.state,
    tooltip: `${ep.name}: endpoint ${ep.number} of DC ${ep.dc} on node ${ep.node}\n${ep.describe || ep.state}${ep.pid ? `\npid ${ep.pid}` : ''}`,
    icon: look.icon,
    color: look.color,
    context: up ? 'endpoint.up' : 'endpoint.down',
    children: [],
    endpoint: ep,
  };
}

export function buildTree(status: ClusterStatus | undefined): TreeNode[] {
  if (!status) return [];
  const nodeName = new Map(status.nodes.map((n) => [n.id, n.name]));
  return status.nodes.map((node) => {
    const dcs = dcsOf(node).map((dc): TreeNode => {
      const eps = status.endpoints
        .filter((e) => e.node === node.id && e.dc === dc.id)
        .sort((a, b) => a.number - b.number)
        .map(endpointItem);
      const live = eps.filter((e) => e.endpoint && isEndpointUp(e.endpoint)).length;
      return {
        id: `dc/${node.id}/${dc.id}`,
        kind: 'dc',
        label: `${dc.name}`,
        description: `DC ${dc.id} · ${live}/${eps.length} up`,
        tooltip: `Distributed container ${dc.id} (${dc.name}) on node ${node.name}`,
        icon: 'package',
        context: 'dc',
        children: eps,
      };
    });
    const children = [...dcs];
    if (node.links.length > 0) {
      const links = node.links.map((l): TreeNode => {
        const up = l.state === 'up' || l.state === 'connected';
        return {
          id: `link/${node.id}/${l.node}`,
          kind: 'link',
          label: `→ ${nodeName.get(l.node) ?? `node ${l.node}`}`,
          description: l.state,
          // The counters move with every message: they live in the tooltip, which does not
          // force the row to be redrawn.
          tooltip: `Link from ${node.name} to ${nodeName.get(l.node) ?? l.node}: ${l.state}\nsent ${l.sent} · received ${l.rcvd}`,
          icon: up ? 'plug' : 'debug-disconnect',
          color: up ? undefined : 'errorForeground',
          context: up ? 'link.up' : 'link.down',
          children: [],
          link: { a: node.id, b: l.node },
        };
      });
      children.push({
        id: `links/${node.id}`,
        kind: 'links',
        label: 'Links',
        description: `${links.filter((l) => l.context === 'link.up').length}/${links.length} up`,
        tooltip: 'Proxy links to the other nodes',
        icon: 'type-hierarchy',
        context: 'links',
        children: links,
      });
    }
    return {
      id: `node/${node.id}`,
      kind: 'node',
      label: node.name,
      description: node.up ? `node ${node.id} · up` : `node ${node.id} · down`,
      tooltip: `Node ${node.id} (${node.name})\n${node.dir}`,
      icon: 'server',
      color: node.up ? undefined : 'errorForeground',
      context: node.up ? 'node.up' : 'node.down',
      node: { id: node.id, name: node.name },
      children,
    };
  });
}

export type Health = 'stopped' | 'starting' | 'ok' | 'warning' | 'error';

export interface HealthSummary {
  health: Health;
  text: string;
  detail: string;
}

/** The status bar's one value, derived from a status (or from no cluster at all). */
export function summarize(status: ClusterStatus | undefined, starting = false): HealthSummary {
  if (starting) return { health: 'starting', text: 'DVS: starting…', detail: 'The cluster is starting.' };
  if (!status) return { health: 'stopped', text: 'DVS: stopped', detail: 'No cluster is running.' };
  const nodesUp = status.nodes.filter((n) => n.up).length;
  const epsUp = status.endpoints.filter(isEndpointUp).length;
  const linksDown = status.nodes.flatMap((n) => n.links).filter((l) => !(l.state === 'up' || l.state === 'connected')).length;
  const counts = `${nodesUp}/${status.nodes.length} nodes, ${epsUp}/${status.endpoints.length} endpoints`;
  if (nodesUp === 0) return { health: 'error', text: `DVS ${status.name}: down`, detail: `No node of ${status.name} answers.` };
  if (nodesUp < status.nodes.length) return { health: 'error', text: `DVS ${status.name}: ${counts}`, detail: 'A node is down.' };
  if (linksDown > 0) return { health: 'warning', text: `DVS ${status.name}: ${linksDown} link(s) down`, detail: counts };
  const dead = status.endpoints.filter((e) => e.state === 'dead' || e.state === 'killed');
  if (dead.length > 0) {
    return { health: 'warning', text: `DVS ${status.name}: ${counts}`, detail: `Dead: ${dead.map((e) => e.name).join(', ')}` };
  }
  return { health: 'ok', text: `DVS ${status.name}: ${counts}`, detail: `Cluster ${status.name} is healthy.` };
}

/**
 * The nodes an endpoint can be migrated to (`dvs migrate`): up, carrying the
 * endpoint's DC, and not the node it runs on now.
 */
export function migrationTargets(status: ClusterStatus, ep: EndpointStatus): Array<{ id: number; name: string }> {
  return status.nodes
    .filter((n) => n.up && n.id !== ep.node && n.dcs.some((d) => (typeof d === 'number' ? d : d.id) === ep.dc))
    .map((n) => ({ id: n.id, name: n.name }));
}
