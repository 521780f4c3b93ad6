/**
 * The mapping of one edit to the units around it (Analyzer.buildAround) must give exactly
 * the units and facts of the full walk over the same reparsed tree, and, while the text
 * parses without errors, of a fresh analysis (tree-sitter's error recovery may shape a
 * broken text differently when it reparses incrementally, so broken texts are compared
 * with the full walk only). Checked in process on the facts themselves, after every one
 * of many random edits inserting and deleting braces, comments, strings, preprocessor
 * lines and IPC calls.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Analyzer, type TextChange } from '../src/analyzer';
import { extractUnit } from '../src/extract';
import { DEFAULT_SETTINGS } from '../src/config';
import { computeDiagnostics, fieldTypes, typeAt } from '../src/features/diagnostics';
import { loadGrammars, langOfPath } from '../src/parser';
import { Workspace } from '../src/workspace';
import * as path from 'node:path';
import { FIXTURES, codeFiles, rng, position } from './harness';

const SNIPPETS = ['{', '}', '(', ')', '"', '/*', '*/', '//', '\n', ';', '#if 0\n', '#endif\n', '#ifdef X\n', 'case KV_GET:', 'continue;',
  'mnx_send(KV_SERVER, &m);', 'int f(void) {\n', '}\n\n', 'm.m_type = KV_PUT;', 'é😀', '\t', 'static int x = 3;\n',
  'await ep.send(KV_SERVER, { type: KV_GET, m1_p1: buf });', 'ep.', "'", 'const x = await bind(', 'for (;;) {'];

/** A C file of many small functions, like the benchmark's, with a server loop among them. */
function generated(functions = 40): string {
  let out = '#include <m3ipc.h>\n#define KV_SERVER 1\n#define LOG_SERVER 2\n\n';
  for (let i = 0; i < functions; i++) {
    out += i % 7 === 3
      ? `int server_${i}(void)\n{\n\tmessage m;\n\tfor (;;) {\n\t\tif (mnx_receive(ANY, &m) < 0) continue;\n\t\tswitch (m.m_type) {\n\t\tcase 1: m.m1_i1 = ${i}; break;\n\t\t}\n\t\tif (mnx_reply(m.m_source, &m) < 0) return 2;\n\t}\n}\n\n`
      : `static int handler_${i}(message *mp)\n{\n\tmessage log;\n\tlog.m_type = 10;\n\tlog.m2_i1 = ${i};\n\treturn mnx_sendrec(LOG_SERVER, &log);\n}\n\n`;
  }
  return out;
}

/**
 * A random edit of `text`: `valid` ones keep a valid text valid, like typing in a finished
 * program (a digit replaced, a function inserted before another, a line removed); the
 * others insert and delete braces, comments, strings and the like anywhere.
 */
function randomEdit(text: string, random: () => number, valid: boolean, i: number): { start: number; end: number; insert: string } {
  let start: number;
  let end: number;
  let insert: string;
  if (valid) {
    const digits = [...text.matchAll(/\d/g)].map((m) => m.index as number);
    const fns = [...text.matchAll(/^(static )?int /gm)].map((m) => m.index as number);
    const kind = random();
    if (kind < 0.5 && digits.length) {
      start = digits[Math.floor(random() * digits.length)] as number;
      end = start + 1;
      insert = String(Math.floor(random() * 10));
    } else if (kind < 0.8 && fns.length) {
      start = end = fns[Math.floor(random() * fns.length)] as number;
      insert = `int added_${i}(void)\n{\n\tmessage m;\n\tm.m_type = ${i};\n\treturn mnx_send(${i}, &m);\n}\n\n`;
    } else {
      const lines = [...text.matchAll(/^\t[^\n]*\n/gm)];
      const l = lines[Math.floor(random() * lines.length)];
      start = l?.index ?? 0;
      end = start + (l?.[0].length ?? 0);
      insert = '';
    }
  } else {
    start = Math.floor(random() * (text.length + 1));
    end = Math.min(text.length, start + (random() < 0.4 ? Math.floor(random() * 20) : 0));
    insert = random() < 0.8 ? (SNIPPETS[Math.floor(random() * SNIPPETS.length)] as string) : '';
  }
  return { start, end, insert };
}

test('incremental analysis equals a fresh analysis after every random edit', async () => {
  const grammars = await loadGrammars();
  const inc = new Analyzer(grammars);
  const walk = new Analyzer(grammars, { mapEdits: false });
  const fresh = new Analyzer(grammars);
  const seed = Number(process.env['DVS_FUZZ_SEED'] ?? 4242);
  const random = rng(seed);
  const inputs: { name: string; text: string; lang: 'c' | 'typescript' | 'tsx' }[] = [{ name: 'generated.c', text: generated(), lang: 'c' }];
  for (const f of codeFiles(FIXTURES).filter((x) => x.endsWith('.c')).slice(0, 8)) inputs.push({ name: f, text: fs.readFileSync(f, 'utf8'), lang: langOfPath(f) ?? 'c' });
  for (const f of codeFiles(FIXTURES).filter((x) => x.endsWith('.ts')).slice(0, 6)) inputs.push({ name: f, text: fs.readFileSync(f, 'utf8'), lang: langOfPath(f) ?? 'typescript' });
  let checked = 0;
  let cleanTotal = 0;
  let sameTree = 0;
  for (const input of inputs) {
    const uri = `file:///inc/${checked}/${input.name.replace(/[^\w.]/g, '_')}`;
    let text = input.text;
    // `inc` takes the path of a file indexed at start-up and then opened: no tree until
    // the first edit builds it (Analyzer.reopen / ensureTree).
    inc.analyze({ uri, lang: input.lang, text, version: 0, keepTree: false });
    const reopened = inc.reopen({ uri, lang: input.lang, text, version: 1 });
    assert.ok(reopened && !reopened.tree, 'an indexed file with the same text is reopened without a parse');
    assert.equal(inc.reopen({ uri, lang: input.lang, text: `${text} `, version: 1 }), undefined, 'another text is not reopened');
    walk.analyze({ uri, lang: input.lang, text, version: 1, keepTree: true });
    let clean = 0;
    for (let i = 0; i < 90; i++) {
      const { start, end, insert } = randomEdit(text, random, i < 30, i);
      const change: TextChange = { range: { start: position(text, start), end: position(text, end) }, text: insert };
      text = text.slice(0, start) + insert + text.slice(end);
      const a = inc.edit({ uri, changes: [change], version: i + 2 });
      const w = walk.edit({ uri, changes: [change], version: i + 2 });
      assert.ok(a && w, 'edit result');
      assert.equal(a.text, text);
      const what = `${input.name}, edit ${i} (seed ${seed}): ${JSON.stringify(change)}`;
      const shape = (s: typeof a): unknown => s.units.map((u) => [u.key, u.o, u.end, u.row, u.col]);
      assert.deepEqual(shape(a), shape(w), `units differ from the full walk after ${what}`);
      assert.deepEqual(a.facts, w.facts, `facts differ from the full walk after ${what}`);
      if (!a.tree?.rootNode.hasError) {
        const b = fresh.analyze({ uri, lang: input.lang, text, version: i + 2, keepTree: false });
        assert.deepEqual(shape(a), shape(b), `units differ from a fresh analysis after ${what}`);
        assert.deepEqual(a.facts, b.facts, `facts differ from a fresh analysis after ${what}`);
        clean++;
      } else {
        // A broken text: when the incremental parse gave the tree a fresh parse gives, the
        // facts must be the same too (a unit with an error is not taken from the cache by
        // its text: its inside depends on the context).
        const b = fresh.analyze({ uri, lang: input.lang, text, version: i + 2, keepTree: true });
        if (a.tree?.rootNode.toString() === b.tree?.rootNode.toString()) {
          assert.deepEqual(a.facts, b.facts, `facts differ from a fresh analysis of the same tree after ${what}`);
          sameTree++;
        }
        fresh.release(uri);
      }
      checked++;
    }
    inc.remove(uri);
    walk.remove(uri);
    cleanTotal += clean;
  }
  assert.ok(checked >= 90 * inputs.length);
  // Most edits take the mapped path; the others (a file shape it cannot map) walk.
  assert.ok(inc.stats.mapped > checked / 2, `mapped ${inc.stats.mapped} of ${checked} edits`);
  assert.equal(walk.stats.mapped, 0);
  // Many edits keep a text parseable (the edits inside comments and strings at least).
  assert.ok(cleanTotal > 20, `only ${cleanTotal} edits left a clean text`);
  assert.ok(sameTree > 100, `only ${sameTree} broken texts compared with a fresh parse`);
});

/**
 * A file indexed at start-up and then opened has no tree; the server parses it in slices
 * between messages (Analyzer.stepTrees). Edits that arrive before the parse is done are
 * analysed by parsing the edited unit alone, or finish the tree first. Here the parse is
 * advanced by random small slices between random edits, the file is re-indexed and
 * reopened whenever its tree is done, and after every edit the units, the facts and the
 * diagnostics must be those of a fresh analysis of the same text (when it parses without
 * errors; see above). When a tree is attached after such edits, its units must agree with
 * the ones the edits produced (stepTrees reports any that did not).
 */
test('edits that arrive while a reopened file is parsed in the background give the diagnostics of a fresh analysis', async (t) => {
  const grammars = await loadGrammars();
  const bg = new Analyzer(grammars);
  const fresh = new Analyzer(grammars);
  const wsBg = new Workspace(bg);
  const wsFresh = new Workspace(fresh);
  const seed = Number(process.env['DVS_FUZZ_SEED'] ?? 777);
  const random = rng(seed);
  const inputs: { name: string; text: string; config?: string }[] = [{ name: 'generated.c', text: generated(100) }];
  for (const f of codeFiles(FIXTURES).filter((x) => x.endsWith('.c'))) {
    const cfg = path.join(path.dirname(f), 'dvs.json');
    inputs.push({ name: f, text: fs.readFileSync(f, 'utf8'), ...(fs.existsSync(cfg) ? { config: fs.readFileSync(cfg, 'utf8') } : {}) });
  }
  const counts = { edits: 0, whileParsing: 0, compared: 0, findings: 0, reopened: 0 };
  for (const [n, input] of inputs.entries()) {
    const dir = `file:///bg/${n}`;
    const uri = `${dir}/${path.basename(input.name)}`;
    if (input.config) {
      wsBg.setConfig(`${dir}/dvs.json`, input.config);
      wsFresh.setConfig(`${dir}/dvs.json`, input.config);
    }
    let text = input.text;
    let version = 0;
    wsFresh.fileUpdated(fresh.analyze({ uri, lang: 'c', text, version, keepTree: false }), undefined);
    for (let i = 0; i < 40; i++) {
      if (!bg.get(uri) || bg.get(uri)?.tree) {
        // Index the current text (no tree) and open it: its tree is to be parsed again.
        const prev = bg.get(uri)?.facts;
        bg.release(uri);
        wsBg.fileUpdated(bg.analyze({ uri, lang: 'c', text, version, keepTree: false }), prev);
        const reopened = bg.reopen({ uri, lang: 'c', text, version: ++version });
        assert.ok(reopened && !reopened.tree);
        counts.reopened++;
      }
      if (random() < 0.7) {
        for (const { state, prev } of bg.stepTrees(random() * 0.5)) wsBg.fileUpdated(state, prev);
        assert.equal(bg.get(uri)?.text, text);
      }
      if (bg.parsing === uri) counts.whileParsing++;
      const { start, end, insert } = randomEdit(text, random, i < 30, i);
      const change: TextChange = { range: { start: position(text, start), end: position(text, end) }, text: insert };
      text = text.slice(0, start) + insert + text.slice(end);
      const what = `${input.name}, edit ${i} (seed ${seed}): ${JSON.stringify(change)}`;
      const prevBg = bg.get(uri)?.facts;
      const a = bg.edit({ uri, changes: [change], version: ++version });
      assert.ok(a, what);
      assert.equal(a.text, text);
      wsBg.fileUpdated(a, prevBg);
      const prevFresh = fresh.get(uri)?.facts;
      const b = fresh.analyze({ uri, lang: 'c', text, version, keepTree: true });
      wsFresh.fileUpdated(b, prevFresh);
      counts.edits++;
      const clean = !b.tree?.rootNode.hasError;
      fresh.release(uri);
      if (!clean) continue;
      const shape = (s: typeof a): unknown => s.units.map((u) => [u.key, u.o, u.end, u.row, u.col]);
      assert.deepEqual(shape(a), shape(b), `units differ from a fresh analysis after ${what}`);
      assert.deepEqual(a.facts, b.facts, `facts differ from a fresh analysis after ${what}`);
      const dA = computeDiagnostics(wsBg, a, DEFAULT_SETTINGS);
      const dB = computeDiagnostics(wsFresh, b, DEFAULT_SETTINGS);
      assert.deepEqual(dA, dB, `diagnostics differ from a fresh analysis after ${what}`);
      counts.compared++;
      counts.findings += dA.length;
    }
    // Whatever is still pending: the tree must agree with the last edits.
    while (bg.pendingTrees > 0) assert.deepEqual(bg.stepTrees(5).map((c) => c.state.uri), [], `${input.name}: the tree disagrees with the edits made without it`);
    bg.remove(uri);
    fresh.remove(uri);
  }
  t.diagnostic(`${JSON.stringify(counts)}, analysed alone: ${bg.stats.alone}`);
  // The path under test is taken: edits while the parse is under way, analysed alone.
  assert.ok(counts.whileParsing > 20, JSON.stringify(counts));
  assert.ok(bg.stats.alone > 100, `only ${bg.stats.alone} edits analysed alone; ${JSON.stringify(counts)}`);
  assert.ok(counts.compared > counts.edits / 2 && counts.findings > 0, JSON.stringify(counts));
});

/**
 * Extraction reads identifiers, a field's object and whether a field is written from the
 * source text when that is unambiguous (extract.ts: identText, objectText, plainRead),
 * and from the tree otherwise. Both ways must give the same facts: checked on every
 * fixture and on snippets made to defeat the shortcuts (comments next to operators,
 * line continuations, `++`/`--`, non-ASCII names, chained and compound assignments).
 */
test('facts read from the source text equal the facts read from the tree', async () => {
  const grammars = await loadGrammars();
  const snippets = `#include <m3ipc.h>
void f(message *mp, message m, int r) {
  m.m_type = 3; m . m_type = 4; m.m_type /* c */ = 5; m /* c */ .m1_i1 = 6; m.m1_i1 // c
    = 7;
  m.m1_i2 \\
    = 8;
  ++m.m1_i3; m.m1_i3++; -- m.m2_i1; m.m2_i1 --; m.m2_i2 <<= 2; m.m2_i2 >>= 1; m.m2_i3 += 1; m.m2_l1 |= 4;
  r = m.m1_i1 == 3; r = m.m1_i1 != 3; r = m.m1_i1 <= 3; r = m.m1_i1 >= 3; r = m.m1_i1 / 2; r = m.m1_i1 /2;
  r = m.m1_i2 = 4; (*mp).m_type = 1; mp->m_type = 2; mp -> m1_i1 = 3; *m.m1_p1 = 0; (m.m1_i1) = 3;
  for (m.m1_i1 = 0; m.m1_i1 < 3; m.m1_i1++) mnx_send(m.m_source, &m);
  r = r ? m.m1_i1 : m.m2_i1; r = (int)m.m1_i1; r = sizeof m.m1_i1; r = -m.m1_i1; r = !m.m1_i1;
  é.m_type = 1; mé.m_type = 2; m.m_type_x = 3; m.mé_i1 = 4; m\\u00e9.m_type = 5; m$.m_type = 6;
  a.b.m1_i1 = 2; a[0].m1_i1 = 3; f(m).m1_i1 = 4; mnx_sendé(1, &m); mnx_send/* c */(1, &m); mnx_send (1, &m);
  mnx_send(KV /* 😀 */, &m); m
     .m1_i1 = 1; mnx_send(f(1,
  2), &m); mnx_send(KV, &m /* é
  */); r = m /* é */ . m1_i2; mnx_send("😀\
", &m); m.m_type = /* c */ 3; m.m_type =
    KV_GET; m.m1_i1 = ; m.m1_i2 /= 2;
#define X m.m_type = 9
  r = mnx_sendrec(KV, &m); if (mnx_bind(0, 1) < 0) return; mnx_reply(m.m_source, &m);
}
/* Plain writes read from the text (simpleWrite) and look-alikes the tree must decide. */
void g(message m, message *mp, int r, int i) {
  m.m_type = KV_GET; m.m1_i1 = -3; m.m1_i2 = 0x1F; mp->m_type = 10u; m.m1_i3 = KV;
  { m.m2_i1 = 1; } m.m2_i2 = 2 ; m.m2_i3 = r + 1; m.m1_p1 = &r; m.m2_l1 = f(1);
  switch (m.m_type) { case KV_GET: m.m_type = KV_PUT; break; default: m.m1_i1 = 2; case 3 : m.m1_i2 = 3; }
  lbl: m.m1_i1 = 4; r = r ? i : m.m1_i2 = 5; if (r) m.m1_i3 = 6; else m.m2_i1 = 7; do m.m2_i2 = 8; while (0);
  for (i = 0; m.m1_i1 = 9; i++) {} for (;m.m1_i2 = 1;) {} for (r = (1); m.m1_i3 = 2;) {}
  r = r + // a; b;
    m.m1_i1 = 3;
  r = r + // a \
    b;
  m.m1_i2 = 4;
  x = "a;"; m.m1_i3 = 5; x = ';'; m.m2_i1 = 6; r = (int) m.m2_i2 = 7; r = !m.m2_i3 = 8; r = -m.m2_l1 = 9;
  r = m.m1_i1 = 1; f(m.m1_i2 = 2, m.m1_i3 = 3); *m.m1_p1 = 1; a.b.m1_i1 = 2; a[0].m1_i1 = 3; (m).m1_i1 = 4;
#define SET m.m1_i1 = 5;
}
void h(message m) { m.m_type = KV_GET; m.m_type = ; m.m1_i1 = 1 }
`;
  const inputs: { name: string; text: string; lang: 'c' | 'typescript' | 'tsx' }[] = [{ name: 'snippets.c', text: snippets, lang: 'c' }];
  for (const f of codeFiles(FIXTURES)) inputs.push({ name: f, text: fs.readFileSync(f, 'utf8'), lang: langOfPath(f) ?? 'c' });
  let fields = 0;
  for (const input of inputs) {
    const tree = grammars.parsers[input.lang].parse(input.text);
    assert.ok(tree);
    try {
      for (const unit of tree.rootNode.namedChildren) {
        const fromText = extractUnit(unit, input.lang, grammars.queries[input.lang], undefined, input.text);
        const fromTree = extractUnit(unit, input.lang, grammars.queries[input.lang]);
        assert.deepEqual(fromText, fromTree, `${input.name}: ${unit.text.slice(0, 80)}`);
        fields += fromTree.fields.length;
      }
    } finally {
      tree.delete();
    }
  }
  assert.ok(fields > 100, `only ${fields} field facts compared`);
});

/**
 * Regression (found by the robustness fuzz, seed 176673): after these edits a unit with a
 * syntax error has the same text as before but tree-sitter's error recovery shapes its
 * inside differently; its facts were taken from the cache by its text and differed from
 * a fresh analysis of the very same tree (a send's receiver, and so DVS011/DVS013).
 */
test('a unit with a syntax error is analysed again even when its text did not change', async () => {
  const grammars = await loadGrammars();
  const file = path.resolve(__dirname, '..', '..', 'test', 'regressions', 'ts-error-unit-reuse.json');
  const { lang, text: initial, changes } = JSON.parse(fs.readFileSync(file, 'utf8')) as { lang: 'typescript'; text: string; changes: TextChange[] };
  const inc = new Analyzer(grammars);
  const uri = 'file:///regress/client.ts';
  inc.analyze({ uri, lang, text: initial, version: 0, keepTree: true });
  let version = 0;
  for (const c of changes) assert.ok(inc.edit({ uri, changes: [c], version: ++version }));
  const a = inc.get(uri);
  assert.ok(a?.tree);
  const b = new Analyzer(grammars).analyze({ uri, lang, text: a.text, version, keepTree: true });
  assert.equal(a.tree.rootNode.toString(), b.tree?.rootNode.toString(), 'the incremental and the fresh parse give the same tree');
  assert.ok(a.tree.rootNode.hasError);
  assert.deepEqual(a.facts, b.facts);
});

/**
 * DVS010 types all fields of a unit in one sweep (fieldTypes); it must agree with typeAt,
 * the per-field definition, on every fixture (C and TypeScript), the generated file and
 * random valid edits of it (writes, literals, receives, sendrecs and case labels).
 */
test('message types of fields in one sweep equal typeAt per field', async () => {
  const grammars = await loadGrammars();
  const analyzer = new Analyzer(grammars);
  const ws = new Workspace(analyzer);
  const random = rng(99);
  const inputs: { name: string; text: string; config?: string }[] = [];
  let gen = generated(60);
  for (let i = 0; i < 20; i++) {
    const { start, end, insert } = randomEdit(gen, random, true, i);
    gen = gen.slice(0, start) + insert + gen.slice(end);
  }
  inputs.push({ name: 'generated.c', text: gen });
  // One long server loop: many accesses to one message, sweeps also with the default threshold.
  let loop = '#include <m3ipc.h>\nint big(message *mp)\n{\n\tmessage m;\n\tint r;\n\tfor (;;) {\n\t\tmnx_receive(ANY, &m);\n\t\tswitch (m.m_type) {\n';
  for (let i = 0; i < 40; i++) {
    loop += `\t\tcase ${i}: m.m1_i1 = m.m2_i${i % 3}; ${i % 4 === 0 ? `m.m_type = ${100 + i}; ` : ''}${i % 5 === 0 ? 'r = mnx_sendrec(1, &m); ' : ''}m.m1_i2 = r; mp->m1_i${i % 3} = m.m1_i1; break;\n`;
  }
  inputs.push({ name: 'loop.c', text: `${loop}\t\t}\n\t\tm.m3_i1 = 1;\n\t\tmnx_send(m.m_source, &m);\n\t}\n}\n` });
  for (const f of codeFiles(FIXTURES)) {
    const cfg = path.join(path.dirname(f), 'dvs.json');
    inputs.push({ name: f, text: fs.readFileSync(f, 'utf8'), ...(fs.existsSync(cfg) ? { config: fs.readFileSync(cfg, 'utf8') } : {}) });
  }
  let typed = 0;
  for (const [n, input] of inputs.entries()) {
    const dir = `file:///types/${n}`;
    if (input.config) ws.setConfig(`${dir}/dvs.json`, input.config);
    const lang = langOfPath(input.name) ?? 'c';
    const s = analyzer.analyze({ uri: `${dir}/${path.basename(input.name)}`, lang, text: input.text, keepTree: false });
    ws.fileUpdated(s, undefined);
    const fields = s.facts.fields;
    const expected = fields.map((f) => typeAt(ws, s, f.obj, f, f.caseLabel));
    // Per unit, as DVS010 asks, then once more (answers from the cache).
    const units = s.lang === 'c' && s.units.length ? s.units.map((u) => u.facts.fields) : [fields];
    for (const round of [1, 2, 3]) {
      // Round 1 always sweeps (threshold 0), round 2 with the default threshold (the cache
      // is dropped by a names change), round 3 answers from the cache.
      if (round === 2) ws.touch();
      const got = units.flatMap((fs) => fieldTypes(ws, s, fs, round === 1 ? 0 : undefined));
      assert.deepEqual(got, expected, `${input.name} (round ${round})`);
    }
    typed += expected.filter((t) => t !== undefined).length;
  }
  assert.ok(typed > 100, `only ${typed} typed fields compared`);
});
