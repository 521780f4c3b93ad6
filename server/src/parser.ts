/**
 * Loads web-tree-sitter and the C / TypeScript grammars, and nothing else.
 *
 * The grammar .wasm files come from the grammar packages' own npm tarballs (see
 * grammar/PROVENANCE). An ABI mismatch only surfaces at `setLanguage` with a terse
 * message, so we check `abiVersion` against the runtime's accepted range up front and
 * say which package to change.
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as TreeSitter from 'web-tree-sitter';

export type Lang = 'c' | 'typescript' | 'tsx';

export interface Grammars {
  parsers: Record<Lang, TreeSitter.Parser>;
  languages: Record<Lang, TreeSitter.Language>;
  queries: Record<Lang, TreeSitter.Query>;
  /** Human-readable provenance, logged at start-up. */
  describe: string;
}

export class GrammarLoadError extends Error {}

const GRAMMAR_FILES: Record<Lang, { pkg: string; file: string }> = {
  c: { pkg: 'tree-sitter-c', file: 'tree-sitter-c.wasm' },
  typescript: { pkg: 'tree-sitter-typescript', file: 'tree-sitter-typescript.wasm' },
  tsx: { pkg: 'tree-sitter-typescript', file: 'tree-sitter-tsx.wasm' },
};

/** Folder of an installed package, also for packages whose `exports` hide package.json. */
function packageDir(pkg: string): string {
  try {
    return path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    let dir = path.dirname(require.resolve(pkg));
    while (dir !== path.dirname(dir)) {
      const file = path.join(dir, 'package.json');
      if (fs.existsSync(file) && (JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string }).name === pkg) return dir;
      dir = path.dirname(dir);
    }
    throw new GrammarLoadError(`cannot locate the installed package ${pkg}`);
  }
}

function packageVersion(pkg: string): string {
  const json = JSON.parse(fs.readFileSync(path.join(packageDir(pkg), 'package.json'), 'utf8')) as { version?: string };
  return json.version ?? '?';
}

/** The .scm query files live in @dvs/grammar so the extension and other tools share them. */
export function queryPath(lang: Lang): string {
  return path.join(packageDir('@dvs/grammar'), 'queries', lang === 'c' ? 'c-ipc.scm' : 'ts-ipc.scm');
}

let loading: Promise<Grammars> | undefined;

/** Initialise once per process; later calls share the same grammars. */
export function loadGrammars(): Promise<Grammars> {
  loading ??= doLoad();
  return loading;
}

async function doLoad(): Promise<Grammars> {
  await TreeSitter.Parser.init();
  // LANGUAGE_VERSION and MIN_COMPATIBLE_VERSION are only set once the runtime module is initialised.
  const probe = new TreeSitter.Parser();
  const max = TreeSitter.LANGUAGE_VERSION;
  const min = TreeSitter.MIN_COMPATIBLE_VERSION;
  probe.delete();
  const parsers = {} as Record<Lang, TreeSitter.Parser>;
  const languages = {} as Record<Lang, TreeSitter.Language>;
  const queries = {} as Record<Lang, TreeSitter.Query>;
  const lines = [`web-tree-sitter ${packageVersion('web-tree-sitter')} (ABI ${min}..${max})`];
  for (const lang of Object.keys(GRAMMAR_FILES) as Lang[]) {
    const { pkg, file } = GRAMMAR_FILES[lang];
    const wasm = path.join(packageDir(pkg), file);
    if (!fs.existsSync(wasm)) {
      throw new GrammarLoadError(`${pkg}@${packageVersion(pkg)} does not ship ${file}; pin a version that does (see grammar/PROVENANCE)`);
    }
    const language = await TreeSitter.Language.load(wasm);
    const abi = language.abiVersion;
    if (abi < min || abi > max) {
      throw new GrammarLoadError(
        `${pkg}@${packageVersion(pkg)} (${file}) has ABI ${abi}, but web-tree-sitter@${packageVersion('web-tree-sitter')} accepts ${min}..${max}; ` +
          'pin matching versions (see grammar/PROVENANCE)',
      );
    }
    const parser = new TreeSitter.Parser();
    parser.setLanguage(language);
    parsers[lang] = parser;
    languages[lang] = language;
    queries[lang] = new TreeSitter.Query(language, fs.readFileSync(queryPath(lang), 'utf8'));
    lines.push(`${pkg} ${packageVersion(pkg)} ${file} (ABI ${abi})`);
  }
  return { parsers, languages, queries, describe: lines.join('; ') };
}

export function langOfPath(p: string): Lang | undefined {
  if (p.endsWith('.d.ts')) return undefined;
  if (/\.[ch]$/.test(p)) return 'c';
  if (/\.(ts|mts|cts)$/.test(p)) return 'typescript';
  if (p.endsWith('.tsx')) return 'tsx';
  return undefined;
}

export type { Tree, Node, Query, QueryMatch, Edit, Point } from 'web-tree-sitter';
