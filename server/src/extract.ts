/**
 * Turns one top-level unit (a C function, a TypeScript statement) into facts, driven
 * by the captures of grammar/queries/*.scm. Only server loops get an AST walk (the
 * reply-path analysis of DVS004); everything else comes from query captures, which is
 * what keeps a 10k-line file well inside the analysis budget.
 */
import type { Node, Query, QueryMatch } from 'web-tree-sitter';
import type { Lang } from './parser';
import {
  type ArgFact,
  type ArgKind,
  type CallFact,
  type CallKind,
  type CaseLabel,
  type CaseFact,
  type FileFacts,
  type LoopIssue,
  type PairFact,
  type Rng,
  type ServerLoopFact,
  contains,
  emptyFacts,
} from './facts';

interface ApiEntry {
  kind: CallKind;
  ep?: number;
  dc?: number;
  msg?: number;
}

/** SPEC §2: the C API, argument positions included. `_T` variants share the entry. */
export const C_API: Record<string, ApiEntry> = {
  mnx_bind: { kind: 'bind', dc: 0, ep: 1 },
  mnx_tbind: { kind: 'bind', dc: 0, ep: 1 },
  mnx_lclbind: { kind: 'bindOther', dc: 0, ep: 2 },
  mnx_rmtbind: { kind: 'bindOther', dc: 0, ep: 2 },
  mnx_bkupbind: { kind: 'bindOther', dc: 0, ep: 2 },
  mnx_wait4bind: { kind: 'wait4bind' },
  mnx_unbind: { kind: 'unbind', dc: 0, ep: 1 },
  mnx_send: { kind: 'send', ep: 0, msg: 1 },
  mnx_receive: { kind: 'receive', ep: 0, msg: 1 },
  mnx_sendrec: { kind: 'sendrec', ep: 0, msg: 1 },
  mnx_rcvrqst: { kind: 'rcvrqst', msg: 0 },
  mnx_reply: { kind: 'reply', ep: 0, msg: 1 },
  mnx_notify: { kind: 'notify', ep: 0 },
  mnx_vcopy: { kind: 'vcopy' },
  mnx_wakeup: { kind: 'wakeup', dc: 0, ep: 1 },
};

/** SPEC §4: Endpoint methods of @dvs/runtime. */
export const TS_API: Record<string, ApiEntry> = {
  send: { kind: 'send', ep: 0, msg: 1 },
  receive: { kind: 'receive', ep: 0 },
  sendrec: { kind: 'sendrec', ep: 0, msg: 1 },
  rcvrqst: { kind: 'rcvrqst' },
  reply: { kind: 'reply', ep: 0, msg: 1 },
  notify: { kind: 'notify', ep: 0 },
  vcopy: { kind: 'vcopy' },
  unbind: { kind: 'unbind' },
  wakeup: { kind: 'wakeup', ep: 0 },
};

export function cApiEntry(name: string): ApiEntry | undefined {
  return C_API[name.endsWith('_T') ? name.slice(0, -2) : name];
}

export function rng(n: Node): Rng {
  const s = n.startPosition;
  const e = n.endPosition;
  return { sr: s.row, sc: s.column, er: e.row, ec: e.column, o: n.startIndex };
}

// Every property of a web-tree-sitter Node but its start (`type`, `text`, `endIndex`,
// `endPosition`, `parent`, ...) is a call into WebAssembly, and a 10,000-line file asks
// for about 100,000 of them; so what can be read from the source text is read there.

/** An ASCII identifier, the common case; anything else is read from the tree. */
const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;

/**
 * The text of an identifier node, read from `src` (the text the tree was parsed from) when
 * it is plain ASCII: the node ends where the identifier characters do.
 */
function identText(n: Node, src: string | undefined): string {
  if (src !== undefined) {
    IDENT.lastIndex = n.startIndex;
    const m = IDENT.exec(src);
    if (m) {
      // A non-ASCII letter, a universal character name or `$` may continue it.
      const next = src.charCodeAt(IDENT.lastIndex);
      if (!(next > 127 || next === 92 || next === 36)) return m[0];
    }
  }
  return n.text;
}

/**
 * The range of node `n` whose text is `text`, without asking the tree for its end: rows
 * advance at '\n' only (as tree-sitter counts them) and columns are UTF-16 units.
 */
function textRng(n: Node, text: string): Rng {
  const s = n.startPosition;
  const nl = text.lastIndexOf('\n');
  if (nl < 0) return { sr: s.row, sc: s.column, er: s.row, ec: s.column + text.length, o: n.startIndex };
  let rows = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) rows++;
  return { sr: s.row, sc: s.column, er: s.row + rows, ec: text.length - nl - 1, o: n.startIndex };
}

/**
 * The object of `obj.name` / `obj->name`: read from `src` when it is a plain identifier
 * followed by the operator (no comment in between), else from the tree.
 */
const SIMPLE_OBJECT = /^([A-Za-z_][A-Za-z0-9_]*)\s*(?:\.|->)\s*$/;
function objectText(obj: Node, name: Node, src: string | undefined): string {
  if (src !== undefined) {
    const m = SIMPLE_OBJECT.exec(src.slice(obj.startIndex, name.startIndex));
    if (m) return m[1] as string;
  }
  return obj.text;
}

/** After a node: an assignment operator, `++`/`--`, or what could hide one (a comment, a directive, a line continuation). */
const MAYBE_WRITE_AFTER = /\s*(?:[-+*/%&|^]?=(?!=)|<<=|>>=|\+\+|--|\/|#|\\)/y;

/**
 * The node `src[start, end)` is neither the left side of an assignment nor the operand of
 * `++`/`--`, judged from the text around it: no such operator (nor a comment that could
 * hide one) right after or before it. False when unsure; the tree decides then.
 */
function plainRead(src: string, start: number, end: number): boolean {
  MAYBE_WRITE_AFTER.lastIndex = end;
  if (MAYBE_WRITE_AFTER.test(src)) return false;
  let i = start - 1;
  while (i >= 0 && /\s/.test(src[i] as string)) i--;
  const c = src.charCodeAt(i);
  const c2 = src.charCodeAt(i - 1);
  return !((c === 43 && c2 === 43) || (c === 45 && c2 === 45) || c === 47 || c === 35 || c === 92);
}

/** `= VALUE;` after a field: a plain value (identifier or integer) and the statement's end. */
const SIMPLE_ASSIGN = /[ \t]*=[ \t]*(0[xX][0-9a-fA-F]+|-?[0-9]+|[A-Za-z_][A-Za-z0-9_]*)[ \t]*;/y;
const CASE_BEFORE = /(?:\bcase[ \t]+[A-Za-z_][A-Za-z0-9_]*|\bdefault)[ \t]*$/;

/**
 * A write `obj.f = VALUE;` that is a whole statement, read from the text: the field, its
 * value and the statement's end without `parent` lookups (each descends from the root of
 * the tree). Only when nothing can bind the field otherwise: it starts a statement (after
 * `{`, `}`, a `;` that is not in a `for` header, or a `case X:` label) and the value is a
 * single token. Undefined otherwise, and the tree decides.
 */
function simpleWrite(src: string, start: number, nameEnd: number): { value: string; end: number } | undefined {
  SIMPLE_ASSIGN.lastIndex = nameEnd;
  const m = SIMPLE_ASSIGN.exec(src);
  if (!m) return undefined;
  let i = start - 1;
  while (i >= 0) {
    const c = src.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
    i--;
  }
  // The character found must be code: not inside a `//` comment (which could hide an
  // operator before the field), nor on a line continued from the one before.
  const ls = src.lastIndexOf('\n', i) + 1;
  if (src.slice(ls, i + 1).includes('/') || (ls >= 2 && src[ls - 2] === '\\') || (ls >= 3 && src[ls - 2] === '\r' && src[ls - 3] === '\\')) return undefined;
  const c = src[i];
  if (c === ':') {
    if (!CASE_BEFORE.test(src.slice(Math.max(0, i - 80), i))) return undefined;
  } else if (c === ';') {
    // A `for (a; b.f = 1; c)` header: an unmatched `(` since the statement before.
    let depth = 0;
    for (let j = i - 1; j >= 0; j--) {
      const d = src[j];
      if (d === ';' || d === '{' || d === '}') break;
      if (d === '"' || d === "'" || d === '/' || d === '#' || d === '\\') return undefined;
      if (d === ')') depth++;
      else if (d === '(' && --depth < 0) return undefined;
    }
  } else if (c !== '{' && c !== '}') return undefined;
  return { value: m[1] as string, end: SIMPLE_ASSIGN.lastIndex };
}

function argFact(n: Node, lang: Lang, type = n.type): ArgFact {
  const text = n.text;
  const base = { text, range: textRng(n, text) };
  let kind: ArgKind = 'other';
  let ident: string | undefined;
  let field: string | undefined;
  switch (type) {
    case 'identifier':
      kind = 'ident';
      ident = text;
      break;
    case 'number_literal':
    case 'number':
      kind = 'number';
      break;
    case 'unary_expression':
      if (/^-\s*(0[xX][0-9a-fA-F]+|\d+)$/.test(text)) kind = 'number';
      break;
    case 'pointer_expression': {
      const arg = n.childForFieldName('argument');
      if (text.startsWith('&') && arg?.type === 'identifier') {
        kind = 'addr';
        ident = arg.text;
      }
      break;
    }
    case 'field_expression':
    case 'member_expression': {
      const obj = n.childForFieldName(lang === 'c' ? 'argument' : 'object');
      const f = n.childForFieldName(lang === 'c' ? 'field' : 'property');
      kind = 'field';
      ident = obj?.text;
      field = f?.text;
      break;
    }
    case 'object':
      kind = 'object';
      break;
    default:
      break;
  }
  return { ...base, kind, ...(ident !== undefined ? { ident } : {}), ...(field !== undefined ? { field } : {}) };
}

/** The arguments of a call, with their node types (read once: each read is a call into WebAssembly). */
function argNodes(args: Node): { nodes: Node[]; types: string[] } {
  const nodes: Node[] = [];
  const types: string[] = [];
  for (const c of args.namedChildren) {
    const t = c.type;
    if (t === 'comment') continue;
    nodes.push(c);
    types.push(t);
  }
  return { nodes, types };
}

function pairsOf(obj: Node): PairFact[] {
  const out: PairFact[] = [];
  for (const p of obj.namedChildren) {
    if (p.type === 'pair') {
      const k = p.childForFieldName('key');
      const v = p.childForFieldName('value');
      if (k && v) out.push({ key: k.text, value: v.text, range: rng(p) });
    } else if (p.type === 'shorthand_property_identifier') {
      out.push({ key: p.text, value: p.text, range: rng(p) });
    }
  }
  return out;
}

interface Scope {
  key: string;
  range: Rng;
}

const FUNCTION_TYPES = new Set(['function_declaration', 'generator_function_declaration', 'function_expression', 'arrow_function', 'method_definition', 'function_definition']);

/** Extract the facts of one unit. `moduleScope` is the scope of code outside functions. */
export function extractUnit(unit: Node, lang: Lang, query: Query, precomputed?: QueryMatch[], src?: string): FileFacts {
  const facts = emptyFacts(lang);
  const matches: QueryMatch[] = precomputed ?? query.matches(unit);
  const scopes: Scope[] = [];
  const inactive: Rng[] = [];
  const mtypeCases: { range: Rng; obj: string; label: string }[] = [];
  const caseNodes: Node[] = [];
  const loopNodes: Node[] = [];
  const byName = (m: QueryMatch): Map<string, Node> => {
    const map = new Map<string, Node>();
    for (const c of m.captures) map.set(c.name, c.node);
    return map;
  };
  // Error recovery can shape a unit's inside in ways its text does not show (simpleWrite).
  const unitHasError = src !== undefined && lang === 'c' && unit.hasError;
  // Pass 1: scopes, inactive regions and the m_type cases, which the other facts refer to.
  const rest: Map<string, Node>[] = [];
  const callNodes: Node[] = [];
  for (const m of matches) {
    const c = byName(m);
    const scope = c.get('scope');
    if (scope) {
      const r = rng(scope);
      scopes.push({ key: `${r.sr}:${r.sc}`, range: r });
      const name = functionName(scope);
      if (name && (lang === 'c' || scope.type === 'function_declaration')) facts.functions.push({ name, range: r });
      continue;
    }
    const inact = c.get('inactive');
    if (inact) {
      const alt = inact.childForFieldName('alternative');
      const r = rng(inact);
      if (alt) {
        const a = rng(alt);
        r.er = a.sr;
        r.ec = a.sc;
      }
      inactive.push(r);
      continue;
    }
    const cs = c.get('case');
    if (cs) {
      caseNodes.push(cs);
      continue;
    }
    const loop = c.get('loop');
    if (loop) {
      loopNodes.push(loop);
      continue;
    }
    rest.push(c);
  }
  facts.inactive = inactive;
  const active = (n: Node): boolean => {
    if (inactive.length === 0) return true;
    const o = n.startIndex;
    return !inactive.some((r) => o >= r.o && rngEndAfter(r, n));
  };
  for (const cs of caseNodes) {
    if (!active(cs)) continue;
    const sw = cs.parent?.parent;
    if (!sw || sw.type !== 'switch_statement') continue;
    const info = switchOnType(sw, lang);
    const value = cs.childForFieldName('value');
    if (info && value) mtypeCases.push({ range: rng(cs), obj: info, label: value.text });
  }
  const scopeOf = (r: Rng): string => {
    let best: Scope | undefined;
    for (const s of scopes) if (contains(s.range, r) && (!best || s.range.o >= best.range.o)) best = s;
    return best ? best.key : 'module';
  };
  const caseOf = (r: Rng, obj?: string): CaseLabel | undefined => {
    let best: (typeof mtypeCases)[number] | undefined;
    for (const c of mtypeCases) if (contains(c.range, r) && (obj === undefined || c.obj === obj) && (!best || c.range.o >= best.range.o)) best = c;
    return best ? { obj: best.obj, label: best.label, at: best.range } : undefined;
  };

  for (const c of rest) {
    const anchor = c.values().next().value as Node | undefined;
    if (!anchor || !active(anchor)) continue;
    if (c.has('call')) {
      const call = extractCall(c, lang, src);
      if (call) {
        call.scope = scopeOf(call.range);
        const cl = caseOf(call.range, call.msgVar);
        if (cl) call.caseLabel = cl;
        facts.calls.push(call);
        callNodes.push(c.get('call') as Node);
      }
    } else if (c.has('field')) {
      const node = c.get('field') as Node;
      const nameNode = c.get('field.name') as Node;
      const fieldName = identText(nameNode, src);
      // The C query matches every field access (see c-ipc.scm); TypeScript's filters itself.
      if (!FIELD_NAME[lang].test(fieldName)) continue;
      const obj = objectText(c.get('field.object') as Node, nameNode, src);
      // Most accesses are reads; those need no parent (a costly call: tree-sitter finds a
      // parent by descending from the root).
      const nameEnd = nameNode.startIndex + fieldName.length;
      // So do plain writes that are whole statements (`m.m_type = KV_GET;`), in a unit
      // without syntax errors.
      const plain = src !== undefined && lang === 'c' && !unitHasError ? simpleWrite(src, node.startIndex, nameEnd) : undefined;
      const parent = plain || (src !== undefined && plainRead(src, node.startIndex, nameEnd)) ? null : node.parent;
      const pt = parent?.type;
      let write = false;
      let value: string | undefined;
      let stmt: Rng | undefined;
      if (plain && src !== undefined) {
        write = true;
        value = plain.value;
        stmt = textRng(node, src.slice(node.startIndex, plain.end));
      } else if (parent && (pt === 'assignment_expression' || pt === 'augmented_assignment_expression') && parent.startIndex === node.startIndex) {
        // The field is a direct child of the assignment: it is the left side when it starts
        // where the assignment does (the right side comes after the operator).
        write = true;
        value = parent.childForFieldName('right')?.text;
        const st = parent.parent;
        if (st?.type === 'expression_statement') stmt = rng(st);
      } else if (pt === 'update_expression') write = true;
      // The field name is the last token of the access: the node ends where it does.
      const r = src !== undefined ? textRng(node, src.slice(node.startIndex, nameNode.startIndex + fieldName.length)) : rng(node);
      const cl = caseOf(r, obj);
      facts.fields.push({
        obj,
        field: fieldName,
        range: r,
        write,
        ...(value !== undefined ? { value } : {}),
        ...(stmt ? { stmt } : {}),
        scope: scopeOf(r),
        ...(cl ? { caseLabel: cl } : {}),
      });
    } else if (c.has('pair')) {
      const pair = c.get('pair') as Node;
      const obj = pair.parent;
      if (!obj || obj.type !== 'object') continue;
      const r = rng(obj);
      if (facts.literals.some((l) => l.range.o === r.o)) continue;
      const holder = obj.parent;
      let assignedTo: string | undefined;
      if (holder?.type === 'variable_declarator') assignedTo = holder.childForFieldName('name')?.text;
      else if (holder?.type === 'assignment_expression') assignedTo = holder.childForFieldName('left')?.text;
      facts.literals.push({ range: r, pairs: pairsOf(obj), scope: scopeOf(r), ...(assignedTo ? { assignedTo } : {}) });
    } else if (c.has('def')) {
      const name = c.get('def.name') as Node;
      const value = c.get('def.value') as Node;
      facts.defs.push({ name: name.text, kind: 'define', value: value.text.trim(), range: rng(name) });
    } else if (c.has('enum')) {
      const name = c.get('enum.name') as Node;
      const value = c.get('enum.value');
      const def = { name: name.text, kind: 'enum' as const, value: value?.text ?? '', range: rng(name) };
      if (!value) {
        // Implicit enum values: previous member + 1, as C and TypeScript define them.
        const enumNode = c.get('enum') as Node;
        Object.assign(def, { implicit: implicitEnumIndex(enumNode) });
      }
      facts.defs.push(def);
    } else if (c.has('const')) {
      const decl = c.get('const') as Node;
      const name = c.get('const.name') as Node;
      const value = c.get('const.value') as Node;
      if (lang !== 'c' && !decl.text.startsWith('const')) {
        // `let`: not a constant, but `let ep = await bind()` still names an Endpoint.
        if (/^(await\s+)?bind\s*\(/.test(value.text)) facts.epVars.push(name.text);
        continue;
      }
      if (lang === 'c' && c.get('const.qualifier')?.text !== 'const') continue;
      if (/^(await\s+)?bind\s*\(/.test(value.text)) facts.epVars.push(name.text);
      if (value.type === 'number' || value.type === 'number_literal' || value.type === 'binary_expression' || value.type === 'identifier' || value.type === 'parenthesized_expression' || value.type === 'unary_expression') {
        facts.defs.push({ name: name.text, kind: 'const', value: value.text, range: rng(name) });
      }
    } else if (c.has('param.name')) {
      facts.epVars.push((c.get('param.name') as Node).text);
    } else if (c.has('import')) {
      if (/^['"]@dvs\/runtime['"]$/.test((c.get('import.source') as Node).text)) facts.importsRuntime = true;
    } else if (c.has('cond.bare') || c.has('cond.not')) {
      const neg = c.has('cond.not');
      const inner = c.get(neg ? 'cond.not' : 'cond.bare') as Node;
      const whole = neg ? (c.get('cond.not.expr') as Node) : inner;
      let innerNode = inner;
      while (innerNode.type === 'parenthesized_expression' && innerNode.namedChildCount === 1 && innerNode.namedChild(0)) innerNode = innerNode.namedChild(0) as Node;
      const r = rng(whole);
      facts.boolTests.push({ range: r, inner: innerNode.text, innerRange: rng(innerNode), negated: neg, scope: scopeOf(r) });
    }
  }
  for (const call of facts.calls) if (call.kind === 'bind' && call.resultVar) facts.epVars.push(call.resultVar);
  // In C the enclosing `if`s of a call only matter next to a bind in the same function
  // whose result is kept (DVS013: "called in the branch where bind failed"), so the
  // ancestor walk is skipped elsewhere. TypeScript module code spans units: always walk.
  const bindScopes = new Set(facts.calls.filter((k) => (k.kind === 'bind' || k.kind === 'wait4bind') && k.resultVar).map((k) => k.scope));
  facts.calls.forEach((call, i) => {
    if (lang !== 'c' || bindScopes.has(call.scope)) guardsOf(callNodes[i] as Node, call, lang);
  });
  for (const loop of loopNodes) {
    if (!active(loop)) continue;
    const fact = serverLoop(loop, lang, facts, scopeOf);
    if (fact) facts.loops.push(fact);
  }
  return facts;
}

function rngEndAfter(r: Rng, n: Node): boolean {
  const p = n.endPosition;
  return p.row < r.er || (p.row === r.er && p.column <= r.ec);
}

function functionName(scope: Node): string | undefined {
  if (scope.type === 'function_definition') {
    let d = scope.childForFieldName('declarator');
    while (d && d.type !== 'function_declarator') d = d.childForFieldName('declarator');
    return d?.childForFieldName('declarator')?.text;
  }
  return scope.childForFieldName('name')?.text;
}

function implicitEnumIndex(member: Node): number | undefined {
  let idx = 0;
  let prev = member.previousNamedSibling;
  while (prev) {
    if (prev.type === 'enumerator' || prev.type === 'enum_assignment' || prev.type === 'property_identifier') {
      const v = prev.childForFieldName('value');
      if (v) {
        const n = Number(v.text);
        return Number.isInteger(n) ? n + idx + 1 : undefined;
      }
      idx++;
    }
    prev = prev.previousNamedSibling;
  }
  return idx;
}

/** `switch (m.m_type)` / `switch (req.type)` → the message variable. */
function switchOnType(sw: Node, lang: Lang): string | undefined {
  const cond = sw.childForFieldName(lang === 'c' ? 'condition' : 'value');
  const inner = cond?.namedChild(0);
  if (!inner) return undefined;
  if (lang === 'c' && inner.type === 'field_expression' && inner.childForFieldName('field')?.text === 'm_type') return inner.childForFieldName('argument')?.text;
  if (lang !== 'c' && inner.type === 'member_expression' && inner.childForFieldName('property')?.text === 'type') return inner.childForFieldName('object')?.text;
  return undefined;
}

/** Message fields (SPEC §2 / §4); c-ipc.scm leaves this test to the analyzer. */
const FIELD_NAME: Record<Lang, RegExp> = {
  c: /^(m_type|m_source|m[1-9]_[a-z]+[0-9])$/,
  typescript: /^(type|source|m[1-9]_[a-z]+[0-9])$/,
  tsx: /^(type|source|m[1-9]_[a-z]+[0-9])$/,
};

function extractCall(c: Map<string, Node>, lang: Lang, src: string | undefined): CallFact | undefined {
  const node = c.get('call') as Node;
  const nameNode = c.get('call.name') as Node;
  const name = identText(nameNode, src);
  const receiver = c.get('call.object')?.text;
  let api: ApiEntry | undefined;
  if (lang === 'c') api = cApiEntry(name);
  else if (receiver === undefined) api = name === 'bind' ? { kind: 'bind', dc: 0, ep: 1 } : undefined;
  else api = TS_API[name];
  if (!api) return undefined;
  const argsNode = c.get('call.args') as Node;
  const { nodes: argList, types } = argNodes(argsNode);
  const args = argList.map((a, i) => argFact(a, lang, types[i]));
  const call: CallFact = {
    kind: api.kind,
    name,
    range: rng(node),
    nameRange: textRng(nameNode, name),
    args,
    scope: 'module',
    result: 'used',
    guards: [],
    ...(receiver !== undefined ? { receiver } : {}),
  };
  if (lang !== 'c' && api.kind === 'bind' && args.length === 1 && args[0]?.kind === 'object') {
    // bind({ dc, endpoint, node })
    const obj = argList[0] as Node;
    for (const p of obj.namedChildren) {
      const key = p.type === 'pair' ? p.childForFieldName('key')?.text : p.type === 'shorthand_property_identifier' ? p.text : undefined;
      const val = p.type === 'pair' ? p.childForFieldName('value') : p;
      if (!val) continue;
      if (key === 'endpoint') call.ep = argFact(val, lang);
      if (key === 'dc') call.dc = argFact(val, lang);
    }
  } else {
    if (api.ep !== undefined && args[api.ep]) call.ep = args[api.ep];
    if (api.dc !== undefined && args[api.dc]) call.dc = args[api.dc];
  }
  if (api.msg !== undefined) {
    const m = args[api.msg];
    if (m && (m.kind === 'addr' || m.kind === 'ident')) call.msgVar = m.ident as string;
    if (m?.kind === 'object') call.msgPairs = pairsOf(argList[api.msg] as Node);
  }
  resultUse(node, call, lang);
  return call;
}

function resultUse(node: Node, call: CallFact, lang: Lang): void {
  let p = node.parent;
  let pt = p?.type;
  let awaited = false;
  while (p && pt === 'parenthesized_expression') {
    p = p.parent;
    pt = p?.type;
  }
  if (p && pt === 'await_expression') {
    awaited = true;
    p = p.parent;
    pt = p?.type;
    while (p && pt === 'parenthesized_expression') {
      p = p.parent;
      pt = p?.type;
    }
  }
  if (!p) return;
  if (pt === 'expression_statement') {
    call.result = lang === 'c' ? 'ignored' : awaited ? 'awaitedIgnored' : 'notAwaited';
  } else if (pt === 'cast_expression' && /^\(\s*void\s*\)/.test(p.text)) {
    call.result = 'void';
  } else if (pt === 'unary_expression' && p.text.startsWith('void')) {
    call.result = 'void';
  } else if (pt === 'init_declarator' || pt === 'variable_declarator') {
    call.result = 'assigned';
    const target = p.childForFieldName(lang === 'c' ? 'declarator' : 'name');
    if (target) call.resultVar = target.text;
  } else if (pt === 'assignment_expression') {
    call.result = 'assigned';
    const left = p.childForFieldName('left');
    if (left) call.resultVar = left.text;
  }
}

function guardsOf(node: Node, call: CallFact, lang: Lang): void {
  let child = node;
  let p = node.parent;
  while (p && !FUNCTION_TYPES.has(p.type)) {
    if (p.type === 'if_statement') {
      const cons = p.childForFieldName('consequence');
      const cond = p.childForFieldName('condition');
      if (cons && cons.startIndex === child.startIndex) call.guards.push({ cond: cond?.text ?? '', branch: 'then' });
      else if (cond && child.startIndex !== cond.startIndex) call.guards.push({ cond: cond.text, branch: 'else' });
    } else if (lang !== 'c' && p.type === 'catch_clause') {
      const tryBody = p.parent?.childForFieldName('body');
      if (tryBody && /\bbind\s*\(/.test(tryBody.text)) call.inCatch = true;
    }
    child = p;
    p = p.parent;
  }
}

// ---- server loops and the reply-path analysis (DVS004) ------------------------------------

interface St {
  pending: boolean;
  via?: Rng;
  why?: string;
  /** C: the variable holding the result of the last receive (`rc` in `rc = mnx_receive(...)`). */
  rcVar?: string;
}

/**
 * What a branch condition says about the message just received, when it is true (`t`)
 * and when it is false (`f`): `none` = there is no request to answer on that branch
 * (the receive failed, or the message is a notification); undefined = nothing known.
 */
interface Implies {
  t?: 'none';
  f?: 'none';
}

const RECV_CALL = /^(mnx_receive|mnx_rcvrqst)(_T)?$/;
const NOTIFY_TEST = /^(IS_NOTIFY|is_notify|isNotify|IS_NOTIFICATION|is_notification)$/;
const NOTIFY_TOKEN = /\b(NOTIFY_MESSAGE|NOTIFY_FROM|0x1000)\b/;
const NOTIFY_TOKEN_OR_TEST = /\b(NOTIFY_MESSAGE|NOTIFY_FROM|0x1000|IS_NOTIFY|is_notify|isNotify|IS_NOTIFICATION|is_notification)\b/;

interface Flow {
  out: St[];
  brk: St[];
  cont: St[];
  ret: St[];
}

const NOT_A_REPLY_HELPER = /^(mem|str|printf|fprintf|sprintf|snprintf|puts|perror|assert|log|debug|trace|console|JSON|Object|Array|String|Number|Math)/;

function serverLoop(loop: Node, lang: Lang, facts: FileFacts, scopeOf: (r: Rng) => string): ServerLoopFact | undefined {
  const lr = rng(loop);
  const scope = scopeOf(lr);
  const recvs = facts.calls.filter(
    (c) => contains(lr, c.range) && c.scope === scope && (c.kind === 'rcvrqst' || (c.kind === 'receive' && (c.ep?.text === 'ANY' || c.ep === undefined))),
  );
  const recv = recvs[0];
  if (!recv) return undefined;
  // Only the innermost loop around the receive is the server loop.
  const inner = loop.descendantsOfType(['while_statement', 'for_statement', 'do_statement', 'for_in_statement']);
  if (inner.some((l) => l.startIndex !== loop.startIndex && contains(rng(l), recv.range))) return undefined;
  const msgVar = recv.msgVar ?? recv.resultVar;
  const an = new ReplyFlow(lang, msgVar);
  let ins: St[] = [{ pending: false }];
  const cond = loop.childForFieldName('condition');
  if (cond && loop.type !== 'do_statement') ins = an.effect(cond, ins);
  const body = loop.childForFieldName('body');
  const issues: LoopIssue[] = [];
  // A receive loop that tests for notifications and never answers anybody (no reply,
  // no hand-off of the message to a helper) consumes notifications: nothing to reply to.
  const notifyOnly = recvs.every((r) => r.kind === 'receive') && NOTIFY_TOKEN_OR_TEST.test(loop.text) && !an.answersIn(loop);
  if (body && !notifyOnly) {
    const f = an.walk(body, ins);
    const seen = new Set<string>();
    const add = (s: St, dflt: string): void => {
      if (!s.pending) return;
      const r = s.via ?? recv.range;
      const key = `${r.o}`;
      if (seen.has(key)) return;
      seen.add(key);
      issues.push({ range: r, why: s.why ?? dflt });
    };
    for (const s of f.cont) add(s, 'a path continues to the next request without a reply');
    for (const s of f.ret) add(s, 'a path returns without a reply');
    for (const s of f.out) add(s, 'a path reaches the next request without a reply');
  }
  const cases: CaseFact[] = [];
  let hasDefault = false;
  for (const sw of loop.descendantsOfType('switch_statement')) {
    if (switchOnType(sw, lang) !== msgVar) continue;
    const swBody = sw.childForFieldName('body');
    for (const cs of swBody?.namedChildren ?? []) {
      if (cs.type === 'switch_default' || (cs.type === 'case_statement' && !cs.childForFieldName('value'))) hasDefault = true;
      const v = cs.childForFieldName('value');
      if (v) cases.push({ label: v.text, range: rng(cs), labelRange: rng(v) });
    }
  }
  return {
    range: lr,
    recv: recv.range,
    recvName: recv.name,
    ...(msgVar ? { msgVar } : {}),
    cases,
    hasDefault,
    issues,
    onlyRcvrqst: recvs.every((r) => r.kind === 'rcvrqst'),
    scope,
  };
}

const LOOPS = new Set(['while_statement', 'for_statement', 'do_statement', 'for_in_statement']);
const SEQ = new Set(['compound_statement', 'statement_block', 'else_clause']);

/** A small path analysis: does every path from a receive reach a reply before looping? */
class ReplyFlow {
  /** Open `try` blocks: the states at the points where their body can throw. */
  private readonly throwSinks: St[][] = [];

  constructor(
    private readonly lang: Lang,
    private readonly msgVar: string | undefined,
  ) {}

  walk(n: Node, ins: St[]): Flow {
    if (ins.length === 0) return { out: [], brk: [], cont: [], ret: [] };
    const t = n.type;
    if (SEQ.has(t)) return this.seq(n.namedChildren, ins);
    if (t === 'if_statement') {
      const cond = n.childForFieldName('condition');
      const cin = cond ? this.effect(cond, ins) : ins;
      const cons = n.childForFieldName('consequence');
      const alt = n.childForFieldName('alternative');
      // Per state (each may hold another receive result): on a branch where the receive
      // failed (`if (rc < 0)`, `if (rc == EMOLTIMEDOUT)`) or the message is a
      // notification (`if (IS_NOTIFY(m.m_type))`, reference §9), there is nobody to answer.
      const thenIns: St[] = [];
      const elseIns: St[] = [];
      for (const s of cin) {
        const imp = cond ? this.implies(cond, s.rcVar) : {};
        thenIns.push(imp.t === 'none' ? { pending: false, ...(s.rcVar ? { rcVar: s.rcVar } : {}) } : this.tagOne(s, cons));
        elseIns.push(imp.f === 'none' ? { pending: false, ...(s.rcVar ? { rcVar: s.rcVar } : {}) } : this.tagOne(s, alt));
      }
      const a = cons ? this.walk(cons, dedupe(thenIns)) : { out: dedupe(thenIns), brk: [], cont: [], ret: [] };
      const b = alt ? this.walk(alt, dedupe(elseIns)) : { out: dedupe(elseIns), brk: [], cont: [], ret: [] };
      return merge(a, b);
    }
    if (t === 'switch_statement') {
      const cond = n.childForFieldName(this.lang === 'c' ? 'condition' : 'value');
      const cin = cond ? this.effect(cond, ins) : ins;
      const body = n.childForFieldName('body');
      let fall: St[] = [];
      const acc: Flow = { out: [], brk: [], cont: [], ret: [] };
      let hasDefault = false;
      for (const cs of body?.namedChildren ?? []) {
        if (cs.type !== 'case_statement' && cs.type !== 'switch_case' && cs.type !== 'switch_default') continue;
        const value = cs.childForFieldName('value');
        if (!value) hasDefault = true;
        const label = value ? `case ${value.text}` : 'default';
        const entry = [...cin.map((s) => ({ ...s, via: rng(cs), why: `${label} reaches the next request without a reply` })), ...fall];
        const stmts = cs.namedChildren.filter((c) => !value || c.startIndex !== value.startIndex);
        const f = this.seq(stmts, entry);
        fall = f.out;
        acc.brk.push(...f.brk);
        acc.cont.push(...f.cont);
        acc.ret.push(...f.ret);
      }
      return { out: dedupe([...fall, ...acc.brk, ...(hasDefault ? [] : cin)]), brk: [], cont: acc.cont, ret: acc.ret };
    }
    if (LOOPS.has(t)) {
      const body = n.childForFieldName('body');
      const f = body ? this.walk(body, ins) : { out: [], brk: [], cont: [], ret: [] };
      return { out: dedupe([...ins, ...f.out, ...f.brk, ...f.cont]), brk: [], cont: [], ret: f.ret };
    }
    if (t === 'break_statement') return { out: [], brk: ins, cont: [], ret: [] };
    if (t === 'continue_statement') {
      return { out: [], brk: [], cont: ins.map((s) => ({ ...s, via: rng(n), why: '`continue` skips the reply' })), ret: [] };
    }
    if (t === 'return_statement') {
      const after = this.effect(n, ins);
      return { out: [], brk: [], cont: [], ret: after.map((s) => ({ ...s, via: rng(n), why: '`return` leaves the loop without a reply' })) };
    }
    if (t === 'labeled_statement') {
      const stmt = n.namedChildren[n.namedChildren.length - 1];
      return stmt ? this.walk(stmt, ins) : { out: ins, brk: [], cont: [], ret: [] };
    }
    if (t === 'try_statement') {
      const body = n.childForFieldName('body');
      const handler = n.childForFieldName('handler');
      // The handler starts from the state at whichever call threw: before a receive
      // (no request yet), after an attempted reply (the client is gone or the reply
      // failed: nothing more can be done for it), or mid-request at any other call.
      const sink: St[] = [];
      this.throwSinks.push(sink);
      let a: Flow;
      try {
        a = body ? this.walk(body, ins) : { out: ins, brk: [], cont: [], ret: [] };
      } finally {
        this.throwSinks.pop();
      }
      const hb = handler?.childForFieldName('body');
      const b = hb && sink.length > 0 ? this.walk(hb, dedupe(sink)) : { out: [], brk: [], cont: [], ret: [] };
      // A `finally` runs on every path; its calls apply to all of them.
      const fin = n.childForFieldName('finalizer') ?? n.namedChildren.find((c) => c.type === 'finally_clause');
      const m = merge(a, b);
      if (!fin) return m;
      const fb = fin.namedChildren.find((c) => c.type === 'statement_block');
      if (!fb) return m;
      const f = this.walk(fb, m.out);
      return { out: f.out, brk: dedupe([...m.brk, ...f.brk]), cont: dedupe([...m.cont, ...f.cont]), ret: dedupe([...m.ret, ...f.ret]) };
    }
    return { out: this.effect(n, ins), brk: [], cont: [], ret: [] };
  }

  private seq(stmts: Node[], ins: St[]): Flow {
    const acc: Flow = { out: ins, brk: [], cont: [], ret: [] };
    for (const s of stmts) {
      if (s.type === 'comment') continue;
      const f = this.walk(s, acc.out);
      acc.out = f.out;
      acc.brk.push(...f.brk);
      acc.cont.push(...f.cont);
      acc.ret.push(...f.ret);
    }
    return { out: acc.out, brk: dedupe(acc.brk), cont: dedupe(acc.cont), ret: dedupe(acc.ret) };
  }

  /** Remember where a path entered a branch, to point the finding there. */
  private tagOne(s: St, branch: Node | null): St {
    return !branch || s.via ? s : { ...s, via: rng(branch) };
  }

  /** Does the loop answer anybody: a reply, a send to the requester, or a hand-off of the message? */
  answersIn(loop: Node): boolean {
    for (const call of loop.descendantsOfType('call_expression')) if (this.callEffect(call) === 'answer') return true;
    return false;
  }

  /** What one call does to the request: starts one, answers it, or nothing (undefined). */
  private callEffect(call: Node): 'receive' | 'answer' | undefined {
    const fn = call.childForFieldName('function');
    if (!fn) return undefined;
    const name = fn.type === 'member_expression' ? (fn.childForFieldName('property')?.text ?? '') : fn.text;
    const base = this.lang === 'c' ? name.replace(/_T$/, '') : name;
    const args = call.childForFieldName('arguments');
    const first = args?.namedChild(0)?.text ?? '';
    if (base === 'mnx_receive' || base === 'mnx_rcvrqst' || base === 'receive' || base === 'rcvrqst') return 'receive';
    if (base === 'mnx_reply' || base === 'reply') return 'answer';
    if ((base === 'mnx_send' || base === 'send') && /source\b/.test(first)) return 'answer';
    if (this.msgVar && !NOT_A_REPLY_HELPER.test(name) && !/^mnx_/.test(name) && args) {
      // The request is handed to a helper (`handle_get(&m)`), which may reply itself.
      if (args.namedChildren.some((a) => a.text === this.msgVar || a.text === `&${this.msgVar}`)) return 'answer';
    }
    return undefined;
  }

  /** Apply the calls inside an expression or simple statement, in source order. */
  effect(n: Node, ins: St[]): St[] {
    const calls = n.type === 'call_expression' ? [n] : n.descendantsOfType('call_expression');
    let pending: boolean | undefined;
    // C: `rc = mnx_receive(...)` names the variable a later `if (rc < 0)` tests;
    // assigning that variable anything else ends the association.
    let rcVar: string | null | undefined;
    const sink = this.throwSinks[this.throwSinks.length - 1];
    for (const call of calls) {
      const what = this.callEffect(call);
      if (sink) {
        // A throw at this call: an attempted reply counts as done (see try_statement).
        const before = pending === undefined ? ins : ins.map((s) => ({ ...s, pending: pending === true }));
        sink.push(...(what === 'answer' ? before.map((s) => ({ ...s, pending: false })) : before));
      }
      if (what === 'receive') pending = true;
      else if (what === 'answer') pending = false;
      if (this.lang === 'c') {
        const target = assignedTo(call);
        if (target !== undefined) {
          if (what === 'receive') rcVar = target;
          else if (ins.some((s) => s.rcVar === target) || rcVar === target) rcVar = null;
        }
      }
    }
    if (this.lang === 'c' && rcVar === undefined && ins.some((s) => s.rcVar) && /=/.test(n.text)) {
      // `rc = 0;`, `rc = other(...)` was handled above; plain assignments here.
      for (const a of n.type === 'assignment_expression' ? [n] : n.descendantsOfType(['assignment_expression', 'init_declarator'])) {
        const left = a.childForFieldName(a.type === 'init_declarator' ? 'declarator' : 'left');
        if (left && ins.some((s) => s.rcVar === left.text)) rcVar = null;
      }
    }
    if (pending === undefined && rcVar === undefined) return ins;
    return dedupe(
      ins.map((s) => {
        const out: St = pending === undefined ? { ...s } : { pending: pending === true };
        const v = rcVar === undefined ? s.rcVar : rcVar === null ? undefined : rcVar;
        if (v) out.rcVar = v;
        else delete out.rcVar;
        return out;
      }),
    );
  }

  /** What a condition implies about the request on each branch (see Implies). */
  implies(n: Node, rcVar: string | undefined): Implies {
    const t = n.type;
    if (t === 'parenthesized_expression') {
      const inner = n.namedChildren.find((c) => c.type !== 'comment');
      return inner ? this.implies(inner, rcVar) : {};
    }
    if (t === 'unary_expression' && n.childForFieldName('operator')?.text === '!') {
      const arg = n.childForFieldName('argument');
      const r = arg ? this.implies(arg, rcVar) : {};
      return { ...(r.f ? { t: r.f } : {}), ...(r.t ? { f: r.t } : {}) };
    }
    if (t === 'call_expression') {
      const fn = n.childForFieldName('function')?.text ?? '';
      if (NOTIFY_TEST.test(fn.replace(/^.*\./, ''))) return { t: 'none' };
      // `if (mnx_receive(ANY, &m))`: non-zero is an error.
      if (this.lang === 'c' && RECV_CALL.test(fn)) return { t: 'none' };
      return {};
    }
    if (t === 'binary_expression') {
      const raw = n.childForFieldName('operator')?.text ?? '';
      const op = raw === '===' ? '==' : raw === '!==' ? '!=' : raw;
      const left = n.childForFieldName('left');
      const right = n.childForFieldName('right');
      if (!left || !right) return {};
      if (op === '&&' || op === '||') {
        const a = this.implies(left, rcVar);
        const b = this.implies(right, rcVar);
        // a && b true: both hold; false: either fails. a || b true: either holds; false: both fail.
        if (op === '&&') return { ...(a.t || b.t ? { t: 'none' as const } : {}), ...(a.f && b.f ? { f: 'none' as const } : {}) };
        return { ...(a.t && b.t ? { t: 'none' as const } : {}), ...(a.f || b.f ? { f: 'none' as const } : {}) };
      }
      if (op === '&' && NOTIFY_TOKEN.test(n.text)) return { t: 'none' };
      // `(m.m_type & NOTIFY_MESSAGE) == 0` / `!= 0`
      if ((op === '==' || op === '!=') && /^0$/.test(right.text.trim()) && NOTIFY_TOKEN.test(left.text)) {
        const r = this.implies(left, rcVar);
        return op === '!=' ? r : { ...(r.f ? { t: r.f } : {}), ...(r.t ? { f: r.t } : {}) };
      }
      // IS_NOTIFY expanded: `(m.m_type & NOTIFY_MESSAGE) == NOTIFY_MESSAGE`
      if ((op === '==' || op === '!=') && right.text.trim() === 'NOTIFY_MESSAGE' && NOTIFY_TOKEN.test(left.text)) return op === '==' ? { t: 'none' } : { f: 'none' };
      if ((op === '==' || op === '!=') && /\bNOTIFY_FROM\s*\(/.test(n.text)) return op === '==' ? { t: 'none' } : { f: 'none' };
      if (this.lang !== 'c') return {};
      const isSubject = (x: Node): boolean => {
        let y = x;
        while (y.type === 'parenthesized_expression' && y.namedChild(0)) y = y.namedChild(0) as Node;
        if (rcVar && y.type === 'identifier' && y.text === rcVar) return true;
        return y.type === 'call_expression' && RECV_CALL.test(y.childForFieldName('function')?.text ?? '');
      };
      if (isSubject(left)) return resultTest(op, right.text.trim());
      if (isSubject(right)) return resultTest(FLIP[op] ?? op, left.text.trim());
      return {};
    }
    if (this.lang === 'c' && rcVar && t === 'identifier' && n.text === rcVar) return { t: 'none' }; // `if (rc)`: non-zero is an error
    return {};
  }
}

const FLIP: Record<string, string> = { '<': '>', '>': '<', '<=': '>=', '>=': '<=', '==': '==', '!=': '!=' };

/**
 * `result OP value` for a receive result (0 = a request arrived, negative = EMOL* error):
 * the branches on which no request arrived.
 */
function resultTest(op: string | undefined, value: string | undefined): Implies {
  if (op === undefined || value === undefined) return {};
  const zero = /^(0|OK)$/.test(value);
  const err = /^(EMOL\w+|-\s*\d+)$/.test(value);
  const minus1 = /^-\s*1$/.test(value);
  switch (op) {
    case '<':
      return zero ? { t: 'none' } : {};
    case '<=':
      return minus1 ? { t: 'none' } : {};
    case '>=':
      return zero ? { f: 'none' } : {};
    case '>':
      return minus1 ? { f: 'none' } : {};
    case '==':
      return zero ? { f: 'none' } : err ? { t: 'none' } : {};
    case '!=':
      return zero ? { t: 'none' } : {};
    default:
      return {};
  }
}

/** The variable a call's value is stored into (`rc = f()`, `int rc = f()`), if any. */
function assignedTo(call: Node): string | undefined {
  let p = call.parent;
  while (p && p.type === 'parenthesized_expression') p = p.parent;
  if (!p) return undefined;
  if (p.type === 'init_declarator') return p.childForFieldName('declarator')?.text;
  if (p.type === 'assignment_expression' && p.childForFieldName('right')?.startIndex === call.startIndex) return p.childForFieldName('left')?.text;
  return undefined;
}

function merge(a: Flow, b: Flow): Flow {
  return { out: dedupe([...a.out, ...b.out]), brk: dedupe([...a.brk, ...b.brk]), cont: dedupe([...a.cont, ...b.cont]), ret: dedupe([...a.ret, ...b.ret]) };
}

/** Keep at most one state per (pending, via) and cap the set so paths cannot explode. */
function dedupe(states: St[]): St[] {
  const seen = new Map<string, St>();
  for (const s of states) {
    const key = `${s.pending}:${s.via?.o ?? -1}`;
    if (!seen.has(key)) seen.set(key, s);
  }
  const out = [...seen.values()];
  if (out.length <= 16) return out;
  const pend = out.filter((s) => s.pending).slice(0, 8);
  const done = out.find((s) => !s.pending);
  return done ? [...pend, done] : pend;
}
