/**
 * DVS IPC for VS Code. `activate` is the table of contents: the context, every command
 * from one table, the Cluster view, the debug type, and the language client.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';

import { createClient } from './client';
import * as controller from './cluster/controller';
import { feedLiveStats } from './cluster/liveFeed';
import { chromeTrace, jsonLines } from './cluster/traceHub';
import { Ctx } from './ctx';
import { registerDebug } from './debug';
import type { CommandId } from './model/commandIds';
import { configTemplate } from './model/template';
import { migrationTargets, type TreeNode } from './model/tree';
import { ClusterView } from './views/clusterView';
import { TracePanel } from './webviews/tracePanel';

let client: LanguageClient | undefined;
let ctxRef: Ctx | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  try {
    const ctx = new Ctx(context);
    ctxRef = ctx;
    const handlers = createCommands(ctx);
    for (const [id, fn] of Object.entries(handlers)) context.subscriptions.push(vscode.commands.registerCommand(id, fn));
    context.subscriptions.push(new ClusterView(ctx), ...registerDebug(ctx, (f, o) => startCluster(ctx, f, o), () => stopCluster(ctx)));
    await watchConfig(ctx);
    await reattach(ctx);
    client = createClient(context, ctx.output);
    if (client) {
      await client.start().catch((err: Error) => ctx.log('language server', `did not start: ${err.message}`));
      context.subscriptions.push(feedLiveStats(ctx, client));
    }
  } catch (err) {
    // VS Code does not show a notification when activation fails, so we do.
    void vscode.window.showErrorMessage(`DVS IPC failed to activate: ${(err as Error).message}`);
    throw err;
  }
}

export async function deactivate(): Promise<void> {
  // The cluster belongs to the window that started it; it stops with the window.
  if (ctxRef?.cluster) await ctxRef.cluster.down().catch(() => undefined);
  if (client) await client.stop().catch(() => undefined);
}

type Handler = (...args: never[]) => unknown;

function createCommands(ctx: Ctx): Record<CommandId, Handler> {
  return {
    'dvs.startCluster': async () => {
      const uri = await ctx.findConfig();
      if (!uri) {
        const pick = await vscode.window.showWarningMessage('DVS: this workspace has no dvs.json.', 'Create dvs.json');
        if (pick) await vscode.commands.executeCommand('dvs.createConfig');
        return;
      }
      await startCluster(ctx, uri);
    },
    'dvs.stopCluster': () => stopCluster(ctx),
    'dvs.showTrace': () => {
      TracePanel.createOrShow(ctx);
    },
    'dvs.exportTrace': async (format?: 'chrome' | 'jsonl') => {
      const events = ctx.trace.all();
      if (events.length === 0) {
        void vscode.window.showInformationMessage('DVS: the trace is empty; start the cluster first.');
        return;
      }
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      const target = await vscode.window.showSaveDialog({
        title: 'Export DVS trace',
        defaultUri: folder ? vscode.Uri.joinPath(folder, format === 'jsonl' ? 'dvs-trace.jsonl' : 'dvs-trace.json') : undefined,
        filters: format === 'jsonl' ? { 'JSON lines': ['jsonl'] } : { 'Chrome trace (Perfetto)': ['json'], 'JSON lines': ['jsonl'] },
      });
      if (!target) return;
      const asLines = format === 'jsonl' || target.fsPath.endsWith('.jsonl');
      const text = asLines ? jsonLines(events) : chromeTrace(events, ctx.traceContext().types);
      await vscode.workspace.fs.writeFile(target, Buffer.from(text, 'utf8'));
      void vscode.window.showInformationMessage(`DVS: exported ${events.length} events to ${path.basename(target.fsPath)}.`);
    },
    'dvs.createConfig': async () => {
      const folder = vscode.workspace.workspaceFolders?.[0];
      if (!folder) {
        void vscode.window.showErrorMessage('DVS: open a folder first; dvs.json goes to its root.');
        return;
      }
      const uri = vscode.Uri.joinPath(folder.uri, 'dvs.json');
      if (fs.existsSync(uri.fsPath)) {
        void vscode.window.showInformationMessage('DVS: dvs.json already exists.');
      } else {
        await vscode.workspace.fs.writeFile(uri, Buffer.from(configTemplate(path.basename(folder.uri.fsPath).replace(/[^\w-]/g, '-')), 'utf8'));
      }
      await vscode.window.showTextDocument(uri);
    },
    'dvs.refreshCluster': () => ctx.refresh(),
    'dvs.showLogs': () => ctx.output.show(true),
    'dvs.endpoint.stop': (n?: TreeNode) => endpointAction(ctx, n, 'stop'),
    'dvs.endpoint.restart': (n?: TreeNode) => endpointAction(ctx, n, 'restart'),
    'dvs.endpoint.kill': (n?: TreeNode) => endpointAction(ctx, n, 'kill'),
    'dvs.endpoint.migrate': (n?: TreeNode) => migrateAction(ctx, n),
    'dvs.link.cut': (n?: TreeNode) => linkAction(ctx, n, 'cut'),
    'dvs.link.restore': (n?: TreeNode) => linkAction(ctx, n, 'restore'),
    'dvs.node.crash': (n?: TreeNode) => nodeAction(ctx, n, 'crash'),
    'dvs.node.restart': (n?: TreeNode) => nodeAction(ctx, n, 'restart'),
  };
}

async function startCluster(
  ctx: Ctx,
  uri: vscode.Uri,
  debug?: { inspect: 'inspect' | 'inspect-brk'; onDebugTarget: (t: controller.DebugTarget) => void },
): Promise<boolean> {
  if (ctx.cluster) {
    if (!debug) {
      void vscode.window.showInformationMessage(`DVS: cluster ${ctx.cluster.name} is already running.`);
      return true;
    }
    await stopCluster(ctx);
  }
  ctx.starting = true;
  ctx.updateStatusBar();
  ctx.log('cluster', `starting ${uri.fsPath}`);
  try {
    const cluster = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'DVS: starting the cluster', cancellable: true },
      (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        let last = 0;
        return controller.up(uri.fsPath, {
          signal: abort.signal,
          onProgress: (step, done, total) => {
            const pct = total > 0 ? (done / total) * 100 : 0;
            progress.report({ message: step, increment: Math.max(0, pct - last) });
            last = pct;
          },
          onLog: (source, line) => ctx.log(source, line),
          inspect: debug?.inspect ?? 'off',
          onDebugTarget: debug?.onDebugTarget,
        });
      },
    );
    ctx.starting = false;
    ctx.setCluster(cluster);
    ctx.log('cluster', `${cluster.name} is up (${cluster.nodes.length} node(s))`);
    if (!cluster.supports.trace) ctx.log('trace', 'this runtime has no trace subscription yet; the Message Trace stays empty');
    await ctx.refresh();
    if (vscode.workspace.getConfiguration('dvs').get<boolean>('trace.openOnStart', false)) TracePanel.createOrShow(ctx);
    return true;
  } catch (err) {
    ctx.starting = false;
    ctx.updateStatusBar();
    ctx.log('cluster', `start failed: ${(err as Error).message}`);
    void vscode.window.showErrorMessage(`DVS: the cluster did not start: ${(err as Error).message.split('\n')[0]}`, 'Show Logs').then((p) => {
      if (p) ctx.output.show(true);
    });
    return false;
  }
}

async function stopCluster(ctx: Ctx): Promise<void> {
  const c = ctx.cluster;
  if (!c) return;
  ctx.log('cluster', `stopping ${c.name}`);
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'DVS: stopping the cluster' }, () =>
    c.down().catch((err: Error) => ctx.log('cluster', `stop: ${err.message}`)),
  );
  ctx.setCluster(undefined);
  ctx.log('cluster', `${c.name} stopped`);
}

async function endpointAction(ctx: Ctx, n: TreeNode | undefined, action: 'stop' | 'restart' | 'kill'): Promise<void> {
  ctx.log('view', `${action}: invoked with ${n ? n.id : 'no tree item'}`);
  const ep = n?.endpoint;
  const c = ctx.cluster;
  if (!ep || !c) {
    void vscode.window.showInformationMessage(c ? 'DVS: choose an endpoint in the Cluster view.' : 'DVS: no cluster is running.');
    return;
  }
  try {
    await c[action](ep.number, ep.dc);
    ctx.log(ep.name, `${action} done`);
  } catch (err) {
    void vscode.window.showErrorMessage(`DVS: ${action} ${ep.name}: ${(err as Error).message}`);
  }
  await ctx.refresh();
}

/** Moves an endpoint to a node the user picks, like `dvs migrate EP NODE`, with the steps as progress. */
async function migrateAction(ctx: Ctx, n: TreeNode | undefined): Promise<void> {
  ctx.log('view', `migrate: invoked with ${n ? n.id : 'no tree item'}`);
  const ep = n?.endpoint;
  const c = ctx.cluster;
  if (!ep || !c) {
    void vscode.window.showInformationMessage(c ? 'DVS: choose an endpoint in the Cluster view.' : 'DVS: no cluster is running.');
    return;
  }
  if (!c.supports.migrate) {
    void vscode.window.showInformationMessage(`DVS: migrating ${ep.name} is not supported by this runtime (its Cluster controller has no migrate).`);
    return;
  }
  const targets = migrationTargets(await c.status(), ep);
  if (targets.length === 0) {
    void vscode.window.showInformationMessage(`DVS: there is no other running node of DC ${ep.dc} to move ${ep.name} to.`);
    return;
  }
  const pick = await vscode.window.showQuickPick(
    targets.map((t) => ({ label: t.name, description: `node ${t.id}`, id: t.id })),
    { title: `Migrate ${ep.name} (endpoint ${ep.number}) to…`, placeHolder: 'callers wait and are replayed on the new node' },
  );
  if (!pick) return;
  try {
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `DVS: migrating ${ep.name} to ${pick.label}` },
      (progress) =>
        c.migrate(ep.number, pick.id, ep.dc, (step, done, total) => {
          progress.report({ message: `[${done}/${total}] ${step}` });
          ctx.log(ep.name, `migrate: [${done}/${total}] ${step}`);
        }),
    );
    ctx.log(ep.name, `migrated to ${pick.label}`);
  } catch (err) {
    void vscode.window.showErrorMessage(`DVS: migrate ${ep.name}: ${(err as Error).message}`);
  }
  await ctx.refresh();
}

async function linkAction(ctx: Ctx, n: TreeNode | undefined, action: 'cut' | 'restore'): Promise<void> {
  ctx.log('view', `${action}: invoked with ${n ? n.id : 'no tree item'}`);
  const link = n?.link;
  const c = ctx.cluster;
  if (!link || !c) return;
  try {
    await (action === 'cut' ? c.linkCut(link.a, link.b) : c.linkRestore(link.a, link.b));
    ctx.log('links', `${action} ${link.a} ↔ ${link.b}`);
  } catch (err) {
    void vscode.window.showErrorMessage(`DVS: ${action} link ${link.a} ↔ ${link.b}: ${(err as Error).message}`);
  }
  await ctx.refresh();
}

async function nodeAction(ctx: Ctx, n: TreeNode | undefined, action: 'crash' | 'restart'): Promise<void> {
  ctx.log('view', `${action}: invoked with ${n ? n.id : 'no tree item'}`);
  const node = n?.node;
  const c = ctx.cluster;
  if (!node || !c) return;
  try {
    if (action === 'crash') await c.crashNode(node.id);
    else {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `DVS: restarting ${node.name}…` },
        () => c.restartNode(node.id),
      );
    }
    ctx.log('cluster', `${action} ${node.name} done`);
  } catch (err) {
    void vscode.window.showErrorMessage(`DVS: ${action} ${node.name}: ${(err as Error).message}`);
  }
  await ctx.refresh();
}

/** Keeps the `dvs.hasConfig` context key (welcome content, walkthrough) current. */
async function watchConfig(ctx: Ctx): Promise<void> {
  const update = async () => vscode.commands.executeCommand('setContext', 'dvs.hasConfig', (await ctx.findConfig()) !== undefined);
  const w = vscode.workspace.createFileSystemWatcher('**/dvs.json');
  ctx.context.subscriptions.push(w, w.onDidCreate(update), w.onDidDelete(update));
  await update();
  await vscode.commands.executeCommand('setContext', 'dvs.clusterUp', false);
}

/** A cluster left running by an earlier window is picked up again. */
async function reattach(ctx: Ctx): Promise<void> {
  const uri = await ctx.findConfig();
  if (!uri) return;
  try {
    const c = await controller.attach(uri.fsPath, (source, line) => ctx.log(source, line));
    if (c) {
      ctx.setCluster(c);
      ctx.log('cluster', `attached to the running cluster ${c.name}`);
      await ctx.refresh();
    }
  } catch {
    // An invalid dvs.json is reported by the language server; nothing to attach to.
  }
}
