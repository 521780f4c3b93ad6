/** Offsets and LSP content changes over plain strings (0-based lines, UTF-16 columns). */

export interface RangeChange {
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  text: string;
}

export function offsetAt(text: string, line: number, character: number): number {
  let off = 0;
  for (let l = 0; l < line; l++) {
    const nl = text.indexOf('\n', off);
    if (nl < 0) return text.length;
    off = nl + 1;
  }
  return Math.min(off + character, text.length);
}

/** Apply one ranged change; returns the new text and the offsets it touched. */
export function applyRangeChange(text: string, c: RangeChange): { text: string; start: number; oldEnd: number } {
  const start = offsetAt(text, c.range.start.line, c.range.start.character);
  const oldEnd = offsetAt(text, c.range.end.line, c.range.end.character);
  return { text: text.slice(0, start) + c.text + text.slice(oldEnd), start, oldEnd };
}
