/**
 * The Cluster view: nodes → DCs → endpoints (and links) from `cluster.status()`.
 *
 * It refreshes when trace events arrive (debounced) and when the user acts. While the view
 * is hidden nothing is fetched; on becoming visible it fetches once. While visible a slow
 * safety refresh (every 3 s) runs, because some state changes produce no trace event
 * (a process blocking in receive, a daemon dying) — it stops as soon as the view hides.
 *
 * A poll never redraws the whole tree: each status is merged into the elements shown
 * (model/treeDiff.ts) and only the elements whose row changed are refreshed. A full refresh
 * makes VS Code drop every element handle until the workbench has fetched the tree again,
 * and a context-menu or inline action clicked meanwhile reached its command without the
 * tree item: that lost clicks whenever IPC traffic changed an endpoint's state.
 */
import * as vscode from 'vscode';

import type { Ctx } from '../ctx';
import { buildTree, type TreeNode } from '../model/tree';
import { describeUpdate, reconcile } from '../model/treeDiff';

const SAFETY_REFRESH_MS = 3000;
/** bind/unbind/errors change the tree for sure; plain IPC only flips sending/receiving. */
const STRUCTURE_DEBOUNCE_MS = 300;
const IPC_DEBOUNCE_MS = 1500;
const STRUCTURAL = new Set(['bind', 'unbind', 'error', 'timeout', 'link', 'migr_start', 'migr_commit', 'migr_rollback']);

export class ClusterView implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TreeNode | TreeNode[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly view: vscode.TreeView<TreeNode>;
  /** The elements VS Code holds: one object per id, updated in place (see treeDiff.ts). */
  private roots: TreeNode[] = [];
  private disposables: vscode.Disposable[] = [];
  private safety: ReturnType<typeof setInterval> | undefined;
  private debounce: ReturnType<typeof setTimeout> | undefined;
  private stale = false;
  private debounceDelay = 0;

  constructor(private readonly ctx: Ctx) {
    this.view = vscode.window.createTreeView('dvs.cluster', { treeDataProvider: this, showCollapseAll: true });
    this.disposables.push(
      this.view,
      this.changed,
      this.view.onDidChangeVisibility(() => this.onVisibility()),
      ctx.onDidChangeStatus((s) => {
        // Setting the message is a round trip to the workbench (and a re-layout of the
        // tree) even when it is the same text: only on a change.
        const message = ctx.cluster && !s ? 'The cluster does not answer.' : undefined;
        if (this.view.message !== message) this.view.message = message;
        this.update(buildTree(s));
      }),
      ctx.onDidChangeCluster(() => {
        this.update([]);
        this.onVisibility();
      }),
      ctx.trace.onEvents((batch) => {
        // Any IPC event may change a state; bind/unbind/errors certainly do.
        if (batch.length > 0) this.schedule(batch.some((e) => STRUCTURAL.has(e.op)) ? STRUCTURE_DEBOUNCE_MS : IPC_DEBOUNCE_MS);
      }),
    );
  }

  /** Shows a new tree: refreshes only the elements that changed (nothing, most polls). */
  private update(next: TreeNode[]): void {
    const u = reconcile(this.roots, next);
    this.roots = u.roots;
    if (u.fire !== 'all' && u.fire.length === 0) return;
    if (vscode.workspace.getConfiguration('dvs').get<boolean>('clusterView.logRefreshes', false)) {
      this.ctx.log('view', `${new Date().toISOString().slice(11, 23)} ${describeUpdate(u)}`);
    }
    this.changed.fire(u.fire === 'all' ? undefined : u.fire);
  }

  private schedule(delay: number): void {
    // Hidden: the tree is not rebuilt on screen, but the status bar still deserves the news.
    if (!this.view.visible) this.stale = true;
    if (this.debounce && delay >= this.debounceDelay) return;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounceDelay = delay;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.ctx.refresh();
    }, delay);
  }

  private onVisibility(): void {
    if (this.safety) clearInterval(this.safety);
    this.safety = undefined;
    if (!this.view.visible || !this.ctx.cluster) return;
    if (this.stale || this.roots.length === 0) void this.ctx.refresh();
    this.stale = false;
    this.safety = setInterval(() => void this.ctx.refresh(), SAFETY_REFRESH_MS);
  }

  getTreeItem(n: TreeNode): vscode.TreeItem {
    const item = new vscode.TreeItem(
      n.label,
      n.children.length > 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
    );
    item.id = n.id;
    item.description = n.description;
    item.contextValue = n.context;
    item.iconPath = new vscode.ThemeIcon(n.icon, n.color ? new vscode.ThemeColor(n.color) : undefined);
    // No tooltip here: it holds moving counters, which must not refresh the row; it is
    // resolved when the pointer rests on the row, from the element updated in place.
    return item;
  }

  resolveTreeItem(item: vscode.TreeItem, n: TreeNode): vscode.TreeItem {
    item.tooltip = n.tooltip;
    return item;
  }

  getChildren(n?: TreeNode): TreeNode[] {
    return n ? n.children : this.roots;
  }

  dispose(): void {
    if (this.safety) clearInterval(this.safety);
    if (this.debounce) clearTimeout(this.debounce);
    for (const d of this.disposables) d.dispose();
  }
}
