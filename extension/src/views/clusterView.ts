/**
 * The Cluster view: nodes → DCs → endpoints (and links) from `cluster.status()`.
 *
 * It refreshes when trace events arrive (debounced) and when the user acts. While the view
 * is hidden nothing is fetched; on becoming visible it fetches once. While visible a slow
 * safety refresh (every 3 s) runs, because some state changes produce no trace event
 * (a process blocking in receive, a daemon dying) — it stops as soon as the view hides.
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
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly view: vscode.TreeView<TreeNode>;
  private roots: TreeNode[] = [];
  private disposables: vscode.Disposable[] = [];
  private safety: ReturnType<typeof setInterval> | undefined;
  private debounce: ReturnType<typeof setTimeout> | undefined;
  private stale = false;
  private debounceDelay = 0;
  private shown = '';

  constructor(private readonly ctx: Ctx) {
    this.view = vscode.window.createTreeView('dvs.cluster', { treeDataProvider: this, showCollapseAll: true });
    this.disposables.push(
      this.view,
      this.changed,
      this.view.onDidChangeVisibility(() => this.onVisibility()),
      ctx.onDidChangeStatus((s) => {
        const roots = buildTree(s);
        // Re-render only on a real change: a tree redrawn under the mouse loses clicks.
        const key = JSON.stringify(roots, (k, v) => (k === 'endpoint' || k === 'link' || k === 'tooltip' ? undefined : v));
        this.view.message = ctx.cluster && !s ? 'The cluster does not answer.' : undefined;
        if (key === this.shown) return;
        this.shown = key;
        if (vscode.workspace.getConfiguration('dvs').get<boolean>('clusterView.logRefreshes', false)) {
          const copy = (t: TreeNode[]): TreeNode[] => JSON.parse(JSON.stringify(t)) as TreeNode[];
          ctx.log('view', `${new Date().toISOString().slice(11, 23)} [fires: full] ${describeUpdate(reconcile(copy(this.roots), copy(roots)))}`);
        }
        this.roots = roots;
        this.changed.fire(undefined);
      }),
      ctx.onDidChangeCluster(() => {
        this.roots = [];
        this.shown = '';
        this.changed.fire(undefined);
        this.onVisibility();
      }),
      ctx.trace.onEvents((batch) => {
        // Any IPC event may change a state; bind/unbind/errors certainly do.
        if (batch.length > 0) this.schedule(batch.some((e) => STRUCTURAL.has(e.op)) ? STRUCTURE_DEBOUNCE_MS : IPC_DEBOUNCE_MS);
      }),
    );
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
    item.tooltip = n.tooltip;
    item.contextValue = n.context;
    item.iconPath = new vscode.ThemeIcon(n.icon, n.color ? new vscode.ThemeColor(n.color) : undefined);
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
