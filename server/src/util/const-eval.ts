/**
 * Evaluates the integer constant expressions that endpoint and message-type constants
 * are written with (`0x7ace`, `(KV_BASE + 1)`, `1 << 20`, `64UL * 1024`). Anything it
 * does not understand yields undefined rather than a guess.
 */
export type Lookup = (name: string) => number | undefined;

const TOKEN = /\s*(0[xX][0-9a-fA-F]+|0[bB][01]+|\d+)[uUlL]*|\s*([A-Za-z_]\w*)|\s*(<<|>>|[-+*/%()|&^~])/y;

export function evalConst(text: string, lookup: Lookup): number | undefined {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  const src = text.trim();
  while (TOKEN.lastIndex < src.length) {
    const start = TOKEN.lastIndex;
    const m = TOKEN.exec(src);
    if (!m || TOKEN.lastIndex === start) return undefined;
    tokens.push((m[1] ?? m[2] ?? m[3]) as string);
  }
  let i = 0;
  const peek = (): string | undefined => tokens[i];
  const BIN: Record<string, [number, (a: number, b: number) => number]> = {
    '|': [1, (a, b) => a | b],
    '^': [2, (a, b) => a ^ b],
    '&': [3, (a, b) => a & b],
    '<<': [4, (a, b) => a * 2 ** b],
    '>>': [4, (a, b) => Math.floor(a / 2 ** b)],
    '+': [5, (a, b) => a + b],
    '-': [5, (a, b) => a - b],
    '*': [6, (a, b) => a * b],
    '/': [6, (a, b) => (b === 0 ? NaN : Math.trunc(a / b))],
    '%': [6, (a, b) => (b === 0 ? NaN : a % b)],
  };
  const primary = (): number | undefined => {
    const t = tokens[i++];
    if (t === undefined) return undefined;
    if (t === '-') {
      const v = primary();
      return v === undefined ? undefined : -v;
    }
    if (t === '+') return primary();
    if (t === '~') {
      const v = primary();
      return v === undefined ? undefined : ~v;
    }
    if (t === '(') {
      const v = expr(0);
      if (tokens[i++] !== ')') return undefined;
      return v;
    }
    if (/^\d/.test(t)) {
      if (/^0[xX]/.test(t)) return parseInt(t.slice(2), 16);
      if (/^0[bB]/.test(t)) return parseInt(t.slice(2), 2);
      if (/^0\d/.test(t)) return parseInt(t, 8);
      return parseInt(t, 10);
    }
    return lookup(t);
  };
  const expr = (minPrec: number): number | undefined => {
    let left = primary();
    for (;;) {
      const op = peek();
      const bin = op !== undefined ? BIN[op] : undefined;
      if (!bin || bin[0] < minPrec) return left;
      i++;
      const right = expr(bin[0] + 1);
      if (left === undefined || right === undefined) return undefined;
      left = bin[1](left, right);
    }
  };
  const v = expr(0);
  return i === tokens.length && v !== undefined && Number.isFinite(v) ? v : undefined;
}
