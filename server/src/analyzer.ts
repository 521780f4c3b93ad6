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
import { Edit } from 'web-tree-sitter';
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
  facts: FileFacts;
  /** Units re-extracted by the last analysis (for benchmarks and logging). */
  reanalysed: number;
}

export interface TextChange {
  range?: { start: { line: number; character: number }; end: { line: number; character: number } };
  text: string;
}

export class Analyzer {
  private readonly states = new Map<string, DocState>();
  /** Incremental edits mapped to the units around them, and those that walked every unit. */
  readonly stats = { mapped: 0, walked: 0 };

  /**
   * `mapEdits: false` turns off the mapping of one edit to the units around it
   * (buildAround), so tests can compare it with the full walk on the same tree.
   */
  constructor(
    private readonly grammars: Grammars,
    private readonly options: { mapEdits?: boolean } = {},
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
   * edits need is built later by `ensureTree` (the server does it once the diagnostics
   * are sent) or by the first edit. Undefined when the file must be analysed.
   */
  reopen({ uri, lang, text, version }: { uri: string; lang: Lang; text: string; version: number }): DocState | undefined {
    const prev = this.states.get(uri);
    if (!prev || prev.tree || prev.lang !== lang || prev.text !== text) return undefined;
    const state: DocState = { ...prev, version, reanalysed: 0 };
    this.states.set(uri, state);
    return state;
  }

  /** Parse a reopened document's text (see reopen); its facts do not change. */
  ensureTree(uri: string): void {
    const s = this.states.get(uri);
    if (!s || s.tree) return;
    const tree = this.grammars.parsers[s.lang].parse(s.text);
    if (tree) s.tree = tree;
  }

  /** Apply LSP content changes incrementally: `tree.edit` per change, then one reparse. */
  edit({ uri, changes, version }: { uri: string; changes: TextChange[]; version: number }): DocState | undefined {
    const prev = this.states.get(uri);
    if (!prev) return undefined;
    // A reopened document whose tree is not built yet: build it now, then edit it.
    if (changes.every((c) => c.range)) this.ensureTree(uri);
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

  /** Drop the tree of a closed document; its facts stay in the index. */
  release(uri: string): void {
    const s = this.states.get(uri);
    if (s?.tree) {
      s.tree.delete();
      delete s.tree;
    }
  }

  /** Take a closed file's analysis made elsewhere (an indexing thread; see index-pool.ts). */
  adopt(state: DocState): DocState {
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
      const hit = cache.get(key);
      let facts: FileFacts;
      if (hit) {
        cache.delete(key);
        facts = hit.row === s.row && hit.col === s.column && hit.o === o ? hit.facts : rebase(hit.facts, hit, s.row, s.column, o);
      } else {
        reanalysed++;
        facts = extractUnit(node, lang, query);
      }
      units.push({ key, row: s.row, col: s.column, o, end: o + t.length, facts });
    }
    const dRow = e.newEndPosition.row - e.oldEndPosition.row;
    const dCol = e.newEndPosition.column - e.oldEndPosition.column;
    for (let i = hi + 1; i < old.length; i++) {
      const u = old[i] as UnitEntry;
      if (delta === 0 && dRow === 0 && (u.row !== e.oldEndPosition.row || dCol === 0)) {
        units.push(u);
        continue;
      }
      const row = u.row + dRow;
      const col = u.row === e.oldEndPosition.row ? u.col + dCol : u.col;
      units.push({ key: u.key, row, col, o: u.o + delta, end: u.end + delta, facts: rebase(u.facts, u, row, col, u.o + delta) });
    }
    const facts = emptyFacts(lang);
    for (const u of units) appendFacts(facts, u.facts);
    return { uri, lang, text, version, units, flat: true, facts, reanalysed };
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
      const hit = cache.get(key);
      let entry: UnitEntry;
      if (hit) {
        entry = { key, row: s.row, col: s.column, o: node.startIndex, end: node.startIndex + key.length - key.indexOf('\u0000') - 1, facts: hit.row === s.row && hit.col === s.column && hit.o === node.startIndex ? hit.facts : rebase(hit.facts, hit, s.row, s.column, node.startIndex) };
      } else {
        reanalysed++;
        entry = { key, row: s.row, col: s.column, o: node.startIndex, end: node.startIndex + key.length - key.indexOf('\u0000') - 1, facts: extractUnit(node, lang, query, bucketed?.[i] ?? (bucketed ? [] : undefined)) };
      }
      cache.delete(key);
      units.push(entry);
      appendFacts(facts, entry.facts);
    });
    return { uri, lang, text, version, units, flat: shape.flat && facts.inactive.length === 0, facts, reanalysed };
  }
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
