/**
 * Hover, definition, references, completion, code actions, code lens, symbols, the
 * communication graph, live stats and settings, through a real LSP client.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CodeActionRequest,
  CodeLensRequest,
  type CompletionItem,
  CompletionRequest,
  DefinitionRequest,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  type Diagnostic,
  DocumentSymbolRequest,
  type DocumentSymbol,
  HoverRequest,
  type Location,
  type MarkupContent,
  PrepareRenameRequest,
  ReferencesRequest,
  RenameRequest,
  ResponseError,
  type TextEdit,
  WorkspaceSymbolRequest,
} from 'vscode-languageserver-protocol/node';
import { CommunicationGraphRequest, LiveStatsNotification } from '../src/protocol';
import { Client, FIXTURES, codeFiles, markers, uriOf } from './harness';

const KV = path.join(FIXTURES, 'kv-project');

function lineCol(file: string, needle: string, nth = 0): { line: number; character: number } {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  let seen = 0;
  for (let i = 0; i < lines.length; i++) {
    const c = (lines[i] as string).indexOf(needle);
    if (c >= 0 && seen++ === nth) return { line: i, character: c + 1 };
  }
  throw new Error(`${needle} not in ${file}`);
}

function hoverText(h: { contents: unknown } | null): string {
  assert.ok(h, 'hover result');
  return (h.contents as MarkupContent).value;
}

/** Apply LSP text edits to a text (edits do not overlap). */
function applyEdits(text: string, edits: TextEdit[]): string {
  const lines = text.split('\n');
  const offset = (p: { line: number; character: number }): number => lines.slice(0, p.line).reduce((a, l) => a + l.length + 1, 0) + p.character;
  const sorted = [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  let out = text;
  for (const e of sorted) out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
  return out;
}

describe('kv-project', () => {
  let client: Client;
  const server = path.join(KV, 'kv_server.c');
  const clientC = path.join(KV, 'client.c');
  const clientTs = path.join(KV, 'client.ts');
  before(async () => {
    client = await Client.start(KV);
    await client.open(server);
    await client.open(clientC);
    await client.open(clientTs);
  });
  after(async () => {
    await client.stop();
  });

  test('the project is clean (no diagnostics on correct code)', () => {
    for (const f of [server, clientC, clientTs]) assert.deepEqual(client.diagnostics.get(uriOf(f))?.diagnostics.map((d) => `${d.code} ${d.message}`), [], f);
  });

  test('hover on an endpoint shows number, DC, node, server role and static senders', async () => {
    const h = await client.conn.sendRequest(HoverRequest.type, { textDocument: { uri: uriOf(clientC) }, position: lineCol(clientC, 'KV_SERVER') });
    const text = hoverText(h);
    assert.match(text, /\*\*KV_SERVER\*\* — endpoint 1/);
    assert.match(text, /DC dc0 \(0\) · node node0 \(0\) · server/);
    assert.match(text, /serves KV_GET, KV_PUT/);
    assert.match(text, /static senders: 2 call sites in client\.c, client\.ts/);
  });

  test('hover on a message type shows number, layout, fields, reply and server', async () => {
    const h = await client.conn.sendRequest(HoverRequest.type, { textDocument: { uri: uriOf(server) }, position: lineCol(server, 'case KV_GET') });
    assert.equal(h, null, 'on "case" itself nothing');
    const pos = lineCol(server, 'KV_GET:');
    const text = hoverText(await client.conn.sendRequest(HoverRequest.type, { textDocument: { uri: uriOf(server) }, position: pos }));
    assert.match(text, /\*\*KV_GET\*\* — message type 1, layout m1/);
    assert.match(text, /\| key \| `m1_i1` \|/);
    assert.match(text, /reply: \*\*KV_GET_REPLY\*\*/);
    assert.match(text, /served by \*\*KV_SERVER\*\*/);
  });

  test('go to definition of an endpoint reaches the #define, the TS const and dvs.json', async () => {
    const locs = (await client.conn.sendRequest(DefinitionRequest.type, { textDocument: { uri: uriOf(clientC) }, position: lineCol(clientC, 'KV_SERVER') })) as Location[];
    const files = locs.map((l) => path.basename(new URL(l.uri).pathname)).sort();
    assert.deepEqual(files, ['dvs.json', 'kv.h', 'kv.ts']);
    const json = locs.find((l) => l.uri.endsWith('dvs.json')) as Location;
    const line = fs.readFileSync(path.join(KV, 'dvs.json'), 'utf8').split('\n')[json.range.start.line] as string;
    assert.equal(line.slice(json.range.start.character, json.range.end.character), 'KV_SERVER');
  });

  test('find references of a message type spans C, TypeScript and dvs.json but not comments', async () => {
    const locs = (await client.conn.sendRequest(ReferencesRequest.type, {
      textDocument: { uri: uriOf(server) },
      position: lineCol(server, 'KV_GET:'),
      context: { includeDeclaration: true },
    })) as Location[];
    const byFile = new Map<string, number[]>();
    for (const l of locs) {
      const f = path.basename(new URL(l.uri).pathname);
      byFile.set(f, [...(byFile.get(f) ?? []), l.range.start.line]);
    }
    assert.ok(byFile.has('kv.h') && byFile.has('kv.ts') && byFile.has('dvs.json') && byFile.has('kv_server.c') && byFile.has('client.c'), [...byFile.keys()].join());
    const commentLine = lineCol(clientC, 'in a comment').line;
    assert.ok(!(byFile.get('client.c') ?? []).includes(commentLine), 'no reference inside a comment');
    const withoutDecl = (await client.conn.sendRequest(ReferencesRequest.type, {
      textDocument: { uri: uriOf(server) },
      position: lineCol(server, 'KV_GET:'),
      context: { includeDeclaration: false },
    })) as Location[];
    assert.ok(withoutDecl.length < locs.length);
  });

  test('rename a message type: its declarations, uses in C and TypeScript and its dvs.json names, not comments or longer names', async () => {
    const at = lineCol(server, 'KV_GET:');
    const prep = await client.conn.sendRequest(PrepareRenameRequest.type, { textDocument: { uri: uriOf(server) }, position: at });
    assert.ok(prep && 'placeholder' in prep, JSON.stringify(prep));
    assert.equal(prep.placeholder, 'KV_GET');
    assert.equal(prep.range.end.character - prep.range.start.character, 'KV_GET'.length);
    const edit = await client.conn.sendRequest(RenameRequest.type, { textDocument: { uri: uriOf(server) }, position: at, newName: 'KV_FETCH' });
    const changes = edit?.changes ?? {};
    const renamed = new Map<string, string>();
    for (const [uri, edits] of Object.entries(changes)) {
      const file = new URL(uri).pathname;
      renamed.set(path.basename(file), applyEdits(fs.readFileSync(file, 'utf8'), edits));
    }
    assert.deepEqual([...renamed.keys()].sort(), ['client.c', 'client.ts', 'dvs.json', 'kv.h', 'kv.ts', 'kv_server.c']);
    for (const [f, text] of renamed) {
      const left = text.split('\n').filter((l) => /\bKV_GET\b/.test(l));
      // Only the comment of client.c keeps the old name; KV_GET_REPLY is another symbol.
      assert.deepEqual(left, f === 'client.c' ? ['\t/* KV_GET in a comment is not a reference */'] : [], f);
      assert.ok(text.includes('KV_FETCH'), f);
      assert.equal((text.match(/KV_GET_REPLY/g) ?? []).length, (fs.readFileSync(path.join(KV, f), 'utf8').match(/KV_GET_REPLY/g) ?? []).length, f);
    }
    const cfg = JSON.parse(renamed.get('dvs.json') as string) as { protocol: { types: { name: string }[] } };
    assert.ok(cfg.protocol.types.some((t) => t.name === 'KV_FETCH'));
    assert.match(renamed.get('kv.h') as string, /KV_FETCH = 1/);
  });

  test('rename refuses what is not an endpoint or message type, invalid names and names in use', async () => {
    const refused = async (file: string, at: { line: number; character: number }, newName?: string): Promise<string> => {
      try {
        if (newName === undefined) await client.conn.sendRequest(PrepareRenameRequest.type, { textDocument: { uri: uriOf(file) }, position: at });
        else await client.conn.sendRequest(RenameRequest.type, { textDocument: { uri: uriOf(file) }, position: at, newName });
      } catch (e) {
        assert.ok(e instanceof ResponseError, String(e));
        return e.message;
      }
      assert.fail(`rename at ${JSON.stringify(at)} to ${newName} was not refused`);
    };
    assert.match(await refused(server, lineCol(server, 'mnx_reply')), /Only endpoints and message types/);
    const at = lineCol(server, 'KV_GET:');
    assert.match(await refused(server, at, '2fast'), /not a valid name/);
    assert.match(await refused(server, at, 'switch'), /keyword/);
    assert.match(await refused(server, at, 'KV_PUT'), /KV_PUT already names/);
    assert.ok(client.alive);
  });

  async function complete(file: string, line: number, character: number): Promise<CompletionItem[]> {
    const r = await client.conn.sendRequest(CompletionRequest.type, { textDocument: { uri: uriOf(file) }, position: { line, character } });
    return Array.isArray(r) ? r : (r?.items ?? []);
  }

  test('completion: endpoints, message types and the fields of the message type', async () => {
    const text = fs.readFileSync(clientC, 'utf8');
    const at = lineCol(clientC, 'printf').line;
    // One half-typed line at a time, as a user types it.
    const withLine = async (line: string): Promise<void> => {
      const edited = text.split('\n');
      edited.splice(at, 0, line);
      await client.change(clientC, [{ text: edited.join('\n') }]);
    };
    await withLine('\tmnx_send(');
    const eps = await complete(clientC, at, '\tmnx_send('.length);
    assert.ok(eps.some((i) => i.label === 'KV_SERVER' && /endpoint 1/.test(i.detail ?? '')), 'endpoint names');
    assert.ok(!eps.some((i) => i.label === 'ANY'), 'ANY is not offered for send');
    await withLine('\tm.m_type = ');
    const types = await complete(clientC, at, '\tm.m_type = '.length);
    assert.deepEqual(types.map((i) => i.label).slice(0, 2), ['KV_GET', 'KV_PUT']);
    await withLine('\tm.');
    const fields = await complete(clientC, at, '\tm.'.length);
    const labels = fields.map((i) => i.label);
    assert.ok(labels.includes('m1_i1') && labels.includes('m_type'));
    assert.ok(!labels.includes('m2_i1'), `only fields of the m1 layout (the reply KV_GET_REPLY): ${labels.join()}`);
    assert.match(fields.find((i) => i.label === 'm1_i1')?.detail ?? '', /KV_GET_REPLY\.status \(m1\)/);
    await client.change(clientC, [{ text }]);
  });

  test('completion in TypeScript: Endpoint methods and literal fields', async () => {
    const text = fs.readFileSync(clientTs, 'utf8');
    const lines = text.split('\n');
    const at = lineCol(clientTs, 'console.log').line;
    lines.splice(at, 0, '  ep.', '  await ep.send(KV_SERVER, { type: KV_GET, ');
    await client.change(clientTs, [{ text: lines.join('\n') }]);
    const methods = (await complete(clientTs, at, 5)).map((i) => i.label);
    assert.ok(methods.includes('sendrec') && methods.includes('rcvrqst'));
    const fields = (await complete(clientTs, at + 1, (lines[at + 1] as string).length)).map((i) => i.label);
    assert.ok(fields.includes('m1_i1') && !fields.includes('m4_l1'), fields.join());
    await client.change(clientTs, [{ text }]);
  });

  test('code lens shows static senders over bind and the receiving loop over sendrec', async () => {
    const lenses = await client.conn.sendRequest(CodeLensRequest.type, { textDocument: { uri: uriOf(server) } });
    const titles = (lenses ?? []).map((l) => l.command?.title ?? '');
    assert.ok(titles.some((t) => /^KV_SERVER: 2 static senders \(client\.c, client\.ts\) · receives KV_GET, KV_PUT/.test(t)), titles.join('\n'));
    assert.ok(titles.some((t) => /^server loop of KV_SERVER: handles KV_GET, KV_PUT/.test(t)), titles.join('\n'));
    const cl = await client.conn.sendRequest(CodeLensRequest.type, { textDocument: { uri: uriOf(clientC) } });
    const recvLine = lineCol(server, 'mnx_receive').line + 1;
    assert.ok((cl ?? []).some((l) => (l.command?.title ?? '').startsWith(`→ KV_SERVER (received at kv_server.c:${recvLine})`)), (cl ?? []).map((l) => l.command?.title).join('\n'));
  });

  test('dvs/liveStats figures show up in hover and code lens', async () => {
    await client.conn.sendNotification(LiveStatsNotification, { endpoint: 'KV_SERVER', sent: 5, received: 7, p50Us: 42, state: 'running' });
    const h = hoverText(await client.conn.sendRequest(HoverRequest.type, { textDocument: { uri: uriOf(clientC) }, position: lineCol(clientC, 'KV_SERVER') }));
    assert.match(h, /live: running · sent 5 · received 7 · p50 42 µs/);
    const lenses = await client.conn.sendRequest(CodeLensRequest.type, { textDocument: { uri: uriOf(clientC) } });
    assert.ok((lenses ?? []).some((l) => /p50 42 µs/.test(l.command?.title ?? '')));
  });

  test('a burst of live figures asks the editor to refresh its code lenses once', async () => {
    await new Promise((r) => setTimeout(r, 300));
    const before = client.lensRefreshes;
    for (const [endpoint, sent] of [['KV_SERVER', 6], ['LOG_SERVER', 1], ['TIMER', 2], ['CLIENT', 3], ['STAT_SERVER', 4]] as const) {
      await client.conn.sendNotification(LiveStatsNotification, { endpoint, sent, received: 1, p50Us: 9, state: 'running' });
    }
    await new Promise((r) => setTimeout(r, 500));
    // One refresh per burst (two if the machine stalled the server in the middle of it).
    const refreshes = client.lensRefreshes - before;
    assert.ok(refreshes >= 1 && refreshes <= 2, `${refreshes} refreshes for 5 notifications`);
    const h = hoverText(await client.conn.sendRequest(HoverRequest.type, { textDocument: { uri: uriOf(clientC) }, position: lineCol(clientC, 'KV_SERVER') }));
    assert.match(h, /sent 6 /, 'the last figures are the ones shown');
  });

  test('document and workspace symbols', async () => {
    const syms = (await client.conn.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri: uriOf(server) } })) as DocumentSymbol[];
    const loop = syms.find((s) => s.name === 'server loop (mnx_receive)');
    assert.ok(loop, syms.map((s) => s.name).join());
    assert.deepEqual(loop.children?.map((c) => c.name), ['case KV_GET', 'case KV_PUT']);
    const ws = await client.conn.sendRequest(WorkspaceSymbolRequest.type, { query: 'kv_ser' });
    const names = (ws ?? []).map((s) => `${s.name}@${path.basename(new URL(s.location.uri).pathname)}`);
    assert.ok(names.includes('KV_SERVER@dvs.json') && names.includes('KV_SERVER@kv.h'), names.join());
  });

  test('dvs/communicationGraph returns who sends what to whom, with locations', async () => {
    const g = await client.conn.sendRequest(CommunicationGraphRequest, { uri: uriOf(server) });
    const ids = g.nodes.map((n) => n.id);
    assert.ok(ids.includes('KV_SERVER') && ids.includes('CLIENT') && ids.includes('TS_CLIENT'));
    const edge = (from: string, to: string, kind: string) => g.edges.find((e) => e.from === from && e.to === to && e.kind === kind);
    assert.deepEqual(edge('CLIENT', 'KV_SERVER', 'sendrec')?.types, ['KV_GET']);
    assert.deepEqual(edge('TS_CLIENT', 'KV_SERVER', 'sendrec')?.types, ['KV_PUT']);
    assert.ok(edge('KV_SERVER', 'CLIENT', 'reply'), 'reply edge to the client');
    assert.ok((edge('CLIENT', 'KV_SERVER', 'sendrec')?.locations[0]?.uri ?? '').endsWith('client.c'));
  });
});

describe('quick fixes remove the finding they are for', () => {
  const cases: [string, string, string][] = [
    ['DVS001', 'dvs001-send-to-special', 'client.c'],
    ['DVS001', 'dvs001-send-to-special', 'server.c'],
    ['DVS002', 'dvs002-send-to-self', 'client.ts'],
    ['DVS006', 'dvs006-bind-result-as-boolean', 'client.c'],
    ['DVS007', 'dvs007-ignored-result', 'client.c'],
    ['DVS007', 'dvs007-ignored-result', 'client.ts'],
    ['DVS014', 'dvs014-source-assigned', 'client.c'],
    ['DVS014', 'dvs014-source-assigned', 'client.ts'],
  ];
  for (const [code, fixture, name] of cases) {
    test(`${code} in ${fixture}/${name}`, async () => {
      const dir = path.join(FIXTURES, fixture);
      const file = path.join(dir, name);
      const client = await Client.start(dir);
      try {
        let text = fs.readFileSync(file, 'utf8');
        let diags = await client.open(file);
        const expected = markers(text).filter((m) => m.kind === 'expect' && m.code === code).length;
        let fixed = 0;
        for (;;) {
          const d = diags.find((x: Diagnostic) => x.code === code);
          if (!d) break;
          const actions = await client.conn.sendRequest(CodeActionRequest.type, { textDocument: { uri: uriOf(file) }, range: d.range, context: { diagnostics: [d] } });
          const fix = (actions ?? []).find((a) => 'edit' in a && a.isPreferred) ?? (actions ?? [])[0];
          assert.ok(fix && 'edit' in fix && fix.edit?.changes, `a quick fix for ${code} at line ${d.range.start.line + 1}`);
          assert.equal(fix.kind, 'quickfix');
          text = applyEdits(text, fix.edit.changes[uriOf(file)] ?? []);
          diags = (await client.change(file, [{ text }])) ?? [];
          fixed++;
          assert.ok(fixed <= expected, `fixing ${code} does not converge`);
        }
        assert.equal(fixed, expected);
      } finally {
        await client.stop();
      }
    });
  }
});

describe('settings and dvs.json', () => {
  test('dvs.diagnostics.severity changes or turns off a code', async () => {
    const dir = path.join(FIXTURES, 'dvs001-send-to-special');
    const client = await Client.start(dir, { diagnostics: { severity: { DVS001: 'off', DVS013: 'hint' } } });
    try {
      const diags = await client.open(path.join(dir, 'client.c'));
      assert.ok(!diags.some((d) => d.code === 'DVS001'));
      const d8 = await client.open(path.join(FIXTURES, 'dvs001-send-to-special', 'client.ts'));
      assert.ok(!d8.some((d) => d.code === 'DVS001'));
    } finally {
      await client.stop();
    }
  });

  test('schema errors in dvs.json are reported at their positions', async () => {
    const dir = path.join(FIXTURES, 'dvs-json-schema-errors');
    const file = path.join(dir, 'dvs.json');
    const client = await Client.start(dir);
    try {
      const diags = await client.open(file);
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      const at = (d: Diagnostic): string => (lines[d.range.start.line] as string).slice(d.range.start.character, d.range.end.character);
      const find = (re: RegExp): Diagnostic => {
        const d = diags.find((x) => re.test(x.message));
        assert.ok(d, `${re} in ${diags.map((x) => x.message).join('\n')}`);
        return d;
      };
      assert.equal(at(find(/"isolate" to be one of/)), '"docker"');
      assert.equal(at(find(/slot range/)), '100');
      assert.equal(at(find(/"name" to be a C identifier/)), '"KV-CLIENT"');
      assert.equal(at(find(/"number" to be an integer/)), '"21"');
      assert.equal(at(find(/layout m1/)), '"m2_i1"');
      assert.equal(at(find(/unknown property "extra"/)), '"extra"');
      assert.equal(at(find(/node id declared in "nodes"/)), '5');
      find(/exactly one of "env"/);
      assert.ok(diags.every((d) => d.code === 'DVS-SCHEMA'));
    } finally {
      await client.stop();
    }
  });

  test('dvs.json cross-checks: missing programs and endpoints used in code but not declared', async () => {
    const dir = path.join(FIXTURES, 'dvs-json-cross-check');
    const client = await Client.start(dir);
    try {
      const code = await client.open(path.join(dir, 'client.ts'));
      assert.ok(code.some((d) => d.code === 'DVS003' && /AUDIT \(9\) is not declared/.test(d.message)));
      const diags = await client.open(path.join(dir, 'dvs.json'));
      const programs = diags.filter((d) => d.code === 'DVS-PROGRAM').map((d) => d.message);
      assert.equal(programs.length, 2, programs.join('\n'));
      assert.ok(programs.some((m) => /GHOST/.test(m)) && programs.some((m) => /LEGACY.*declare a "build" step/.test(m)));
      const missing = diags.find((d) => d.code === 'DVS003');
      assert.ok(missing && /AUDIT \(9\) is used in code/.test(missing.message));
      assert.ok(missing.relatedInformation?.[0]?.location.uri.endsWith('client.ts'));
    } finally {
      await client.stop();
    }
  });
});

test('a closed header changed on disk re-resolves the names open files use', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dvs-watch-'));
  try {
    fs.copyFileSync(path.join(KV, 'dvs.json'), path.join(dir, 'dvs.json'));
    fs.writeFileSync(path.join(dir, 'defs.h'), '#define AUDIT 7\n');
    const file = path.join(dir, 'client.c');
    fs.writeFileSync(file, '#include "defs.h"\nint main(void)\n{\n\tmessage m;\n\tif (mnx_bind(0, 20) < 0) return 1;\n\tif (mnx_sendrec(AUDIT, &m) < 0) return 1;\n\treturn 0;\n}\n');
    const client = await Client.start(dir);
    try {
      const before = await client.open(file);
      assert.ok(before.some((d) => d.code === 'DVS003' && /AUDIT \(7\)/.test(d.message)));
      fs.writeFileSync(path.join(dir, 'defs.h'), '#define AUDIT 1\n');
      const next = client.nextDiagnostics(uriOf(file));
      await client.conn.sendNotification(DidChangeWatchedFilesNotification.type, { changes: [{ uri: uriOf(path.join(dir, 'defs.h')), type: FileChangeType.Changed }] });
      assert.ok(!(await next).some((d) => d.code === 'DVS003'));
    } finally {
      await client.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('references and rename in dvs.json touch endpoint and message type names only, not a program of the same name', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dvs-rename-'));
  try {
    const config = {
      cluster: { name: 'KV_SERVER' },
      nodes: [{ id: 0, name: 'node0' }],
      dcs: [{ id: 0, name: 'dc0', nodes: [0], nr_procs: 64, nr_tasks: 8, nr_sysprocs: 16 }],
      endpoints: [{ name: 'KV_SERVER', number: 1, dc: 0, node: 0, server: true, program: { run: 'KV_SERVER' } }],
      protocol: { types: [{ name: 'KV_GET', number: 1, layout: 'm1', server: 'KV_SERVER' }] },
    };
    const cfgText = JSON.stringify(config, null, 2);
    fs.writeFileSync(path.join(dir, 'dvs.json'), cfgText);
    const file = path.join(dir, 'client.c');
    fs.writeFileSync(file, '#define KV_SERVER 1\n#define KV_GET 1\nint main(void)\n{\n\tmessage m;\n\tif (mnx_bind(0, 2) < 0) return 1;\n\tm.m_type = KV_GET;\n\treturn mnx_sendrec(KV_SERVER, &m);\n}\n');
    const client = await Client.start(dir);
    try {
      await client.open(file);
      const at = lineCol(file, 'KV_SERVER, &m');
      const refs = (await client.conn.sendRequest(ReferencesRequest.type, { textDocument: { uri: uriOf(file) }, position: at, context: { includeDeclaration: true } })) as Location[];
      const jsonLines = refs.filter((l) => l.uri.endsWith('dvs.json')).map((l) => (cfgText.split('\n')[l.range.start.line] as string).trim());
      assert.deepEqual(jsonLines, ['"name": "KV_SERVER",', '"server": "KV_SERVER"']);
      const edit = await client.conn.sendRequest(RenameRequest.type, { textDocument: { uri: uriOf(file) }, position: at, newName: 'KV_STORE' });
      const cfgUri = Object.keys(edit?.changes ?? {}).find((u) => u.endsWith('dvs.json')) as string;
      const after = JSON.parse(applyEdits(cfgText, edit?.changes?.[cfgUri] ?? [])) as typeof config;
      assert.equal(after.endpoints[0]?.name, 'KV_STORE');
      assert.equal(after.protocol.types[0]?.server, 'KV_STORE');
      assert.equal(after.endpoints[0]?.program.run, 'KV_SERVER', 'the program file keeps its name');
      assert.equal(after.cluster.name, 'KV_SERVER', 'the cluster keeps its name');
      const code = applyEdits(fs.readFileSync(file, 'utf8'), edit?.changes?.[uriOf(file)] ?? []);
      assert.match(code, /#define KV_STORE 1/);
      assert.match(code, /mnx_sendrec\(KV_STORE, &m\)/);
    } finally {
      await client.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every code has a documentation page with a bad and a fixed example, and diagnostics link to it', () => {
  const docs = path.resolve(__dirname, '..', '..', 'docs', 'diagnostics');
  for (let i = 1; i <= 15; i++) {
    const code = `DVS${String(i).padStart(3, '0')}`;
    const page = fs.readFileSync(path.join(docs, `${code}.md`), 'utf8');
    assert.match(page, new RegExp(`^# ${code}`), code);
    assert.match(page, /## Bad/);
    assert.match(page, /## Fixed/);
  }
  assert.ok(codeFiles(FIXTURES).length > 20);
});
