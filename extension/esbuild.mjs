// Bundles the extension (Node, `vscode` external), the language server (Node; the
// tree-sitter runtime stays a file beside it, see scripts/stage.mjs) and the trace page
// (browser). `--watch` rebuilds on change; `--production` minifies.
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
// mainFields: jsonc-parser's UMD main cannot be bundled; its ESM build can.
const common = { bundle: true, mainFields: ['module', 'main'], sourcemap: !production, minify: production, logLevel: 'warning' };

const builds = [
  {
    ...common,
    entryPoints: ['src/main.ts'],
    outfile: 'dist/extension.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
  },
  {
    ...common,
    entryPoints: ['../server/src/cli.ts'],
    outfile: 'server/dist/src/cli.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['web-tree-sitter'],
  },
  {
    // The language server's start-up indexing threads (server/src/index-pool.ts loads
    // index-worker.js from beside cli.js; without it the server indexes on its main thread).
    ...common,
    entryPoints: ['../server/src/index-worker.ts'],
    outfile: 'server/dist/src/index-worker.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['web-tree-sitter'],
  },
  {
    ...common,
    entryPoints: ['src/webview/main.ts'],
    outfile: 'media/trace.js',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
  },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
