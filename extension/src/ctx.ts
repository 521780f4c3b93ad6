/**
 * Ctx owns the extension's state and lifetimes: the output channel, the status bar, the
 * running cluster, its trace hub and the current status. Extension-lifetime disposables go
 * to `context.subscriptions`; cluster-lifetime ones to `clusterCleanup`, drained on stop.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

import * as controller from './cluster/controller';
import { TraceHub } from './cluster/traceHub';
import type { ClusterStatus, TraceContext } from './model/events';
import { summarize, type HealthSummary } from './model/tree';

export class Ctx {
  readonly output: vscode.OutputChannel;
  readonly statusBar: vscode.StatusBarItem;
  readonly trace: TraceHub;
  cluster: controller.ClusterHandle | undefined;
  status: ClusterStatus | undefined;
  starting = false;
  private readonly statusEmitter = new vscode.EventEmitter<ClusterStatus | undefined>();
  readonly onDidChangeStatus = this.statusEmitter.event;
  private readonly clusterEmitter = new vscode.EventEmitter<controller.ClusterHandle | undefined>();
  readonly onDidChangeCluster = this.clusterEmitter.event;
  private clusterCleanup: vscode.Disposable[] = [];
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private shownHealth = '';

  constructor(readonly context: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('DVS');
    this.statusBar = vscode.window.createStatusBarItem('dvs.health', vscode.StatusBarAlignment.Left, 10);
    this.statusBar.name = 'DVS Cluster';
    const max = vscode.workspace.getConfiguration('dvs').get<number>('trace.maxEvents', 200_000);
    this.trace = new TraceHub(max, (m) => this.log('trace', m));
    context.subscriptions.push(this.output, this.statusBar, this.statusEmitter, this.clusterEmitter, {
      dispose: () => this.trace.stop(),
    });
    this.configureRuntimeEnv();
    this.updateStatusBar();
  }

  log(source: string, line: string): void {
    this.output.appendLine(`[${source}] ${line}`);
  }

  /**
   * The controller finds dvsd through DVSD / DVS_BUILD_DIR (runtime/src/cluster/paths.ts);
   * point them at the runtime bundled in the .vsix unless the user chose another build.
   */
  private configureRuntimeEnv(): void {
    const setting = vscode.workspace.getConfiguration('dvs').get<string>('runtimePath', '');
    const bundled = this.context.asAbsolutePath(path.join('runtime', 'build'));
    const dir = setting || (fs.existsSync(path.join(bundled, 'dvsd')) ? bundled : '');
    if (!dir) return;
    process.env['DVS_BUILD_DIR'] = dir;
    process.env['DVSD'] = path.join(dir, 'dvsd');
    // The runtime's root holds dist/cluster/ts-register.js, used to run TypeScript endpoints.
    if (!setting) process.env['DVS_RUNTIME_ROOT'] = this.context.asAbsolutePath('runtime');
    const pc = path.join(dir, 'pkgconfig');
    const old = process.env['PKG_CONFIG_PATH'];
    process.env['PKG_CONFIG_PATH'] = old ? `${pc}:${old}` : pc;
  }

  /** The cluster file: the setting, else the first dvs.json of the workspace. */
  async findConfig(): Promise<vscode.Uri | undefined> {
    const folder = vscode.workspace.workspaceFolders?.[0];
    const setting = vscode.workspace.getConfiguration('dvs').get<string>('configFile', '');
    if (setting && folder) {
      const uri = vscode.Uri.joinPath(folder.uri, setting);
      if (fs.existsSync(uri.fsPath)) return uri;
    }
    const found = await vscode.workspace.findFiles('**/dvs.json', '**/node_modules/**', 20);
    found.sort((a, b) => a.fsPath.split(path.sep).length - b.fsPath.split(path.sep).length || a.fsPath.localeCompare(b.fsPath));
    return found[0];
  }

  traceContext(): TraceContext {
    const empty: TraceContext = { nodes: [], dcs: [], endpoints: [], types: [] };
    if (!this.cluster) return empty;
    try {
      const c = controller.loadConfig(this.cluster.file);
      return {
        nodes: c.nodes.map((n) => ({ id: n.id, name: n.name })),
        dcs: c.dcs.map((d) => ({ id: d.id, name: d.name })),
        endpoints: c.endpoints.map((e) => ({ name: e.name, number: e.number, dc: e.dc, node: e.node })),
        types: (c.protocol?.types ?? []).map((t) => ({ name: t.name, number: t.number, layout: t.layout, fields: t.fields, reply: t.reply })),
      };
    } catch {
      return empty;
    }
  }

  setCluster(cluster: controller.ClusterHandle | undefined): void {
    for (const d of this.clusterCleanup) d.dispose();
    this.clusterCleanup = [];
    this.cluster = cluster;
    void vscode.commands.executeCommand('setContext', 'dvs.clusterUp', cluster !== undefined);
    if (cluster) {
      this.trace.clear();
      this.trace.start(cluster);
      this.clusterCleanup.push({ dispose: () => this.trace.stop() });
    } else {
      this.trace.stop();
      this.status = undefined;
      this.statusEmitter.fire(undefined);
    }
    this.clusterEmitter.fire(cluster);
    this.updateStatusBar();
  }

  pushClusterCleanup(d: vscode.Disposable): void {
    this.clusterCleanup.push(d);
  }

  /** Asks the cluster for its status once; concurrent calls coalesce into one more. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        const c = this.cluster;
        if (!c) break;
        try {
          this.status = await c.status();
        } catch (err) {
          this.log('status', (err as Error).message);
          this.status = undefined;
        }
        if (c !== this.cluster) break;
        this.statusEmitter.fire(this.status);
        this.updateStatusBar();
      } while (this.refreshAgain);
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  health(): HealthSummary {
    return summarize(this.cluster ? this.status : undefined, this.starting);
  }

  /** The status bar is derived from one value, `health()`. */
  updateStatusBar(): void {
    const h = this.health();
    // Called after every status poll: every setter below is a message to the workbench
    // (and the tooltip a new object), so nothing is set when the health is the same.
    const key = JSON.stringify([h, this.cluster !== undefined]);
    if (key === this.shownHealth) return;
    this.shownHealth = key;
    const sb = this.statusBar;
    sb.text = `${icon(h.health)} ${h.text}`;
    sb.backgroundColor =
      h.health === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : h.health === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
    const tip = new vscode.MarkdownString(`**DVS cluster** — ${h.detail}\n\n`, true);
    tip.isTrusted = true;
    tip.appendMarkdown(
      this.cluster
        ? '[Show Message Trace](command:dvs.showTrace) · [Stop Cluster](command:dvs.stopCluster) · [Logs](command:dvs.showLogs)'
        : '[Start Cluster](command:dvs.startCluster)',
    );
    sb.tooltip = tip;
    sb.command = this.cluster ? 'dvs.showTrace' : 'dvs.startCluster';
    sb.show();
  }
}

function icon(h: HealthSummary['health']): string {
  switch (h) {
    case 'ok':
      return '$(pass-filled)';
    case 'warning':
      return '$(warning)';
    case 'error':
      return '$(error)';
    case 'starting':
      return '$(loading~spin)';
    default:
      return '$(circle-slash)';
  }
}
