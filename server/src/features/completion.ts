/**
 * Completion from the text before the cursor (robust in half-typed code): endpoint
 * names in destination positions, message types after `m_type =` / `case` / `type:`,
 * and the fields valid for the message's type after `m.` / `req.` / in a literal.
 */
import { type CompletionItem, CompletionItemKind, type Position } from 'vscode-languageserver/node';
import { LAYOUT_NAMES, MESSAGE_LAYOUTS, type Layout } from '@dvs/grammar';
import type { DocState } from '../analyzer';
import type { Workspace } from '../workspace';
import { lineText, offsetOf, typeAt } from './diagnostics';

const EP_CALL_C = /\bmnx_(send|sendrec|notify|reply|receive|send_T|sendrec_T|reply_T|receive_T)\s*\(\s*\w*$/;
const EP_CALL_TS = /\.(send|sendrec|notify|reply|receive)\s*\(\s*\w*$/;
const BIND = /\b(mnx_bind|mnx_tbind|bind)\s*\([^,()]*,\s*\w*$|endpoint\s*:\s*\w*$/;
const TYPE_POS = /(\bm_type\s*=\s*|\bcase\s+|\btype\s*:\s*|\.type\s*===?\s*)\w*$/;
const FIELD_POS = /([A-Za-z_$][\w$]*)\s*(\.|->)\s*\w*$/;
const TS_METHODS = ['send', 'receive', 'sendrec', 'rcvrqst', 'reply', 'notify', 'vcopy', 'unbind'];

export function computeCompletions(ws: Workspace, s: DocState, text: string, pos: Position): CompletionItem[] {
  const line = lineText(text, pos.line).slice(0, pos.character);
  const cfg = ws.config(s.uri);
  const c = s.lang === 'c';
  const endpoints = (withAny: boolean): CompletionItem[] => {
    const items: CompletionItem[] = (cfg?.endpoints ?? []).map((e) => ({
      label: e.name,
      kind: CompletionItemKind.Constant,
      detail: `endpoint ${e.number} · DC ${e.dc} · node ${e.node}${e.server ? ' · server' : ''}`,
    }));
    for (const d of s.facts.defs) {
      if (items.some((i) => i.label === d.name)) continue;
      const v = ws.valueOf(d.name, s.uri);
      if (v !== undefined && cfg?.endpoints.some((e) => e.number === v)) items.push({ label: d.name, kind: CompletionItemKind.Constant, detail: `endpoint ${v}` });
    }
    if (withAny) items.push({ label: 'ANY', kind: CompletionItemKind.Constant, detail: 'any source (receive only)' });
    return items;
  };
  if ((c ? EP_CALL_C : EP_CALL_TS).test(line)) return endpoints(/receive/.test(line));
  if (BIND.test(line)) return endpoints(false);
  if (TYPE_POS.test(line)) {
    return (cfg?.protocol?.types ?? []).map((t) => ({
      label: t.name,
      kind: CompletionItemKind.EnumMember,
      detail: `message type ${t.number} · ${t.layout}${t.reply ? ` · reply ${t.reply}` : ''}`,
    }));
  }
  // Inside a message literal: { type: KV_GET, | }
  const before = text.slice(Math.max(0, offsetOf(text, pos.line, pos.character) - 400), offsetOf(text, pos.line, pos.character));
  const lit = /\{([^{}]*)$/.exec(before);
  if (!c && lit && /,\s*\w*$|\{\s*\w*$/.test(before)) {
    const t = /\btype\s*:\s*([\w$]+)/.exec(lit[1] as string)?.[1];
    return fieldItems(ws, s, t, ['type']);
  }
  const fm = FIELD_POS.exec(line);
  if (fm) {
    const obj = fm[1] as string;
    if (!c && s.facts.epVars.includes(obj)) return TS_METHODS.map((m) => ({ label: m, kind: CompletionItemKind.Method, detail: `Endpoint.${m}` }));
    const isMsg = s.facts.fields.some((f) => f.obj === obj) || s.facts.calls.some((k) => k.msgVar === obj || k.resultVar === obj);
    if (!isMsg) return [];
    const at = offsetOf(text, pos.line, pos.character);
    const near = [...s.facts.fields.filter((f) => f.obj === obj), ...s.facts.calls.filter((k) => k.msgVar === obj || k.resultVar === obj)]
      .filter((f) => f.range.o < at)
      .sort((a, b) => b.range.o - a.range.o)[0];
    const cl = s.facts.fields.find((f) => f.obj === obj && f.caseLabel && f.caseLabel.at.o < at)?.caseLabel;
    const type = near ? typeAt(ws, s, obj, { range: { sr: pos.line, sc: pos.character, er: pos.line, ec: pos.character, o: at }, scope: near.scope }, cl) : undefined;
    return fieldItems(ws, s, type, c ? ['m_type', 'm_source'] : ['type', 'source']);
  }
  return [];
}

function fieldItems(ws: Workspace, s: DocState, type: string | undefined, header: string[]): CompletionItem[] {
  const items: CompletionItem[] = header.map((h) => ({ label: h, kind: CompletionItemKind.Field }));
  const decl = type ? ws.messageType(type, s.uri) : undefined;
  const layouts: Layout[] = decl ? [decl.layout] : LAYOUT_NAMES;
  const named = new Map(Object.entries(decl?.fields ?? {}).map(([k, v]) => [v, k]));
  for (const l of layouts) {
    for (const f of MESSAGE_LAYOUTS[l]) {
      const alias = named.get(f);
      items.push({
        label: f,
        kind: CompletionItemKind.Field,
        detail: decl ? `${decl.name}${alias ? `.${alias}` : ''} (${l})` : `layout ${l}`,
        // Named fields of the protocol first.
        sortText: `${alias ? '0' : '1'}${f}`,
      });
    }
  }
  return items;
}
