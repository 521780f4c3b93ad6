/**
 * Diagnostics of dvs.json itself: schema errors with their positions (from the shared
 * @dvs/grammar loader), programs that do not exist, and endpoints used in code but not
 * declared in the file (the other side of DVS003).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Diagnostic, DiagnosticSeverity } from 'vscode-languageserver/node';
import { isScriptEntry } from '@dvs/grammar';
import { type DiagnosticCode, type Settings, severityOf } from '../config';
import type { ConfigState, Workspace } from '../workspace';
import { docsHref, spanToRng, toRange, undeclaredEndpointUses } from './diagnostics';

/** Codes of findings about dvs.json itself (outside the SPEC §6 table, which is about code). */
export const CONFIG_SCHEMA_CODE = 'DVS-SCHEMA';
export const CONFIG_PROGRAM_CODE = 'DVS-PROGRAM';

export function computeConfigDiagnostics(ws: Workspace, cfg: ConfigState, settings: Settings): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const e of cfg.parsed.errors) {
    out.push({
      range: toRange(spanToRng(cfg.text, e)),
      severity: e.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
      code: CONFIG_SCHEMA_CODE,
      source: 'dvs.json',
      message: e.message,
    });
  }
  const config = cfg.parsed.config;
  if (!config) return out;
  for (const ep of config.endpoints) {
    const run = ep.program?.run;
    const span = cfg.parsed.spans.programs.get(ep.name);
    if (!run || !span) continue;
    // A binary produced by a declared build step need not exist before the first build.
    if (!isScriptEntry(run) && ep.program?.build) continue;
    if (!fs.existsSync(path.resolve(cfg.dir, run))) {
      out.push({
        range: toRange(spanToRng(cfg.text, span)),
        severity: DiagnosticSeverity.Error,
        code: CONFIG_PROGRAM_CODE,
        source: 'dvs.json',
        message: `Program of ${ep.name} not found: ${path.resolve(cfg.dir, run)}${isScriptEntry(run) ? '' : ' (declare a "build" step if it is built)'}.`,
      });
    }
  }
  // Endpoints used in code but missing here: the DVS003 findings of the project's files.
  const sev = severityOf(settings, 'DVS003' as DiagnosticCode);
  if (sev !== undefined) {
    const missing = new Map<string, Diagnostic['relatedInformation']>();
    for (const s of ws.peers(cfg.uri)) {
      if (ws.configFor(s.uri) !== cfg) continue;
      for (const f of undeclaredEndpointUses(ws, s)) {
        if (!f.missing) continue;
        const list = missing.get(f.missing) ?? [];
        list.push({ location: { uri: s.uri, range: toRange(f.range) }, message: 'used here' });
        missing.set(f.missing, list);
      }
    }
    for (const [name, related] of missing) {
      out.push({
        range: toRange(spanToRng(cfg.text, cfg.parsed.spans.endpointsArray)),
        severity: sev,
        code: 'DVS003',
        codeDescription: { href: docsHref('DVS003', settings) },
        source: 'dvs.json',
        message: `Endpoint ${name} is used in code but not declared in "endpoints".`,
        ...(related?.length ? { relatedInformation: related } : {}),
      });
    }
  }
  return out;
}
