/**
 * `npm run bench:lsp`: the language-server figures of SPEC §8, measured through the
 * real server over stdio (what an editor sees), on generated code:
 *
 *   1. a 10,000-line C file: time from didOpen to its first diagnostics;
 *   2. one-character edits in it: time from didChange to new diagnostics (p50/p95 of 100);
 *   3. 500 generated files: time to index the workspace, and the server's memory after.
 *
 * A command, not a test: it prints a table and writes server/BENCHMARKS.md. Absolute
 * times on shared machines are noise; compare runs on the same machine.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, twoNodeConfig } from '../test/harness';
import { compileWasmEagerly } from '../src/cli';
import { loadGrammars } from '../src/parser';

const TARGETS = { openMs: 100, editMs: 20, indexMs: 5000 };
const EDITS = Number(process.env.DVS_BENCH_EDITS ?? 100);
const FILES = Number(process.env.DVS_BENCH_FILES ?? 500);

const DVS_JSON = twoNodeConfig(
  'bench',
  [
    { name: 'KV_SERVER', number: 1, dc: 0, node: 0, server: true },
    { name: 'LOG_SERVER', number: 2, dc: 0, node: 0, server: true },
    { name: 'CLIENT', number: 20, dc: 0, node: 1 },
  ],
  [
    { name: 'KV_GET', number: 1, layout: 'm1', reply: 'KV_GET_REPLY', server: 'KV_SERVER' },
    { name: 'KV_PUT', number: 2, layout: 'm1', reply: 'KV_PUT_REPLY', server: 'KV_SERVER' },
    { name: 'KV_GET_REPLY', number: 101, layout: 'm1' },
    { name: 'KV_PUT_REPLY', number: 102, layout: 'm1' },
    { name: 'LOG_WRITE', number: 10, layout: 'm2', server: 'LOG_SERVER' },
  ],
  2,
);

const HEADER = '#include <m3ipc.h>\n#define DC0 0\n#define KV_SERVER 1\n#define LOG_SERVER 2\n#define CLIENT 20\nenum { KV_GET = 1, KV_PUT, KV_GET_REPLY = 101, KV_PUT_REPLY, LOG_WRITE = 10 };\n\n';

/** A request handler of the KV server: it logs through LOG_SERVER (another server). */
function clientFn(i: number): string {
  return `static int handler_${i}(message *mp)
{
\tint r;
\tmessage log;
\tlog.m_type = LOG_WRITE;
\tlog.m2_i1 = ${i};
\tr = mnx_sendrec(LOG_SERVER, &log);
\tif (r < 0) return r;
\tif (mp->m1_i2 > ${i % 97}) {
\t\tmp->m_type = KV_GET_REPLY;
\t\tmp->m1_i1 = log.m2_i1;
\t\tif (mnx_send(LOG_SERVER, &log) < 0) return -1;
\t}
\treturn mp->m1_i2;
}

`;
}

function serverFn(i: number): string {
  return `int server_${i}(void)
{
\tmessage m;
\tif (mnx_bind(DC0, KV_SERVER) < 0) return 1;
\tfor (;;) {
\t\tif (mnx_receive(ANY, &m) < 0) continue;
\t\tswitch (m.m_type) {
\t\tcase KV_GET: m.m_type = KV_GET_REPLY; m.m1_i1 = ${i}; break;
\t\tcase KV_PUT: m.m_type = KV_PUT_REPLY; break;
\t\tdefault: break;
\t\t}
\t\tif (mnx_reply(m.m_source, &m) < 0) return 2;
\t}
}

`;
}

/** A C file of about `lines` lines: client functions with a server loop every tenth. */
function cFile(lines: number): string {
  let out = HEADER;
  let n = 0;
  while (out.split('\n').length < lines) out += n % 10 === 9 ? serverFn(n++) : clientFn(n++);
  return out;
}

function tsFile(i: number): string {
  let out = `import { bind, ANY } from '@dvs/runtime';\nconst KV_SERVER = 1;\nconst KV_GET = 1;\n\n`;
  for (let k = 0; k < 12; k++) {
    out += `export async function call_${i}_${k}(): Promise<number> {\n  const ep = await bind(0, 20);\n  const r = await ep.sendrec(KV_SERVER, { type: KV_GET, m1_i1: ${k} });\n  await ep.unbind();\n  return r.m1_i2;\n}\n\n`;
  }
  return out;
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

function rssMb(pid: number | undefined): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return Math.round(kb / 1024);
  } catch {
    return undefined;
  }
}

const ms = (v: number): string => `${v.toFixed(1)} ms`;

/**
 * CPU time (user + system) the server process has used, in ms, from /proc (Linux;
 * 10 ms resolution). On a shared machine wall-clock times mostly measure the other
 * tenants; CPU time says what the server itself costs.
 */
function cpuMs(pid: number | undefined): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/**
 * What the tools the server must use cost by themselves on this machine: web-tree-sitter's
 * parse of a file and the IPC query (grammar/queries/c-ipc.scm) over its tree, in this
 * process, with the server's V8 settings (cli.ts), warm: the fastest of `runs`. The
 * analysis of a file the server has not seen needs both before any of its own code runs.
 */
async function toolFloor(text: string, runs = 10): Promise<{ parse: number; query: number }> {
  compileWasmEagerly();
  const g = await loadGrammars();
  let parse = Infinity;
  let query = Infinity;
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    const tree = g.parsers.c.parse(text);
    parse = Math.min(parse, performance.now() - t);
    if (!tree) throw new Error('tree-sitter could not parse the generated file');
    t = performance.now();
    g.queries.c.matches(tree.rootNode);
    query = Math.min(query, performance.now() - t);
    tree.delete();
  }
  return { parse, query };
}

async function main(): Promise<void> {
  const loadAtStart = os.loadavg().map((l) => l.toFixed(1)).join(' / ');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `dvs-bench-${process.pid}-`));
  const rows: [string, string, string, string][] = [];
  try {
    // 1 + 2: one big file, in a project of its own. The file indexed at start-up is opened
    // first (its facts are reused; only the parse is redone); then a copy written after
    // start-up, which the server analyses from scratch.
    const big = path.join(root, 'big');
    fs.mkdirSync(big);
    fs.writeFileSync(path.join(big, 'dvs.json'), DVS_JSON);
    const text = cFile(10000);
    fs.writeFileSync(path.join(big, 'indexed.c'), text);
    const lineCount = text.split('\n').length;
    let client = await Client.start(big);
    let t = performance.now();
    let cpu = cpuMs(client.child.pid);
    await client.open(path.join(big, 'indexed.c'), text);
    const openIndexed = performance.now() - t;
    const openIndexedCpu = cpuMs(client.child.pid) - cpu;
    const bigFile = path.join(big, 'fresh.c');
    fs.writeFileSync(bigFile, text.replace(/handler_/g, 'fresh_handler_'));
    t = performance.now();
    cpu = cpuMs(client.child.pid);
    const first = await client.open(bigFile, fs.readFileSync(bigFile, 'utf8'));
    const openFresh = performance.now() - t;
    const openFreshCpu = cpuMs(client.child.pid) - cpu;
    const size = `${lineCount} lines, ${Math.round(text.length / 1024)} KB`;
    rows.push([`10,000-line C file (${size}) not seen before: didOpen → diagnostics`, `< ${TARGETS.openMs} ms`, `${ms(openFresh)} (${first.length} findings)`, `${openFreshCpu} ms`]);
    rows.push([`the same file indexed at start-up: didOpen → diagnostics`, `< ${TARGETS.openMs} ms`, ms(openIndexed), `${openIndexedCpu} ms`]);

    const lines = text.split('\n');
    // Edits replace a digit of a number written to a message field (`log.m2_i1 = 42;`),
    // so that every edit leaves the file as parseable as it was: a typist's keystroke in
    // a number or a name. (Until 2026-11-26 the edit went after the first `= ` of the
    // line, which in the server loops was `m.m_type = KV_GET_REPLY`: about one edit in ten
    // turned a message type into `3V_GET_REPLY`, a syntax error the file then kept.)
    const numberColumn = (l: string): number => l.search(/m[12]_i1 = \d/) + 'm1_i1 = '.length;
    const editable = lines.map((l, i) => ({ l, i })).filter((x) => /m[12]_i1 = \d+;/.test(x.l));
    const times: number[] = [];
    cpu = cpuMs(client.child.pid);
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let k = 0; k < EDITS; k++) {
      const { l, i } = editable[Math.floor(next() * editable.length)] as { l: string; i: number };
      const col = numberColumn(l);
      const digit = String(Math.floor(next() * 10));
      t = performance.now();
      await client.change(bigFile, [{ range: { start: { line: i, character: col }, end: { line: i, character: col + 1 } }, text: digit }]);
      times.push(performance.now() - t);
    }
    const editCpu = (cpuMs(client.child.pid) - cpu) / EDITS;
    rows.push([`one-character edit → new diagnostics (${EDITS} edits), p50 / p95`, `< ${TARGETS.editMs} ms`, `${ms(percentile(times, 50))} / ${ms(percentile(times, 95))}`, `${editCpu.toFixed(1)} ms mean`]);
    // The file opened first kept its indexed facts and was published without a parse; its
    // tree is parsed in the background once the editor is quiet for 30 ms, which the
    // back-to-back edits above never are. A user going from one file to the other takes
    // longer than that: the edit comes 300 ms after the last one, so its tree is built and
    // the edit is an incremental one. (Without the pause: 13-21 ms, see the History.)
    const indexedFile = path.join(big, 'indexed.c');
    await new Promise((r) => setTimeout(r, 300));
    {
      const { l, i } = editable[0] as { l: string; i: number };
      const col = numberColumn(l);
      t = performance.now();
      cpu = cpuMs(client.child.pid);
      await client.change(indexedFile, [{ range: { start: { line: i, character: col }, end: { line: i, character: col + 1 } }, text: '7' }]);
      rows.push([`first edit of the file indexed at start-up, 300 ms after the edits above → new diagnostics`, `< ${TARGETS.editMs} ms`, ms(performance.now() - t), `${cpuMs(client.child.pid) - cpu} ms`]);
    }
    // Closed (the server reads it from disk again) and opened again, then edited at once:
    // that edit arrives while the tree is still being parsed in the background.
    {
      await client.close(indexedFile);
      await client.open(indexedFile, text);
      const { l, i } = editable[1] as { l: string; i: number };
      const col = numberColumn(l);
      t = performance.now();
      cpu = cpuMs(client.child.pid);
      await client.change(indexedFile, [{ range: { start: { line: i, character: col }, end: { line: i, character: col + 1 } }, text: '8' }]);
      rows.push([`edit of the indexed file right after it is opened again (its tree still being parsed) → new diagnostics`, `< ${TARGETS.editMs} ms`, ms(performance.now() - t), `${cpuMs(client.child.pid) - cpu} ms`]);
    }
    await client.stop();

    // 3: a workspace of generated files, indexed at start-up.
    const ws = path.join(root, 'ws');
    fs.mkdirSync(path.join(ws, 'src'), { recursive: true });
    fs.writeFileSync(path.join(ws, 'dvs.json'), DVS_JSON);
    let totalLines = 0;
    for (let i = 0; i < FILES; i++) {
      const body = i % 5 === 4 ? tsFile(i) : cFile(200);
      totalLines += body.split('\n').length;
      fs.writeFileSync(path.join(ws, 'src', i % 5 === 4 ? `f${i}.ts` : `f${i}.c`), body);
    }
    t = performance.now();
    client = await Client.start(ws);
    const indexed = await client.indexed;
    const indexTotal = performance.now() - t;
    const mem = rssMb(client.child.pid);
    const indexCpu = cpuMs(client.child.pid);
    rows.push([`${FILES} files (${totalLines.toLocaleString('en-US')} lines): start → workspace indexed (server-side ${indexed.durationMs} ms)`, `< ${TARGETS.indexMs / 1000} s`, `${(indexTotal / 1000).toFixed(2)} s`, `${(indexCpu / 1000).toFixed(2)} s (incl. start-up)`]);
    rows.push(['server memory (RSS) after indexing', '—', mem !== undefined ? `${mem} MB` : 'n/a', '—']);
    await client.stop();

    // 4: the floor under row 1, measured last so that it disturbs nothing above.
    const floor = await toolFloor(text);
    const sum = floor.parse + floor.query;
    rows.push([
      `floor under the first row: web-tree-sitter parse + IPC query of the same file, in this process, warm (fastest of 10)`,
      '—',
      `${ms(floor.parse)} + ${ms(floor.query)} = ${ms(sum)} (${Math.round((100 * sum) / TARGETS.openMs)} % of the ${TARGETS.openMs} ms target)`,
      '—',
    ]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }

  const table = ['| measure | target | measured (wall clock at the client) | server CPU time |', '|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const load = os.loadavg().map((l) => l.toFixed(1)).join(' / ');
  const machine = `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}; load average (1/5/15 min) at the start: ${loadAtStart}, at the end: ${load}`;
  process.stdout.write(`\n${table}\n\nmachine: ${machine}\n`);
  const doc = `# Language server benchmarks

Command: \`npm run bench:lsp -w server\` (after \`npm run build\`). It drives the real server
over stdio with an LSP client, on generated code, and rewrites this file.
Targets are SPEC §8. Times are wall-clock at the client, so they include JSON-RPC and
the computation of all diagnostics; the machines are shared, so compare runs made on
the same machine rather than absolute values.

Last run: ${new Date().toISOString()}
Machine: ${machine}

${table}

Notes:
- "server CPU time" is the user + system time the server process spent (from
  \`/proc/<pid>/stat\`, 10 ms resolution). When the load average is well above the
  number of cores, the wall-clock column mostly measures waiting for a CPU.
- A file indexed at start-up and opened with the same text keeps its facts and is
  published without a parse; its tree (needed for incremental edits) is then parsed in
  the background, in slices of 3 ms between the editor's messages once it has been quiet
  for 30 ms. An edit that arrives
  before the tree is done is analysed by parsing the edited function alone (when the
  edit stays inside one function of a file without syntax errors), otherwise it finishes
  the parse first. A file the server has not seen is parsed, queried and analysed in
  full.
- An edit is applied with \`tree.edit\` and an incremental reparse; only the top-level
  units whose text changed are queried again, the others keep their facts.
- Diagnostics are cached per unit as well: local rules until names or the file's own
  endpoints change, project-wide rules (DVS005, DVS009, DVS012) until some file changes
  what other files can see of it (its cross-file signature) or the units move. An edit
  re-checks the edited function only; when it changes what other files see, the other
  open files are re-checked once the editor has been quiet for 60 ms, not between two
  keystrokes.
- After start-up indexing, the closed C files are checked in the background (3 ms
  slices between messages, after 30 ms of quiet) into the per-unit findings caches; an indexed file opened
  after the check has reached it is published from those caches. This benchmark opens
  the indexed file right after start-up, before the check gets to it, so its "indexed
  at start-up" row does not show that (see the History for an open after a pause).
- Start-up indexing runs on the main thread on machines with fewer than 4 cores; with
  more, files beyond 200 are indexed on threads (\`dvs.index.workers\`).
- Profile the server under this benchmark with
  \`DVS_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench:lsp -w server\`.
- Memory is the server process's resident set; the WebAssembly heap does not shrink.
- The last row is not the server: it is what the parse (web-tree-sitter with the
  \`tree-sitter-c\` grammar .wasm) and the IPC query cost by themselves, warm, in the
  benchmark's own process. A file the server has not seen needs both before any
  extraction or diagnostics, so on a machine where that row is near 100 ms the first
  row cannot meet its target; the server compiles that WebAssembly with V8's
  optimizing compiler at start-up (\`DVS_WASM_EAGER=0\` turns that off, for A/B runs).
`;
  // A hand-written "## History" section (earlier runs, what changed) is kept across runs.
  const file = path.resolve(__dirname, '..', '..', 'BENCHMARKS.md');
  const previous = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const history = previous.indexOf('\n## History');
  fs.writeFileSync(file, history >= 0 ? `${doc}${previous.slice(history)}` : doc);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
