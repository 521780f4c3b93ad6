/**
 * Loading dvs.json for the launcher: @dvs/grammar's position-aware loader,
 * plus the checks only the launcher can make (programs exist after the build).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { formatConfigError, parseDvsConfig, type ConfigError, type DvsConfig } from '@dvs/grammar';

export type { DvsConfig, DvsNode, DvsDc, DvsEndpoint, ConfigError } from '@dvs/grammar';

/** A dvs.json that cannot be used; `errors` carry file, line and column. */
export class ConfigLoadError extends Error {
  constructor(
    readonly file: string,
    readonly errors: ConfigError[],
  ) {
    super(errors.map(formatConfigError).join('\n'));
    this.name = 'ConfigLoadError';
  }
}

export interface LoadedConfig {
  /** Absolute path of the file. */
  file: string;
  /** The folder builds and relative program paths are resolved against. */
  folder: string;
  config: DvsConfig;
  text: string;
  warnings: ConfigError[];
  /** Where each endpoint's program.run value sits (offset, length). */
  programSpans: Map<string, { offset: number; length: number }>;
}

/** How a file is named in messages: relative to the working directory when inside it. */
export function displayName(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** Where an offset of text is, 1-based. */
export function position(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** loadConfig reads and validates a dvs.json; throws ConfigLoadError listing every error. */
export function loadConfig(file: string): LoadedConfig {
  const abs = path.resolve(file);
  const shown = displayName(abs);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a folder, not a dvs.json file' : e.message;
    throw new ConfigLoadError(shown, [
      { file: shown, line: 1, column: 1, offset: 0, length: 0, severity: 'error', message: `cannot read the cluster file: ${why}` },
    ]);
  }
  const parsed = parseDvsConfig(text, shown);
  const errors = parsed.errors.filter((e) => e.severity === 'error');
  const at = (offset: number, length: number, message: string): ConfigError => ({
    file: shown,
    ...position(text, offset),
    offset,
    length,
    message,
    severity: 'error',
  });
  if (parsed.config) {
    const c = parsed.config;
    if (!CLUSTER_NAME.test(c.cluster.name)) {
      const off = text.indexOf('"name"');
      errors.push(at(Math.max(off, 0), 6, `expected a cluster name of letters, digits, '_', '.', '-' (up to 64), got "${c.cluster.name}"`));
    }
    // Cross-checks the grammar's loader may leave out: an endpoint's node
    // must be one of its DC's nodes.
    for (const e of c.endpoints) {
      const dc = c.dcs.find((d) => d.id === e.dc);
      if (dc && !dc.nodes.includes(e.node)) {
        const span = parsed.spans.endpoints.get(e.name) ?? { offset: 0, length: 0 };
        const msg = `endpoint ${e.name}: expected node ${e.node} to be one of DC ${dc.name}'s nodes (${dc.nodes.join(', ')})`;
        if (!errors.some((x) => x.message.includes(`node ${e.node} is not part of DC`))) errors.push(at(span.offset, span.length, msg));
      }
    }
    if (c.nodes.length === 0) errors.push(at(0, 1, 'expected at least one node in "nodes"'));
  }
  if (errors.length > 0 || !parsed.config) throw new ConfigLoadError(shown, errors);
  return {
    file: abs,
    folder: path.dirname(abs),
    config: parsed.config,
    text,
    warnings: parsed.errors.filter((e) => e.severity !== 'error'),
    programSpans: parsed.spans.programs,
  };
}

/** The absolute path of an endpoint's program.run. */
export function programPath(loaded: LoadedConfig, run: string): string {
  return path.resolve(loaded.folder, run);
}

/** checkPrograms verifies, after the build, that every program.run exists. */
export function checkPrograms(loaded: LoadedConfig): void {
  const errors: ConfigError[] = [];
  const shown = displayName(loaded.file);
  for (const e of loaded.config.endpoints) {
    if (!e.program) continue;
    const p = programPath(loaded, e.program.run);
    let ok = false;
    try {
      const st = fs.statSync(p);
      ok = st.isFile() && (/\.(ts|js|mjs)$/.test(p) || (st.mode & 0o111) !== 0);
    } catch {
      ok = false;
    }
    if (!ok) {
      const span = loaded.programSpans.get(e.name) ?? { offset: 0, length: 0 };
      errors.push({
        file: shown,
        ...position(loaded.text, span.offset),
        offset: span.offset,
        length: span.length,
        severity: 'error',
        message: fs.existsSync(p)
          ? `endpoint ${e.name}: expected an executable program, but ${p} is not executable`
          : `endpoint ${e.name}: expected the program ${p} to exist after the build step`,
      });
    }
  }
  if (errors.length) throw new ConfigLoadError(shown, errors);
}
