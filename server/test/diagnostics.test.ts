/**
 * DVS001–DVS015 on the fixture workspaces: every `expect:` marker is reported on its
 * line, every `ok:` look-alike is not, and the code a fixture is about appears nowhere
 * else in it. A last test checks the fixtures cover each code in C and TypeScript.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, FIXTURES, codeFiles, markers, type Marker } from './harness';

const CODE_FIXTURES = fs.readdirSync(FIXTURES).filter((d) => /^dvs\d{3}-/.test(d)).sort();
/** Codes that exist only in C: a TypeScript bind resolves to an Endpoint object, not an int. */
const C_ONLY = new Set(['DVS006']);
const coverage = new Map<string, { c: { expect: number; ok: number }; ts: { expect: number; ok: number } }>();

for (const name of CODE_FIXTURES) {
  const focus = `DVS${name.slice(3, 6)}`;
  describe(name, () => {
    let client: Client;
    const dir = path.join(FIXTURES, name);
    before(async () => {
      client = await Client.start(dir);
    });
    after(async () => {
      await client.stop();
    });
    for (const file of codeFiles(dir)) {
      const rel = path.relative(dir, file);
      const text = fs.readFileSync(file, 'utf8');
      const ms = markers(text);
      if (ms.length === 0) continue;
      test(`${rel}: markers hold`, async () => {
        const diags = await client.open(file);
        const lang = file.endsWith('.ts') ? 'ts' : 'c';
        const problems: string[] = [];
        for (const m of ms) {
          const hit = diags.some((d) => d.code === m.code && d.range.start.line === m.line);
          if (m.kind === 'expect' && !hit) problems.push(`line ${m.line + 1}: expected ${m.code}`);
          if (m.kind === 'ok' && hit) problems.push(`line ${m.line + 1}: ${m.code} reported on a look-alike: ${diags.find((d) => d.code === m.code && d.range.start.line === m.line)?.message}`);
          const cov = coverage.get(m.code) ?? { c: { expect: 0, ok: 0 }, ts: { expect: 0, ok: 0 } };
          cov[lang][m.kind]++;
          coverage.set(m.code, cov);
        }
        const expected = new Set(ms.filter((m: Marker) => m.kind === 'expect' && m.code === focus).map((m) => m.line));
        for (const d of diags) {
          if (d.code === focus && !expected.has(d.range.start.line)) problems.push(`line ${d.range.start.line + 1}: unexpected ${focus}: ${d.message}`);
        }
        for (const d of diags) {
          assert.equal(typeof d.codeDescription?.href, 'string', 'codeDescription.href');
          assert.equal(d.source, 'dvs');
        }
        assert.deepEqual(problems, [], `${rel}\n${problems.join('\n')}`);
      });
    }
  });
}

test('every code has two reported cases and two look-alikes, in C and (where it applies) TypeScript', () => {
  const missing: string[] = [];
  for (let i = 1; i <= 15; i++) {
    const code = `DVS${String(i).padStart(3, '0')}`;
    const cov = coverage.get(code);
    const langs: ('c' | 'ts')[] = C_ONLY.has(code) ? ['c'] : ['c', 'ts'];
    for (const l of langs) {
      if (!cov || cov[l].expect < 2) missing.push(`${code} ${l}: ${cov?.[l].expect ?? 0} expected cases`);
      if (!cov || cov[l].ok < 2) missing.push(`${code} ${l}: ${cov?.[l].ok ?? 0} look-alikes`);
    }
  }
  assert.deepEqual(missing, []);
});
