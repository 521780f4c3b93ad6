/**
 * The workspace index: every analysed file's facts plus the dvs.json files, and the
 * name resolution that ties them together (literals, #define, enum, const and the
 * names declared in dvs.json, SPEC §6).
 */
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type DvsConfig, type DvsEndpoint, type DvsMessageType, type ParsedDvsConfig, parseDvsConfig } from '@dvs/grammar';
import type { Analyzer, DocState } from './analyzer';
import type { ArgFact, CallFact, DefFact, FileFacts, ServerLoopFact } from './facts';
import { evalConst } from './util/const-eval';
import type { LiveStatsParams } from './protocol';

export const SPECIAL: Record<string, number> = { ANY: 0x7ace, NONE: 0x6ace, SELF: 0x8ace };
export const MAXCOPYLEN = 1048576;

export interface ConfigState {
  uri: string;
  /** Folder of the dvs.json file (filesystem path). */
  dir: string;
  text: string;
  parsed: ParsedDvsConfig;
  /** The last config without schema errors, so a half-typed dvs.json keeps the code checks alive. */
  lastGood?: DvsConfig;
}

/** What an endpoint expression denotes. */
export interface EndpointRef {
  text: string;
  value?: number;
  /** The constant or dvs.json name it came from. */
  name?: string;
  special?: 'ANY' | 'NONE' | 'SELF';
  /** `m.m_source` / `req.source`: whoever sent the request. */
  requester?: boolean;
  /** A variable holding the caller's own bind result. */
  own?: boolean;
  decl?: DvsEndpoint;
}

export interface DefLocation {
  uri: string;
  def: DefFact;
}

export class Workspace {
  readonly configs = new Map<string, ConfigState>();
  readonly liveStats = new Map<string, LiveStatsParams>();
  private generation = 0;
  private defsGen = -1;
  private defsByName = new Map<string, DefLocation[]>();
  private valueCache = new Map<string, number | undefined>();

  constructor(readonly analyzer: Analyzer) {}

  /** Call after any document or config change. */
  touch(): void {
    this.generation++;
  }

  setConfig(uri: string, text: string): ConfigState {
    const file = uriToPath(uri);
    const parsed = parseDvsConfig(text, file);
    const prev = this.configs.get(uri);
    const state: ConfigState = { uri, dir: path.dirname(file), text, parsed };
    const good = parsed.config ?? prev?.lastGood;
    if (good) state.lastGood = good;
    this.configs.set(uri, state);
    this.touch();
    return state;
  }

  removeConfig(uri: string): void {
    this.configs.delete(uri);
    this.touch();
  }

  /** The dvs.json governing a file: the nearest one in the file's folder or above. */
  configFor(uri: string): ConfigState | undefined {
    const file = uriToPath(uri);
    let best: ConfigState | undefined;
    for (const c of this.configs.values()) {
      if ((file === c.dir || file.startsWith(c.dir + path.sep)) && (!best || c.dir.length > best.dir.length)) best = c;
    }
    return best;
  }

  config(uri: string): DvsConfig | undefined {
    return this.configFor(uri)?.lastGood;
  }

  /** Files in the same project (same dvs.json, or all files when there is none). */
  peers(uri: string): DocState[] {
    const cfg = this.configFor(uri);
    const out: DocState[] = [];
    for (const s of this.analyzer.all()) if (this.configFor(s.uri) === cfg) out.push(s);
    return out;
  }

  defs(name: string): DefLocation[] {
    if (this.defsGen !== this.generation) {
      this.defsByName = new Map();
      this.valueCache = new Map();
      for (const s of this.analyzer.all()) {
        for (const d of s.facts.defs) {
          let list = this.defsByName.get(d.name);
          if (!list) this.defsByName.set(d.name, (list = []));
          list.push({ uri: s.uri, def: d });
        }
      }
      this.defsGen = this.generation;
    }
    return this.defsByName.get(name) ?? [];
  }

  /** Numeric value of a constant name, preferring the definition in the same file. */
  valueOf(name: string, fromUri: string, depth = 0): number | undefined {
    if (name in SPECIAL) return SPECIAL[name];
    if (depth > 16) return undefined;
    this.defs(name);
    const cacheKey = `${fromUri}\u0000${name}`;
    if (this.valueCache.has(cacheKey)) return this.valueCache.get(cacheKey);
    this.valueCache.set(cacheKey, undefined);
    const list = this.defs(name);
    const local = list.find((d) => d.uri === fromUri) ?? list[0];
    let v: number | undefined;
    if (local) {
      v = local.def.implicit ?? evalConst(local.def.value, (n) => this.valueOf(n, local.uri, depth + 1));
    } else {
      const cfg = this.config(fromUri);
      v = cfg?.endpoints.find((e) => e.name === name)?.number ?? cfg?.protocol?.types.find((t) => t.name === name)?.number;
    }
    this.valueCache.set(cacheKey, v);
    return v;
  }

  evalText(text: string, fromUri: string): number | undefined {
    return evalConst(text, (n) => this.valueOf(n, fromUri));
  }

  endpointByName(name: string, uri: string): DvsEndpoint | undefined {
    return this.config(uri)?.endpoints.find((e) => e.name === name);
  }

  endpointByNumber(n: number, uri: string, dc?: number): DvsEndpoint | undefined {
    return this.config(uri)?.endpoints.find((e) => e.number === n && (dc === undefined || e.dc === dc));
  }

  /** Resolve an endpoint argument in the context of its file and scope. */
  endpoint(arg: ArgFact, uri: string, facts: FileFacts, scope: string): EndpointRef {
    const ref: EndpointRef = { text: arg.text };
    if (arg.kind === 'field' && (arg.field === 'm_source' || arg.field === 'source')) return { ...ref, requester: true };
    if (arg.kind === 'ident' && arg.ident) {
      const id = arg.ident;
      if (id === 'ANY' || id === 'NONE' || id === 'SELF') return { ...ref, special: id, value: SPECIAL[id] as number };
      const own = facts.calls.find((c) => c.kind === 'bind' && c.resultVar === id && (c.scope === scope || c.scope === 'module'));
      if (own) {
        const ownRef = own.ep ? this.endpoint(own.ep, uri, facts, own.scope) : undefined;
        return { ...ref, own: true, ...(ownRef?.value !== undefined ? { value: ownRef.value } : {}), ...(ownRef?.name ? { name: ownRef.name } : {}), ...(ownRef?.decl ? { decl: ownRef.decl } : {}) };
      }
      const byName = this.endpointByName(id, uri);
      const value = this.valueOf(id, uri);
      if (value === undefined && !byName) return ref;
      const decl = byName ?? (value !== undefined ? this.endpointByNumber(value, uri) : undefined);
      return { ...ref, name: id, ...(value !== undefined ? { value } : {}), ...(decl ? { decl } : {}) };
    }
    if (arg.kind === 'number' || arg.kind === 'other') {
      const value = this.evalText(arg.text, uri);
      if (value === undefined) return ref;
      const decl = this.endpointByNumber(value, uri);
      return { ...ref, value, ...(decl ? { decl, name: decl.name } : {}) };
    }
    return ref;
  }

  /** The endpoints a file binds itself to (bind/tbind), else the dvs.json program that runs it. */
  ownEndpoints(state: DocState): EndpointRef[] {
    const out: EndpointRef[] = [];
    for (const c of state.facts.calls) {
      if (c.kind !== 'bind' || !c.ep) continue;
      if (state.lang !== 'c' && c.receiver !== undefined) continue;
      const r = this.endpoint(c.ep, state.uri, state.facts, c.scope);
      if (r.value !== undefined && !out.some((o) => o.value === r.value)) out.push(r);
    }
    if (out.length > 0) return out;
    const cfg = this.configFor(state.uri);
    if (!cfg?.lastGood) return out;
    const file = uriToPath(state.uri);
    const rel = path.relative(cfg.dir, file).split(path.sep).join('/');
    const stem = rel.replace(/\.[^./]+$/, '');
    for (const e of cfg.lastGood.endpoints) {
      const run = e.program?.run.replace(/^\.\//, '');
      if (!run) continue;
      // A binary `kv/kv_server` is taken to be built from `kv/kv_server.c`.
      if (run === rel || run.replace(/\.[^./]+$/, '') === stem) out.push({ text: e.name, name: e.name, value: e.number, decl: e });
    }
    return out;
  }

  messageType(text: string, uri: string): DvsMessageType | undefined {
    const cfg = this.config(uri);
    const types = cfg?.protocol?.types;
    if (!types) return undefined;
    const byName = types.find((t) => t.name === text);
    if (byName) return byName;
    const v = this.evalText(text, uri);
    return v === undefined ? undefined : types.find((t) => t.number === v);
  }

  /** Server loops of the project bound to endpoint value `ep`. */
  serverLoopsOf(ep: number, uri: string): { state: DocState; loop: ServerLoopFact }[] {
    const out: { state: DocState; loop: ServerLoopFact }[] = [];
    for (const s of this.peers(uri)) {
      if (s.facts.loops.length === 0) continue;
      if (!this.ownEndpoints(s).some((o) => o.value === ep)) continue;
      for (const loop of s.facts.loops) out.push({ state: s, loop });
    }
    return out;
  }

  /** IPC calls whose endpoint is a TypeScript Endpoint method or any C call. */
  ipcCalls(state: DocState): CallFact[] {
    if (state.lang === 'c') return state.facts.calls;
    const eps = new Set(state.facts.epVars);
    return state.facts.calls.filter((c) => c.receiver === undefined ? c.kind === 'bind' && state.facts.importsRuntime : eps.has(c.receiver) || (state.facts.importsRuntime && /(^|\.)(ep|endpoint)$/i.test(c.receiver)));
  }
}

export function uriToPath(uri: string): string {
  return uri.startsWith('file://') ? fileURLToPath(uri) : uri;
}

export function pathToUri(p: string): string {
  return pathToFileURL(p).href;
}
