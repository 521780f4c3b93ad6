/**
 * A closed document goes back to the index with the file's content on disk: when the
 * editor saved what it showed, the server keeps the facts it has (no parse on close);
 * when the buffer was closed without saving, the disk content wins. Either way the other
 * files' cross-file findings (here DVS009: a type the server loop never handles) must
 * follow what is on disk.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, twoNodeConfig } from './harness';

const CONFIG = twoNodeConfig(
  'close',
  [
    { name: 'KV_SERVER', number: 1, dc: 0, node: 0, server: true },
    { name: 'CLIENT', number: 20, dc: 0, node: 1 },
  ],
  [
    { name: 'KV_GET', number: 1, layout: 'm1', reply: 'KV_OK', server: 'KV_SERVER' },
    { name: 'KV_DEL', number: 3, layout: 'm1', reply: 'KV_OK' },
    { name: 'KV_OK', number: 100, layout: 'm1' },
  ],
);

const HEADER = '#define DC0 0\n#define KV_SERVER 1\n#define KV_GET 1\n#define KV_DEL 3\n#define KV_OK 100\n';

/** A server loop handling KV_GET, and KV_DEL too when `withDel`. */
function server(withDel: boolean): string {
  const del = withDel ? '\t\tcase KV_DEL: m.m_type = KV_OK; break;\n' : '';
  return `${HEADER}int main(void)\n{\n\tmessage m;\n\tif (mnx_bind(DC0, KV_SERVER) < 0) return 1;\n\tfor (;;) {\n\t\tif (mnx_receive(ANY, &m) < 0) continue;\n\t\tswitch (m.m_type) {\n\t\tcase KV_GET: m.m_type = KV_OK; break;\n${del}\t\tdefault: m.m_type = -1; break;\n\t\t}\n\t\tif (mnx_reply(m.m_source, &m) < 0) return 2;\n\t}\n}\n`;
}

const CLIENT = `${HEADER}int del(int key)\n{\n\tmessage m;\n\tif (mnx_bind(DC0, 20) < 0) return -1;\n\tm.m_type = KV_DEL;\n\tm.m1_i1 = key;\n\treturn mnx_sendrec(KV_SERVER, &m);\n}\n`;

let root: string;
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), `dvs-close-${process.pid}-`));
  fs.writeFileSync(path.join(root, 'dvs.json'), CONFIG);
  fs.writeFileSync(path.join(root, 'server.c'), server(false));
  fs.writeFileSync(path.join(root, 'client.c'), CLIENT);
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

test('a closed document is indexed with what is on disk, saved or not', async () => {
  const client = await Client.start(root);
  try {
    const serverFile = path.join(root, 'server.c');
    const clientFile = path.join(root, 'client.c');
    const unhandled = async (): Promise<number> => {
      const d = await client.open(clientFile);
      await client.close(clientFile);
      return d.filter((x) => x.code === 'DVS009').length;
    };
    assert.equal(await unhandled(), 1, 'KV_DEL is not handled by the server loop on disk');

    // Edited to handle KV_DEL, saved, closed: the index keeps the edited server loop.
    let text = server(false);
    await client.open(serverFile, text);
    const at = text.indexOf('\t\tdefault:');
    const insert = '\t\tcase KV_DEL: m.m_type = KV_OK; break;\n';
    const before = text.slice(0, at);
    const line = before.split('\n').length - 1;
    await client.change(serverFile, [{ range: { start: { line, character: 0 }, end: { line, character: 0 } }, text: insert }]);
    text = before + insert + text.slice(at);
    assert.equal(text, server(true));
    fs.writeFileSync(serverFile, text);
    await client.close(serverFile);
    assert.equal(await unhandled(), 0, 'the saved server loop handles KV_DEL');

    // Edited back, closed without saving: the disk (which handles KV_DEL) wins.
    await client.open(serverFile, text);
    await client.change(serverFile, [{ range: { start: { line, character: 0 }, end: { line: line + 1, character: 0 } }, text: '' }]);
    await client.close(serverFile);
    assert.equal(await unhandled(), 0, 'the unsaved removal of the case is not indexed');

    // The file changed on disk while it was open, and the buffer was closed unsaved.
    await client.open(serverFile, text);
    fs.writeFileSync(serverFile, server(false));
    await client.close(serverFile);
    assert.equal(await unhandled(), 1, 'the disk lost the case: KV_DEL is unhandled again');
    assert.ok(!client.logs.some((l) => /failed:/.test(l)), client.logs.join(''));
  } finally {
    await client.stop();
  }
});
