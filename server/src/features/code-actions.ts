/**
 * Quick fixes: the diagnostics carry their mechanical fixes in `data` (computed with
 * the rule, where the facts are at hand), so this only turns them into CodeActions.
 */
import { type CodeAction, type CodeActionParams, CodeActionKind } from 'vscode-languageserver/node';
import type { DiagnosticData } from './diagnostics';

export function computeCodeActions(p: CodeActionParams): CodeAction[] {
  const out: CodeAction[] = [];
  for (const d of p.context.diagnostics) {
    const data = d.data as DiagnosticData | undefined;
    if (d.source !== 'dvs' || !data || !Array.isArray(data.fixes)) continue;
    for (const fix of data.fixes) {
      out.push({
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [d],
        ...(fix.preferred ? { isPreferred: true } : {}),
        edit: { changes: { [p.textDocument.uri]: fix.edits } },
      });
    }
  }
  return out;
}
