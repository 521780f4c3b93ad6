/**
 * Turns a freshly built Cluster tree into the smallest `onDidChangeTreeData` event.
 *
 * Why: a full refresh (`fire(undefined)`) makes VS Code's extension host forget every
 * element handle at once (it clears its handle → element map and waits for the workbench to
 * fetch the children again, one round trip per expanded level). A context-menu or inline
 * action clicked in that window reaches the command with `undefined` instead of the tree
 * item, so the click is lost. The status is polled while the view is visible and IPC flips
 * endpoints between "receiving" and "sending" all the time, so a full refresh per poll lost
 * clicks regularly. Refreshing one element keeps the handles of everything outside it.
 *
 * So the view keeps ONE object per tree id for as long as the id exists (VS Code finds the
 * element to refresh by object identity), copies new values into it, and fires only the
 * elements whose row looks different. Pure: unit-tested without VS Code.
 */
import type { TreeNode } from './tree';

/** What a row shows. The tooltip is not here: it is resolved on hover (resolveTreeItem). */
const VISIBLE = ['label', 'description', 'icon', 'color', 'context'] as const;

export interface TreeChange {
  id: string;
  /** e.g. `description: receiving from ANY → sending to 20`, or `children: +ep/0/3 -ep/0/2` */
  what: string[];
}

export interface TreeUpdate {
  /** The roots to show: the previous objects, updated in place, wherever an id survived. */
  roots: TreeNode[];
  /**
   * `'all'`: the root list itself changed, refresh everything (a cluster started, stopped or
   * lost its status). Otherwise the elements to refresh, outermost only (refreshing an element
   * re-fetches its children anyway); empty when nothing a user can see changed.
   */
  fire: TreeNode[] | 'all';
  /** What changed, for the log. */
  changes: TreeChange[];
}

const sameIds = (a: readonly TreeNode[], b: readonly TreeNode[]): boolean =>
  a.length === b.length && a.every((n, i) => n.id === b[i]!.id);

/**
 * Merges `next` into `prev` (mutating the objects of `prev`, which VS Code holds) and says
 * which elements must be refreshed. `next`'s objects are adopted only for new ids.
 */
export function reconcile(prev: TreeNode[], next: TreeNode[]): TreeUpdate {
  if (!sameIds(prev, next)) {
    const ids = (l: readonly TreeNode[]) => l.map((n) => n.id).join(' ') || '(none)';
    return { roots: next, fire: 'all', changes: [{ id: '(roots)', what: [`${ids(prev)} → ${ids(next)}`] }] };
  }
  const fire: TreeNode[] = [];
  const changes: TreeChange[] = [];
  prev.forEach((p, i) => merge(p, next[i]!, fire, changes, false));
  return { roots: prev, fire, changes };
}

/**
 * Copies `n` into `p` (same id). `covered`: an ancestor is refreshed already, which
 * re-fetches this element too, so it is not fired again.
 */
function merge(p: TreeNode, n: TreeNode, fire: TreeNode[], changes: TreeChange[], covered: boolean): void {
  const what: string[] = [];
  for (const k of VISIBLE) {
    if (p[k] !== n[k]) what.push(`${k}: ${p[k] ?? '-'} → ${n[k] ?? '-'}`);
  }
  // Not shown on the row (or shown only on hover): kept current without a refresh, so a
  // command acts on the latest endpoint/link and the tooltip is current when resolved.
  p.kind = n.kind;
  p.tooltip = n.tooltip;
  p.endpoint = n.endpoint;
  p.link = n.link;
  p.node = n.node;
  for (const k of VISIBLE) (p as unknown as Record<string, unknown>)[k] = n[k];

  let mine = covered;
  if (!sameIds(p.children, n.children)) {
    const before = new Set(p.children.map((c) => c.id));
    const after = new Set(n.children.map((c) => c.id));
    const added = n.children.filter((c) => !before.has(c.id)).map((c) => `+${c.id}`);
    const removed = p.children.filter((c) => !after.has(c.id)).map((c) => `-${c.id}`);
    what.push(`children: ${[...added, ...removed].join(' ') || 'reordered'}`);
    // Kept children stay the same objects (merged below); new ones are adopted as built.
    const old = new Map(p.children.map((c) => [c.id, c]));
    const kids = n.children.map((c) => {
      const o = old.get(c.id);
      if (!o) return c;
      merge(o, c, fire, changes, true);
      return o;
    });
    p.children = kids;
    if (what.length > 0) changes.push({ id: p.id, what });
    if (!covered) fire.push(p);
    return;
  }
  if (what.length > 0) {
    changes.push({ id: p.id, what });
    if (!covered) fire.push(p);
    mine = true;
  }
  p.children.forEach((c, i) => merge(c, n.children[i]!, fire, changes, mine));
}

/** One log line per update: `3 change(s): ep/0/1 description: a → b; …`. */
export function describeUpdate(u: TreeUpdate): string {
  const scope = u.fire === 'all' ? 'full refresh' : `refresh ${u.fire.map((n) => n.id).join(', ')}`;
  return `${scope}: ${u.changes.map((c) => `${c.id} ${c.what.join(', ')}`).join('; ')}`;
}
