/**
 * Code lenses over bind sites, server loops and send sites: the static senders and
 * receivers, plus live figures from `dvs/liveStats` when a cluster runs.
 */
import * as path from 'node:path';
import type { CodeLens } from 'vscode-languageserver/node';
import type { DocState } from '../analyzer';
import { type Workspace, uriToPath } from '../workspace';
import { callSitesTo } from './graph';
import { toRange } from './diagnostics';

const MAX_LENSES = 500;

export function computeCodeLenses(ws: Workspace, s: DocState): CodeLens[] {
  const out: CodeLens[] = [];
  const lens = (r: Parameters<typeof toRange>[0], title: string): void => {
    if (out.length < MAX_LENSES) out.push({ range: toRange(r), command: { title, command: '' } });
  };
  const live = (name: string | undefined, value: number | undefined): string => {
    const l = (name ? ws.liveStats.get(name) : undefined) ?? (value !== undefined ? ws.liveStats.get(String(value)) : undefined);
    return l ? ` · live: ${l.state}, sent ${l.sent}, received ${l.received}, p50 ${l.p50Us} µs` : '';
  };
  const own = ws.ownEndpoints(s);
  for (const call of ws.ipcCalls(s)) {
    if (call.kind === 'bind' && call.ep) {
      const r = ws.endpoint(call.ep, s.uri, s.facts, call.scope);
      if (r.value === undefined) continue;
      const senders = callSitesTo(ws, r.value, s.uri);
      const files = [...new Set(senders.map((x) => path.basename(uriToPath(x.state.uri))))];
      const types = [...new Set(senders.map((x) => x.type).filter((t): t is string => !!t))];
      lens(call.range, `${r.decl?.name ?? r.name ?? r.value}: ${senders.length} static sender${senders.length === 1 ? '' : 's'}${files.length ? ` (${files.join(', ')})` : ''}${types.length ? ` · receives ${types.join(', ')}` : ''}${live(r.decl?.name ?? r.name, r.value)}`);
    } else if ((call.kind === 'send' || call.kind === 'sendrec' || call.kind === 'notify') && call.ep) {
      const r = ws.endpoint(call.ep, s.uri, s.facts, call.scope);
      if (r.value === undefined || r.special) continue;
      const loops = ws.serverLoopsOf(r.value, s.uri);
      const where = loops.map((l) => `${path.basename(uriToPath(l.state.uri))}:${l.loop.recv.sr + 1}`);
      lens(call.range, `→ ${r.decl?.name ?? r.name ?? r.value}${where.length ? ` (received at ${where.join(', ')})` : ' (no server loop found)'}${live(r.decl?.name ?? r.name, r.value)}`);
    }
  }
  for (const loop of s.facts.loops) {
    const handles = loop.cases.map((c) => c.label);
    const me = own[0];
    const senders = me?.value !== undefined ? callSitesTo(ws, me.value, s.uri).length : 0;
    lens(loop.range, `server loop${me ? ` of ${me.decl?.name ?? me.name ?? me.value}` : ''}: handles ${handles.length ? handles.join(', ') : 'no typed cases'} · ${senders} static sender${senders === 1 ? '' : 's'}`);
  }
  return out;
}
