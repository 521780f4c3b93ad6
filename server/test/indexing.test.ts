/**
 * Start-up indexing on threads (index-worker.ts) must give the same index as indexing on
 * the main thread: a generated workspace above the threshold is indexed both ways, and
 * the cross-file findings and symbols of an opened file must agree.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkspaceSymbolRequest, type SymbolInformation, type WorkspaceSymbol } from 'vscode-languageserver-protocol/node';
import { INDEX_THREADS_FROM } from '../src/config';
import { Client, twoNodeConfig } from './harness';

const DVS_JSON = twoNodeConfig(
  'idx',
  [
    { name: 'KV_SERVER', number: 1, dc: 0, node: 0, server: true },
    { name: 'CLIENT', number: 20, dc: 0, node: 1 },
  ],
  [
    { name: 'KV_GET', number: 1, layout: 'm1', reply: 'KV_OK' },
    { name: 'KV_OK', number: 100, layout: 'm1' },
    { name: 'KV_DEL', number: 3, layout: 'm1' },
  ],
);

let root: string;
const FILES = INDEX_THREADS_FROM + 8;

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), `dvs-index-${process.pid}-`));
  fs.writeFileSync(path.join(root, 'dvs.json'), DVS_JSON);
  // The server loop lives in a closed file; the constants in another closed header.
  fs.writeFileSync(path.join(root, 'proto.h'), '#define KV_SERVER 1\n#define KV_GET 1\n#define KV_OK 100\n#define KV_DEL 3\n#define DC0 0\n');
  fs.writeFileSync(
    path.join(root, 'server.c'),
    '#include "proto.h"\nint main(void)\n{\n\tmessage m;\n\tif (mnx_bind(DC0, KV_SERVER) < 0) return 1;\n\tfor (;;) {\n\t\tif (mnx_receive(ANY, &m) < 0) continue;\n\t\tswitch (m.m_type) {\n\t\tcase KV_GET: m.m_type = KV_OK; break;\n\t\tdefault: m.m_type = -1; break;\n\t\t}\n\t\tif (mnx_reply(m.m_source, &m) < 0) return 2;\n\t}\n}\n',
  );
  for (let i = 0; i < FILES; i++) {
    fs.writeFileSync(path.join(root, `c${i}.c`), `#include "proto.h"\nint call_${i}(void)\n{\n\tmessage m;\n\tm.m_type = KV_GET;\n\treturn mnx_sendrec(KV_SERVER, &m);\n}\n`);
  }
  fs.writeFileSync(path.join(root, 'open.c'), '#include "proto.h"\nint del(void)\n{\n\tmessage m;\n\tif (mnx_bind(DC0, 20) < 0) return 1;\n\tm.m_type = KV_DEL;\n\treturn mnx_sendrec(KV_SERVER, &m);\n}\n');
});

after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

async function indexWith(workers: number): Promise<{ files: number; symbols: string[]; diags: string[]; logs: string; progress: Client['progress'] }> {
  const client = await Client.start(root, { index: { workers } }, { progress: true });
  try {
    const indexed = await client.indexed;
    // Everything sent before dvs/indexed has arrived by now.
    const progress = [...client.progress];
    const syms = (await client.conn.sendRequest(WorkspaceSymbolRequest.type, { query: '' })) as (SymbolInformation | WorkspaceSymbol)[];
    const diags = await client.open(path.join(root, 'open.c'));
    return {
      files: indexed.files,
      symbols: syms.map((s) => `${s.name}@${path.basename(s.location.uri)}`).sort(),
      diags: diags.map((d) => `${d.range.start.line}:${String(d.code)}:${d.message}`).sort(),
      logs: client.logs.join(''),
      progress,
    };
  } finally {
    await client.stop();
  }
}

test('indexing on threads and on the main thread build the same index', async () => {
  const threaded = await indexWith(2);
  const main = await indexWith(0);
  assert.match(threaded.logs, /on 2 threads/);
  assert.doesNotMatch(main.logs, /threads/);
  assert.equal(threaded.files, FILES + 4);
  assert.equal(threaded.files, main.files);
  assert.deepEqual(threaded.symbols, main.symbols);
  assert.ok(threaded.symbols.some((s) => s.startsWith('KV_DEL@proto.h')), threaded.symbols.join(', '));
  // DVS009 needs the server loop of server.c, which only the index knows.
  assert.ok(threaded.diags.some((d) => d.includes('DVS009')), threaded.diags.join('\n'));
  assert.deepEqual(threaded.diags, main.diags);
  // The editor is shown the progress of indexing, begun and ended before dvs/indexed.
  for (const { progress, files } of [threaded, main]) {
    const kinds = progress.map((p) => p.value.kind);
    assert.equal(kinds[0], 'begin', JSON.stringify(progress));
    assert.equal(kinds[kinds.length - 1], 'end', JSON.stringify(progress));
    assert.ok(kinds.slice(1, -1).every((k) => k === 'report'), JSON.stringify(progress));
    assert.equal(new Set(progress.map((p) => p.token)).size, 1);
    assert.match(progress[0]?.value.title ?? '', /indexing/);
    assert.equal(progress[0]?.value.message, `0 of ${files} files`);
    const percentages = progress.filter((p) => p.value.kind === 'report').map((p) => p.value.percentage ?? -1);
    assert.ok(percentages.every((x, i) => x >= 0 && x <= 100 && (i === 0 || x >= (percentages[i - 1] as number))), JSON.stringify(percentages));
  }
});

test('without the client capability there is no indexing progress', async () => {
  const client = await Client.start(root, { index: { workers: 0 } });
  try {
    await client.indexed;
    assert.deepEqual(client.progress, []);
  } finally {
    await client.stop();
  }
});

test('dvs.index.workers rejects what is not a small integer', async () => {
  const client = await Client.start(root, { index: { workers: 'many' } });
  try {
    assert.match(client.logs.join(''), /dvs\.index\.workers: expected an integer from 0 to 16/);
  } finally {
    await client.stop();
  }
});
