/**
 * The facts the analyzer extracts from one file. They are plain data (no tree-sitter
 * nodes), so they survive tree deletion, can be cached per top-level unit and are
 * cheap to combine across the workspace.
 *
 * Positions are 0-based rows and UTF-16 columns (what LSP and web-tree-sitter use);
 * `o` is the UTF-16 offset of the start, used to order facts inside a scope.
 */
export interface Rng {
  sr: number;
  sc: number;
  er: number;
  ec: number;
  o: number;
}

export type CallKind =
  | 'bind'
  | 'bindOther'
  | 'wait4bind'
  | 'send'
  | 'receive'
  | 'sendrec'
  | 'rcvrqst'
  | 'reply'
  | 'notify'
  | 'vcopy'
  | 'unbind'
  | 'wakeup';

export type ArgKind = 'ident' | 'number' | 'field' | 'addr' | 'object' | 'other';

export interface ArgFact {
  text: string;
  range: Rng;
  kind: ArgKind;
  /** The identifier (ident, addr `&m`) or the object of a field access (`m` in `m.m_source`). */
  ident?: string;
  /** The field of a field access (`m_source`, `source`). */
  field?: string;
}

/** What the program does with a call's result (DVS006, DVS007). */
export type ResultUse = 'ignored' | 'void' | 'used' | 'assigned' | 'notAwaited' | 'awaitedIgnored';

export interface PairFact {
  key: string;
  value: string;
  range: Rng;
}

export interface CallFact {
  kind: CallKind;
  /** As written: `mnx_sendrec_T`, `sendrec`. */
  name: string;
  range: Rng;
  nameRange: Rng;
  args: ArgFact[];
  scope: string;
  /** The endpoint argument (destination, receive source, bound endpoint). */
  ep?: ArgFact;
  /** The DC argument of a bind. */
  dc?: ArgFact;
  /** The message variable (`m` for `&m`, `req`). */
  msgVar?: string;
  /** The message object literal passed inline (TypeScript). */
  msgPairs?: PairFact[];
  result: ResultUse;
  resultVar?: string;
  /** TypeScript: the receiver (`ep` in `ep.send`). */
  receiver?: string;
  /** Label of the enclosing `case` of a switch on `<msgVar>.m_type` / `.type`. */
  caseLabel?: CaseLabel;
  /** Enclosing `if` conditions, innermost first (for "inside the error branch of bind"). */
  guards: { cond: string; branch: 'then' | 'else' }[];
  /** Inside a `catch` clause whose `try` block binds (TypeScript). */
  inCatch?: boolean;
}

export interface FieldFact {
  obj: string;
  field: string;
  range: Rng;
  write: boolean;
  /** Right-hand side text of an assignment (`KV_GET` in `m.m_type = KV_GET`). */
  value?: string;
  /** Whole statement, for the DVS014 quick fix that deletes it. */
  stmt?: Rng;
  scope: string;
  caseLabel?: CaseLabel;
}

/** The `case X:` (of a switch on the message type) that encloses a fact. */
export interface CaseLabel {
  obj: string;
  label: string;
  at: Rng;
}

export interface LiteralFact {
  range: Rng;
  pairs: PairFact[];
  /** Variable the literal initialises (`const msg = { … }`). */
  assignedTo?: string;
  scope: string;
}

export interface DefFact {
  name: string;
  kind: 'define' | 'enum' | 'const';
  value: string;
  range: Rng;
  /** Enum members without an explicit value get their implicit index. */
  implicit?: number;
}

export interface BoolTestFact {
  /** The tested expression (`r`, `!r`, `mnx_bind(...)`) — replaced by the quick fix. */
  range: Rng;
  /** The identifier or call text inside. */
  inner: string;
  innerRange: Rng;
  negated: boolean;
  scope: string;
}

export interface CaseFact {
  label: string;
  range: Rng;
  /** Range of the label expression. */
  labelRange: Rng;
}

export interface LoopIssue {
  range: Rng;
  why: string;
}

export interface ServerLoopFact {
  range: Rng;
  /** The receive / rcvrqst call that starts a request. */
  recv: Rng;
  recvName: string;
  msgVar?: string;
  cases: CaseFact[];
  hasDefault: boolean;
  /** Paths that reach the next iteration or a return without replying (DVS004). */
  issues: LoopIssue[];
  onlyRcvrqst: boolean;
  scope: string;
}

export interface FileFacts {
  lang: 'c' | 'typescript' | 'tsx';
  defs: DefFact[];
  calls: CallFact[];
  fields: FieldFact[];
  literals: LiteralFact[];
  boolTests: BoolTestFact[];
  loops: ServerLoopFact[];
  /** TypeScript: variables that hold an Endpoint. */
  epVars: string[];
  importsRuntime: boolean;
  /** `#if 0` regions. */
  inactive: Rng[];
  /** Top-level function names with their ranges (document symbols, code lens context). */
  functions: { name: string; range: Rng }[];
}

export function emptyFacts(lang: FileFacts['lang']): FileFacts {
  return { lang, defs: [], calls: [], fields: [], literals: [], boolTests: [], loops: [], epVars: [], importsRuntime: false, inactive: [], functions: [] };
}

export function contains(outer: Rng, inner: Rng): boolean {
  return inner.o >= outer.o && (inner.er < outer.er || (inner.er === outer.er && inner.ec <= outer.ec));
}
