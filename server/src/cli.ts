#!/usr/bin/env node
/**
 * `dvs-language-server --stdio | --version | --help`. Only argv handling lives here;
 * stdout is the LSP channel, so nothing else may print to it once the server runs.
 */
import * as v8 from 'node:v8';
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { GrammarLoadError } from './parser';
import { SERVER_NAME, serverVersion, startServer } from './server';

const HELP = `Usage: ${SERVER_NAME} [--stdio | --version | --help]

Language server for DVS IPC programs (C and TypeScript) and dvs.json.
  --stdio     speak LSP over stdin/stdout (what editors use)
  --version   print the version
  --help      print this help
`;

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write(`${serverVersion()}\n`);
    return 0;
  }
  if (!argv.includes('--stdio')) {
    process.stderr.write(`${SERVER_NAME}: expected --stdio\n\n${HELP}`);
    return 2;
  }
  // A write to a closed pipe (editor gone) must end the process quietly, not crash it.
  process.stdout.on('error', () => process.exit(0));
  compileWasmEagerly();
  const connection = createConnection(ProposedFeatures.all, process.stdin, process.stdout);
  try {
    await startServer(connection);
  } catch (e) {
    const msg = e instanceof GrammarLoadError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
    process.stderr.write(`${SERVER_NAME}: cannot start: ${msg}\n`);
    return 1;
  }
  return -1;
}

/**
 * Have V8 compile tree-sitter and the grammars (WebAssembly) with its optimizing compiler
 * when they are loaded, instead of its baseline compiler first and the optimizing one
 * once functions are hot. The default makes the first parses of a session two to three
 * times slower (a 10,000-line C file: ~200 ms instead of ~60 ms), and those are the ones
 * an editor waits for: start-up indexing and the first files opened. The price is about
 * 0.3 s of compilation at start-up, before `initialize` is answered. Process-wide (the
 * indexing threads too), so it is set here, where the process starts, and not when the
 * server is imported into another program. DVS_WASM_EAGER=0 keeps V8's default (A/B runs).
 */
export function compileWasmEagerly(): void {
  if (process.env['DVS_WASM_EAGER'] === '0') return;
  v8.setFlagsFromString('--no-liftoff');
  v8.setFlagsFromString('--no-wasm-lazy-compilation');
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (e: unknown) => {
      process.stderr.write(`${SERVER_NAME}: ${String(e)}\n`);
      process.exit(1);
    },
  );
}
