/**
 * Hover on endpoints (number, DC, node, server, program, static senders, live figures)
 * and message types (number, layout, fields, reply, server), in code and in dvs.json.
 */
import * as path from 'node:path';
import { type Hover, MarkupKind, type Position } from 'vscode-languageserver/node';
import { layoutOfField, MESSAGE_LAYOUTS, type DvsEndpoint, type DvsMessageType } from '@dvs/grammar';
import { SPECIAL, type Workspace, uriToPath } from '../workspace';
import { callSitesTo } from './graph';
import { wordAt } from './words';

const SPECIAL_DOC: Record<string, string> = {
  ANY: 'valid only as the source of `receive` (any sender)',
  NONE: 'no endpoint; never a valid destination',
  SELF: 'the calling process; used as a vcopy party, never as a destination',
};

export function computeHover(ws: Workspace, uri: string, pos: Position, text: string | undefined): Hover | undefined {
  if (text === undefined) return undefined;
  const w = wordAt(text, pos);
  if (!w) return undefined;
  const range = { start: { line: pos.line, character: w.start }, end: { line: pos.line, character: w.end } };
  const md = (value: string): Hover => ({ contents: { kind: MarkupKind.Markdown, value }, range });
  const name = w.word;
  if (name in SPECIAL) return md(`**${name}** = 0x${(SPECIAL[name] as number).toString(16)} — ${SPECIAL_DOC[name]}`);
  const cfg = ws.config(uri);
  const type = cfg?.protocol?.types.find((t) => t.name === name);
  if (type) return md(typeHover(type));
  let ep = cfg?.endpoints.find((e) => e.name === name);
  if (!ep) {
    const v = ws.defs(name).length > 0 ? ws.valueOf(name, uri) : undefined;
    if (v !== undefined) {
      ep = ws.endpointByNumber(v, uri);
      if (!ep) {
        const t = ws.messageType(name, uri);
        return md(t ? typeHover(t) : `**${name}** = ${v}`);
      }
    }
  }
  if (ep) return md(endpointHover(ws, ep, uri));
  const layout = layoutOfField(name);
  if (layout) return md(`**${name}**: field of layout ${layout} (${MESSAGE_LAYOUTS[layout].join(', ')})`);
  return undefined;
}

function typeHover(t: DvsMessageType): string {
  const lines = [`**${t.name}** — message type ${t.number}, layout ${t.layout}`];
  if (t.fields && Object.keys(t.fields).length) lines.push('', '| field | as |', '|---|---|', ...Object.entries(t.fields).map(([k, v]) => `| ${k} | \`${v}\`${t.vaddr?.includes(v) ? ' (vcopy address)' : ''} |`));
  if (t.reply) lines.push('', `reply: **${t.reply}**`);
  if (t.server) lines.push('', `served by **${t.server}**`);
  return lines.join('\n');
}

function endpointHover(ws: Workspace, e: DvsEndpoint, uri: string): string {
  const cfg = ws.config(uri);
  const dc = cfg?.dcs.find((d) => d.id === e.dc);
  const node = cfg?.nodes.find((n) => n.id === e.node);
  const served = (cfg?.protocol?.types ?? []).filter((t) => t.server === e.name).map((t) => t.name);
  const lines = [`**${e.name}** — endpoint ${e.number}`, '', `DC ${dc?.name ?? '?'} (${e.dc}) · node ${node?.name ?? '?'} (${e.node})${e.server || served.length ? ' · server' : ''}`];
  if (served.length) lines.push('', `serves ${served.join(', ')}`);
  if (e.program) lines.push('', `program: \`${e.program.run}\`${e.program.args?.length ? ` ${e.program.args.join(' ')}` : ''}`);
  if (dc && e.number < dc.nr_sysprocs) lines.push('', `system slot (< nr_sysprocs ${dc.nr_sysprocs}): may notify`);
  const senders = callSitesTo(ws, e.number, uri);
  if (senders.length) {
    const files = [...new Set(senders.map((s) => path.basename(uriToPath(s.state.uri))))];
    lines.push('', `static senders: ${senders.length} call site${senders.length > 1 ? 's' : ''} in ${files.join(', ')}`);
  }
  const live = ws.liveStats.get(e.name) ?? ws.liveStats.get(String(e.number));
  if (live) lines.push('', `live: ${live.state} · sent ${live.sent} · received ${live.received} · p50 ${live.p50Us} µs`);
  return lines.join('\n');
}
