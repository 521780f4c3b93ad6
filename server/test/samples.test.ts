/**
 * The repository's own samples, opened in the real server over stdio with the samples'
 * dvs.json files: every C and TypeScript source must come out clean. A finding here is a
 * false positive (or a bug in a sample); none is planted on purpose, so any marker-less
 * finding fails. Deliberate findings would carry an `expect:` marker like the fixtures.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, markers } from './harness';

const SAMPLES = path.resolve(__dirname, '..', '..', '..', 'samples');

/** Sources of the samples; build output (dist/, node_modules/) and .d.ts files are not sources. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(full));
    else if (/\.(c|h|ts)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(full);
  }
  return out.sort();
}

function configs(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...configs(full));
    else if (e.name === 'dvs.json') out.push(full);
  }
  return out.sort();
}

describe('samples/', () => {
  let client: Client;
  before(async () => {
    client = await Client.start(SAMPLES);
  });
  after(async () => {
    await client.stop();
  });

  test('the samples are all there (C and TypeScript, with their dvs.json)', () => {
    const files = sources(SAMPLES).map((f) => path.relative(SAMPLES, f));
    for (const f of ['c/kv/kv_server.c', 'c/kv/kv_logger.c', 'c/kv/kv_client.c', 'c/events/ticker.c', 'c/events/watcher.c', 'c/echo/echo_client.c', 'ts/kv-client.ts', 'ts/echo-server.ts']) {
      assert.ok(files.includes(f), `${f} missing from ${files.join(', ')}`);
    }
    assert.ok(configs(SAMPLES).length >= 3);
  });

  for (const file of sources(SAMPLES)) {
    const rel = path.relative(SAMPLES, file);
    test(`${rel}: no findings but the planted ones`, async () => {
      const text = fs.readFileSync(file, 'utf8');
      const planted = markers(text).filter((m) => m.kind === 'expect');
      const diags = await client.open(file, text);
      const unplanted = diags.filter((d) => !planted.some((m) => m.code === d.code && m.line === d.range.start.line));
      assert.deepEqual(unplanted.map((d) => `${rel}:${d.range.start.line + 1}: ${String(d.code)} ${d.message}`), []);
      for (const m of planted) assert.ok(diags.some((d) => d.code === m.code && d.range.start.line === m.line), `${rel}:${m.line + 1}: planted ${m.code} not reported`);
    });
  }

  for (const file of configs(SAMPLES)) {
    const rel = path.relative(SAMPLES, file);
    test(`${rel}: valid, and every name in the code resolves against it`, async () => {
      const diags = await client.open(file);
      assert.deepEqual(diags.map((d) => `${rel}:${d.range.start.line + 1}: ${String(d.code)} ${d.message}`), []);
    });
  }

  test('the samples exercise the analyses they must not trip: a notification loop, failed receives, vcopy addresses', () => {
    const logger = fs.readFileSync(path.join(SAMPLES, 'c/kv/kv_logger.c'), 'utf8');
    assert.match(logger, /IS_NOTIFY\(m\.m_type\)/);
    assert.match(logger, /rc = mnx_receive\(ANY, &m\);\s*\n\s*if \(rc < 0\)/);
    const kv = JSON.parse(fs.readFileSync(path.join(SAMPLES, 'c/kv/dvs.json'), 'utf8')) as { protocol: { types: { name: string; fields?: Record<string, unknown> }[] } };
    assert.deepEqual(kv.protocol.types.find((t) => t.name === 'KV_GET')?.fields?.['buffer'], { field: 'm1_p1', vaddr: true });
  });
});
