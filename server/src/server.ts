/**
 * Wiring only: the LSP connection, document sync and one `onX` handler per feature.
 * The analysis lives in analyzer.ts / workspace.ts and the features in features/*.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import {
  type CodeAction,
  type CodeActionParams,
  type CodeLens,
  type CodeLensParams,
  type CompletionItem,
  type CompletionParams,
  type Connection,
  type DefinitionParams,
  type Diagnostic,
  type DidChangeConfigurationParams,
  type DidChangeTextDocumentParams,
  DidChangeWatchedFilesNotification,
  type DidChangeWatchedFilesParams,
  type DidCloseTextDocumentParams,
  type DidOpenTextDocumentParams,
  type DocumentSymbol,
  type DocumentSymbolParams,
  FileChangeType,
  type Hover,
  type HoverParams,
  type InitializeParams,
  type InitializeResult,
  type Location,
  type PrepareRenameParams,
  type ReferenceParams,
  type RenameParams,
  ResponseError,
  TextDocumentSyncKind,
  type WorkspaceSymbol,
  type WorkspaceSymbolParams,
} from 'vscode-languageserver/node';
import { Analyzer, type DocState } from './analyzer';
import type { FileFacts } from './facts';
import { parseSettings, type Settings, DEFAULT_SETTINGS, INDEX_THREADS_FROM } from './config';
import { computeCodeActions } from './features/code-actions';
import { computeCodeLenses } from './features/code-lens';
import { computeCompletions } from './features/completion';
import { computeConfigDiagnostics } from './features/config-diagnostics';
import { computeDiagnostics } from './features/diagnostics';
import { communicationGraph } from './features/graph';
import { computeHover } from './features/hover';
import { findDefinitions, findReferences } from './features/navigation';
import { computeRename, prepareRename } from './features/rename';
import { documentSymbols, workspaceSymbols } from './features/symbols';
import { type Grammars, langOfPath, loadGrammars } from './parser';
import { IndexPool } from './index-pool';
import { IndexProgress } from './index-progress';
import { BackgroundCheck } from './background-check';
import { type CommunicationGraph, type CommunicationGraphParams, CommunicationGraphRequest, IndexedNotification, type LiveStatsParams, LiveStatsNotification } from './protocol';
import { applyRangeChange } from './util/text';
import { type ConfigState, Workspace, pathToUri, uriToPath } from './workspace';

export const SERVER_NAME = 'dvs-language-server';

/**
 * Length of one slice of a background parse (see scheduleBackground): a message that arrives
 * meanwhile waits for the rest of the slice.
 */
const TREE_SLICE_MS = 3;
/**
 * Background slices wait until no document changed or was published for this long: in a
 * burst of edits (key repeat, a paste, an editor applying many changes) each edit would
 * otherwise wait for a slice; between the keystrokes of a typist there is time enough.
 */
const BACKGROUND_QUIET_MS = 30;
/** Quiet time after which the other files of a project are re-checked (see scheduleCross). */
const CROSS_DELAY_MS = 60;
/** Live figures received within this time make one code lens refresh (see onLiveStats). */
const LENS_REFRESH_MS = 100;

function isConfigUri(uri: string): boolean {
  return /(^|\/)dvs\.json$/.test(uri);
}

export class DvsServer {
  private readonly analyzer: Analyzer;
  private readonly ws: Workspace;
  private settings: Settings = DEFAULT_SETTINGS;
  private readonly open = new Map<string, { text: string; version: number }>();
  private readonly dirty = new Set<string>();
  /** A slice of background work is queued (see scheduleBackground). */
  private treeSlice = false;
  /** Diagnostics of the indexed files computed while the editor is idle (see BackgroundCheck). */
  private readonly check: BackgroundCheck;
  /** Projects whose other files wait for a re-check (see scheduleCross). */
  private readonly crossProjects = new Set<ConfigState | undefined>();
  private crossTimer: NodeJS.Timeout | undefined;
  private lensRefresh: NodeJS.Timeout | undefined;
  /** Per published uri: the workspace's crossVersion its diagnostics were computed at. */
  private readonly publishedAt = new Map<string, number>();
  /** When the last document sync or publication was handled (performance.now()). */
  private lastActivity = 0;
  private flushScheduled = false;
  /** The workspace's crossVersion when diagnostics were last published. */
  private publishedCross = -1;
  private forceCross = false;
  private roots: string[] = [];
  private canPullConfig = false;
  private canRefreshLenses = false;
  private canWatchFiles = false;
  private indexing: Promise<void> | undefined;

  private constructor(
    private readonly connection: Connection,
    grammars: Grammars,
  ) {
    this.analyzer = new Analyzer(grammars);
    this.ws = new Workspace(this.analyzer);
    this.check = new BackgroundCheck(this.analyzer, this.ws, (uri) => this.open.has(uri));
  }

  /** Load grammars (with the ABI check) before answering `initialize`. */
  static async create(connection: Connection): Promise<DvsServer> {
    const grammars = await loadGrammars();
    const server = new DvsServer(connection, grammars);
    connection.console.info(`${SERVER_NAME}: ${grammars.describe}`);
    return server;
  }

  register(): void {
    const c = this.connection;
    c.onInitialize(this.onInitialize.bind(this));
    c.onInitialized(this.guard('initialized', () => void this.onInitialized()));
    c.onDidOpenTextDocument(this.guard('didOpen', this.onDidOpen.bind(this)));
    c.onDidChangeTextDocument(this.guard('didChange', this.onDidChange.bind(this)));
    c.onDidCloseTextDocument(this.guard('didClose', this.onDidClose.bind(this)));
    c.onDidChangeWatchedFiles(this.guard('watchedFiles', this.onDidChangeWatchedFiles.bind(this)));
    c.onDidChangeConfiguration(this.guard('configuration', (p: DidChangeConfigurationParams) => void this.onDidChangeConfiguration(p)));
    c.onHover(this.guard('hover', this.onHover.bind(this)));
    c.onDefinition(this.guard('definition', this.onDefinition.bind(this)));
    c.onReferences(this.guard('references', this.onReferences.bind(this)));
    c.onPrepareRename(this.guard('prepareRename', (p: PrepareRenameParams) => prepareRename(this.ws, p.position, this.textOf(p.textDocument.uri))));
    c.onRenameRequest(this.guard('rename', (p: RenameParams) => computeRename(this.ws, p.position, this.textOf(p.textDocument.uri), p.newName)));
    c.onCompletion(this.guard('completion', this.onCompletion.bind(this)));
    c.onCodeAction(this.guard('codeAction', this.onCodeAction.bind(this)));
    c.onCodeLens(this.guard('codeLens', this.onCodeLens.bind(this)));
    c.onDocumentSymbol(this.guard('documentSymbol', this.onDocumentSymbol.bind(this)));
    c.onWorkspaceSymbol(this.guard('workspaceSymbol', this.onWorkspaceSymbol.bind(this)));
    c.onRequest(CommunicationGraphRequest, this.guard('communicationGraph', this.onCommunicationGraph.bind(this)));
    c.onNotification(LiveStatsNotification, this.guard('liveStats', this.onLiveStats.bind(this)));
  }

  /**
   * A handler that throws must not take the server down: log it and answer empty. A
   * ResponseError is an answer (a rename refused, with its reason for the user).
   */
  private guard<A extends unknown[], R>(name: string, fn: (...args: A) => R): (...args: A) => R | undefined {
    return (...args: A) => {
      try {
        return fn(...args);
      } catch (e) {
        if (e instanceof ResponseError) throw e;
        this.connection.console.error(`${name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        return undefined;
      }
    };
  }

  private onInitialize(params: InitializeParams): InitializeResult {
    const folders = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
    this.roots = folders.filter((u) => u.startsWith('file:')).map(uriToPath);
    this.canPullConfig = params.capabilities.workspace?.configuration === true;
    this.canRefreshLenses = params.capabilities.workspace?.codeLens?.refreshSupport === true;
    this.canWatchFiles = params.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
    const init = params.initializationOptions as { settings?: unknown } | undefined;
    if (init?.settings) this.applySettings(init.settings);
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        hoverProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        renameProvider: { prepareProvider: true },
        completionProvider: { triggerCharacters: ['.', '(', ',', ' ', ':', '>'] },
        codeActionProvider: { codeActionKinds: ['quickfix'] },
        codeLensProvider: { resolveProvider: false },
        documentSymbolProvider: true,
        workspaceSymbolProvider: true,
      },
      serverInfo: { name: SERVER_NAME, version: serverVersion() },
    };
  }

  private async onInitialized(): Promise<void> {
    // Closed files change on disk too (git checkout, generators): ask the editor to tell us.
    if (this.canWatchFiles) {
      void this.connection.client
        .register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: '**/*.{c,h,ts,tsx,mts,cts}' }, { globPattern: '**/dvs.json' }] })
        .catch((e: unknown) => this.connection.console.warn(`could not watch files: ${String(e)}`));
    }
    await this.pullSettings();
    this.indexing = this.indexWorkspace();
    await this.indexing;
  }

  private applySettings(raw: unknown): void {
    const { settings, problems } = parseSettings(raw);
    this.settings = settings;
    for (const p of problems) this.connection.console.warn(`settings: ${p}`);
  }

  private async pullSettings(): Promise<void> {
    if (!this.canPullConfig) return;
    try {
      const [raw] = (await this.connection.workspace.getConfiguration([{ section: 'dvs' }])) as unknown[];
      if (raw) this.applySettings(raw);
    } catch (e) {
      this.connection.console.warn(`could not read settings: ${String(e)}`);
    }
  }

  private async onDidChangeConfiguration(p: DidChangeConfigurationParams): Promise<void> {
    const pushed = (p.settings as { dvs?: unknown } | undefined)?.dvs;
    if (pushed) this.applySettings(pushed);
    else await this.pullSettings();
    this.republishAll();
  }

  // ==== indexing ========================================================================

  private async indexWorkspace(): Promise<void> {
    const started = performance.now();
    const files: string[] = [];
    const exclude = new Set(this.settings.index.exclude);
    const max = this.settings.index.maxFiles;
    const walk = async (dir: string): Promise<void> => {
      if (files.length >= max) return;
      let entries: fs.Dirent[];
      try {
        entries = await fs.promises.readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (files.length >= max) return;
        if (e.name.startsWith('.') || exclude.has(e.name)) continue;
        const full = path.join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.isFile() && (e.name === 'dvs.json' || langOfPath(e.name))) files.push(full);
      }
    };
    for (const root of this.roots) await walk(root);
    if (files.length >= max) this.connection.console.warn(`indexing stopped at dvs.index.maxFiles = ${max} files`);
    let configs = 0;
    // Configs first, so code files resolve names against them.
    files.sort((a, b) => Number(path.basename(b) === 'dvs.json') - Number(path.basename(a) === 'dvs.json'));
    const codeCount = files.filter((f) => path.basename(f) !== 'dvs.json').length;
    const progress = await IndexProgress.begin(this.connection, files.length);
    const pool = codeCount > INDEX_THREADS_FROM ? IndexPool.create(this.settings.index.workers) : undefined;
    const threads = pool?.size ?? 0;
    if (pool) {
      try {
        configs = await this.indexWithThreads(files, pool, progress);
      } finally {
        // The threads' WebAssembly heaps are large; they are not needed after start-up.
        await pool.close();
      }
    }
    for (let i = 0; i < (pool ? 0 : files.length); i++) {
      const file = files[i] as string;
      const uri = pathToUri(file);
      if (this.open.has(uri)) continue;
      try {
        const text = await fs.promises.readFile(file, 'utf8');
        if (path.basename(file) === 'dvs.json') {
          this.ws.setConfig(uri, text);
          configs++;
        } else this.analyzeClosed(uri, text, true);
      } catch (e) {
        this.connection.console.warn(`could not index ${file}: ${String(e)}`);
      }
      progress.fileDone();
      // Let requests and edits in between: indexing must not freeze the editor.
      if (i % 25 === 24) await new Promise((r) => setImmediate(r));
    }
    this.ws.touch();
    progress.end();
    const durationMs = Math.round(performance.now() - started);
    this.connection.console.info(`indexed ${files.length} files (${configs} dvs.json) in ${durationMs} ms${threads ? ` on ${threads} threads` : ''}`);
    void this.connection.sendNotification(IndexedNotification, { files: files.length, configs, durationMs });
    this.republishAll();
    // Then, between the editor's messages, the closed files' diagnostics fill the caches
    // that an open of one of them reads.
    this.check.enqueue(this.analyzer.uris().filter((u) => !this.open.has(u)));
    this.scheduleBackground();
  }

  /**
   * Start-up indexing on threads: dvs.json files here first; then the code files are
   * pulled from one queue by every thread that has loaded its grammars, and by the main
   * thread (one file per event-loop turn) until the first thread is ready, so starting
   * the threads never makes indexing slower. A file opened meanwhile keeps its open
   * document; a file a thread could not analyse is analysed here.
   */
  private async indexWithThreads(files: string[], pool: IndexPool, progress: IndexProgress): Promise<number> {
    let configs = 0;
    const queue: string[] = [];
    for (const file of files) {
      const uri = pathToUri(file);
      const isConfig = path.basename(file) === 'dvs.json';
      if (!isConfig && !this.open.has(uri)) {
        queue.push(file);
        continue;
      }
      // An open document keeps its text; a closed dvs.json is read here.
      if (isConfig && !this.open.has(uri)) {
        try {
          this.ws.setConfig(uri, await fs.promises.readFile(file, 'utf8'));
          configs++;
        } catch (e) {
          this.connection.console.warn(`could not index ${file}: ${String(e)}`);
        }
      }
      progress.fileDone();
    }
    let next = 0;
    const take = (): string | undefined => (next < queue.length ? queue[next++] : undefined);
    let warned = false;
    const here = async (file: string, text?: string): Promise<void> => {
      const uri = pathToUri(file);
      try {
        if (!this.open.has(uri) && !this.analyzer.get(uri)) this.analyzeClosed(uri, text ?? (await fs.promises.readFile(file, 'utf8')), true);
      } catch (e) {
        this.connection.console.warn(`could not index ${file}: ${String(e)}`);
      }
      progress.fileDone();
    };
    const onThread = async (w: Worker): Promise<void> => {
      if (!(await pool.whenReady(w))) return;
      for (let file = take(); file !== undefined; file = take()) {
        const uri = pathToUri(file);
        let text: string;
        try {
          text = await fs.promises.readFile(file, 'utf8');
        } catch (e) {
          this.connection.console.warn(`could not index ${file}: ${String(e)}`);
          progress.fileDone();
          continue;
        }
        let state: DocState | undefined;
        try {
          state = await pool.analyze(uri, text, w);
        } catch (e) {
          if (!warned) this.connection.console.warn(`indexing thread failed, indexing here instead: ${String(e)}`);
          warned = true;
          await here(file, text);
          return;
        }
        progress.fileDone();
        // Opened or re-read while the thread worked: that newer state wins.
        if (this.open.has(uri) || this.analyzer.get(uri)) continue;
        this.ws.fileUpdated(this.analyzer.adopt(state), undefined, { indexing: true });
      }
    };
    const onMain = async (): Promise<void> => {
      for (let file = pool.ready === 0 ? take() : undefined; file !== undefined; file = pool.ready === 0 ? take() : undefined) {
        await here(file);
        // Let requests, edits and the threads' results in between.
        await new Promise((r) => setImmediate(r));
      }
    };
    await Promise.all([onMain(), ...pool.threads().map(onThread)]);
    // Whatever threads that died left behind.
    for (let file = take(); file !== undefined; file = take()) await here(file);
    return configs;
  }

  private analyzeClosed(uri: string, text: string, indexing = false): void {
    const lang = langOfPath(uri);
    if (!lang) return;
    const prev = this.analyzer.get(uri)?.facts;
    const state = this.analyzer.analyze({ uri, lang, text, keepTree: false });
    this.ws.fileUpdated(state, prev, { indexing });
  }

  // ==== document sync ===================================================================

  private onDidOpen(p: DidOpenTextDocumentParams): void {
    const { uri, text, version } = p.textDocument;
    this.open.set(uri, { text, version });
    if (isConfigUri(uri)) {
      this.ws.setConfig(uri, text);
      this.schedule(uri, true);
      return;
    }
    const lang = langOfPath(uri);
    if (!lang) return;
    const prev = this.analyzer.get(uri)?.facts;
    // A file indexed with this very text keeps its facts: the diagnostics need no parse,
    // and its tree is parsed in the background once they are sent (see scheduleBackground).
    const state = this.analyzer.reopen({ uri, lang, text, version }) ?? this.analyzer.analyze({ uri, lang, text, version, keepTree: true });
    this.ws.fileUpdated(state, prev);
    this.schedule(uri);
  }

  private onDidChange(p: DidChangeTextDocumentParams): void {
    const { uri, version } = p.textDocument;
    const doc = this.open.get(uri);
    if (!doc) return;
    if (isConfigUri(uri)) {
      const last = p.contentChanges[p.contentChanges.length - 1];
      const text = p.contentChanges.reduce((t, c) => ('range' in c ? applyRangeChange(t, c).text : c.text), doc.text);
      doc.text = last && !('range' in last) ? last.text : text;
      doc.version = version;
      this.ws.setConfig(uri, doc.text);
      this.schedule(uri, true);
      return;
    }
    const prev = this.analyzer.get(uri)?.facts;
    // A reopened document whose tree is not built yet: Analyzer.edit analyses the edited
    // unit alone, or finishes the tree first.
    const state = this.analyzer.edit({ uri, changes: p.contentChanges, version });
    if (!state) return;
    doc.text = state.text;
    doc.version = version;
    this.ws.fileUpdated(state, prev);
    this.schedule(uri);
  }

  private onDidClose(p: DidCloseTextDocumentParams): void {
    const uri = p.textDocument.uri;
    this.open.delete(uri);
    this.publishedAt.delete(uri);
    const state = this.analyzer.get(uri);
    this.analyzer.release(uri);
    // The file stays in the index with its on-disk content.
    try {
      const file = uriToPath(uri);
      if (fs.existsSync(file)) {
        const text = fs.readFileSync(file, 'utf8');
        if (isConfigUri(uri)) this.ws.setConfig(uri, text);
        // Saved as it was shown and without syntax errors: its facts are those a fresh
        // analysis of the file would give, so the index keeps them (a 10,000-line file
        // would otherwise be parsed again on every close).
        else if (!(state && state.clean && state.text === text)) this.analyzeClosed(uri, text);
      } else if (isConfigUri(uri)) this.ws.removeConfig(uri);
      else {
        this.analyzer.remove(uri);
        this.ws.fileRemoved(uri);
      }
    } catch (e) {
      this.connection.console.warn(`could not re-read ${uri}: ${String(e)}`);
    }
    void this.connection.sendDiagnostics({ uri, diagnostics: [] });
  }

  private onDidChangeWatchedFiles(p: DidChangeWatchedFilesParams): void {
    for (const ch of p.changes) {
      if (this.open.has(ch.uri)) continue;
      if (ch.type === FileChangeType.Deleted) {
        if (isConfigUri(ch.uri)) this.ws.removeConfig(ch.uri);
        else {
          this.analyzer.remove(ch.uri);
          this.ws.fileRemoved(ch.uri);
        }
        continue;
      }
      try {
        const text = fs.readFileSync(uriToPath(ch.uri), 'utf8');
        if (isConfigUri(ch.uri)) this.ws.setConfig(ch.uri, text);
        else this.analyzeClosed(ch.uri, text);
      } catch (e) {
        this.connection.console.warn(`could not read ${ch.uri}: ${String(e)}`);
      }
    }
    this.republishAll();
  }

  // ==== diagnostics =====================================================================

  /**
   * Publish the edited document first, in the same turn of the event loop; other open
   * documents are re-diagnosed afterwards, and only when the edit changed something
   * other files can see (constants, endpoints, message types, server loops).
   */
  private schedule(uri: string, crossFile = false): void {
    this.lastActivity = performance.now();
    this.dirty.add(uri);
    if (crossFile) this.forceCross = true;
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const uris = [...this.dirty];
      this.dirty.clear();
      for (const u of uris) this.publish(u);
      // Computing diagnostics is not the editor being quiet: a re-check timer that expired
      // meanwhile would otherwise run before a message that arrived during the publish.
      this.lastActivity = performance.now();
      // Other files only need a re-check when something they can see changed.
      const cross = this.forceCross || this.ws.crossVersion !== this.publishedCross;
      this.forceCross = false;
      this.publishedCross = this.ws.crossVersion;
      // The JSON-RPC writer sends in a later turn of the event loop (setImmediate): what
      // follows is queued behind it, so the diagnostics leave before this work starts.
      setImmediate(() => {
        for (const u of uris) if (this.open.has(u)) this.ws.recordSignature(u);
        this.lastActivity = performance.now();
        this.scheduleBackground();
        if (cross) {
          // Only the project (dvs.json) of the changed files can see the change.
          for (const u of uris) this.crossProjects.add(this.ws.configs.get(u) ?? this.ws.configFor(u));
          this.scheduleCross();
        }
      });
    });
  }

  /**
   * Re-check the other files of the changed projects once the editor has been quiet for
   * CROSS_DELAY_MS: while the user types, each keystroke gets its own file's diagnostics
   * at once, and the other open files (a 10k-line file takes 10-20 ms) are re-checked
   * once, at the pause, instead of delaying the next keystroke. Files whose diagnostics
   * were computed after the last cross-file change are up to date and skipped.
   */
  private scheduleCross(): void {
    if (this.crossTimer) clearTimeout(this.crossTimer);
    const fire = (): void => {
      this.crossTimer = undefined;
      const quiet = performance.now() - this.lastActivity;
      if (this.flushScheduled || quiet < CROSS_DELAY_MS) {
        this.crossTimer = setTimeout(fire, Math.max(1, CROSS_DELAY_MS - quiet));
        return;
      }
      const projects = new Set(this.crossProjects);
      this.crossProjects.clear();
      const current = new Set<string>();
      for (const [uri, v] of this.publishedAt) if (v === this.ws.crossVersion) current.add(uri);
      this.republishAll(current, projects);
    };
    this.crossTimer = setTimeout(fire, CROSS_DELAY_MS);
  }

  /**
   * Background work between the messages of the editor, in slices of TREE_SLICE_MS: first
   * the trees of reopened documents (see onDidOpen; the parse of a large file takes tens of
   * milliseconds that an open, edit or request should not wait for; an edit that arrives
   * first is analysed without the tree, see Analyzer.edit), then the check of the indexed
   * files (BackgroundCheck). Slices pause while diagnostics wait to be published, and
   * until the editor has been quiet for BACKGROUND_QUIET_MS.
   */
  private scheduleBackground(): void {
    if (this.treeSlice || (this.analyzer.pendingTrees === 0 && !this.check.pending)) return;
    this.treeSlice = true;
    const slice = (): void => {
      if (this.flushScheduled) {
        setImmediate(slice);
        return;
      }
      const quiet = performance.now() - this.lastActivity;
      if (quiet < BACKGROUND_QUIET_MS) {
        setTimeout(slice, BACKGROUND_QUIET_MS - quiet);
        return;
      }
      this.treeSlice = false;
      if (this.analyzer.pendingTrees === 0) {
        try {
          this.check.step(TREE_SLICE_MS);
        } catch (e) {
          // The file's diagnostics are computed again (and the error logged) when it is opened.
          this.connection.console.error(`background check failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        }
        this.scheduleBackground();
        return;
      }
      let changed: { state: DocState; prev: FileFacts }[] = [];
      try {
        changed = this.analyzer.stepTrees(TREE_SLICE_MS);
      } catch (e) {
        this.connection.console.error(`background parse failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        return;
      }
      // Only after edits made without the tree, and only if the tree disagrees with them.
      for (const { state, prev } of changed) {
        this.ws.fileUpdated(state, prev);
        this.schedule(state.uri);
      }
      this.scheduleBackground();
    };
    // Two turns of the event loop: a message read meanwhile (vscode-jsonrpc handles it in
    // a setImmediate queued when it is read) then runs before the next slice, so it waits
    // for at most the slice under way.
    setImmediate(() => setImmediate(slice));
  }

  private republishAll(skip: Set<string> = new Set(), projects?: Set<ConfigState | undefined>): void {
    if (!projects) this.publishedCross = this.ws.crossVersion;
    const inScope = (uri: string): boolean => !projects || projects.has(this.ws.configs.get(uri) ?? this.ws.configFor(uri));
    for (const uri of this.open.keys()) if (!skip.has(uri) && inScope(uri)) this.publish(uri);
    for (const cfg of this.ws.configs.keys()) if (!skip.has(cfg) && !this.open.has(cfg) && inScope(cfg)) this.publish(cfg);
  }

  private publish(uri: string): void {
    let diagnostics: Diagnostic[] = [];
    try {
      const cfg = this.ws.configs.get(uri);
      if (cfg) diagnostics = computeConfigDiagnostics(this.ws, cfg, this.settings);
      else {
        const state = this.analyzer.get(uri);
        if (!state || !this.open.has(uri)) return;
        diagnostics = computeDiagnostics(this.ws, state, this.settings);
      }
    } catch (e) {
      this.connection.console.error(`diagnostics of ${uri} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
    const version = this.open.get(uri)?.version;
    this.publishedAt.set(uri, this.ws.crossVersion);
    void this.connection.sendDiagnostics({ uri, diagnostics, ...(version !== undefined ? { version } : {}) });
  }

  // ==== features ========================================================================

  private stateOf(uri: string): DocState | undefined {
    return this.analyzer.get(uri);
  }

  private onHover(p: HoverParams): Hover | null {
    return computeHover(this.ws, p.textDocument.uri, p.position, this.textOf(p.textDocument.uri)) ?? null;
  }

  private onDefinition(p: DefinitionParams): Location[] {
    return findDefinitions(this.ws, p.position, this.textOf(p.textDocument.uri));
  }

  private onReferences(p: ReferenceParams): Location[] {
    return findReferences(this.ws, p.position, this.textOf(p.textDocument.uri), p.context.includeDeclaration);
  }

  private onCompletion(p: CompletionParams): CompletionItem[] {
    const state = this.stateOf(p.textDocument.uri);
    const text = this.textOf(p.textDocument.uri);
    if (!state || text === undefined) return [];
    return computeCompletions(this.ws, state, text, p.position);
  }

  private onCodeAction(p: CodeActionParams): CodeAction[] {
    return computeCodeActions(p);
  }

  private onCodeLens(p: CodeLensParams): CodeLens[] {
    const state = this.stateOf(p.textDocument.uri);
    return state ? computeCodeLenses(this.ws, state) : [];
  }

  private onDocumentSymbol(p: DocumentSymbolParams): DocumentSymbol[] {
    const state = this.stateOf(p.textDocument.uri);
    const cfg = this.ws.configs.get(p.textDocument.uri);
    return documentSymbols(this.ws, state, cfg);
  }

  private onWorkspaceSymbol(p: WorkspaceSymbolParams): WorkspaceSymbol[] {
    return workspaceSymbols(this.ws, p.query);
  }

  private async onCommunicationGraph(p: CommunicationGraphParams): Promise<CommunicationGraph> {
    await this.indexing;
    return communicationGraph(this.ws, p.uri);
  }

  /**
   * Live figures arrive one endpoint at a time (the extension sends those that changed,
   * once a second): the editor is asked to fetch the code lenses again once per burst.
   */
  private onLiveStats(p: LiveStatsParams): void {
    this.ws.liveStats.set(p.endpoint, p);
    if (!this.canRefreshLenses || this.lensRefresh) return;
    this.lensRefresh = setTimeout(() => {
      this.lensRefresh = undefined;
      void this.connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
    }, LENS_REFRESH_MS);
  }

  private textOf(uri: string): string | undefined {
    return this.open.get(uri)?.text ?? this.analyzer.get(uri)?.text ?? this.ws.configs.get(uri)?.text;
  }
}

export function serverVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Start a server on a connection (used by cli.ts and by an in-process extension host). */
export async function startServer(connection: Connection): Promise<DvsServer> {
  const server = await DvsServer.create(connection);
  server.register();
  connection.listen();
  return server;
}
