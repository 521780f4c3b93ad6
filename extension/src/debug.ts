/**
 * The `dvs` debug type. Launching starts the cluster with inspector ports for script
 * endpoints and attaches a child session to every endpoint: the built-in JavaScript
 * debugger (`node` attach) for TypeScript/JavaScript, gdb through the C/C++ extension
 * (`cppdbg` attach) for C when it is installed. The session's own adapter is inline and
 * minimal: it owns the cluster's lifetime, so stopping the session stops the cluster.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';

import type { DebugTarget } from './cluster/controller';
import type { Ctx } from './ctx';

export interface DvsLaunchConfig extends vscode.DebugConfiguration {
  config?: string;
  attach?: string[];
  stopOnEntry?: boolean;
}

type StartCluster = (file: vscode.Uri, opts: { inspect: 'inspect' | 'inspect-brk'; onDebugTarget: (t: DebugTarget) => void }) => Promise<boolean>;

export function registerDebug(ctx: Ctx, start: StartCluster, stop: () => Promise<void>): vscode.Disposable[] {
  const provider: vscode.DebugConfigurationProvider = {
    provideDebugConfigurations: () => [{ type: 'dvs', request: 'launch', name: 'DVS: Launch cluster', config: '${workspaceFolder}/dvs.json' }],
    resolveDebugConfiguration: async (_folder, config: DvsLaunchConfig) => {
      if (!config.type && !config.request && !config.name) {
        const uri = await ctx.findConfig();
        if (!uri) {
          void vscode.window.showErrorMessage('DVS: no dvs.json in this workspace. Run "DVS: Create dvs.json" first.');
          return undefined;
        }
        return { type: 'dvs', request: 'launch', name: 'DVS: Launch cluster', config: uri.fsPath };
      }
      return config;
    },
  };
  const factory: vscode.DebugAdapterDescriptorFactory = {
    createDebugAdapterDescriptor: (session) => new vscode.DebugAdapterInlineImplementation(new DvsAdapter(ctx, session, start, stop)),
  };
  return [
    vscode.debug.registerDebugConfigurationProvider('dvs', provider),
    vscode.debug.registerDebugConfigurationProvider('dvs', provider, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
    vscode.debug.registerDebugAdapterDescriptorFactory('dvs', factory),
  ];
}

interface DapMessage {
  seq: number;
  type: string;
  command?: string;
  arguments?: Record<string, unknown>;
}

/** A minimal DAP server: launch / configurationDone / threads / disconnect. */
class DvsAdapter implements vscode.DebugAdapter {
  private readonly emitter = new vscode.EventEmitter<vscode.DebugProtocolMessage>();
  readonly onDidSendMessage = this.emitter.event;
  private seq = 1;
  private children: vscode.DebugSession[] = [];
  private ended = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly session: vscode.DebugSession,
    private readonly start: StartCluster,
    private readonly stop: () => Promise<void>,
  ) {}

  private send(m: Record<string, unknown>): void {
    this.emitter.fire({ seq: this.seq++, ...m } as vscode.DebugProtocolMessage);
  }

  private respond(req: DapMessage, body: Record<string, unknown> = {}, success = true, message?: string): void {
    this.send({ type: 'response', request_seq: req.seq, command: req.command, success, body, ...(message ? { message } : {}) });
  }

  private console(text: string, category = 'console'): void {
    this.send({ type: 'event', event: 'output', body: { category, output: text + '\n' } });
    this.ctx.log('debug', text);
  }

  handleMessage(message: vscode.DebugProtocolMessage): void {
    const req = message as DapMessage;
    if (req.type !== 'request') return;
    switch (req.command) {
      case 'initialize':
        this.respond(req, { supportsConfigurationDoneRequest: true, supportsTerminateRequest: true });
        this.send({ type: 'event', event: 'initialized' });
        break;
      case 'launch':
        void this.launch(req);
        break;
      case 'configurationDone':
      case 'setExceptionBreakpoints':
      case 'setBreakpoints':
        this.respond(req, req.command === 'setBreakpoints' ? { breakpoints: [] } : {});
        break;
      case 'threads':
        this.respond(req, { threads: [] });
        break;
      case 'terminate':
      case 'disconnect':
        void this.end().then(() => this.respond(req));
        break;
      default:
        this.respond(req, {}, false, `${req.command} is not supported by the DVS cluster session`);
    }
  }

  private async launch(req: DapMessage): Promise<void> {
    const cfg = this.session.configuration as DvsLaunchConfig;
    const folder = this.session.workspaceFolder?.uri.fsPath ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
    const file = cfg.config ? path.resolve(folder, cfg.config) : (await this.ctx.findConfig())?.fsPath;
    if (!file) {
      this.respond(req, {}, false, 'no dvs.json: set "config" in the launch configuration');
      return;
    }
    const only = cfg.attach && cfg.attach.length > 0 ? new Set(cfg.attach) : undefined;
    const haveC = ['ms-vscode.cpptools', 'vadimcn.vscode-lldb', 'webfreak.debug'].find((id) => vscode.extensions.getExtension(id));
    let warnedC = false;
    const attach = (t: DebugTarget) => {
      if (only && !only.has(t.endpoint)) return;
      if (t.kind === 'node' && t.port) {
        this.console(`attaching the JavaScript debugger to ${t.endpoint} (pid ${t.pid}, port ${t.port})`);
        void this.child({ type: 'node', request: 'attach', name: `${t.endpoint} (${t.number})`, port: t.port, address: '127.0.0.1', continueOnAttach: true });
      } else if (t.kind === 'native') {
        if (!haveC) {
          if (!warnedC) {
            this.console(
              'No C/C++ debugger extension is installed (ms-vscode.cpptools, vadimcn.vscode-lldb or webfreak.debug): ' +
                'C endpoints run without a debugger. Install one to debug them with gdb.',
            );
            void vscode.window.showWarningMessage('DVS: no C/C++ debugger extension is installed; C endpoints run without a debugger.');
            warnedC = true;
          }
          return;
        }
        this.console(`attaching gdb to ${t.endpoint} (pid ${t.pid})`);
        const name = `${t.endpoint} (${t.number})`;
        const config: vscode.DebugConfiguration =
          haveC === 'ms-vscode.cpptools'
            ? { type: 'cppdbg', request: 'attach', name, program: t.program, processId: String(t.pid), MIMode: 'gdb' }
            : haveC === 'vadimcn.vscode-lldb'
              ? { type: 'lldb', request: 'attach', name, pid: t.pid, program: t.program }
              : { type: 'gdb', request: 'attach', name, target: String(t.pid), executable: t.program, cwd: path.dirname(file) };
        void this.child(config);
      }
    };
    this.console(`starting the cluster of ${file}`);
    try {
      const ok = await this.start(vscode.Uri.file(file), { inspect: cfg.stopOnEntry ? 'inspect-brk' : 'inspect', onDebugTarget: attach });
      if (!ok) throw new Error('the cluster did not start (see the DVS output)');
      this.respond(req);
      this.console('cluster up; stop this session to stop the cluster');
    } catch (err) {
      this.respond(req, {}, false, (err as Error).message);
      this.send({ type: 'event', event: 'terminated' });
    }
  }

  private async child(config: vscode.DebugConfiguration): Promise<void> {
    const ok = await vscode.debug.startDebugging(this.session.workspaceFolder, config, {
      parentSession: this.session,
      lifecycleManagedByParent: true,
      compact: true,
    });
    if (!ok) this.console(`could not start the debugger for ${config.name}`, 'stderr');
    const s = vscode.debug.activeDebugSession;
    if (ok && s && s.id !== this.session.id) this.children.push(s);
  }

  private async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    for (const c of this.children) void vscode.debug.stopDebugging(c);
    await this.stop();
    this.send({ type: 'event', event: 'terminated' });
  }

  dispose(): void {
    void this.end();
    this.emitter.dispose();
  }
}
