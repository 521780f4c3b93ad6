/**
 * Per-URI tree cache and per-unit fact cache.
 *
 * A file is split into top-level units (C functions and declarations, TypeScript
 * statements). Facts are cached per unit keyed by the unit's text: after an edit the
 * tree is updated with `tree.edit` + an incremental reparse, and only the units whose
 * text changed are queried again; the others keep their facts, shifted to their new
 * position. That is what keeps a keystroke in a 10k-line file in the low milliseconds.
 */
import type { Edit as EditT, Node, QueryMatch, Tree } from 'web-tree-sitter';
import { Edit, Parser } from 'web-tree-sitter';
import { type FileFacts, type Rng, emptyFacts } from './facts';
import { extractUnit } from './extract';
import { applyRangeChange } from './util/text';
import type { Grammars, Lang } from './parser';

interface UnitEntry {
  key: string;
  row: number;
  col: number;
  o: number;
  /** UTF-16 offset of the end. */
  end: number;
  facts: FileFacts;
}

export interface DocState {
  uri: string;
  lang: Lang;
  text: string;
  version: number;
  /** Kept only for open documents (incremental reparse); closed files keep facts only. */
  tree?: Tree;
  units: UnitEntry[];
  /**
   * Every unit is a direct child of the root and nothing is inactive (`#if 0`): an edit
   * can then be mapped to the units it touches without walking the others.
   */
  flat: boolean;
  /**
   * The tree the units come from had no syntax error: an edit inside one unit can then be
   * analysed by parsing that unit alone (see editAlone).
   */
  clean: boolean;
  facts: FileFacts;
  /** Units re-extracted by the last analysis (for benchmarks and logging). */
  reanalysed: number;
}

export interface TextChange {
  range?: { start: { line: number; character: number }; end: { line: number; character: number } };
  text: string;
}

/**
 * The tree of a reopened document, parsed in the background (see stepTrees): the text
 * the parse started from, and the edits made since (applied to the tree when it is done).
 */
interface TreeJob {
  uri: string;
  lang: Lang;
  text: string;
  edits: EditT[];
}

export class Analyzer {
  private readonly states = new Map<string, DocState>();
  /**
   * Incremental edits mapped to the units around them, those that walked every unit, and
   * edits of a document without a tree analysed by parsing the edited unit alone.
   */
  readonly stats = { mapped: 0, walked: 0, alone: 0 };
  /** Reopened documents whose tree is still to be built, in order. */
  private readonly jobs = new Map<string, TreeJob>();
  /**
   * Background parses use parsers of their own: a parse cancelled by its progress callback
   * is resumed by the next `parse` call on the same parser, so the parsers that serve
   * opens and edits must never hold a cancelled parse.
   */
  private readonly bgParsers: Partial<Record<Lang, Parser>> = {};
  /** The job whose parse is outstanding (cancelled, to be resumed) in its bgParser. */
  private active: TreeJob | undefined;

  /**
   * `mapEdits: false` turns off the mapping of one edit to the units around it
   * (buildAround), so tests can compare it with the full walk on the same tree.
   */
  constructor(
    private readonly grammars: Grammars,
    private readonly options: { mapEdits?: boolean; aloneEdits?: boolean } = {},
  ) {}

  get(uri: string): DocState | undefined {
    return this.states.get(uri);
  }

  all(): IterableIterator<DocState> {
    return this.states.values();
  }

  get size(): number {
    return this.states.size;
  }

  uris(): string[] {
    return [...this.states.keys()];
  }

  /** Parse from scratch (first open, workspace indexing, full-text sync). */
  analyze({ uri, lang, text, version = 0, keepTree }: { uri: string; lang: Lang; text: string; version?: number; keepTree: boolean }): DocState {
    const prev = this.states.get(uri);
    this.cancelTree(uri);
    const tree = this.grammars.parsers[lang].parse(text);
    if (!tree) throw new Error(`tree-sitter could not parse ${uri}`);
    const state = this.build(uri, lang, text, version, tree, prev);
    prev?.tree?.delete();
    if (keepTree) state.tree = tree;
    else tree.delete();
    this.states.set(uri, state);
    return state;
  }

  /**
   * Open a file whose analysis is current (indexed at start-up, same text): its facts are
   * kept and no tree is built, so diagnostics need no parse. The tree that incremental
   * edits need is parsed in slices by `stepTrees` (the server runs them between
   * messages); an edit that comes first is analysed without it when it stays inside one
   * unit (editAlone), otherwise it finishes the tree at once. Undefined when the file
   * must be analysed.
   */
  reopen({ uri, lang, text, version }: { uri: string; lang: Lang; text: string; version: number }): DocState | undefined {
    const prev = this.states.get(uri);
    if (!prev || prev.tree || prev.lang !== lang || prev.text !== text) return undefined;
    const state: DocState = { ...prev, version, reanalysed: 0 };
    this.states.set(uri, state);
    if (!this.jobs.has(uri)) this.jobs.set(uri, { uri, lang, text, edits: [] });
    return state;
  }

  /** The document whose background parse is under way (started, not finished). */
  get parsing(): string | undefined {
    return this.active?.uri;
  }

  /** Reopened documents whose tree is not built yet. */
  get pendingTrees(): number {
    return this.jobs.size;
  }

  /**
   * Work on the pending trees for about `budgetMs`: the parse is cancelled by its progress
   * callback when the time is up and resumed by the next call (tree-sitter keeps the
   * parse state in the parser). Returns the documents whose analysis changed when their
   * tree was attached, with their facts before (only possible after edits made without
   * a tree; see attach).
   */
  stepTrees(budgetMs: number): { state: DocState; prev: FileFacts }[] {
    const deadline = performance.now() + budgetMs;
    const changed: { state: DocState; prev: FileFacts }[] = [];
    while (performance.now() < deadline) {
      const job = this.active ?? this.jobs.values().next().value;
      if (!job) break;
      const parser = this.bgParser(job.lang);
      this.active = job;
      let tree: Tree | null;
      try {
        tree = parser.parse(job.text, null, { progressCallback: () => performance.now() >= deadline });
      } catch (e) {
        // Not again on every slice: the document's first edit builds its tree (ensureTree).
        this.cancelTree(job.uri);
        throw e;
      }
      if (!tree) break;
      this.active = undefined;
      const s = this.attach(job, tree);
      if (s) changed.push(s);
    }
    return changed;
  }

  /** Build a reopened document's tree now (the rest of its background parse, if started). */
  ensureTree(uri: string): void {
    const s = this.states.get(uri);
    const job = this.jobs.get(uri);
    if (!s || s.tree || !job) return;
    let tree: Tree | null;
    if (this.active === job) {
      tree = this.bgParser(job.lang).parse(job.text);
      this.active = undefined;
    } else tree = this.grammars.parsers[job.lang].parse(job.text);
    if (!tree) throw new Error(`tree-sitter could not parse ${uri}`);
    // Called by an edit, which reads the state again (attach may have replaced it) and
    // publishes what it analyses.
    this.attach(job, tree);
  }

  private bgParser(lang: Lang): Parser {
    let p = this.bgParsers[lang];
    if (!p) {
      p = new Parser();
      p.setLanguage(this.grammars.languages[lang]);
      this.bgParsers[lang] = p;
    }
    return p;
  }

  /** Forget a document's pending tree (closed, analysed again, removed). */
  private cancelTree(uri: string): void {
    const job = this.jobs.get(uri);
    if (!job) return;
    this.jobs.delete(uri);
    if (this.active === job) {
      this.bgParsers[job.lang]?.reset();
      this.active = undefined;
    }
  }

  /**
   * Give a document the tree parsed from its text at reopen time. Edits made since were
   * analysed without a tree (editAlone): they are applied to the tree and reparsed
   * incrementally, and the units of that tree are checked against the ones editAlone
   * produced; any that differ are extracted again, and the new state is returned so that
   * the caller can publish it.
   */
  private attach(job: TreeJob, parsed: Tree): { state: DocState; prev: FileFacts } | undefined {
    this.jobs.delete(job.uri);
    const s = this.states.get(job.uri);
    if (!s || s.tree) {
      parsed.delete();
      return undefined;
    }
    let tree = parsed;
    if (job.edits.length > 0) {
      for (const e of job.edits) tree.edit(e);
      const next = this.grammars.parsers[job.lang].parse(s.text, tree);
      tree.delete();
      if (!next) throw new Error(`tree-sitter could not parse ${job.uri}`);
      tree = next;
      const built = this.build(job.uri, s.lang, s.text, s.version, tree, s);
      if (built.reanalysed > 0 || built.flat !== s.flat || built.units.length !== s.units.length || built.units.some((u, i) => !sameEntry(u, s.units[i] as UnitEntry))) {
        built.tree = tree;
        this.states.set(job.uri, built);
        return { state: built, prev: s.facts };
      }
    }
    s.tree = tree;
    s.clean = !tree.rootNode.hasError;
    return undefined;
  }

  /** Apply LSP content changes incrementally: `tree.edit` per change, then one reparse. */
  edit({ uri, changes, version }: { uri: string; changes: TextChange[]; version: number }): DocState | undefined {
    let prev = this.states.get(uri);
    if (!prev) return undefined;
    if (!prev.tree && changes.every((c) => c.range)) {
      // A reopened document whose tree is not built yet: an edit inside one unit is
      // analysed without it; any other edit builds the tree now, then edits it.
      const job = this.jobs.get(uri);
      const alone = job && this.options.aloneEdits !== false ? this.editAlone(prev, changes, version) : undefined;
      if (job && alone) {
        job.edits.push(...alone.edits);
        this.stats.alone++;
        this.states.set(uri, alone.state);
        return alone.state;
      }
      this.ensureTree(uri);
      // The tree may come with a new state (see attach).
      prev = this.states.get(uri) as DocState;
    }
    if (!prev.tree || changes.some((c) => !c.range)) {
      const last = changes[changes.length - 1];
      const text = changes.reduce((t, c) => (c.range ? applyChange(t, c).text : c.text), prev.text);
      return this.analyze({ uri, lang: prev.lang, text: last && !last.range ? last.text : text, version, keepTree: true });
    }
    let text = prev.text;
    let lastEdit: EditT | undefined;
    for (const c of changes) {
      const r = applyChange(text, c);
      prev.tree.edit(r.edit);
      text = r.text;
      lastEdit = r.edit;
    }
    const tree = this.grammars.parsers[prev.lang].parse(text, prev.tree);
    if (!tree) return undefined;
    const mapped = changes.length === 1 && lastEdit && this.options.mapEdits !== false ? this.buildAround(uri, text, version, tree, prev, lastEdit) : undefined;
    if (mapped) this.stats.mapped++;
    else this.stats.walked++;
    const state = mapped ?? this.build(uri, prev.lang, text, version, tree, prev);
    prev.tree.delete();
    state.tree = tree;
    this.states.set(uri, state);
    return state;
  }

  /**
   * One edit of a C document whose tree is not built yet (reopened, its background parse
   * not finished): when the edit lies inside one top-level unit, not touching its first or
   * last character, that unit's new text is parsed alone and its facts are shifted to
   * where the unit starts; the units after it are shifted like in buildAround. The parse
   * of a text is context-free in C (no external scanner, no automatic semicolons), so in a
   * file without syntax errors a unit that parses alone, without errors, to one node of
   * the same kind that spans its whole text, is the node the full parse would give, and
   * the units around it keep their boundaries. Anything else (TypeScript, several changes,
   * an edit between units or that breaks the unit) returns undefined: the caller builds
   * the tree. When the tree is attached the units are checked again (see attach).
   */
  private editAlone(prev: DocState, changes: TextChange[], version: number): { state: DocState; edits: EditT[] } | undefined {
    const c = changes[0];
    if (prev.lang !== 'c' || changes.length !== 1 || !c?.range || !prev.flat || !prev.clean) return undefined;
    const old = prev.units;
    const { text, edit: e } = applyChange(prev.text, c);
    // k: the last unit starting before the edit.
    let lo = 0;
    let hi = old.length - 1;
    if (hi < 0) return undefined;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((old[mid] as UnitEntry).o < e.startIndex) lo = mid;
      else hi = mid - 1;
    }
    const u = old[lo] as UnitEntry;
    if (!(e.startIndex > u.o && e.oldEndIndex < u.end)) return undefined;
    const delta = e.newEndIndex - e.oldEndIndex;
    const unitText = text.slice(u.o, u.end + delta);
    const type = u.key.slice(0, u.key.indexOf('\u0000'));
    const tree = this.grammars.parsers.c.parse(unitText);
    if (!tree) return undefined;
    try {
      const root = tree.rootNode;
      if (root.hasError || root.namedChildCount !== 1) return undefined;
      const node = root.namedChild(0);
      if (!node || node.type !== type || node.startIndex !== 0 || node.endIndex !== unitText.length) return undefined;
      const at = { row: 0, col: 0, o: 0 };
      const entry: UnitEntry = {
        key: `${type}\u0000${unitText}`,
        row: u.row,
        col: u.col,
        o: u.o,
        end: u.o + unitText.length,
        facts: rebase(extractUnit(node, 'c', this.grammars.queries.c, undefined, unitText), at, u.row, u.col, u.o),
      };
      const units = old.slice(0, lo);
      units.push(entry);
      shiftAfter(old, lo + 1, e, units);
      const facts = emptyFacts('c');
      for (const x of units) appendFacts(facts, x.facts);
      return { state: { uri: prev.uri, lang: 'c', text, version, units, flat: true, clean: true, facts, reanalysed: 1 }, edits: [e] };
    } finally {
      tree.delete();
    }
  }

  /** Drop the tree of a closed document; its facts stay in the index. */
  release(uri: string): void {
    this.cancelTree(uri);
    const s = this.states.get(uri);
    if (s?.tree) {
      s.tree.delete();
      delete s.tree;
    }
  }

  /** Take a closed file's analysis made elsewhere (an indexing thread; see index-pool.ts). */
  adopt(state: DocState): DocState {
    this.cancelTree(state.uri);
    this.states.get(state.uri)?.tree?.delete();
    delete state.tree;
    this.states.set(state.uri, state);
    return state;
  }

  remove(uri: string): void {
    this.release(uri);
    this.states.delete(uri);
  }

  /**
   * One edit in a flat file: only the units around it are looked at in the new tree (the
   * unit before and after the touched ones too, to see a brace that moved); the units
   * before keep their entries, the units after are shifted. Undefined when the shape of
   * the file around the edit changed in a way this cannot map (the full build then runs).
   */
  private buildAround(uri: string, text: string, version: number, tree: Tree, prev: DocState, e: EditT): DocState | undefined {
    const old = prev.units;
    if (!prev.flat || old.length === 0) return undefined;
    const lang = prev.lang;
    const delta = e.newEndIndex - e.oldEndIndex;
    // Where the text or its syntax changed: the edit, and whatever tree-sitter reparsed
    // differently around it (an opened comment or string reaches far). In old offsets.
    let start = e.startIndex;
    let oldEnd = e.oldEndIndex;
    if (!prev.tree) return undefined;
    for (const r of tree.getChangedRanges(prev.tree)) {
      start = Math.min(start, r.startIndex);
      oldEnd = Math.max(oldEnd, r.endIndex >= e.newEndIndex ? r.endIndex - delta : Math.min(r.endIndex, e.oldEndIndex));
    }
    // a: first unit ending at or after the change; b: last unit starting at or before its end.
    let a = 0;
    while (a < old.length && (old[a] as UnitEntry).end < start) a++;
    let b = a - 1;
    while (b + 1 < old.length && (old[b + 1] as UnitEntry).o <= oldEnd) b++;
    const lo = Math.max(0, Math.min(a, b + 1) - 1);
    const hi = Math.min(old.length - 1, Math.max(b, a - 1) + 1);
    const first = old[lo] as UnitEntry;
    const last = old[hi] as UnitEntry;
    const shifted = (x: number): number => (x >= e.oldEndIndex ? x + delta : x);
    // Text before the first unit and after the last one may become units: take it all in.
    const regionStart = lo === 0 ? 0 : Math.min(first.o, start);
    const regionEnd = hi === old.length - 1 ? text.length : Math.max(shifted(last.end), shifted(oldEnd));
    const nodes: Node[] = [];
    for (let n = tree.rootNode.firstNamedChildForIndex(regionStart); n && n.startIndex < regionEnd; n = n.nextNamedSibling) {
      if (n.type === 'comment') continue;
      if (lang === 'c' && PREPROC_CONDITIONALS.has(n.type)) return undefined;
      nodes.push(n);
    }
    // The units outside must be exactly where they were: nothing around grew into the region.
    const n0 = nodes[0];
    const nz = nodes[nodes.length - 1];
    if (lo > 0 && (!n0 || n0.startIndex !== first.o)) return undefined;
    if (hi < old.length - 1 && (!nz || nz.endIndex !== shifted(last.end))) return undefined;
    if (n0 && n0.startIndex < regionStart) return undefined;
    const cache = new Map<string, UnitEntry>();
    for (let i = lo; i <= hi; i++) {
      const u = old[i] as UnitEntry;
      if (!cache.has(u.key)) cache.set(u.key, u);
    }
    const query = this.grammars.queries[lang];
    const units: UnitEntry[] = old.slice(0, lo);
    let reanalysed = 0;
    for (const node of nodes) {
      const t = node.text;
      const key = `${node.type}\u0000${t}`;
      const s = node.startPosition;
      const o = node.startIndex;
      // A unit with a syntax error is parsed according to its context (error recovery), so
      // the same text can give another tree inside: its facts are never reused.
      const hit = cache.has(key) && !node.hasError ? cache.get(key) : undefined;
      let facts: FileFacts;
      if (hit) {
        cache.delete(key);
        facts = hit.row === s.row && hit.col === s.column && hit.o === o ? hit.facts : rebase(hit.facts, hit, s.row, s.column, o);
      } else {
        reanalysed++;
        facts = extractUnit(node, lang, query, undefined, text);
      }
      units.push({ key, row: s.row, col: s.column, o, end: o + t.length, facts });
    }
    shiftAfter(old, hi + 1, e, units);
    const facts = emptyFacts(lang);
    for (const u of units) appendFacts(facts, u.facts);
    return { uri, lang, text, version, units, flat: true, clean: !tree.rootNode.hasError, facts, reanalysed };
  }

  private build(uri: string, lang: Lang, text: string, version: number, tree: Tree, prev: DocState | undefined): DocState {
    const cache = new Map<string, UnitEntry>();
    if (prev && prev.lang === lang) for (const u of prev.units) if (!cache.has(u.key)) cache.set(u.key, u);
    const units: UnitEntry[] = [];
    const facts = emptyFacts(lang);
    let reanalysed = 0;
    const query = this.grammars.queries[lang];
    const shape = { flat: true };
    const nodes = topLevelUnits(tree.rootNode, lang, facts.inactive, shape);
    const keys = nodes.map((n) => `${n.type}\u0000${n.text}`);
    const misses = keys.filter((k) => !cache.has(k)).length;
    // Many new units (a first analysis): one query over the whole file is much cheaper
    // than one per unit; a few (an edit): query just those units.
    const bucketed = misses > 16 ? bucketMatches(query.matches(tree.rootNode), nodes) : undefined;
    nodes.forEach((node, i) => {
      const key = keys[i] as string;
      const s = node.startPosition;
      // Never reused for a unit with a syntax error (see buildAround).
      const hit = cache.has(key) && !node.hasError ? cache.get(key) : undefined;
      let entry: UnitEntry;
      if (hit) {
        entry = { key, row: s.row, col: s.column, o: node.startIndex, end: node.startIndex + key.length - key.indexOf('\u0000') - 1, facts: hit.row === s.row && hit.col === s.column && hit.o === node.startIndex ? hit.facts : rebase(hit.facts, hit, s.row, s.column, node.startIndex) };
      } else {
        reanalysed++;
        entry = { key, row: s.row, col: s.column, o: node.startIndex, end: node.startIndex + key.length - key.indexOf('\u0000') - 1, facts: extractUnit(node, lang, query, bucketed?.[i] ?? (bucketed ? [] : undefined), text) };
      }
      cache.delete(key);
      units.push(entry);
      appendFacts(facts, entry.facts);
    });
    return { uri, lang, text, version, units, flat: shape.flat && facts.inactive.length === 0, clean: !tree.rootNode.hasError, facts, reanalysed };
  }
}

/**
 * Append the units of `old` from index `from` on, shifted past edit `e` (they lie after it):
 * an entry whose position does not change is kept as it is.
 */
function shiftAfter(old: UnitEntry[], from: number, e: EditT, into: UnitEntry[]): void {
  const delta = e.newEndIndex - e.oldEndIndex;
  const dRow = e.newEndPosition.row - e.oldEndPosition.row;
  const dCol = e.newEndPosition.column - e.oldEndPosition.column;
  for (let i = from; i < old.length; i++) {
    const u = old[i] as UnitEntry;
    if (delta === 0 && dRow === 0 && (u.row !== e.oldEndPosition.row || dCol === 0)) {
      into.push(u);
      continue;
    }
    const row = u.row + dRow;
    const col = u.row === e.oldEndPosition.row ? u.col + dCol : u.col;
    into.push({ key: u.key, row, col, o: u.o + delta, end: u.end + delta, facts: rebase(u.facts, u, row, col, u.o + delta) });
  }
}

function sameEntry(a: UnitEntry, b: UnitEntry): boolean {
  return a.key === b.key && a.o === b.o && a.end === b.end && a.row === b.row && a.col === b.col;
}

const PREPROC_CONDITIONALS = new Set(['preproc_if', 'preproc_ifdef', 'preproc_else', 'preproc_elif', 'preproc_elifdef']);

/** Distribute whole-file query matches to the units that contain them (units are in order). */
function bucketMatches(matches: QueryMatch[], units: Node[]): QueryMatch[][] {
  const starts = units.map((u) => u.startIndex);
  const ends = units.map((u) => u.endIndex);
  const out: QueryMatch[][] = units.map(() => []);
  for (const m of matches) {
    const first = m.captures[0];
    if (!first) continue;
    const o = first.node.startIndex;
    let lo = 0;
    let hi = starts.length - 1;
    if (hi < 0 || o < (starts[0] as number)) continue;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= o) lo = mid;
      else hi = mid - 1;
    }
    if (o < (ends[lo] as number)) (out[lo] as QueryMatch[]).push(m);
  }
  return out;
}

/**
 * The top-level units of a file. C preprocessor conditionals are entered (their
 * functions are units too), except the body of `#if 0`, which is inactive text.
 */
function topLevelUnits(root: Node, lang: Lang, inactive: Rng[], shape: { flat: boolean }): Node[] {
  const out: Node[] = [];
  const visit = (parent: Node): void => {
    for (const c of parent.namedChildren) {
      const type = c.type;
      if (lang === 'c' && PREPROC_CONDITIONALS.has(type)) {
        shape.flat = false;
        const cond = c.childForFieldName('condition');
        const alt = c.childForFieldName('alternative');
        if (c.type === 'preproc_if' && cond?.text.trim() === '0') {
          const s = c.startPosition;
          const e = alt ? alt.startPosition : c.endPosition;
          inactive.push({ sr: s.row, sc: s.column, er: e.row, ec: e.column, o: c.startIndex });
          if (alt) visit(alt);
          continue;
        }
        visit(c);
        continue;
      }
      if (type === 'comment') continue;
      out.push(c);
    }
  };
  visit(root);
  return out;
}

function appendFacts(into: FileFacts, f: FileFacts): void {
  into.defs.push(...f.defs);
  into.calls.push(...f.calls);
  into.fields.push(...f.fields);
  into.literals.push(...f.literals);
  into.boolTests.push(...f.boolTests);
  into.loops.push(...f.loops);
  into.epVars.push(...f.epVars);
  into.inactive.push(...f.inactive);
  into.functions.push(...f.functions);
  into.importsRuntime ||= f.importsRuntime;
}

/** Shift every position in a unit's facts from its old start to its new start. */
function rebase(facts: FileFacts, from: { row: number; col: number; o: number }, row: number, col: number, o: number): FileFacts {
  const dRow = row - from.row;
  const dCol = col - from.col;
  const dO = o - from.o;
  const shiftKey = (k: string): string => {
    const m = /^(\d+):(\d+)$/.exec(k);
    if (!m) return k;
    const r = Number(m[1]);
    return `${r + dRow}:${r === from.row ? Number(m[2]) + dCol : Number(m[2])}`;
  };
  const copy = (v: unknown, key?: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => copy(x));
    if (v && typeof v === 'object') {
      const r = v as Record<string, unknown>;
      if ('sr' in r && 'o' in r) {
        const g = r as unknown as Rng;
        return { sr: g.sr + dRow, sc: g.sr === from.row ? g.sc + dCol : g.sc, er: g.er + dRow, ec: g.er === from.row ? g.ec + dCol : g.ec, o: g.o + dO };
      }
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(r)) out[k] = copy(x, k);
      return out;
    }
    if (key === 'scope' && typeof v === 'string') return shiftKey(v);
    return v;
  };
  return copy(facts) as FileFacts;
}

function applyChange(text: string, c: TextChange): { text: string; edit: EditT } {
  const range = c.range as NonNullable<TextChange['range']>;
  const { text: newText, start, oldEnd } = applyRangeChange(text, { range, text: c.text });
  const lines = c.text.split('\n');
  const lastLine = lines[lines.length - 1] as string;
  const newEndPosition =
    lines.length === 1
      ? { row: range.start.line, column: range.start.character + c.text.length }
      : { row: range.start.line + lines.length - 1, column: lastLine.length };
  return {
    text: newText,
    edit: new Edit({
      startIndex: start,
      oldEndIndex: oldEnd,
      newEndIndex: start + c.text.length,
      startPosition: { row: range.start.line, column: range.start.character },
      oldEndPosition: { row: range.end.line, column: range.end.character },
      newEndPosition,
    }),
  };
}
