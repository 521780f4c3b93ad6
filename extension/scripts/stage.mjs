// Copies what the .vsix needs beside the bundles, so the package is self-contained:
//  - server/: the language server's package.json, docs and the files it resolves at run
//    time (web-tree-sitter, the C/TypeScript grammar .wasm, @dvs/grammar's queries);
//  - schemas/dvs.schema.json for `jsonValidation`;
//  - runtime/: dvsd, libm3ipc.so, m3ipc.h and a relocatable m3ipc.pc (the controller finds
//    dvsd through DVSD / DVS_BUILD_DIR, which the extension sets to runtime/build).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const ext = path.resolve(import.meta.dirname, '..');
const repo = path.resolve(ext, '..');
const require = createRequire(path.join(repo, 'server', 'package.json'));

function pkgDir(name) {
  // Some packages hide package.json behind `exports`: walk up from the main entry.
  let dir = path.dirname(require.resolve(name));
  while (!fs.existsSync(path.join(dir, 'package.json')) || JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name !== name) {
    if (dir === path.dirname(dir)) throw new Error(`stage: cannot locate ${name}`);
    dir = path.dirname(dir);
  }
  return dir;
}
function copy(from, to) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.cpSync(from, to, { recursive: true, dereference: true });
}
function copyPkg(name, files) {
  const src = pkgDir(name);
  const dst = path.join(ext, 'server', 'node_modules', name);
  for (const f of ['package.json', ...files]) {
    const from = path.join(src, f);
    if (!fs.existsSync(from)) throw new Error(`stage: ${name} has no ${f}`);
    copy(from, path.join(dst, f));
  }
}

fs.rmSync(path.join(ext, 'server', 'node_modules'), { recursive: true, force: true });
copy(path.join(repo, 'server', 'package.json'), path.join(ext, 'server', 'package.json'));
// server/src/features/diagnostics.ts links each code to docs/diagnostics three folders up
// from its own file; in the bundle that is the extension's root.
copy(path.join(repo, 'server', 'docs'), path.join(ext, 'docs'));
const wts = pkgDir('web-tree-sitter');
copyPkg('web-tree-sitter', fs.readdirSync(wts).filter((f) => /\.(js|cjs|mjs|wasm)$/.test(f) || f === 'LICENSE'));
copyPkg('tree-sitter-c', ['tree-sitter-c.wasm']);
copyPkg('tree-sitter-typescript', ['tree-sitter-typescript.wasm', 'tree-sitter-tsx.wasm']);
copyPkg('@dvs/grammar', ['queries', 'dvs.schema.json']);
copy(path.join(repo, 'grammar', 'dvs.schema.json'), path.join(ext, 'schemas', 'dvs.schema.json'));

const build = path.join(repo, 'runtime', 'build');
const out = path.join(ext, 'runtime');
fs.rmSync(out, { recursive: true, force: true });
if (!fs.existsSync(path.join(build, 'dvsd'))) {
  console.warn('stage: runtime/build/dvsd is missing (build the runtime first); the package will need DVSD to start clusters');
} else {
  copy(path.join(build, 'dvsd'), path.join(out, 'build', 'dvsd'));
  fs.chmodSync(path.join(out, 'build', 'dvsd'), 0o755);
  const libs = fs.readdirSync(build).filter((f) => /^libm3ipc\.so(\.\d+)?$/.test(f));
  for (const f of libs) copy(path.join(build, f), path.join(out, 'build', f));
  copy(path.join(repo, 'runtime', 'include', 'm3ipc.h'), path.join(out, 'include', 'm3ipc.h'));
  const pc = fs
    .readFileSync(path.join(repo, 'runtime', 'm3ipc.pc.in'), 'utf8')
    .replace(/^prefix=.*$/m, 'prefix=${pcfiledir}/..')
    .replace(/^includedir=.*$/m, 'includedir=${prefix}/../include');
  fs.mkdirSync(path.join(out, 'build', 'pkgconfig'), { recursive: true });
  fs.writeFileSync(path.join(out, 'build', 'pkgconfig', 'm3ipc.pc'), pc);
}
// TypeScript endpoints run under the runtime's require hook (it needs `typescript`): bundle it.
const esbuild = await import('esbuild');
await esbuild.build({
  entryPoints: [path.join(repo, 'runtime', 'src', 'cluster', 'ts-register.ts')],
  outfile: path.join(out, 'dist', 'cluster', 'ts-register.js'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  logLevel: 'warning',
});
console.log('stage: server, grammar and runtime copied into extension/');
