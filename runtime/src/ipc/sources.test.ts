/**
 * The addon compiles libm3ipc's C sources itself (addon/binding.gyp): every
 * file of runtime/src/lib must be listed there, or the addon fails to load
 * with an undefined symbol the day a new file is added.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

test('binding.gyp compiles every libm3ipc source', () => {
  const root = path.join(__dirname, '..', '..');
  const gyp = fs.readFileSync(path.join(root, 'addon', 'binding.gyp'), 'utf8');
  const listed = new Set([...gyp.matchAll(/"\.\.\/src\/lib\/([\w-]+\.c)"/g)].map((m) => m[1]));
  const sources = fs.readdirSync(path.join(root, 'src', 'lib')).filter((f) => f.endsWith('.c'));
  assert.deepEqual([...listed].sort(), sources.sort());
});
