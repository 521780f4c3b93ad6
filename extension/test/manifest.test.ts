import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

import { COMMANDS, SETTINGS } from '../src/model/commandIds';

// out/test/manifest.test.js → extension/
const root = path.resolve(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const contributes = manifest.contributes;

test('every contributed command is registered, and every registered command is contributed', () => {
  const declared = contributes.commands.map((c: { command: string }) => c.command).sort();
  assert.deepEqual(declared, [...COMMANDS].sort());
  // main.ts registers the whole table (its type makes a missing handler a compile error).
  const main = fs.readFileSync(path.join(root, 'src', 'main.ts'), 'utf8');
  for (const id of COMMANDS) assert.ok(main.includes(`'${id}'`), `${id} has a handler in main.ts`);
});

test('every command has a title and the DVS category', () => {
  for (const c of contributes.commands) {
    assert.ok(c.title && c.title.length > 0, `${c.command} has a title`);
    assert.equal(c.category, 'DVS', `${c.command} is in the DVS category`);
  }
  const titles = contributes.commands.map((c: { title: string }) => `DVS: ${c.title}`);
  for (const t of ['DVS: Start Cluster', 'DVS: Stop Cluster', 'DVS: Show Message Trace', 'DVS: Export Trace', 'DVS: Create dvs.json']) {
    assert.ok(titles.includes(t), t);
  }
});

test('settings are prefixed dvs. and match the table', () => {
  const keys = Object.keys(contributes.configuration.properties).sort();
  for (const k of keys) assert.match(k, /^dvs\./);
  assert.deepEqual(keys, [...SETTINGS].sort());
});

test('menus and welcome content only name contributed commands', () => {
  const ids = new Set(COMMANDS);
  const menuIds = Object.values(contributes.menus as Record<string, Array<{ command: string }>>).flat().map((m) => m.command);
  for (const id of menuIds) assert.ok(ids.has(id as (typeof COMMANDS)[number]), id);
  for (const w of contributes.viewsWelcome) {
    for (const m of w.contents.matchAll(/command:([\w.]+)/g)) assert.ok(ids.has(m[1]), m[1]);
  }
});

test('the debug type, snippet, walkthrough and JSON validation are declared', () => {
  const dbg = contributes.debuggers.find((d: { type: string }) => d.type === 'dvs');
  assert.ok(dbg);
  assert.equal(dbg.configurationSnippets[0].body.type, 'dvs');
  assert.ok(contributes.walkthroughs[0].steps.length >= 3);
  for (const s of contributes.walkthroughs[0].steps) assert.ok(fs.existsSync(path.join(root, s.media.markdown)), s.media.markdown);
  assert.equal(contributes.jsonValidation[0].url, './schemas/dvs.schema.json');
  assert.ok(manifest.activationEvents.includes('onDebugResolve:dvs'));
});

test('every dependency is pinned to an exact version', () => {
  for (const deps of [manifest.dependencies, manifest.devDependencies]) {
    for (const [name, v] of Object.entries(deps as Record<string, string>)) assert.match(v, /^\d+\.\d+\.\d+$/, `${name}@${v}`);
  }
});
