/**
 * The workspace index: every analysed file's facts plus the dvs.json files, and the
 * name resolution that ties them together (literals, #define, enum, const and the
 * names declared in dvs.json, SPEC §6).
 */
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type DvsConfig, type DvsEndpoint, type DvsMessageType, type ParsedDvsConfig, parseDvsConfig } from '@dvs/grammar';
import type { Analyzer, DocState } from './analyzer';
import type { ArgFact, CallFact, DefFact, FieldFact, FileFacts, LiteralFact, Rng, ServerLoopFact } from './facts';
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

/** Per-file lookup tables over immutable facts, built once per analysis result. */
export interface FileIndex {
  bindsByVar: Map<string, CallFact[]>;
  callsByScope: Map<string, CallFact[]>;
  /** `${scope}\0${var}` → writes to that variable's fields, in source order. */
  fieldWrites: Map<string, FieldFact[]>;
  literalsByVar: Map<string, LiteralFact[]>;
  /** `${scope}\0${var}` → calls that receive into / return into that variable. */
  callsByTarget: Map<string, CallFact[]>;
}

const fileIndexes = new WeakMap<FileFacts, FileIndex>();

function push<K, V>(map: Map<K, V[]>, key: K, v: V): void {
  const list = map.get(key);
  if (list) list.push(v);
  else map.set(key, [v]);
}

export function fileIndex(f: FileFacts): FileIndex {
  let idx = fileIndexes.get(f);
  if (idx) return idx;
  idx = { bindsByVar: new Map(), callsByScope: new Map(), fieldWrites: new Map(), literalsByVar: new Map(), callsByTarget: new Map() };
  const c = f.lang === 'c';
  for (const call of f.calls) {
    if (call.kind === 'bind' && call.resultVar) push(idx.bindsByVar, call.resultVar, call);
    push(idx.callsByScope, call.scope, call);
    const target = c ? call.msgVar : call.resultVar;
    if (target) push(idx.callsByTarget, `${call.scope}\0${target}`, call);
  }
  for (const fl of f.fields) if (fl.write) push(idx.fieldWrites, `${fl.scope}\0${fl.obj}`, fl);
  for (const l of f.literals) if (l.assignedTo) push(idx.literalsByVar, `${l.scope}\0${l.assignedTo}`, l);
  fileIndexes.set(f, idx);
  return idx;
}

export class Workspace {
  readonly configs = new Map<string, ConfigState>();
  readonly liveStats = new Map<string, LiveStatsParams>();
  /** Bumped when something names resolve against changes: constants or a dvs.json. */
  private generation = 0;
  /** Bumped on every file change (project-wide aggregates like server loops depend on it). */
  private filesVersion = 0;
  /** Bumped when something other files can observe of a file changes (see crossSignature). */
  private crossVer = 0;
  private readonly crossSigs = new Map<string, string[]>();
  /** Bumped whenever any file's constants change (navigation lists them all). */
  private defsVersion = 0;
  private defsGen = -1;
  private defsByName = new Map<string, DefLocation[]>();
  /** Per requesting file: constant name → value; cleared when names change. */
  private valueCache = new Map<string, Map<string, number | undefined>>();
  private valueGen = -1;
  private readonly memos = new WeakMap<object, Map<string, { gen: number; files: number; size: number; value: unknown }>>();

  constructor(readonly analyzer: Analyzer) {}

  /** Changes whenever name resolution may give other answers. */
  get namesVersion(): number {
    return this.generation;
  }

  /** Changes whenever a file changes in a way other files can see (or names change). */
  get crossVersion(): number {
    return this.crossVer;
  }

  /** Invalidate everything (configs, removed files). */
  touch(): void {
    this.generation++;
    this.filesVersion++;
    this.crossVer++;
    this.defsVersion++;
  }

  /**
   * A file was (re)analysed: only a change of its constants invalidates name resolution,
   * and only a change of its cross-file signature invalidates other files' findings.
   */
  fileUpdated(state: DocState, prev: FileFacts | undefined, opts: { indexing?: boolean } = {}): void {
    this.filesVersion++;
    if (!prev || defsSignature(prev) !== defsSignature(state.facts)) {
      if (!prev && this.defsGen === this.defsVersion) {
        // A file new to the index: add its constants rather than rebuilding the table.
        for (const d of state.facts.defs) {
          const list = this.defsByName.get(d.name);
          if (list) list.push({ uri: state.uri, def: d });
          else this.defsByName.set(d.name, [{ uri: state.uri, def: d }]);
        }
        this.defsGen = ++this.defsVersion;
      } else this.defsVersion++;
      // A file new to the index whose constants all repeat existing ones with the same
      // literal values (a copied header) cannot change how any other file resolves
      // names: only its own lookups are new, and those are not cached yet.
      if (prev || !this.agreesWithWorkspace(state)) this.generation++;
      else this.valueCache.delete(state.uri);
    }
    if (opts.indexing) {
      // Start-up indexing ends with touch(), which re-checks everything anyway; the
      // signature is computed when the file first changes.
      this.crossSigs.delete(state.uri);
      return;
    }
    const old = this.crossSigs.get(state.uri);
    if (!old) {
      // Nothing to compare with (new, or indexed at start-up): assume a change and let
      // recordSignature() take the signature once diagnostics are out.
      this.crossVer++;
      return;
    }
    const sig = crossSignature(state);
    if (old.length !== sig.length || old.some((x, i) => x !== sig[i])) {
      this.crossSigs.set(state.uri, sig);
      this.crossVer++;
    }
  }

  /** Take the cross-file signature of a file that has none yet (see fileUpdated). */
  recordSignature(uri: string): void {
    const s = this.analyzer.get(uri);
    if (s && !this.crossSigs.has(uri)) this.crossSigs.set(uri, crossSignature(s));
  }

  /** A file left the index. */
  fileRemoved(uri: string): void {
    this.crossSigs.delete(uri);
    this.touch();
  }

  /**
   * Cache `compute()` on `owner` until names change, and also until any file changes
   * (`files`, or `true`) or until a file changes what other files can see (`cross`).
   */
  memo<T>(owner: object, name: string, compute: () => T, perEdit: boolean | 'files' | 'cross' = false): T {
    const files = perEdit === true || perEdit === 'files' ? this.filesVersion : perEdit === 'cross' ? -2 - this.crossVer : -1;
    let m = this.memos.get(owner);
    if (!m) this.memos.set(owner, (m = new Map()));
    const hit = m.get(name);
    if (hit && hit.gen === this.generation && hit.files === files && hit.size === this.analyzer.size) return hit.value as T;
    const value = compute();
    m.set(name, { gen: this.generation, files, size: this.analyzer.size, value });
    return value;
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
    const cache = this.memo(this, 'configFor', () => new Map<string, ConfigState | undefined>());
    if (cache.has(uri)) return cache.get(uri);
    const found = this.findConfig(uri);
    cache.set(uri, found);
    return found;
  }

  private findConfig(uri: string): ConfigState | undefined {
    const file = uriToPath(uri);
    let best: ConfigState | undefined;
    for (const c of this.configs.values()) {
      if ((file === c.dir || file.startsWith(c.dir + path.sep)) && (!best || c.dir.length > best.dir.length)) best = c;
    }
    return best;
  }

  private lastConfig: { uri: string; gen: number; cfg: DvsConfig | undefined } | undefined;

  /** The governing dvs.json model; rules ask for it per call, so the last answer is kept. */
  config(uri: string): DvsConfig | undefined {
    const last = this.lastConfig;
    if (last && last.uri === uri && last.gen === this.generation) return last.cfg;
    const cfg = this.configFor(uri)?.lastGood;
    this.lastConfig = { uri, gen: this.generation, cfg };
    return cfg;
  }

  /** Files in the same project (same dvs.json, or all files when there is none). */
  peers(uri: string): DocState[] {
    const cfg = this.configFor(uri);
    const groups = this.memo(this, 'peers', () => {
      const map = new Map<ConfigState | undefined, string[]>();
      for (const s of this.analyzer.all()) push(map, this.configFor(s.uri), s.uri);
      return map;
    });
    // Membership is cached; the states themselves are looked up fresh (edits replace them).
    const out: DocState[] = [];
    for (const u of groups.get(cfg) ?? []) {
      const s = this.analyzer.get(u);
      if (s) out.push(s);
    }
    return out;
  }

  defs(name: string): DefLocation[] {
    if (this.defsGen !== this.defsVersion) {
      this.defsByName = new Map();
      this.defSummaries.clear();
      for (const s of this.analyzer.all()) {
        for (const d of s.facts.defs) {
          let list = this.defsByName.get(d.name);
          if (!list) this.defsByName.set(d.name, (list = []));
          list.push({ uri: s.uri, def: d });
        }
      }
      this.defsGen = this.defsVersion;
    }
    return this.defsByName.get(name) ?? [];
  }

  /** Every constant of `state` is already defined elsewhere, always with this literal value. */
  private agreesWithWorkspace(state: DocState): boolean {
    for (const d of state.facts.defs) {
      if (d.implicit === undefined && !/^(0[xX][0-9a-fA-F]+|\d+)$/.test(d.value)) return false;
      // The file's own definitions are in the list already (it is new to the index): all
      // entries must agree with `d`, and some must come from other files.
      const sum = this.defSummary(d.name);
      if (!sum || !sum.uniform || sum.value !== d.value || sum.implicit !== d.implicit) return false;
      let own = 0;
      for (const x of state.facts.defs) if (x.name === d.name) own++;
      if (sum.list.length <= own) return false;
    }
    return true;
  }

  private readonly defSummaries = new Map<string, { list: DefLocation[]; len: number; value: string; implicit: number | undefined; uniform: boolean }>();

  /**
   * Whether every definition of `name` has the same value, kept up to date as files are
   * appended to its list (a list is only appended to until the table is rebuilt, which
   * makes new arrays): each new file is compared in constant time, not with every file
   * that shares the header (which was quadratic at start-up).
   */
  private defSummary(name: string): { list: DefLocation[]; value: string; implicit: number | undefined; uniform: boolean } | undefined {
    const list = this.defs(name);
    const first = list[0];
    if (!first) return undefined;
    let sum = this.defSummaries.get(name);
    if (!sum || sum.list !== list) {
      sum = { list, len: 0, value: first.def.value, implicit: first.def.implicit, uniform: true };
      this.defSummaries.set(name, sum);
    }
    for (; sum.len < list.length; sum.len++) {
      const o = list[sum.len] as DefLocation;
      if (o.def.value !== sum.value || o.def.implicit !== sum.implicit) sum.uniform = false;
    }
    return sum;
  }

  /** Numeric value of a constant name, preferring the definition in the same file. */
  valueOf(name: string, fromUri: string, depth = 0): number | undefined {
    if (name in SPECIAL) return SPECIAL[name];
    if (depth > 16) return undefined;
    if (this.valueGen !== this.generation) {
      this.valueCache = new Map();
      this.valueGen = this.generation;
    }
    let cache = this.valueCache.get(fromUri);
    if (!cache) this.valueCache.set(fromUri, (cache = new Map()));
    if (cache.has(name)) return cache.get(name);
    cache.set(name, undefined);
    const list = this.defs(name);
    const local = list.find((d) => d.uri === fromUri) ?? list[0];
    let v: number | undefined;
    if (local) {
      v = local.def.implicit ?? evalConst(local.def.value, (n) => this.valueOf(n, local.uri, depth + 1));
    } else {
      const cfg = this.config(fromUri);
      v = cfg?.endpoints.find((e) => e.name === name)?.number ?? cfg?.protocol?.types.find((t) => t.name === name)?.number;
    }
    cache.set(name, v);
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

  private readonly endpointCache = new WeakMap<ArgFact, { gen: number; uri: string; ref: EndpointRef }>();

  /** Resolve an endpoint argument in the context of its file and scope (cached per argument). */
  endpoint(arg: ArgFact, uri: string, facts: FileFacts, scope: string): EndpointRef {
    const hit = this.endpointCache.get(arg);
    if (hit && hit.gen === this.generation && hit.uri === uri) return hit.ref;
    // A bind whose endpoint is its own result (`r = mnx_bind(dc, r)`, as a
    // half-typed edit can produce) would resolve itself forever.
    if (this.resolving.has(arg)) return { text: arg.text };
    this.resolving.add(arg);
    let ref: EndpointRef;
    try {
      ref = this.resolveEndpoint(arg, uri, facts, scope);
    } finally {
      this.resolving.delete(arg);
    }
    this.endpointCache.set(arg, { gen: this.generation, uri, ref });
    return ref;
  }

  private readonly resolving = new Set<ArgFact>();

  private resolveEndpoint(arg: ArgFact, uri: string, facts: FileFacts, scope: string): EndpointRef {
    const ref: EndpointRef = { text: arg.text };
    if (arg.kind === 'field' && (arg.field === 'm_source' || arg.field === 'source')) return { ...ref, requester: true };
    if (arg.kind === 'ident' && arg.ident) {
      const id = arg.ident;
      if (id === 'ANY' || id === 'NONE' || id === 'SELF') return { ...ref, special: id, value: SPECIAL[id] as number };
      const own = fileIndex(facts).bindsByVar.get(id)?.find((c) => c.scope === scope || c.scope === 'module');
      if (own) {
        const ownRef = own.ep ? this.endpoint(own.ep, uri, facts, own.scope) : undefined;
        return { ...ref, own: true, ...(ownRef?.value !== undefined ? { value: ownRef.value } : {}), ...(ownRef?.name ? { name: ownRef.name } : {}), ...(ownRef?.decl ? { decl: ownRef.decl } : {}) };
      }
      return this.sharedRef(uri, 'i', id, () => {
        const byName = this.endpointByName(id, uri);
        const value = this.valueOf(id, uri);
        if (value === undefined && !byName) return ref;
        const decl = byName ?? (value !== undefined ? this.endpointByNumber(value, uri) : undefined);
        return { ...ref, name: id, ...(value !== undefined ? { value } : {}), ...(decl ? { decl } : {}) };
      });
    }
    if (arg.kind === 'number' || arg.kind === 'other') {
      return this.sharedRef(uri, 'n', arg.text, () => {
        const value = this.evalText(arg.text, uri);
        if (value === undefined) return ref;
        const decl = this.endpointByNumber(value, uri);
        return { ...ref, value, ...(decl ? { decl, name: decl.name } : {}) };
      });
    }
    return ref;
  }

  /** Resolutions that depend only on the file, the argument's text and the names (see sharedRef). */
  private sharedRefs = new Map<string, EndpointRef>();
  private sharedGen = -1;

  /**
   * A name or expression not bound in its scope denotes the same endpoint wherever it is
   * used in a file (a 10,000-line file sends to LOG_SERVER a thousand times): resolved
   * once per file and text until names change. The refs are never modified.
   */
  private sharedRef(uri: string, kind: string, text: string, resolve: () => EndpointRef): EndpointRef {
    if (this.sharedGen !== this.generation) {
      this.sharedRefs = new Map();
      this.sharedGen = this.generation;
    }
    const key = `${uri}\u0000${kind}\u0000${text}`;
    let ref = this.sharedRefs.get(key);
    if (!ref) this.sharedRefs.set(key, (ref = resolve()));
    return ref;
  }

  /** The endpoints a file binds itself to (bind/tbind), else the dvs.json program that runs it. */
  ownEndpoints(state: DocState): EndpointRef[] {
    return this.memo(state, 'own', () => this.computeOwnEndpoints(state));
  }

  private computeOwnEndpoints(state: DocState): EndpointRef[] {
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
    const cfg = this.configFor(uri) ?? this;
    const byEp = this.memo(cfg, 'loops', () => {
      const map = new Map<number, { state: DocState; loop: ServerLoopFact }[]>();
      for (const s of this.peers(uri)) {
        if (s.facts.loops.length === 0) continue;
        for (const o of this.ownEndpoints(s)) if (o.value !== undefined) for (const loop of s.facts.loops) push(map, o.value, { state: s, loop });
      }
      return map;
    }, true);
    return byEp.get(ep) ?? [];
  }

  /** IPC calls whose endpoint is a TypeScript Endpoint method or any C call. */
  ipcCalls(state: DocState): CallFact[] {
    if (state.lang === 'c') return state.facts.calls;
    const eps = new Set(state.facts.epVars);
    return this.memo(state, 'ipc', () => state.facts.calls.filter((c) => c.receiver === undefined ? c.kind === 'bind' && state.facts.importsRuntime : eps.has(c.receiver) || (state.facts.importsRuntime && /(^|\.)(ep|endpoint)$/i.test(c.receiver))));
  }
}

/**
 * What other files can observe of this one, per top-level unit: when it is unchanged,
 * their project-wide findings (DVS005, DVS009, DVS012) need no re-check. That includes
 * where its send sites and server loops are: those findings point at them (related
 * information), so a line inserted above them makes the other files' findings stale.
 */
export function crossSignature(s: DocState): string[] {
  if (s.units.length === 0) return [unitSignature(s.facts)];
  return s.units.map((u) => unitSignature(u.facts));
}

const unitSignatures = new WeakMap<FileFacts, string>();
/** Calls whose sites other files' findings point at (DVS005 senders, DVS012 sendrecs). */
const SENDS = new Set(['send', 'sendrec', 'notify']);

function rangeText(r: Rng): string {
  return `${r.sr}:${r.sc}-${r.er}:${r.ec}`;
}

/** Cached per unit: facts of units an edit did not touch are the same objects. */
export function unitSignature(f: FileFacts): string {
  const hit = unitSignatures.get(f);
  if (hit !== undefined) return hit;
  const parts: string[] = [];
  for (const d of f.defs) parts.push(`d${d.name}=${d.value}`);
  for (const c of f.calls) {
    const at = SENDS.has(c.kind) ? `@${rangeText(c.range)}` : '';
    parts.push(`c${c.kind}:${c.name}/${c.args.length}:${c.receiver ?? ''}:${c.ep?.text ?? ''}:${c.msgVar ?? ''}:${c.resultVar ?? ''}:${c.caseLabel?.label ?? ''}:${c.msgPairs?.map((p) => p.key + p.value).join() ?? ''}${at}`);
  }
  for (const fl of f.fields) if (fl.write && (fl.field === 'm_type' || fl.field === 'type')) parts.push(`t${fl.obj}=${fl.value ?? ''}`);
  for (const l of f.literals) parts.push(`L${l.assignedTo ?? ''}=${l.pairs.find((p) => p.key === 'type')?.value ?? ''}`);
  for (const l of f.loops) parts.push(`l${l.cases.map((c) => c.label).join()}@${rangeText(l.recv)}`);
  for (const v of f.epVars) parts.push(`e${v}`);
  if (f.importsRuntime) parts.push('i');
  const sig = parts.join('\n');
  unitSignatures.set(f, sig);
  return sig;
}

function defsSignature(f: FileFacts): string {
  let sig = '';
  for (const d of f.defs) sig += `${d.name}=${d.value}=${d.implicit ?? ''};`;
  return sig;
}

export function uriToPath(uri: string): string {
  return uri.startsWith('file://') ? fileURLToPath(uri) : uri;
}

export function pathToUri(p: string): string {
  return pathToFileURL(p).href;
}
