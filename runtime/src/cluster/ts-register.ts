/**
 * A tiny require hook for TypeScript endpoint programs:
 *   node -r <runtime>/dist/cluster/ts-register.js entry.ts
 * Each .ts file is transpiled on load with typescript's transpileModule
 * (no type checking: run `tsc --noEmit` for that), to CommonJS with inline
 * source maps so stack traces and debuggers point at the .ts lines.
 */
import * as fs from 'node:fs';
import Module = require('node:module');

import type * as TS from 'typescript';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ts = require('typescript') as typeof TS;

type Loader = (module: Module & { _compile(code: string, file: string): void }, filename: string) => void;
const extensions = (Module as unknown as { _extensions: Record<string, Loader> })._extensions;

extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const out = ts.transpileModule(source, {
    fileName: filename,
    reportDiagnostics: false,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      inlineSourceMap: true,
      inlineSources: true,
    },
  });
  module._compile(out.outputText, filename);
};
