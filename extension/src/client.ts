/**
 * The language client. The server ships inside the extension (server/dist/src/cli.js with
 * its grammar .wasm files and queries beside it, see scripts/stage.mjs) and runs in a
 * separate Node process over stdio.
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';

export function createClient(context: vscode.ExtensionContext, output: vscode.OutputChannel): LanguageClient | undefined {
  const module = context.asAbsolutePath('server/dist/src/cli.js');
  if (!fs.existsSync(module)) {
    output.appendLine(`The language server is missing (${module}); the extension was packaged without it.`);
    return undefined;
  }
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.stdio, args: [] },
    debug: { module, transport: TransportKind.stdio, args: [], options: { execArgv: ['--nolazy', '--inspect=6009'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'c' },
      { scheme: 'file', language: 'typescript' },
      { scheme: 'file', language: 'typescriptreact' },
      { scheme: 'file', pattern: '**/dvs.json' },
      { scheme: 'file', pattern: '**/*.dvs.json' },
    ],
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher('**/{dvs.json,*.dvs.json,*.c,*.h,*.ts}'),
    },
    outputChannelName: 'DVS Language Server',
  };
  return new LanguageClient('dvs', 'DVS Language Server', serverOptions, clientOptions);
}
