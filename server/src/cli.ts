#!/usr/bin/env node
/**
 * `dvs-language-server --stdio | --version | --help`. Only argv handling lives here;
 * stdout is the LSP channel, so nothing else may print to it once the server runs.
 */
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
