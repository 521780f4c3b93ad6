/**
 * Where things are: node directories and the runtime's built binaries.
 * The rules mirror the C library's (runtime/src/lib/table.c), so a program
 * started by hand finds the same default node as the `dvs` command.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The folder that holds every node directory of this user. */
export function nodesRoot(): string {
  const shm = '/dev/shm';
  let root = os.tmpdir();
  try {
    fs.accessSync(shm, fs.constants.W_OK);
    root = shm;
  } catch {
    // No writable /dev/shm: fall back to the temp folder, as the C side does.
  }
  return path.join(root, `dvs-${process.getuid?.() ?? 0}`);
}

/** The node directory used when neither `--dir` nor DVS_NODE says otherwise. */
export function defaultNodeDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['DVS_NODE'];
  return fromEnv && fromEnv.length > 0 ? fromEnv : path.join(nodesRoot(), 'default');
}

/** The runtime package's root folder (holds build/ with dvsd and libm3ipc). */
export function runtimeRoot(): string {
  // DVS_RUNTIME_ROOT: set by hosts that bundle this code (the VS Code extension), where
  // __dirname is not inside the runtime package. Otherwise dist/cluster/paths.js -> runtime/.
  return process.env['DVS_RUNTIME_ROOT'] ?? path.resolve(__dirname, '..', '..');
}

/** The directory of the native build (CMake's output). */
export function buildDir(): string {
  return process.env['DVS_BUILD_DIR'] ?? path.join(runtimeRoot(), 'build');
}

/** The dvsd binary: $DVSD, else the one built in this package. */
export function dvsdPath(): string {
  const p = process.env['DVSD'] ?? path.join(buildDir(), 'dvsd');
  if (!fs.existsSync(p)) {
    throw new Error(
      `dvsd not found at ${p}: build the runtime first (npm run build in runtime/), or set DVSD`,
    );
  }
  return p;
}
