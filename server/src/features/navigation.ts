/**
 * Go to definition and find references for endpoints and message types: constants
 * in C/TypeScript and the entries of dvs.json are one symbol.
 */
import { nameUses } from '@dvs/grammar';
import type { Location, Position } from 'vscode-languageserver/node';
import type { Workspace } from '../workspace';
import { spanToRng, toRange } from './diagnostics';
import { occurrences, wordAt } from './words';

export function declarations(ws: Workspace, name: string): Location[] {
  const out: Location[] = ws.defs(name).map((d) => ({ uri: d.uri, range: toRange(d.def.range) }));
  for (const cfg of ws.configs.values()) {
    const span = cfg.parsed.spans.endpoints.get(name) ?? cfg.parsed.spans.types.get(name);
    if (span) out.push({ uri: cfg.uri, range: toRange(spanToRng(cfg.text, { offset: span.offset + 1, length: span.length - 2 })) });
  }
  return out;
}

export function findDefinitions(ws: Workspace, pos: Position, text: string | undefined): Location[] {
  if (text === undefined) return [];
  const w = wordAt(text, pos);
  return w ? declarations(ws, w.word) : [];
}

export function findReferences(ws: Workspace, pos: Position, text: string | undefined, includeDeclaration: boolean): Location[] {
  if (text === undefined) return [];
  const w = wordAt(text, pos);
  if (!w) return [];
  const name = w.word;
  const known = declarations(ws, name);
  if (known.length === 0) return [];
  const out: Location[] = [];
  for (const s of ws.analyzer.all()) {
    if (!s.text.includes(name)) continue;
    for (const r of occurrences(s.text, name, { inactive: s.facts.inactive })) out.push({ uri: s.uri, range: toRange(r) });
  }
  for (const cfg of ws.configs.values()) {
    if (!cfg.text.includes(name)) continue;
    for (const span of nameUses(cfg.text, name)) out.push({ uri: cfg.uri, range: toRange(spanToRng(cfg.text, span)) });
  }
  if (includeDeclaration) return out;
  const isDecl = (l: Location): boolean => known.some((k) => k.uri === l.uri && k.range.start.line === l.range.start.line && k.range.start.character === l.range.start.character);
  return out.filter((l) => !isDecl(l));
}
