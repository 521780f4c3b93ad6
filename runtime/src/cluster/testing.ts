/**
 * Node directories for the runtime's TypeScript tests: one fresh directory
 * per test node under the user's nodes root, removed when the test file ends
 * (the daemon removes its own files at shutdown, but not the log its launcher
 * opened). DVS_KEEP_TEST_NODES=1 keeps them, with their dvsd.log, for a look
 * after a failure. Not part of the public API.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after } from 'node:test';

import { nodesRoot } from './paths';

const made = new Set<string>();

// Registered when a test file imports this module (top level: the file's root
// test); a hook registered from inside a running test would belong to that test.
after(() => {
  if (process.env['DVS_KEEP_TEST_NODES'] === '1') return;
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh (emptied) node directory `<prefix>-<name>-<pid>`, removed after the test file. */
export function freshNodeDir(prefix: string, name: string): string {
  const dir = path.join(nodesRoot(), `${prefix}-${name}-${process.pid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  made.add(dir);
  return dir;
}
