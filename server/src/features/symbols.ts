/**
 * Document symbols (constants, binds, server loops with their cases; endpoints and
 * message types in dvs.json) and workspace symbols over all of them.
 */
import { type DocumentSymbol, SymbolKind, type WorkspaceSymbol } from 'vscode-languageserver/node';
import type { DocState } from '../analyzer';
import type { ConfigState, Workspace } from '../workspace';
import { spanToRng, toRange } from './diagnostics';

export function documentSymbols(ws: Workspace, s: DocState | undefined, cfg: ConfigState | undefined): DocumentSymbol[] {
  const out: DocumentSymbol[] = [];
  if (cfg) {
    for (const [name, span] of cfg.parsed.spans.endpoints) {
      const r = toRange(spanToRng(cfg.text, span));
      const e = cfg.lastGood?.endpoints.find((x) => x.name === name);
      out.push({ name, detail: e ? `endpoint ${e.number}` : 'endpoint', kind: SymbolKind.Object, range: r, selectionRange: r });
    }
    for (const [name, span] of cfg.parsed.spans.types) {
      const r = toRange(spanToRng(cfg.text, span));
      const t = cfg.lastGood?.protocol?.types.find((x) => x.name === name);
      out.push({ name, detail: t ? `message type ${t.number} (${t.layout})` : 'message type', kind: SymbolKind.Struct, range: r, selectionRange: r });
    }
    return out;
  }
  if (!s) return out;
  for (const d of s.facts.defs) {
    const r = toRange(d.range);
    out.push({ name: d.name, detail: d.value || (d.implicit !== undefined ? String(d.implicit) : ''), kind: SymbolKind.Constant, range: r, selectionRange: r });
  }
  for (const c of ws.ipcCalls(s)) {
    if (c.kind !== 'bind' || !c.ep) continue;
    const r = toRange(c.range);
    out.push({ name: `bind ${c.ep.text}`, kind: SymbolKind.Object, range: r, selectionRange: r });
  }
  for (const l of s.facts.loops) {
    const r = toRange(l.range);
    out.push({
      name: `server loop (${l.recvName})`,
      kind: SymbolKind.Event,
      range: r,
      selectionRange: toRange(l.recv),
      children: l.cases.map((c) => ({ name: `case ${c.label}`, kind: SymbolKind.EnumMember, range: toRange(c.range), selectionRange: toRange(c.labelRange) })),
    });
  }
  return out;
}

export function workspaceSymbols(ws: Workspace, query: string): WorkspaceSymbol[] {
  const q = query.toLowerCase();
  const match = (name: string): boolean => q === '' || name.toLowerCase().includes(q);
  const out: WorkspaceSymbol[] = [];
  for (const cfg of ws.configs.values()) {
    for (const [name, span] of cfg.parsed.spans.endpoints) if (match(name)) out.push({ name, kind: SymbolKind.Object, containerName: 'dvs.json endpoints', location: { uri: cfg.uri, range: toRange(spanToRng(cfg.text, span)) } });
    for (const [name, span] of cfg.parsed.spans.types) if (match(name)) out.push({ name, kind: SymbolKind.Struct, containerName: 'dvs.json protocol', location: { uri: cfg.uri, range: toRange(spanToRng(cfg.text, span)) } });
  }
  for (const s of ws.analyzer.all()) {
    for (const d of s.facts.defs) if (match(d.name)) out.push({ name: d.name, kind: SymbolKind.Constant, location: { uri: s.uri, range: toRange(d.range) } });
    for (const l of s.facts.loops) {
      const name = `server loop (${l.recvName})`;
      if (match(name)) out.push({ name, kind: SymbolKind.Event, location: { uri: s.uri, range: toRange(l.range) } });
    }
    if (out.length > 2000) break;
  }
  return out;
}
