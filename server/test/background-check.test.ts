/**
 * The background check of indexed files (BackgroundCheck): it only fills the per-unit
 * findings caches, so diagnostics with it equal those of a fresh analysis, also when files
 * are edited, changed on disk or opened while it runs; and an indexed file opened after it
 * is published from the caches (no unit is checked again).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Analyzer, type TextChange } from '../src/analyzer';
import { BackgroundCheck } from '../src/background-check';
import { DEFAULT_SETTINGS } from '../src/config';
import { computeDiagnostics, unitChecks } from '../src/features/diagnostics';
import { loadGrammars } from '../src/parser';
import { Workspace } from '../src/workspace';
import { Client, FIXTURES, codeFiles, rng, position, twoNodeConfig } from './harness';
import type { Diagnostic } from 'vscode-languageserver-protocol/node';

const CONFIG = twoNodeConfig(
  'bgc',
  [
    { name: 'KV_SERVER', number: 1, dc: 0, node: 0, server: true },
    { name: 'LOG_SERVER', number: 2, dc: 0, node: 1, server: true },
  ],
  [
    { name: 'KV_GET', number: 1, layout: 'm1', reply: 'KV_GET_REPLY', server: 'KV_SERVER' },
    { name: 'KV_GET_REPLY', number: 101, layout: 'm1' },
    { name: 'LOG_WRITE', number: 10, layout: 'm2', server: 'LOG_SERVER' },
  ],
);

/** Client and server functions with findings of several codes (DVS005, DVS009, DVS010, DVS011, ...). */
function generated(file: number, functions: number): string {
  let out = '#include <m3ipc.h>\n#define DC0 0\n#define KV_SERVER 1\n#define LOG_SERVER 2\nenum { KV_GET = 1, KV_GET_REPLY = 101, LOG_WRITE = 10 };\n\n';
  for (let i = 0; i < functions; i++) {
    out += i % 5 === 4
      ? `int server_${file}_${i}(void)\n{\n\tmessage m;\n\tif (mnx_bind(DC0, KV_SERVER) < 0) return 1;\n\tfor (;;) {\n\t\tif (mnx_receive(ANY, &m) < 0) continue;\n\t\tswitch (m.m_type) {\n\t\tcase KV_GET: m.m_type = KV_GET_REPLY; m.m2_i1 = ${i}; break;\n\t\t}\n\t\tif (mnx_reply(m.m_source, &m) < 0) return 2;\n\t}\n}\n\n`
      : `static int handler_${file}_${i}(message *mp, char *buf)\n{\n\tmessage log;\n\tlog.m_type = LOG_WRITE;\n\tlog.m1_i1 = ${i};\n\tlog.m2_p1 = buf;\n\tif (mnx_sendrec(LOG_SERVER, &log) < 0) return -1;\n\tmp->m_type = ${i % 2 ? 'KV_GET' : 7};\n\tmnx_send(KV_SERVER, mp);\n\treturn log.m1_i2;\n}\n\n`;
  }
  return out;
}

/** A digit replaced (types, values and endpoints change) or a line removed. */
function randomEdit(text: string, random: () => number): { start: number; end: number; insert: string } {
  if (random() < 0.7) {
    const digits = [...text.matchAll(/\d/g)].map((m) => m.index as number);
    const start = digits[Math.floor(random() * digits.length)] as number;
    return { start, end: start + 1, insert: String(Math.floor(random() * 10)) };
  }
  const lines = [...text.matchAll(/^\t[^\n]*\n/gm)];
  const l = lines[Math.floor(random() * lines.length)];
  const start = l?.index ?? 0;
  return { start, end: start + (l?.[0].length ?? 0), insert: '' };
}

interface Project {
  dir: string;
  config: string;
  files: { uri: string; text: string }[];
}

function projects(): Project[] {
  const out: Project[] = [];
  out.push({ dir: 'file:///bgc/gen', config: CONFIG, files: [0, 1, 2].map((n) => ({ uri: `file:///bgc/gen/f${n}.c`, text: generated(n, 60) })) });
  const byDir = new Map<string, string[]>();
  for (const f of codeFiles(FIXTURES).filter((x) => x.endsWith('.c'))) {
    const d = path.dirname(f);
    byDir.set(d, [...(byDir.get(d) ?? []), f]);
  }
  for (const [d, files] of byDir) {
    const cfg = path.join(d, 'dvs.json');
    if (!fs.existsSync(cfg)) continue;
    const dir = `file:///bgc/${path.relative(FIXTURES, d).replace(/[^\w]/g, '_')}`;
    out.push({ dir, config: fs.readFileSync(cfg, 'utf8'), files: files.map((f) => ({ uri: `${dir}/${path.basename(f)}`, text: fs.readFileSync(f, 'utf8') })) });
  }
  return out;
}

async function setup(ps: Project[]): Promise<{ analyzer: Analyzer; ws: Workspace }> {
  const analyzer = new Analyzer(await loadGrammars());
  const ws = new Workspace(analyzer);
  for (const p of ps) ws.setConfig(`${p.dir}/dvs.json`, p.config);
  for (const p of ps) for (const f of p.files) ws.fileUpdated(analyzer.analyze({ uri: f.uri, lang: 'c', text: f.text, keepTree: false }), undefined, { indexing: true });
  ws.touch();
  return { analyzer, ws };
}

test('diagnostics after a background check with edits, disk changes and opens equal a fresh analysis', async () => {
  const ps = projects();
  const { analyzer, ws } = await setup(ps);
  const open = new Set<string>();
  const check = new BackgroundCheck(analyzer, ws, (u) => open.has(u));
  const all = ps.flatMap((p) => p.files);
  check.enqueue(all.map((f) => f.uri));
  const random = rng(Number(process.env['DVS_FUZZ_SEED'] ?? 515));
  const texts = new Map(all.map((f) => [f.uri, f.text]));
  const counts = { steps: 0, opened: 0, edits: 0, diskChanges: 0 };
  const gen = ps[0] as Project;
  const untouched = gen.files[2]?.uri as string;
  while (check.pending) {
    assert.ok(counts.steps++ < 100_000, 'the background check does not end');
    // Mostly one unit per step, so that the steps (and the edits between them) do not
    // depend on the machine's speed.
    check.step(random() < 0.9 ? 0 : random() * 0.3);
    const r = random();
    const f = gen.files[Math.floor(random() * 2)]?.uri as string;
    const text = texts.get(f) as string;
    if (r < 0.01 && !open.has(f)) {
      // Opened (indexed text: no parse) and edited while the check runs.
      open.add(f);
      const prev = analyzer.get(f)?.facts;
      const state = analyzer.reopen({ uri: f, lang: 'c', text, version: 1 });
      assert.ok(state);
      ws.fileUpdated(state, prev);
      counts.opened++;
    } else if (r < 0.03 && open.has(f)) {
      const { start, end, insert } = randomEdit(text, random);
      const change: TextChange = { range: { start: position(text, start), end: position(text, end) }, text: insert };
      const prev = analyzer.get(f)?.facts;
      const state = analyzer.edit({ uri: f, changes: [change], version: 2 + counts.edits });
      assert.ok(state);
      ws.fileUpdated(state, prev);
      texts.set(f, state.text);
      counts.edits++;
    } else if (r < 0.05 && !open.has(f)) {
      // Changed on disk while closed (a watched-file change): analysed again and re-queued.
      const { start, end, insert } = randomEdit(text, random);
      const next = text.slice(0, start) + insert + text.slice(end);
      const prev = analyzer.get(f)?.facts;
      ws.fileUpdated(analyzer.analyze({ uri: f, lang: 'c', text: next, keepTree: false }), prev);
      texts.set(f, next);
      check.enqueue([f]);
      counts.diskChanges++;
    }
  }
  if (process.env["DVS_TEST_VERBOSE"]) console.log(counts, check.done, all.length);
  assert.ok(check.done >= all.length - 2, `only ${check.done} of ${all.length} files checked`);
  assert.ok(counts.edits + counts.diskChanges > 0, `no edit during the check: ${JSON.stringify(counts)}`);

  // The file nobody touched is published from the caches when it is opened, once the check
  // has reached it after the last change other files can see (a change after its check
  // makes its project findings stale: they are computed again when it is opened).
  check.enqueue([untouched]);
  while (check.pending) check.step(1);
  const before = unitChecks.count;
  const prev = analyzer.get(untouched)?.facts;
  const reopened = analyzer.reopen({ uri: untouched, lang: 'c', text: texts.get(untouched) as string, version: 1 });
  assert.ok(reopened);
  ws.fileUpdated(reopened, prev);
  const untouchedDiags = computeDiagnostics(ws, reopened, DEFAULT_SETTINGS);
  assert.equal(unitChecks.count - before, 0, 'units of a checked file were checked again when it was opened');
  assert.ok(untouchedDiags.length > 10, `only ${untouchedDiags.length} findings in the generated file`);

  const fresh = await setup(ps.map((p) => ({ ...p, files: p.files.map((f) => ({ uri: f.uri, text: texts.get(f.uri) as string })) })));
  let findings = 0;
  for (const f of all) {
    const got = computeDiagnostics(ws, analyzer.get(f.uri) as NonNullable<ReturnType<Analyzer['get']>>, DEFAULT_SETTINGS);
    const want = computeDiagnostics(fresh.ws, fresh.analyzer.get(f.uri) as NonNullable<ReturnType<Analyzer['get']>>, DEFAULT_SETTINGS);
    assert.deepEqual(got, want, `${f.uri} (${JSON.stringify(counts)})`);
    findings += want.length;
  }
  assert.ok(findings > 50, `only ${findings} findings compared`);
});

test('findings that point into another file follow it when its lines move (DVS009 related locations)', async () => {
  // f0 has server loops; f1 sends type 7, which they never handle: DVS009 in f1, with the
  // loops of f0 as related locations. A line inserted at the top of f0 changes nothing
  // else f1 can see, but every one of those locations moves down by one.
  const ps: Project[] = [{ dir: 'file:///bgc/moved', config: CONFIG, files: [0, 1].map((n) => ({ uri: `file:///bgc/moved/f${n}.c`, text: generated(n, 10) })) }];
  const { analyzer, ws } = await setup(ps);
  const [f0, f1] = ps[0]?.files ?? [];
  assert.ok(f0 && f1);
  const loopLines = (): number[] => {
    const d = computeDiagnostics(ws, analyzer.get(f1.uri) as NonNullable<ReturnType<Analyzer['get']>>, DEFAULT_SETTINGS).find((x) => x.code === 'DVS009');
    assert.ok(d, 'DVS009 in f1');
    return (d.relatedInformation ?? []).filter((r) => r.location.uri === f0.uri).map((r) => r.location.range.start.line);
  };
  const before = loopLines();
  assert.ok(before.length > 0);
  // As the server does once a file's diagnostics are out: later changes are compared with it.
  ws.recordSignature(f0.uri);
  const prev = analyzer.get(f0.uri)?.facts;
  ws.fileUpdated(analyzer.analyze({ uri: f0.uri, lang: 'c', text: `/* moved */\n${f0.text}`, keepTree: false }), prev);
  assert.deepEqual(loopLines(), before.map((l) => l + 1));
});

/** Diagnostics without the project's directory, to compare two copies of a project. */
function normalized(ds: Diagnostic[]): string[] {
  return ds.map((d) => JSON.stringify({ ...d, relatedInformation: d.relatedInformation?.map((r) => ({ ...r, location: { ...r.location, uri: path.basename(r.location.uri) } })) })).sort();
}

test('the real server: an edit during the background check, and a file opened after it, give the diagnostics of a server started on the edited files', async () => {
  const dirs = [0, 1].map((k) => fs.mkdtempSync(path.join(os.tmpdir(), `dvs-bgc-${process.pid}-${k}-`)));
  const texts = [0, 1, 2, 3].map((n) => generated(n, 40));
  // The edit: a server loop of f1 handles 7 instead of KV_GET, so the sends of 7 to
  // KV_SERVER in f2 are no longer reported (DVS009): f2's findings depend on it.
  const at = (texts[1] as string).indexOf('case KV_GET:') + 'case '.length;
  const edited = `${(texts[1] as string).slice(0, at)}7${(texts[1] as string).slice(at + 'KV_GET'.length)}`;
  const before = await setup([{ dir: 'file:///bgc/srv', config: CONFIG, files: texts.map((text, n) => ({ uri: `file:///bgc/srv/f${n}.c`, text })) }]);
  const unedited = computeDiagnostics(before.ws, before.analyzer.get('file:///bgc/srv/f2.c') as NonNullable<ReturnType<Analyzer['get']>>, DEFAULT_SETTINGS);
  assert.ok(unedited.some((d) => d.code === 'DVS009'), 'f2 has no DVS009 before the edit');
  for (const [k, dir] of dirs.entries()) {
    fs.writeFileSync(path.join(dir, 'dvs.json'), CONFIG);
    texts.forEach((t, n) => fs.writeFileSync(path.join(dir, `f${n}.c`), k === 1 && n === 1 ? edited : t));
  }
  const [a, b] = [await Client.start(dirs[0] as string), await Client.start(dirs[1] as string)];
  try {
    await Promise.all([a.indexed, b.indexed]);
    // A: f1 opened and edited at once, while the check goes over the other files.
    const file = (n: number, k = 0): string => path.join(dirs[k] as string, `f${n}.c`);
    await a.open(file(1));
    const pos = position(texts[1] as string, at);
    const afterEdit = await a.change(file(1), [{ range: { start: pos, end: { line: pos.line, character: pos.character + 'KV_GET'.length } }, text: '7' }]);
    await new Promise((r) => setTimeout(r, 1500));
    const a2 = await a.open(file(2));
    // B: started on the edited text, f2 and f1 opened at once.
    const b2 = await b.open(file(2, 1));
    const b1 = await b.open(file(1, 1));
    assert.ok(b2.length > 10 && b1.length > 10, `${b2.length} / ${b1.length} findings`);
    assert.ok(!b2.some((d) => d.code === 'DVS009'), 'the edit did not change f2');
    assert.deepEqual(normalized(a2), normalized(b2));
    assert.deepEqual(normalized(afterEdit ?? []), normalized(b1));
  } finally {
    await a.stop();
    await b.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
});
