/**
 * DVS001–DVS015 (SPEC §6) over the facts of one file and the workspace index.
 *
 * Every rule is a pure function of facts, so re-diagnosing after an edit costs no
 * tree walk. Quick fixes are computed here and carried in `Diagnostic.data`, so the
 * code-action handler only has to hand them back.
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Diagnostic, type DiagnosticRelatedInformation, type Range, type TextEdit } from 'vscode-languageserver/node';
import { isPointerField, layoutOfField, MESSAGE_LAYOUTS, type DvsMessageType } from '@dvs/grammar';
import type { DocState } from '../analyzer';
import { type DiagnosticCode, type Settings, severityOf } from '../config';
import type { CallFact, CaseLabel, FieldFact, FileFacts, Rng } from '../facts';
import { type EndpointRef, MAXCOPYLEN, type Workspace, fileIndex, unitSignature } from '../workspace';
import { callSitesTo } from './graph';

export interface QuickFix {
  title: string;
  edits: TextEdit[];
  preferred?: boolean;
}

export interface DiagnosticData {
  fixes: QuickFix[];
}

export interface Finding {
  code: DiagnosticCode;
  /** DVS003: the endpoint label missing from dvs.json. */
  missing?: string;
  range: Rng;
  message: string;
  related?: DiagnosticRelatedInformation[];
  fixes?: QuickFix[];
}

export function toRange(r: Rng): Range {
  return { start: { line: r.sr, character: r.sc }, end: { line: r.er, character: r.ec } };
}

const DOCS_DIR = path.resolve(__dirname, '..', '..', '..', 'docs', 'diagnostics');

const localDocs = new Map<string, string>();

export function docsHref(code: string, settings: Settings): string {
  const base = settings.diagnostics.docsBaseUrl;
  if (base) return `${base.replace(/\/$/, '')}/${code}.md`;
  let href = localDocs.get(code);
  if (!href) localDocs.set(code, (href = pathToFileURL(path.join(DOCS_DIR, `${code}.md`)).href));
  return href;
}

const SEND_LIKE = new Set(['send', 'sendrec', 'reply', 'notify']);
const MSG_CALLS = new Set(['send', 'sendrec', 'reply']);

const unitFindings = new WeakMap<FileFacts, { ctx: string; findings: Finding[] }>();
const unitProjectFindings = new WeakMap<FileFacts, { ctx: string; findings: Finding[] }>();

export function computeDiagnostics(ws: Workspace, state: DocState, settings: Settings): Diagnostic[] {
  const findings = collectFindings(ws, state);
  const out: Diagnostic[] = [];
  for (const f of findings) {
    const severity = severityOf(settings, f.code);
    if (severity === undefined) continue;
    const d: Diagnostic = {
      range: toRange(f.range),
      severity,
      code: f.code,
      codeDescription: { href: docsHref(f.code, settings) },
      source: 'dvs',
      message: f.message,
    };
    if (f.related?.length) d.relatedInformation = f.related;
    if (f.fixes?.length) d.data = { fixes: f.fixes } satisfies DiagnosticData;
    out.push(d);
  }
  return out;
}

/**
 * In C every fact belongs to one function, so the rules run per top-level unit and their
 * findings are cached on the unit's facts: after an edit only the edited function is
 * re-checked. Local rules depend on the unit, the names, the file's own endpoints and
 * where its binds are (DVS002 points at one);
 * project-wide rules (DVS005, DVS009, DVS012) also on what the project's files show each
 * other (the workspace's crossVersion) and, through their related locations, on where
 * the file's units are. TypeScript module code spans units, so TypeScript files are
 * checked whole.
 */
function collectFindings(ws: Workspace, s: DocState): Finding[] {
  if (s.lang !== 'c') {
    const whole = new Rules(ws, s, s.facts);
    return [...whole.runLocal(), ...whole.runProject()];
  }
  const c = unitContext(ws, s);
  const out: Finding[] = [];
  for (const u of s.units) unitFindingsOf(ws, s, u.facts, c, out);
  return out;
}

/** What the per-unit caches of a C file are keyed by (see collectFindings). */
interface UnitContext {
  file: FileContext;
  ctx: string;
  projectCtx: string;
}

function unitContext(ws: Workspace, s: DocState): UnitContext {
  const whole = new Rules(ws, s, s.facts);
  // DVS002 points at the bind of the file (in another unit, maybe): where the binds are is
  // part of the local context, so that the pointer follows a bind that moved.
  const bindsAt = whole.file.calls.filter((c) => c.kind === 'bind' && c.ep).map((c) => `${c.range.sr}:${c.range.sc}`).join();
  const ctx = `${ws.namesVersion}|${whole.file.own.map((o) => o.value).join()}|${whole.file.binds}|${bindsAt}`;
  return { file: whole.file, ctx, projectCtx: `${ctx}|${ws.crossVersion}|${layoutKey(s)}` };
}

/** Units whose rules ran (local or project), for tests of the caches. */
export const unitChecks = { count: 0 };

function unitFindingsOf(ws: Workspace, s: DocState, facts: FileFacts, c: UnitContext, out: Finding[]): void {
  // One Rules per unit for both kinds of rules (a first check of a file misses both).
  let rules: Rules | undefined;
  let hit = unitFindings.get(facts);
  if (!hit || hit.ctx !== c.ctx) {
    rules = new Rules(ws, s, facts, c.file);
    hit = { ctx: c.ctx, findings: rules.runLocal() };
    unitFindings.set(facts, hit);
  }
  out.push(...hit.findings);
  let phit = unitProjectFindings.get(facts);
  if (!phit || phit.ctx !== c.projectCtx) {
    rules ??= new Rules(ws, s, facts, c.file);
    phit = { ctx: c.projectCtx, findings: rules.runProject() };
    unitProjectFindings.set(facts, phit);
  }
  if (rules) unitChecks.count++;
  out.push(...phit.findings);
}

/**
 * A background check of a C file that is not open (see BackgroundCheck): the units' findings
 * are computed into the per-unit caches that computeDiagnostics reads, from unit `next`
 * on until `deadline` (performance.now()). Returns false when the file is done. When the
 * context changed since the last call (names, endpoints, other files), it starts over:
 * findings cached under the old context would not be used.
 */
export function precheckUnits(ws: Workspace, s: DocState, job: { next: number; ctx?: string }, deadline: number): boolean {
  if (s.lang !== 'c') return false;
  const c = unitContext(ws, s);
  if (c.projectCtx !== job.ctx) {
    job.ctx = c.projectCtx;
    job.next = 0;
  }
  const sink: Finding[] = [];
  while (job.next < s.units.length) {
    const u = s.units[job.next++] as (typeof s.units)[number];
    unitFindingsOf(ws, s, u.facts, c, sink);
    sink.length = 0;
    // Its cross-file signature too (cached per unit), taken when the file is opened.
    unitSignature(u.facts);
    if (performance.now() >= deadline) break;
  }
  return job.next < s.units.length;
}

const layoutKeys = new WeakMap<DocState, string>();

/** Where the units of a file start: a finding's related location may point into another unit. */
function layoutKey(s: DocState): string {
  let k = layoutKeys.get(s);
  if (k === undefined) {
    k = s.units.map((u) => u.o).join(',');
    layoutKeys.set(s, k);
  }
  return k;
}

/** What the rules of one unit need to know about the rest of its file. */
interface FileContext {
  own: EndpointRef[];
  calls: CallFact[];
  /** The file binds somewhere (bind or wait4bind). */
  binds: boolean;
}

class Rules {
  private readonly out: Finding[] = [];
  private readonly calls: CallFact[];
  private readonly own: EndpointRef[];
  private readonly c: boolean;
  readonly file: FileContext;

  constructor(
    private readonly ws: Workspace,
    private readonly s: DocState,
    private readonly f: FileFacts,
    file?: FileContext,
  ) {
    this.calls = f === s.facts ? ws.ipcCalls(s) : f.calls;
    this.file = file ?? { own: ws.ownEndpoints(s), calls: this.calls, binds: this.calls.some((c) => c.kind === 'bind' || c.kind === 'wait4bind') };
    this.own = this.file.own;
    this.c = s.lang === 'c';
  }

  /** Rules whose findings depend only on this unit (or file) and the file context. */
  runLocal(): Finding[] {
    this.specialDestinations();
    this.selfSends();
    this.undeclaredEndpoints();
    this.serverLoopsWithoutReply();
    this.bindResultAsBoolean();
    this.ignoredResults();
    this.notifySlots();
    this.layoutFields();
    this.remotePointers();
    this.callsWithoutBind();
    this.sourceAssigned();
    this.vcopyChecks();
    return this.out.splice(0);
  }

  /** Rules that look at other files of the project. */
  runProject(): Finding[] {
    this.replyToPlainSenders();
    this.unhandledTypes();
    this.sendrecCycles();
    return this.out.splice(0);
  }

  private add(f: Finding): void {
    this.out.push(f);
  }

  private ref(call: CallFact, arg = call.ep): EndpointRef | undefined {
    return arg ? this.ws.endpoint(arg, this.s.uri, this.f, call.scope) : undefined;
  }

  private loc(r: Rng, message: string, uri = this.s.uri): DiagnosticRelatedInformation {
    return { location: { uri, range: toRange(r) }, message };
  }

  private replace(r: Rng, newText: string, title: string, preferred = false): QuickFix {
    return { title, edits: [{ range: toRange(r), newText }], ...(preferred ? { preferred } : {}) };
  }

  /** The variable holding the current request in this scope (`m` after receive, `req` after rcvrqst). */
  private requestVar(call: CallFact): string | undefined {
    let best: CallFact | undefined;
    for (const c of fileIndex(this.f).callsByScope.get(call.scope) ?? []) {
      if (c.range.o >= call.range.o) continue;
      if (c.kind === 'receive' || c.kind === 'rcvrqst') if (!best || c.range.o > best.range.o) best = c;
    }
    if (!best) return undefined;
    return this.c ? best.msgVar : best.resultVar;
  }

  private serverNames(exclude: (number | undefined)[]): { name: string; number: number }[] {
    const cfg = this.ws.config(this.s.uri);
    if (!cfg) return [];
    const served = new Set((cfg.protocol?.types ?? []).map((t) => t.server).filter((x): x is string => !!x));
    return cfg.endpoints.filter((e) => (e.server || served.has(e.name)) && !exclude.includes(e.number)).map((e) => ({ name: e.name, number: e.number }));
  }

  private destinationFixes(call: CallFact, ep: Rng, exclude: (number | undefined)[], type?: DvsMessageType): QuickFix[] {
    const fixes: QuickFix[] = [];
    const req = this.requestVar(call);
    if (req && (call.kind === 'reply' || call.kind === 'send')) {
      const text = this.c ? `${req}.m_source` : `${req}.source`;
      fixes.push(this.replace(ep, text, `Reply to the requester (${text})`, true));
    }
    if (type?.server && !exclude.includes(this.ws.endpointByName(type.server, this.s.uri)?.number)) {
      fixes.push(this.replace(ep, type.server, `Send to ${type.server} (serves ${type.name})`, fixes.length === 0));
    }
    for (const sv of this.serverNames(exclude)) {
      if (fixes.some((f) => f.edits[0]?.newText === sv.name)) continue;
      fixes.push(this.replace(ep, sv.name, `Send to ${sv.name} (endpoint ${sv.number})`));
    }
    return fixes;
  }

  // DVS001 ------------------------------------------------------------------------------
  private specialDestinations(): void {
    for (const call of this.calls) {
      if (!SEND_LIKE.has(call.kind) || !call.ep) continue;
      const r = this.ref(call);
      if (!r?.special) continue;
      const why =
        r.special === 'ANY'
          ? 'ANY is only valid as the source of receive'
          : r.special === 'SELF'
            ? 'a process cannot address itself (EMOLENDPOINT)'
            : 'NONE is not an endpoint (EMOLENDPOINT)';
      const type = this.typeOfCall(call);
      this.add({
        code: 'DVS001',
        range: call.ep.range,
        message: `Destination of ${call.name} is ${r.special}: ${why}.`,
        fixes: this.destinationFixes(call, call.ep.range, this.own.map((o) => o.value), type ? this.ws.messageType(type, this.s.uri) : undefined),
      });
    }
  }

  // DVS002 ------------------------------------------------------------------------------
  private selfSends(): void {
    for (const call of this.calls) {
      if ((call.kind !== 'send' && call.kind !== 'sendrec') || !call.ep) continue;
      const r = this.ref(call);
      if (!r || r.special) continue;
      const mine = r.own || (r.value !== undefined && this.own.some((o) => o.value === r.value));
      if (!mine) continue;
      const bind = fileIndex(this.f).bindsByVar.get(r.text)?.[0] ?? this.bindOf(r.value);
      const type = this.typeOfCall(call);
      this.add({
        code: 'DVS002',
        range: call.ep.range,
        message: `${call.name} to the caller's own endpoint${r.name ? ` ${r.name}` : ''}${r.value !== undefined ? ` (${r.value})` : ''} fails with EMOLENDPOINT: a process cannot rendezvous with itself.`,
        ...(bind ? { related: [this.loc(bind.range, 'the caller binds this endpoint here')] } : {}),
        fixes: this.destinationFixes(call, call.ep.range, [r.value, ...this.own.map((o) => o.value)], type ? this.ws.messageType(type, this.s.uri) : undefined),
      });
    }
  }

  private bindsByValue: Map<number | undefined, CallFact> | undefined;

  private bindOf(value: number | undefined): CallFact | undefined {
    if (!this.bindsByValue) {
      this.bindsByValue = new Map();
      for (const c of this.file.calls) if (c.kind === 'bind' && c.ep) this.bindsByValue.set(this.ref(c)?.value, c);
    }
    return this.bindsByValue.get(value);
  }

  // DVS003 ------------------------------------------------------------------------------
  private undeclaredEndpoints(): void {
    for (const f of undeclaredEndpointUses(this.ws, this.s, this.calls, this.f)) this.add(f);
  }

  // DVS004 ------------------------------------------------------------------------------
  private serverLoopsWithoutReply(): void {
    for (const loop of this.f.loops) {
      for (const issue of loop.issues) {
        this.add({
          code: 'DVS004',
          range: issue.range,
          message: `Server loop: ${issue.why}; a client waiting in sendrec for this request stays blocked forever.`,
          related: [this.loc(loop.recv, `the request is received here (${loop.recvName})`)],
        });
      }
    }
  }

  // DVS005 ------------------------------------------------------------------------------
  private replyToPlainSenders(): void {
    if (this.own.length === 0) return;
    const replies = this.calls.filter((c) => c.kind === 'reply');
    if (replies.length === 0) return;
    const ownValues = new Set(this.own.map((o) => o.value));
    const clients = [...ownValues].flatMap((v) => (v === undefined ? [] : callSitesTo(this.ws, v, this.s.uri))).filter((c) => c.state.uri !== this.s.uri && c.call.kind !== 'notify');
    for (const reply of replies) {
      const label = reply.caseLabel?.label;
      const relevant = label ? clients.filter((c) => c.type === undefined || this.sameType(c.type, label)) : clients;
      const plain = relevant.filter((c) => c.call.kind === 'send');
      if (plain.length === 0 || relevant.some((c) => c.call.kind === 'sendrec')) continue;
      this.add({
        code: 'DVS005',
        range: reply.nameRange,
        message: `reply to clients that use plain send${label ? ` for ${label}` : ''}: reply fails with EMOLPROCSTS unless the client waits in sendrec, and the reply is lost. Make the clients use sendrec.`,
        related: plain.slice(0, 8).map((c) => this.loc(c.call.range, `client sends with ${c.call.name}`, c.state.uri)),
      });
    }
  }

  private sameType(a: string, b: string): boolean {
    if (a === b) return true;
    const va = this.ws.evalText(a, this.s.uri);
    return va !== undefined && va === this.ws.evalText(b, this.s.uri);
  }

  // DVS006 ------------------------------------------------------------------------------
  private bindResultAsBoolean(): void {
    if (!this.c) return;
    const binds = this.calls.filter((c) => c.kind === 'bind' || c.kind === 'bindOther' || c.kind === 'wait4bind');
    for (const t of this.f.boolTests) {
      const direct = binds.find((b) => b.range.o === t.innerRange.o);
      const viaVar = binds.find((b) => b.resultVar === t.inner && b.scope === t.scope && b.range.o < t.range.o);
      const bind = direct ?? viaVar;
      if (!bind) continue;
      const shown = t.negated ? `!${t.inner}` : t.inner;
      this.add({
        code: 'DVS006',
        range: t.range,
        message: `${direct ? `The result of ${bind.name}` : `'${t.inner}' (the result of ${bind.name})`} is tested as a boolean: ${bind.name} returns the endpoint, 0 is a valid endpoint and errors are negative. Test '< 0'.`,
        related: viaVar ? [this.loc(bind.range, 'bound here')] : [],
        fixes: [this.replace(t.range, `${t.inner} < 0`, `Replace '${shown}' with '${t.inner} < 0'`, true)],
      });
    }
  }

  // DVS007 ------------------------------------------------------------------------------
  private ignoredResults(): void {
    for (const call of this.calls) {
      if (this.c) {
        if (call.result !== 'ignored') continue;
        const stmtEnd = this.s.text.charAt(offsetOf(this.s.text, call.range.er, call.range.ec)) === ';';
        const line = lineText(this.s.text, call.range.sr);
        const indent = /^\s*/.exec(line)?.[0] ?? '';
        const callText = sliceRng(this.s.text, call.range);
        const whole: Rng = { ...call.range, ec: call.range.ec + (stmtEnd ? 1 : 0) };
        this.add({
          code: 'DVS007',
          range: call.nameRange,
          message: `The result of ${call.name} is ignored: IPC calls return a negative error code (EMOLTIMEDOUT, EMOLNOTCONN, EMOLSRCDIED, ...).`,
          fixes: [
            this.replace(whole, `if (${callText} < 0) {\n${indent}\t/* TODO: handle the error */\n${indent}}`, 'Check the result (< 0)', true),
            this.replace({ ...call.range, ec: call.range.sc, er: call.range.sr }, '(void)', 'Discard the result explicitly with (void)'),
          ],
        });
      } else if (call.result === 'notAwaited') {
        this.add({
          code: 'DVS007',
          range: call.nameRange,
          message: `The promise returned by ${call.receiver ?? ''}.${call.name} is not awaited: its DvsError is never seen.`,
          fixes: [this.replace({ ...call.range, ec: call.range.sc, er: call.range.sr }, 'await ', 'Add await', true)],
        });
      } else if (call.result === 'awaitedIgnored' && (call.kind === 'receive' || call.kind === 'sendrec' || call.kind === 'rcvrqst')) {
        const start: Rng = { ...call.range, er: call.range.sr, ec: call.range.sc };
        const awaitStart = lineText(this.s.text, call.range.sr).lastIndexOf('await', call.range.sc);
        const at: Rng = awaitStart >= 0 ? { ...start, sc: awaitStart, ec: awaitStart } : start;
        this.add({
          code: 'DVS007',
          range: call.nameRange,
          message: `The message returned by ${call.receiver ?? ''}.${call.name} is discarded.`,
          fixes: [this.replace(at, call.kind === 'sendrec' ? 'const reply = ' : 'const msg = ', 'Keep the message in a variable', true)],
        });
      }
    }
  }

  // DVS008 ------------------------------------------------------------------------------
  private notifySlots(): void {
    const cfg = this.ws.config(this.s.uri);
    if (!cfg) return;
    for (const call of this.calls) {
      if (call.kind !== 'notify' || !call.ep) continue;
      const dst = this.ref(call);
      for (const o of this.own) {
        const dc = cfg.dcs.find((d) => d.id === o.decl?.dc) ?? cfg.dcs[0];
        if (dc && o.value !== undefined && o.value >= dc.nr_sysprocs) {
          this.add({ code: 'DVS008', range: call.nameRange, message: `notify from ${o.name ?? o.value} (slot ${o.value}), a non-system slot: only slots below nr_sysprocs (${dc.nr_sysprocs}) of DC ${dc.name} may notify (EMOLPRIVILEGES).` });
        }
      }
      if (dst?.value !== undefined && !dst.special) {
        const dc = cfg.dcs.find((d) => d.id === dst.decl?.dc) ?? cfg.dcs[0];
        if (dc && dst.value >= dc.nr_sysprocs) {
          this.add({ code: 'DVS008', range: call.ep.range, message: `notify to ${dst.name ?? dst.value} (slot ${dst.value}), a non-system slot: notifications may only be queued to slots below nr_sysprocs (${dc.nr_sysprocs}) of DC ${dc.name}.` });
        }
      }
    }
  }

  private typeOfCall(call: CallFact): string | undefined {
    return callType(this.ws, this.s, call);
  }

  // DVS009 ------------------------------------------------------------------------------
  private unhandledTypes(): void {
    const cfg = this.ws.config(this.s.uri);
    const handledBy = new Map<string, { handled: Set<string>; related: DiagnosticRelatedInformation[] }>();
    for (const call of this.calls) {
      if ((call.kind !== 'send' && call.kind !== 'sendrec') || !call.ep) continue;
      const dst = this.ref(call);
      if (!dst || dst.value === undefined || dst.special || dst.own) continue;
      const type = this.typeOfCall(call);
      if (!type) continue;
      const dstName = dst.decl?.name ?? dst.name;
      const cacheKey = `${dst.value}:${dstName ?? ''}`;
      let entry = handledBy.get(cacheKey);
      if (!entry) {
        const handled = new Set<string>();
        const related: DiagnosticRelatedInformation[] = [];
        for (const { state, loop } of this.ws.serverLoopsOf(dst.value, this.s.uri)) {
          for (const cs of loop.cases) handled.add(canonType(this.ws, cs.label, state.uri));
          related.push(this.loc(loop.recv, `server loop of ${dst.name ?? dst.value}`, state.uri));
        }
        for (const t of cfg?.protocol?.types ?? []) if (dstName && t.server === dstName) handled.add(canonType(this.ws, t.name, this.s.uri));
        entry = { handled, related };
        handledBy.set(cacheKey, entry);
      }
      const { handled, related } = entry;
      if (handled.size === 0) continue;
      if (handled.has(canonType(this.ws, type, this.s.uri))) continue;
      this.add({
        code: 'DVS009',
        range: call.nameRange,
        message: `${call.name} of ${type} to ${dstName ?? dst.value}, whose server loop never handles it (handles ${[...handled].join(', ')}).`,
        related,
      });
    }
  }

  // DVS010 ------------------------------------------------------------------------------
  private layoutFields(): void {
    const check = (field: string, type: string | undefined, range: Rng, verb: string, layout = layoutOfField(field)): void => {
      if (!layout || !type) return;
      const decl = this.ws.messageType(type, this.s.uri);
      if (!decl || decl.layout === layout) return;
      const named = decl.fields ? ` (${Object.entries(decl.fields).map(([k, v]) => `${k}=${v}`).join(', ')})` : '';
      this.add({
        code: 'DVS010',
        range,
        message: `${field} is ${verb} on a ${decl.name} message, whose layout is ${decl.layout}${named}: ${field} belongs to ${layout}. Use ${MESSAGE_LAYOUTS[decl.layout].join(', ')}.`,
      });
    };
    const laid = this.f.fields.filter((f) => layoutOfField(f.field) !== undefined);
    const types = fieldTypes(this.ws, this.s, laid);
    laid.forEach((f, i) => check(f.field, types[i], f.range, f.write ? 'written' : 'read'));
    for (const lit of this.f.literals) {
      const type = lit.pairs.find((p) => p.key === 'type')?.value;
      for (const p of lit.pairs) check(p.key, type, p.range, 'written');
    }
  }

  // DVS011 ------------------------------------------------------------------------------
  private remotePointers(): void {
    const cfg = this.ws.config(this.s.uri);
    if (!cfg) return;
    for (const call of this.calls) {
      if (!MSG_CALLS.has(call.kind) || !call.ep) continue;
      const pointers: { field: string; range: Rng }[] = [];
      if (call.msgPairs) for (const p of call.msgPairs) if (isPointerField(p.key)) pointers.push({ field: p.key, range: p.range });
      if (call.msgVar) {
        const key = `${call.scope}\0${call.msgVar}`;
        const idx = fileIndex(this.f);
        for (const f of idx.fieldWrites.get(key) ?? []) {
          if (f.range.o < call.range.o && isPointerField(f.field)) pointers.push({ field: f.field, range: f.range });
        }
        for (const l of idx.literalsByVar.get(key) ?? []) {
          if (l.range.o < call.range.o) for (const p of l.pairs) if (isPointerField(p.key)) pointers.push({ field: p.key, range: p.range });
        }
      }
      if (pointers.length === 0) continue;
      // dvs.json may declare a pointer field of this message type a vcopy address
      // (`{ "field": "m1_p1", "vaddr": true }`): the receiver copies through it with
      // vcopy while the sender waits, which works across nodes.
      const typeName = this.typeOfCall(call);
      const decl = typeName ? this.ws.messageType(typeName, this.s.uri) : undefined;
      const raw = decl?.vaddr ? pointers.filter((p) => !decl.vaddr?.includes(p.field)) : pointers;
      if (raw.length === 0) continue;
      const dst = this.ref(call);
      const where = this.remoteReason(dst);
      if (!where) continue;
      const fields = [...new Set(raw.map((p) => p.field))].join(', ');
      const hint = decl ? ` If ${decl.name}'s receiver vcopies through it, mark the field in dvs.json: { "field": "${raw[0]?.field ?? ''}", "vaddr": true }.` : '';
      this.add({
        code: 'DVS011',
        range: call.nameRange,
        message: `Pointer field ${fields} sent to ${where}: a pointer is meaningless in another process on another node. Copy the data with vcopy.${hint}`,
        related: raw.map((p) => this.loc(p.range, `${p.field} set here`)),
      });
    }
  }

  /** Why the destination can be on another node, or undefined when it cannot. */
  private remoteReason(dst: EndpointRef | undefined): string | undefined {
    const cfg = this.ws.config(this.s.uri);
    if (!cfg || !dst) return undefined;
    const me = this.own.find((o) => o.decl)?.decl;
    if (dst.decl) {
      if (me && me.node !== dst.decl.node) return `${dst.decl.name}, which runs on node ${dst.decl.node} (this endpoint runs on node ${me.node})`;
      if (!me && (cfg.dcs.find((d) => d.id === dst.decl?.dc)?.nodes.length ?? 1) > 1) return `${dst.decl.name}, which can be on another node of its DC`;
      return undefined;
    }
    if (dst.requester) {
      const dc = cfg.dcs.find((d) => d.id === me?.dc) ?? cfg.dcs[0];
      if (dc && dc.nodes.length > 1) return `the requester, which can be on another node of DC ${dc.name}`;
    }
    return undefined;
  }

  // DVS012 ------------------------------------------------------------------------------
  private sendrecCycles(): void {
    if (this.s.facts.loops.length === 0 || this.own.length === 0) return;
    // Only this unit's sendrec calls can be reported: without one, skip the project's edges.
    if (!this.calls.some((c) => c.kind === 'sendrec')) return;
    type Edge = { from: number; to: number; uri: string; call: CallFact };
    // The project's blocking sendrec edges between servers, built once per change of any file.
    const { byCall, next } = this.ws.memo(
      this.ws.configFor(this.s.uri) ?? this.ws,
      'sendrecEdges',
      () => {
        const servers = new Set<number>();
        const edges: Edge[] = [];
        for (const peer of this.ws.peers(this.s.uri)) {
          if (peer.facts.loops.length === 0) continue;
          // Per file, until names change: an edit resolves only the edited file's calls
          // again, the project's edge list is a concatenation.
          const out = this.ws.memo(peer, 'sendrecOut', () => {
            const own = this.ws.ownEndpoints(peer).map((o) => o.value).filter((v): v is number => v !== undefined);
            const list: Edge[] = [];
            for (const call of this.ws.ipcCalls(peer)) {
              // A timed sendrec (`_T`, `{ timeoutMs }`) cannot wait forever: it is the fix, not the bug.
              if (call.kind !== 'sendrec' || !call.ep || isTimed(call)) continue;
              const r = this.ws.endpoint(call.ep, peer.uri, peer.facts, call.scope);
              if (r.value === undefined || r.special || r.own) continue;
              for (const from of own) if (from !== r.value) list.push({ from, to: r.value, uri: peer.uri, call });
            }
            return { own, edges: list };
          });
          out.own.forEach((v) => servers.add(v));
          for (const e of out.edges) edges.push(e);
        }
        // Only edges into servers can close a cycle. Per call (the rule runs per unit),
        // and the first edge per (from, to) pair for the path search.
        const byCall = new Map<CallFact, Edge[]>();
        const next = new Map<number, Map<number, Edge>>();
        for (const e of edges) {
          if (!servers.has(e.to)) continue;
          const l = byCall.get(e.call);
          if (l) l.push(e);
          else byCall.set(e.call, [e]);
          let m = next.get(e.from);
          if (!m) next.set(e.from, (m = new Map()));
          if (!m.has(e.to)) m.set(e.to, e);
        }
        return { byCall, next };
      },
      'files',
    );
    const path = (from: number, to: number): Edge[] | undefined => {
      const prev = new Map<number, Edge>();
      const queue = [from];
      const seen = new Set([from]);
      while (queue.length) {
        const n = queue.shift() as number;
        if (n === to) {
          const out: Edge[] = [];
          let cur = to;
          while (cur !== from) {
            const e = prev.get(cur) as Edge;
            out.unshift(e);
            cur = e.from;
          }
          return out;
        }
        for (const [t, e] of next.get(n) ?? []) {
          if (seen.has(t)) continue;
          seen.add(t);
          prev.set(t, e);
          queue.push(t);
        }
      }
      return undefined;
    };
    for (const call of this.calls) {
      for (const e of byCall.get(call) ?? []) {
        if (e.uri !== this.s.uri) continue;
        const back = path(e.to, e.from);
        if (!back) continue;
        const names = [e.from, e.to, ...back.map((b) => b.to)].map((v) => this.ws.endpointByNumber(v, this.s.uri)?.name ?? String(v));
        this.add({
          code: 'DVS012',
          range: e.call.nameRange,
          message: `Blocking sendrec cycle between servers: ${names.join(' → ')}. If both sides call at once they wait for each other forever; use ${e.call.name.replace(/_T$/, '')}_T or break the cycle.`,
          related: back.map((b) => this.loc(b.call.range, `sendrec from ${this.ws.endpointByNumber(b.from, this.s.uri)?.name ?? b.from}`, b.uri)),
        });
      }
    }
  }

  // DVS013 ------------------------------------------------------------------------------
  private callsWithoutBind(): void {
    const isIpc = (c: CallFact): boolean => ['send', 'receive', 'sendrec', 'rcvrqst', 'reply', 'notify', 'vcopy'].includes(c.kind);
    const byScope = new Map<string, CallFact[]>();
    for (const c of this.calls) {
      let list = byScope.get(c.scope);
      if (!list) byScope.set(c.scope, (list = []));
      list.push(c);
    }
    const fileBinds = this.file.binds;
    for (const [scope, list] of byScope) {
      const binds = list.filter((c) => c.kind === 'bind' || c.kind === 'wait4bind');
      const unbind = list.find((c) => c.kind === 'unbind');
      const firstBind = binds.reduce<CallFact | undefined>((a, b) => (!a || b.range.o < a.range.o ? b : a), undefined);
      for (const c of list) {
        if (!isIpc(c)) continue;
        let why: string | undefined;
        let related: DiagnosticRelatedInformation[] = [];
        if (firstBind && c.range.o < firstBind.range.o) {
          why = 'before the bind';
          related = [this.loc(firstBind.range, 'the endpoint is bound only here')];
        } else if (unbind && c.range.o > unbind.range.o && c.receiver === unbind.receiver) {
          why = 'after unbind';
          related = [this.loc(unbind.range, 'unbound here')];
        } else {
          const g = c.guards.find((gd) => binds.some((b) => b.resultVar && new RegExp(`\\b${escapeRe(b.resultVar)}\\b`).test(gd.cond) && isFailureTest(gd.cond, b.resultVar) === (gd.branch === 'then')));
          if (g) why = 'in the branch where bind failed';
          else if (this.c && !fileBinds && scope !== 'module') {
            // A helper such as kv_bind() may do the binding in another file:
            // main calling any *bind*() function is given the benefit of the doubt.
            const main = this.f.functions.find((f) => f.name === 'main' && `${f.range.sr}:${f.range.sc}` === scope);
            if (main && !/\b\w*bind\w*\s*\(/i.test(sliceRng(this.s.text, main.range))) why = 'in main, which never binds';
          }
        }
        if (!why) continue;
        this.add({ code: 'DVS013', range: c.nameRange, message: `${c.name} ${why}: without a successful bind the call fails with EMOLNOTBIND.`, related });
      }
    }
  }

  // DVS014 ------------------------------------------------------------------------------
  private sourceAssigned(): void {
    const sentLater = (v: string, scope: string, o: number): CallFact | undefined =>
      (fileIndex(this.f).callsByScope.get(scope) ?? []).find((c) => SEND_LIKE.has(c.kind) && c.msgVar === v && c.range.o > o);
    const msg = 'm_source is overwritten by the runtime on delivery (it cannot be forged); assigning it before sending has no effect.';
    for (const f of this.f.fields) {
      if (!f.write || f.field !== (this.c ? 'm_source' : 'source')) continue;
      const send = sentLater(f.obj, f.scope, f.range.o);
      if (!send) continue;
      this.add({ code: 'DVS014', range: f.range, message: msg, related: [this.loc(send.range, 'sent here')], fixes: f.stmt ? [this.deleteFix(f.stmt, 'Remove the assignment')] : [] });
    }
    if (this.c) return;
    for (const l of this.f.literals) {
      const src = l.pairs.find((p) => p.key === 'source');
      if (!src) continue;
      const inline = (fileIndex(this.f).callsByScope.get(l.scope) ?? []).find((c) => SEND_LIKE.has(c.kind) && c.msgPairs && c.range.o < l.range.o && l.range.o < offsetEnd(c.range, this.s.text));
      const later = l.assignedTo ? sentLater(l.assignedTo, l.scope, l.range.o) : undefined;
      const send = inline ?? later;
      if (!send) continue;
      this.add({ code: 'DVS014', range: src.range, message: msg.replace('m_source', 'source'), related: [this.loc(send.range, 'sent here')], fixes: [this.deletePairFix(src.range)] });
    }
  }

  private deleteFix(stmt: Rng, title: string): QuickFix {
    const line = lineText(this.s.text, stmt.sr);
    const onlyThing = stmt.sr === stmt.er && line.trim() === sliceRng(this.s.text, stmt).trim();
    const r: Rng = onlyThing ? { sr: stmt.sr, sc: 0, er: stmt.sr + 1, ec: 0, o: stmt.o } : stmt;
    return this.replace(r, '', title, true);
  }

  private deletePairFix(pair: Rng): QuickFix {
    const line = lineText(this.s.text, pair.er);
    const rest = line.slice(pair.ec);
    const m = /^\s*,\s*/.exec(rest);
    const r: Rng = { ...pair, ec: pair.ec + (m ? m[0].length : 0) };
    return this.replace(r, '', 'Remove the source property', true);
  }

  // DVS015 ------------------------------------------------------------------------------
  private vcopyChecks(): void {
    for (const call of this.calls) {
      if (call.kind !== 'vcopy') continue;
      const bytes = call.args[4];
      if (bytes) {
        const v = this.ws.evalText(bytes.text, this.s.uri);
        if (v !== undefined && v > MAXCOPYLEN) {
          this.add({ code: 'DVS015', range: bytes.range, message: `vcopy of ${v} bytes exceeds MAXCOPYLEN (${MAXCOPYLEN} = 1 MiB); split the copy.` });
        }
      }
      for (const arg of [call.args[0], call.args[2]]) {
        if (!arg) continue;
        const r = this.ref(call, arg);
        if (!r) continue;
        if (r.special === 'ANY' || r.special === 'NONE') {
          this.add({ code: 'DVS015', range: arg.range, message: `${r.special} cannot be a vcopy party; use SELF or the requester's endpoint.` });
        } else if (r.requester) {
          const reply = this.calls.find((c) => c.scope === call.scope && c.range.o < call.range.o && (c.kind === 'reply' || (c.kind === 'send' && /source\b/.test(c.ep?.text ?? ''))) && this.sameLoop(c.range, call.range));
          if (reply) {
            this.add({ code: 'DVS015', range: arg.range, message: `vcopy with ${arg.text} after the reply: the client is no longer blocked in sendrec, so the copy fails with EMOLPROCSTS. Copy before replying.`, related: [this.loc(reply.range, 'replied here')] });
          }
        } else if (r.value !== undefined && !r.own && r.special !== 'SELF' && !this.own.some((o) => o.value === r.value)) {
          this.add({ code: 'DVS015', range: arg.range, message: `vcopy on ${r.name ?? r.value}, which is not known to be blocked in sendrec here; a third party must be waiting in sendrec (usually the requester, ${this.c ? 'm.m_source' : 'req.source'}, between receive and reply).` });
        }
      }
    }
  }

  private sameLoop(a: Rng, b: Rng): boolean {
    const loop = this.f.loops.find((l) => a.o >= l.range.o && b.o >= l.range.o && a.o <= offsetEnd(l.range, this.s.text) && b.o <= offsetEnd(l.range, this.s.text));
    return loop !== undefined || this.f.loops.length === 0;
  }
}

/** DVS003: endpoint arguments that resolve to a number dvs.json does not declare (shared with the dvs.json cross-check). */
export function undeclaredEndpointUses(ws: Workspace, s: DocState, calls = ws.ipcCalls(s), facts: FileFacts = s.facts): Finding[] {
  const cfg = ws.config(s.uri);
  if (!cfg) return [];
  const out: Finding[] = [];
  const cfgState = ws.configFor(s.uri);
  const own = ws.ownEndpoints(s);
  for (const call of calls) {
    if (call.kind === 'bindOther') continue;
    const args = call.kind === 'vcopy' ? [call.args[0], call.args[2]] : [call.ep];
    for (const arg of args) {
      if (!arg) continue;
      const r = ws.endpoint(arg, s.uri, facts, call.scope);
      if (r.value === undefined || r.special || r.requester || r.own || r.decl) continue;
      const dcId = call.dc ? ws.evalText(call.dc.text, s.uri) : own[0]?.decl?.dc;
      const dc = cfg.dcs.find((d) => d.id === dcId) ?? cfg.dcs[0];
      const label = r.name ? `${r.name} (${r.value})` : `${r.value}`;
      const related = cfgState ? [{ location: { uri: cfgState.uri, range: toRange(spanToRng(cfgState.text, cfgState.parsed.spans.endpointsArray)) }, message: 'endpoints declared in dvs.json' }] : [];
      const outside = dc && (r.value < -dc.nr_tasks || r.value >= dc.nr_procs);
      out.push({
        code: 'DVS003',
        range: arg.range,
        message: outside ? `Endpoint ${label} is outside DC ${dc.name}'s slot range ${-dc.nr_tasks} <= endpoint < ${dc.nr_procs}.` : `Endpoint ${label} is not declared in dvs.json.`,
        related,
        ...(outside ? {} : { missing: label }),
      });
    }
  }
  return out;
}

const typeCache = new WeakMap<object, { gen: number; type: string | undefined }>();

/**
 * Message type at a fact, cached on the fact object. Facts of units an edit did not touch
 * are the same objects after the edit, so only the edited unit is recomputed. Module-level
 * TypeScript code spans units, so it is not cached.
 */
function cachedType(ws: Workspace, fact: { scope: string }, compute: () => string | undefined): string | undefined {
  if (fact.scope === 'module') return compute();
  const hit = typeCache.get(fact);
  if (hit && hit.gen === ws.namesVersion) return hit.type;
  const type = compute();
  typeCache.set(fact, { gen: ws.namesVersion, type });
  return type;
}

/** The message type a send-like call carries: its inline literal's `type`, else the variable's type. */
export function callType(ws: Workspace, s: DocState, call: CallFact): string | undefined {
  if (call.msgPairs) return call.msgPairs.find((p) => p.key === 'type')?.value;
  return cachedType(ws, call, () => typeAt(ws, s, call.msgVar, call, call.caseLabel));
}

function isTimed(call: CallFact): boolean {
  return call.name.endsWith('_T') || (call.receiver !== undefined && call.args.length >= 3);
}

/** Message type of variable `v` just before `at`: the last m_type/type assignment, literal, case label or sendrec. */
export function typeAt(ws: Workspace, s: DocState, v: string | undefined, at: { range: Rng; scope: string }, cl: CaseLabel | undefined): string | undefined {
  if (!v) return undefined;
  const idx = scopeIndex(s, at.scope);
  const key = `${at.scope}\0${v}`;
  const typeField = s.lang === 'c' ? 'm_type' : 'type';
  let bestO = -1;
  let bestType: string | undefined;
  const consider = (o: number, type: string | undefined): void => {
    if (o < at.range.o && o > bestO) {
      bestO = o;
      bestType = type;
    }
  };
  for (const f of idx.fieldWrites.get(key) ?? []) if (f.field === typeField && f.value) consider(f.range.o, f.value);
  for (const l of idx.literalsByVar.get(key) ?? []) consider(l.range.o, l.pairs.find((p) => p.key === 'type')?.value);
  for (const c of idx.callsByTarget.get(key) ?? []) {
    if (c.range.o >= at.range.o || c.range.o <= bestO) continue;
    if (c.kind === 'receive' || c.kind === 'rcvrqst') consider(c.range.o, undefined);
    if (c.kind === 'sendrec') {
      // What the sendrec sent (cached per call: every later access to the variable asks).
      // callType is this very expression: in C the call's target is its msgVar, and in
      // TypeScript a call has msgPairs (an object literal) or msgVar, never both.
      const sent = callType(ws, s, c);
      const decl = sent ? ws.messageType(sent, s.uri) : undefined;
      consider(c.range.o, decl?.reply);
    }
  }
  if (cl && cl.obj === v && cl.at.o > bestO) return cl.label;
  return bestType;
}

/** Fields × writes of one variable from which fieldTypes sweeps instead of scanning per field. */
const SWEEP_FROM = 64;

/** What can set a variable's message type, for fieldTypes' sweep. */
interface TypeEvent {
  o: number;
  type?: string;
  /** A sendrec into the variable: its type is the reply of what it sent, resolved when used. */
  sendrec?: CallFact;
}

/**
 * The message types at many fields at once: `typeAt` for each, in one sweep per variable
 * of a scope instead of a scan of the variable's writes per field (DVS010 asks for every
 * field of a function), when the variable has enough fields and writes for the sweep to
 * pay (`sweepFrom`: tests sweep always). Results equal typeAt's (a test compares them on every fixture) and
 * are cached per field like cachedType's.
 */
export function fieldTypes(ws: Workspace, s: DocState, fields: readonly FieldFact[], sweepFrom = SWEEP_FROM): (string | undefined)[] {
  const out: (string | undefined)[] = new Array(fields.length);
  const gen = ws.namesVersion;
  const groups = new Map<string, number[]>();
  fields.forEach((f, i) => {
    if (f.scope === 'module' || !f.obj) {
      out[i] = typeAt(ws, s, f.obj, f, f.caseLabel);
      return;
    }
    const hit = typeCache.get(f);
    if (hit && hit.gen === gen) {
      out[i] = hit.type;
      return;
    }
    const key = `${f.scope}\0${f.obj}`;
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  });
  const typeField = s.lang === 'c' ? 'm_type' : 'type';
  for (const [key, members] of groups) {
    const first = fields[members[0] as number] as FieldFact;
    const idx = scopeIndex(s, first.scope);
    // A sweep costs more than a few scans (sorting, allocation): measured warm on the
    // benchmark's functions (a handful of fields per variable) it took twice as long.
    // It pays off in functions with many accesses to one message.
    const writes = (idx.fieldWrites.get(key)?.length ?? 0) + (idx.literalsByVar.get(key)?.length ?? 0) + (idx.callsByTarget.get(key)?.length ?? 0);
    if (members.length * writes <= sweepFrom) {
      for (const i of members) {
        const f = fields[i] as FieldFact;
        const type = typeAt(ws, s, f.obj, f, f.caseLabel);
        out[i] = type;
        typeCache.set(f, { gen, type });
      }
      continue;
    }
    // Events in the order typeAt considers them (writes, literals, calls): at equal offsets
    // the first one wins there, and the stable sort keeps that order here.
    const events: TypeEvent[] = [];
    for (const f of idx.fieldWrites.get(key) ?? []) if (f.field === typeField && f.value) events.push({ o: f.range.o, type: f.value });
    for (const l of idx.literalsByVar.get(key) ?? []) events.push({ o: l.range.o, type: l.pairs.find((p) => p.key === 'type')?.value });
    for (const c of idx.callsByTarget.get(key) ?? []) {
      if (c.kind === 'receive' || c.kind === 'rcvrqst') events.push({ o: c.range.o });
      else if (c.kind === 'sendrec') events.push({ o: c.range.o, sendrec: c });
    }
    events.sort((a, b) => a.o - b.o);
    members.sort((a, b) => (fields[a] as FieldFact).range.o - (fields[b] as FieldFact).range.o);
    let e = 0;
    let best: TypeEvent | undefined;
    for (const i of members) {
      const f = fields[i] as FieldFact;
      for (; e < events.length && (events[e] as TypeEvent).o < f.range.o; e++) {
        const ev = events[e] as TypeEvent;
        if (!best || ev.o > best.o) best = ev;
      }
      const bestO = best ? best.o : -1;
      let type: string | undefined;
      const cl = f.caseLabel;
      if (cl && cl.obj === f.obj && cl.at.o > bestO) type = cl.label;
      else if (best?.sendrec) {
        const sent = callType(ws, s, best.sendrec);
        type = sent ? ws.messageType(sent, s.uri)?.reply : undefined;
      } else type = best?.type;
      out[i] = type;
      typeCache.set(f, { gen, type });
    }
  }
  return out;
}

const unitsByScope = new WeakMap<DocState, Map<string, FileFacts>>();

/**
 * The lookup tables for facts of one scope. A C function is one top-level unit, whose
 * facts object survives edits elsewhere, so its tables are built once; TypeScript and
 * module-level code use the whole file's.
 */
function scopeIndex(s: DocState, scope: string): ReturnType<typeof fileIndex> {
  if (s.lang !== 'c' || scope === 'module' || s.units.length === 0) return fileIndex(s.facts);
  let map = unitsByScope.get(s);
  if (!map) {
    map = new Map();
    for (const u of s.units) for (const fn of u.facts.functions) map.set(`${fn.range.sr}:${fn.range.sc}`, u.facts);
    unitsByScope.set(s, map);
  }
  const unit = map.get(scope);
  return fileIndex(unit ?? s.facts);
}

function canonType(ws: Workspace, text: string, uri: string): string {
  const decl = ws.messageType(text, uri);
  if (decl) return decl.name;
  const v = ws.evalText(text, uri);
  return v !== undefined ? `#${v}` : text;
}

function isFailureTest(cond: string, v: string): boolean {
  const e = escapeRe(v);
  return new RegExp(`${e}\\s*<\\s*0|${e}\\s*<=\\s*-1|!\\s*${e}\\b|${e}\\s*==\\s*-`).test(cond);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

let cachedText = '';
let cachedStarts: number[] = [0];

/** Line start offsets, cached for the last text (rules ask for many offsets of one file). */
function lineStarts(text: string): number[] {
  if (text !== cachedText) {
    const starts = [0];
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    cachedText = text;
    cachedStarts = starts;
  }
  return cachedStarts;
}

export function offsetOf(text: string, line: number, character: number): number {
  const starts = lineStarts(text);
  const start = starts[line];
  return start === undefined ? text.length : start + character;
}

function offsetEnd(r: Rng, text: string): number {
  return offsetOf(text, r.er, r.ec);
}

export function lineText(text: string, line: number): string {
  const start = offsetOf(text, line, 0);
  const end = text.indexOf('\n', start);
  return text.slice(start, end < 0 ? text.length : end);
}

function sliceRng(text: string, r: Rng): string {
  return text.slice(r.o, offsetOf(text, r.er, r.ec));
}

export function spanToRng(text: string, span: { offset: number; length: number }): Rng {
  const starts = lineStarts(text);
  const pos = (off: number): { row: number; col: number } => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= off) lo = mid;
      else hi = mid - 1;
    }
    return { row: lo, col: off - (starts[lo] as number) };
  };
  const s = pos(span.offset);
  const e = pos(span.offset + span.length);
  return { sr: s.row, sc: s.col, er: e.row, ec: e.col, o: span.offset };
}
