/**
 * Rename an endpoint or a message type everywhere it is one symbol: its `#define`, `enum`
 * or `const`, every use in C and TypeScript code (not in comments, strings or `#if 0`
 * text), and its names in dvs.json (an endpoint's or type's `name`, a type's `server` and
 * `reply`). The edits are exactly the locations find-references reports.
 */
import { ErrorCodes, ResponseError, type Position, type Range, type TextEdit, type WorkspaceEdit } from 'vscode-languageserver/node';
import type { Workspace } from '../workspace';
import { declarations, findReferences } from './navigation';
import { wordAt } from './words';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Words a new name cannot be: it must stay an identifier in C and in TypeScript. */
const RESERVED = new Set(
  (
    'auto break case char const continue default do double else enum extern float for goto if inline int long register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while ' +
    '_Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary _Noreturn _Static_assert _Thread_local ' +
    'class delete export extends false finally function import in instanceof let new null super this throw true try typeof var with yield await implements interface package private protected public'
  ).split(' '),
);

function refuse(message: string): ResponseError<void> {
  return new ResponseError(ErrorCodes.InvalidRequest, message);
}

/** The name under the cursor and its range, when it is an endpoint or a message type. */
export function prepareRename(ws: Workspace, pos: Position, text: string | undefined): { range: Range; placeholder: string } {
  const w = text === undefined ? undefined : wordAt(text, pos);
  if (!w || declarations(ws, w.word).length === 0) throw refuse('Only endpoints and message types (a #define, enum or const, or a dvs.json name) can be renamed here.');
  return { range: { start: { line: pos.line, character: w.start }, end: { line: pos.line, character: w.end } }, placeholder: w.word };
}

export function computeRename(ws: Workspace, pos: Position, text: string | undefined, newName: string): WorkspaceEdit {
  const { placeholder: name } = prepareRename(ws, pos, text);
  if (!IDENTIFIER.test(newName)) throw refuse(`"${newName}" is not a valid name: endpoint and message type names are C identifiers.`);
  if (RESERVED.has(newName)) throw refuse(`"${newName}" is a keyword in C or TypeScript.`);
  if (newName === name) return { changes: {} };
  const taken = declarations(ws, newName)[0];
  if (taken) throw refuse(`${newName} already names an endpoint or message type (${taken.uri}:${taken.range.start.line + 1}).`);
  const changes: Record<string, TextEdit[]> = {};
  for (const loc of findReferences(ws, pos, text, true)) (changes[loc.uri] ??= []).push({ range: loc.range, newText: newName });
  return { changes };
}
