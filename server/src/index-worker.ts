/**
 * A workspace-indexing thread: parses and extracts closed files off the server's main
 * thread, so start-up indexing uses the other cores and never stalls the editor. It has
 * its own grammars (WebAssembly instances are per thread) and returns plain facts, which
 * is all the index keeps of a closed file (no tree).
 *
 * Messages in: `{ id, uri, text }`; out: `{ ready: true }` once, then `{ id, state }` or
 * `{ id, error }`.
 */
import { parentPort } from 'node:worker_threads';
import { Analyzer } from './analyzer';
import { langOfPath, loadGrammars } from './parser';

export interface IndexRequest {
  id: number;
  uri: string;
  text: string;
}

const port = parentPort;
if (!port) throw new Error('index-worker.js runs as a worker thread of the language server');
const ready = loadGrammars().then((g) => new Analyzer(g));
// Tell the pool when this thread can take work (until then the main thread indexes).
void ready.then(
  () => port.postMessage({ ready: true }),
  () => undefined,
);
// Requests that arrive while the grammars load wait on `ready`, in order.
port.on('message', (m: IndexRequest) => {
  void ready.then(
    (analyzer) => {
      try {
        const lang = langOfPath(m.uri);
        if (!lang) throw new Error(`not a C or TypeScript file: ${m.uri}`);
        const state = analyzer.analyze({ uri: m.uri, lang, text: m.text, keepTree: false });
        analyzer.remove(m.uri);
        port.postMessage({ id: m.id, state });
      } catch (e) {
        port.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) });
      }
    },
    (e: unknown) => port.postMessage({ id: m.id, error: `grammars: ${e instanceof Error ? e.message : String(e)}` }),
  );
});
