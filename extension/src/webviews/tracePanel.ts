/**
 * The Message Trace panel (a webview). The extension host pushes event batches with
 * postMessage; while the panel is hidden nothing is posted (the webview is not kept alive
 * when hidden, so nothing renders either) and on becoming visible again it receives the
 * hub's events in one `init`. The page may load only from media/, under a strict CSP
 * with a per-render nonce.
 */
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';

import type { Ctx } from '../ctx';
import type { TraceEvent } from '../model/events';

export type ToWebview =
  | { type: 'init'; context: ReturnType<Ctx['traceContext']>; events: readonly TraceEvent[]; dropped: number; live: boolean }
  | { type: 'events'; batch: TraceEvent[] }
  | { type: 'context'; context: ReturnType<Ctx['traceContext']>; live: boolean };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'open'; file: string; line: number }
  | { type: 'export'; format: 'chrome' | 'jsonl' };

export class TracePanel {
  static readonly viewType = 'dvs.trace';
  static current: TracePanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;

  static createOrShow(ctx: Ctx): TracePanel {
    if (TracePanel.current) {
      TracePanel.current.panel.reveal(vscode.ViewColumn.Active);
      return TracePanel.current;
    }
    const panel = vscode.window.createWebviewPanel(TracePanel.viewType, 'DVS Message Trace', vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [vscode.Uri.joinPath(ctx.context.extensionUri, 'media')],
    });
    TracePanel.current = new TracePanel(panel, ctx);
    return TracePanel.current;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly ctx: Ctx,
  ) {
    panel.iconPath = vscode.Uri.joinPath(ctx.context.extensionUri, 'media', 'dvs.svg');
    panel.webview.html = this.html();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: FromWebview) => void this.onMessage(m)),
      panel.onDidChangeViewState(() => {
        // The page is torn down when hidden and sends `ready` again when shown.
        if (!panel.visible) this.ready = false;
      }),
      ctx.trace.onEvents((batch) => {
        if (this.ready && panel.visible) void panel.webview.postMessage({ type: 'events', batch } satisfies ToWebview);
      }),
      ctx.onDidChangeCluster(() => {
        // Keep the last cluster's names on screen after it stops.
        if (this.ready && ctx.cluster) this.post({ type: 'context', context: ctx.traceContext(), live: ctx.trace.available && !!ctx.cluster });
      }),
    );
  }

  private post(m: ToWebview): void {
    void this.panel.webview.postMessage(m);
  }

  private async onMessage(m: FromWebview): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.post({
          type: 'init',
          context: this.ctx.traceContext(),
          events: this.ctx.trace.all(),
          dropped: this.ctx.trace.dropped,
          live: this.ctx.trace.available && !!this.ctx.cluster,
        });
        break;
      case 'open': {
        const t = Date.now();
        try {
          const opened = await openCallSite(this.ctx, m.file, m.line);
          // Kept in the log: a slow open shows here without a debugger (it takes well under a second).
          if (opened) this.ctx.log('trace', `opened the call site ${m.file}:${m.line} (${opened.fsPath}) in ${Date.now() - t} ms`);
        } catch (err) {
          void vscode.window.showErrorMessage(`DVS: cannot open the call site ${m.file}:${m.line}: ${(err as Error).message}`);
        }
        break;
      }
      case 'export':
        await vscode.commands.executeCommand('dvs.exportTrace', m.format);
        break;
    }
  }

  private html(): string {
    const webview = this.panel.webview;
    const nonce = crypto.randomBytes(16).toString('base64');
    const media = (f: string) => webview.asWebviewUri(vscode.Uri.joinPath(this.ctx.context.extensionUri, 'media', f));
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${webview.cspSource}; style-src ${webview.cspSource}; script-src 'nonce-${nonce}'; font-src ${webview.cspSource};">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link href="${media('trace.css')}" rel="stylesheet">
<title>DVS Message Trace</title>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${media('trace.js')}"></script>
</body>
</html>`;
  }

  dispose(): void {
    TracePanel.current = undefined;
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
  }
}

/**
 * Opens `file:line` of a call site; relative paths are looked up in the workspace.
 * Returns the file opened, or undefined (the user was told) when it is not found.
 */
export async function openCallSite(ctx: Ctx, file: string, line: number): Promise<vscode.Uri | undefined> {
  let uri: vscode.Uri | undefined;
  if (path.isAbsolute(file)) {
    uri = vscode.Uri.file(file);
  } else {
    const base = ctx.cluster ? path.dirname(ctx.cluster.file) : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const direct = base ? vscode.Uri.file(path.join(base, file)) : undefined;
    if (direct && (await exists(direct))) uri = direct;
    else uri = (await vscode.workspace.findFiles(`**/${file.replace(/^(\.\/)+/, '')}`, '**/node_modules/**', 1))[0];
  }
  if (!uri || !(await exists(uri))) {
    void vscode.window.showWarningMessage(`DVS: cannot find the call site ${file}:${line} in the workspace.`);
    return undefined;
  }
  const pos = new vscode.Position(Math.max(0, line - 1), 0);
  await vscode.window.showTextDocument(uri, { selection: new vscode.Range(pos, pos), preview: false });
  return uri;
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}
