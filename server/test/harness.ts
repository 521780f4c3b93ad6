/**
 * Drives the real server as a child process over stdio with the vscode-languageserver
 * protocol client, like an editor does. No in-process shortcuts: what passes here is
 * what an editor gets.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  type Diagnostic,
  DidChangeTextDocumentNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  type ProtocolConnection,
  PublishDiagnosticsNotification,
  type PublishDiagnosticsParams,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type TextDocumentContentChangeEvent,
} from 'vscode-languageserver-protocol/node';
import { IndexedNotification, type IndexedParams } from '../src/protocol';

/** DVS_SERVER_CLI=<other build>/dist/src/cli.js runs the tests or the benchmark against another build (A/B runs). */
export const SERVER_CLI = process.env['DVS_SERVER_CLI'] ?? path.resolve(__dirname, '..', 'src', 'cli.js');
export const FIXTURES = path.resolve(__dirname, '..', '..', 'test', 'fixtures');

export function uriOf(file: string): string {
  return pathToFileURL(file).href;
}

export function languageIdOf(file: string): string {
  if (file.endsWith('dvs.json')) return 'json';
  return /\.[ch]$/.test(file) ? 'c' : 'typescript';
}

type Waiter = { uri: string; version?: number; cleared?: boolean; resolve: (d: Diagnostic[]) => void };

export class Client {
  readonly conn: ProtocolConnection;
  readonly diagnostics = new Map<string, PublishDiagnosticsParams>();
  readonly logs: string[] = [];
  /** `$/progress` notifications, in order (only a client started with `progress: true` gets them). */
  readonly progress: { token: string | number; value: { kind: string; title?: string; message?: string; percentage?: number } }[] = [];
  /** `workspace/codeLens/refresh` requests received. */
  lensRefreshes = 0;
  private waiters: Waiter[] = [];
  private versions = new Map<string, number>();
  private texts = new Map<string, string>();
  private exited = false;
  indexed: Promise<IndexedParams>;

  private constructor(readonly child: ChildProcess) {
    this.conn = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    child.stderr!.on('data', (d: Buffer) => this.logs.push(d.toString()));
    child.on('exit', () => (this.exited = true));
    this.conn.onNotification('window/logMessage', (p: { message: string }) => this.logs.push(p.message));
    this.conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
      this.diagnostics.set(p.uri, p);
      this.waiters = this.waiters.filter((w) => {
        if (w.uri !== p.uri) return true;
        // Open documents are published with their version; the clearing on close has none.
        if (w.version !== undefined && (p.version === undefined || p.version < w.version)) return true;
        if (w.version === undefined && w.cleared && (p.version !== undefined || p.diagnostics.length > 0)) return true;
        w.resolve(p.diagnostics);
        return false;
      });
    });
    this.indexed = new Promise((resolve) => this.conn.onNotification(IndexedNotification, resolve));
    this.conn.onRequest('workspace/codeLens/refresh', () => {
      this.lensRefreshes++;
      return null;
    });
    this.conn.onRequest('client/registerCapability', () => null);
    this.conn.onRequest('window/workDoneProgress/create', () => null);
    this.conn.onNotification('$/progress', (p: Client['progress'][number]) => this.progress.push(p));
    this.conn.listen();
  }

  get alive(): boolean {
    return !this.exited && this.child.exitCode === null;
  }

  /** `progress`: say the client shows work-done progress (window.workDoneProgress). */
  static async start(root: string, settings?: unknown, { progress = false }: { progress?: boolean } = {}): Promise<Client> {
    // DVS_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server under a test or the benchmark.
    const nodeArgs = (process.env['DVS_SERVER_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, SERVER_CLI, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const client = new Client(child);
    const died = new Promise<never>((_, reject) => child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${client.logs.join('')}`))));
    died.catch(() => undefined);
    await Promise.race([died, client.start2(root, settings, progress)]);
    return client;
  }

  private async start2(root: string, settings: unknown, progress: boolean): Promise<void> {
    const client = this as Client;
    await client.conn.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: uriOf(root),
      workspaceFolders: [{ uri: uriOf(root), name: path.basename(root) }],
      capabilities: { workspace: { codeLens: { refreshSupport: true }, didChangeWatchedFiles: { dynamicRegistration: true } }, ...(progress ? { window: { workDoneProgress: true } } : {}) },
      initializationOptions: settings ? { settings } : undefined,
    });
    await client.conn.sendNotification(InitializedNotification.type, {});
    await client.indexed;
  }

  /** Resolves with the next diagnostics published for `uri` (at least `version`). */
  nextDiagnostics(uri: string, version?: number, timeoutMs = 30000, cleared = false): Promise<Diagnostic[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no diagnostics for ${uri} v${version} within ${timeoutMs} ms; server log:\n${this.logs.join('')}`)), timeoutMs);
      this.waiters.push({ uri, cleared, ...(version !== undefined ? { version } : {}), resolve: (d) => { clearTimeout(timer); resolve(d); } });
    });
  }

  async open(file: string, text = fs.readFileSync(file, 'utf8')): Promise<Diagnostic[]> {
    const uri = uriOf(file);
    this.versions.set(uri, 1);
    this.texts.set(uri, text);
    const wait = this.nextDiagnostics(uri, 1);
    await this.conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: languageIdOf(file), version: 1, text } });
    return wait;
  }

  async change(file: string, changes: TextDocumentContentChangeEvent[], wait = true): Promise<Diagnostic[] | undefined> {
    const uri = uriOf(file);
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    const p = wait ? this.nextDiagnostics(uri, version) : undefined;
    await this.conn.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: changes });
    return p;
  }

  /** Close and wait for the server to clear the file's diagnostics (it always does). */
  async close(file: string): Promise<void> {
    const cleared = this.nextDiagnostics(uriOf(file), undefined, 30000, true);
    await this.conn.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri: uriOf(file) } });
    await cleared;
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    try {
      await Promise.race([this.conn.sendRequest(ShutdownRequest.type), new Promise((r) => setTimeout(r, 2000))]);
      await this.conn.sendNotification(ExitNotification.type);
    } catch {
      // The process may already be gone.
    }
    await new Promise<void>((resolve) => {
      if (!this.alive) return resolve();
      const t = setTimeout(() => {
        this.child.kill();
        resolve();
      }, 2000);
      this.child.on('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
    this.conn.dispose();
  }
}

/**
 * The dvs.json of a generated test project: cluster `name` on two nodes with one DC (dc0,
 * on both), the given endpoints and protocol types. `indent` as JSON.stringify's.
 */
export function twoNodeConfig(name: string, endpoints: object[], types: object[], indent?: number): string {
  return JSON.stringify(
    {
      cluster: { name },
      nodes: [{ id: 0, name: 'node0' }, { id: 1, name: 'node1' }],
      dcs: [{ id: 0, name: 'dc0', nodes: [0, 1], nr_procs: 64, nr_tasks: 8, nr_sysprocs: 16 }],
      endpoints,
      protocol: { types },
    },
    null,
    indent,
  );
}

/** Code files of a fixture (recursively), dvs.json excluded. */
export function codeFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...codeFiles(full));
    else if (/\.(c|h|ts)$/.test(e.name)) out.push(full);
  }
  return out.sort();
}

export interface Marker {
  line: number;
  kind: 'expect' | 'ok';
  code: string;
}

/** `/* expect: DVS001 *\/` and `// ok: DVS001, DVS007` markers, by line. */
export function markers(text: string): Marker[] {
  const out: Marker[] = [];
  text.split('\n').forEach((l, line) => {
    const re = /\b(expect|ok):\s*((?:DVS\d{3}|DVS-[A-Z]+)(?:\s*,\s*(?:DVS\d{3}|DVS-[A-Z]+))*)/g;
    for (let m = re.exec(l); m; m = re.exec(l)) for (const code of (m[2] as string).split(/\s*,\s*/)) out.push({ line, kind: m[1] as 'expect' | 'ok', code });
  });
  return out;
}

/** A seeded pseudo-random generator in [0, 1) (a linear congruential one: fuzz cases replay by seed). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

/** The LSP position of a UTF-16 offset in text. */
export function position(text: string, offset: number): { line: number; character: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length - 1;
  return { line, character: offset - (before.lastIndexOf('\n') + 1) };
}
