/**
 * Word-level helpers shared by hover, navigation and completion: the identifier under
 * the cursor, and the occurrences of a name outside comments and strings.
 */
import type { Position } from 'vscode-languageserver/node';
import type { Rng } from '../facts';
import { lineText } from './diagnostics';

export function wordAt(text: string, pos: Position): { word: string; start: number; end: number } | undefined {
  const line = lineText(text, pos.line);
  const re = /[A-Za-z_$][\w$]*/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    if (m.index <= pos.character && pos.character <= m.index + m[0].length) return { word: m[0], start: m.index, end: m.index + m[0].length };
  }
  return undefined;
}

/**
 * Ranges where `name` occurs as a whole word in code, skipping comments, strings and
 * `inactive` regions. (In dvs.json, `nameUses` of @dvs/grammar finds the names.)
 */
export function occurrences(text: string, name: string, opts: { inactive?: Rng[] } = {}): Rng[] {
  const out: Rng[] = [];
  let row = 0;
  let col = 0;
  const n = text.length;
  const isWord = (ch: string | undefined): boolean => ch !== undefined && /[\w$]/.test(ch);
  const inInactive = (r: number): boolean => (opts.inactive ?? []).some((g) => r > g.sr && r < g.er);
  let i = 0;
  const advance = (to: number): void => {
    for (; i < to && i < n; i++) {
      if (text.charCodeAt(i) === 10) {
        row++;
        col = 0;
      } else col++;
    }
  };
  while (i < n) {
    const ch = text[i] as string;
    const next = text[i + 1];
    if (ch === '/' && next === '/') {
      const e = text.indexOf('\n', i);
      advance(e < 0 ? n : e);
      continue;
    }
    if (ch === '/' && next === '*') {
      const e = text.indexOf('*/', i + 2);
      advance(e < 0 ? n : e + 2);
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') {
      let j = i + 1;
      while (j < n && text[j] !== ch && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      advance(j + 1);
      continue;
    }
    if (text.startsWith(name, i) && !isWord(text[i - 1]) && !isWord(text[i + name.length]) && !inInactive(row)) {
      out.push({ sr: row, sc: col, er: row, ec: col + name.length, o: i });
      advance(i + name.length);
      continue;
    }
    advance(i + 1);
  }
  return out;
}
