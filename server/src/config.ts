/**
 * Server settings (section `dvs`). Every key has a default here and a comment saying
 * what it does; invalid values are ignored with a log line, keeping the default.
 */
import * as os from 'node:os';
import { DiagnosticSeverity } from 'vscode-languageserver/node';

export const DIAGNOSTIC_CODES = [
  'DVS001', 'DVS002', 'DVS003', 'DVS004', 'DVS005', 'DVS006', 'DVS007', 'DVS008',
  'DVS009', 'DVS010', 'DVS011', 'DVS012', 'DVS013', 'DVS014', 'DVS015',
] as const;
export type DiagnosticCode = (typeof DIAGNOSTIC_CODES)[number];

export type SeverityName = 'error' | 'warning' | 'information' | 'hint' | 'off';

/** Defaults follow how sure the finding is and how badly it fails at run time. */
export const DEFAULT_SEVERITY: Record<DiagnosticCode, SeverityName> = {
  DVS001: 'error',
  DVS002: 'error',
  DVS003: 'warning',
  DVS004: 'warning',
  DVS005: 'warning',
  DVS006: 'error',
  DVS007: 'warning',
  DVS008: 'error',
  DVS009: 'warning',
  DVS010: 'warning',
  DVS011: 'warning',
  DVS012: 'warning',
  DVS013: 'warning',
  DVS014: 'information',
  DVS015: 'warning',
};

export interface Settings {
  diagnostics: {
    /** Per-code severity override: code → error | warning | information | hint | off. */
    severity: Partial<Record<DiagnosticCode, SeverityName>>;
    /** Base URL of the per-code documentation pages; defaults to the pages shipped with the server. */
    docsBaseUrl?: string;
  };
  index: {
    /** Upper bound on files indexed at start-up, so a huge folder cannot exhaust memory. */
    maxFiles: number;
    /** Folder names never indexed. */
    exclude: string[];
    /**
     * Threads that parse and analyse closed files at start-up when there are more than
     * INDEX_THREADS_FROM of them (0: index on the server's main thread).
     */
    workers: number;
  };
}

/** Below this many files, starting indexing threads costs more than it saves. */
export const INDEX_THREADS_FROM = 200;

export const DEFAULT_SETTINGS: Settings = {
  diagnostics: { severity: {} },
  index: { maxFiles: 5000, exclude: ['node_modules', '.git', 'dist', 'out', 'build', '.dvs-run'], workers: defaultIndexThreads() },
};

const SEVERITIES: Record<Exclude<SeverityName, 'off'>, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export function severityOf(settings: Settings, code: DiagnosticCode): DiagnosticSeverity | undefined {
  const name = settings.diagnostics.severity[code] ?? DEFAULT_SEVERITY[code];
  return name === 'off' ? undefined : SEVERITIES[name];
}

/** Merge a raw `dvs` settings object; returns the settings and a list of problems to log. */
export function parseSettings(raw: unknown): { settings: Settings; problems: string[] } {
  const problems: string[] = [];
  const settings: Settings = structuredClone(DEFAULT_SETTINGS);
  const obj = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const diag = (obj.diagnostics && typeof obj.diagnostics === 'object' ? obj.diagnostics : {}) as Record<string, unknown>;
  const sev = diag.severity;
  if (sev && typeof sev === 'object') {
    for (const [code, value] of Object.entries(sev as Record<string, unknown>)) {
      if (!(DIAGNOSTIC_CODES as readonly string[]).includes(code)) problems.push(`dvs.diagnostics.severity: unknown code ${code}`);
      else if (typeof value !== 'string' || !['error', 'warning', 'information', 'hint', 'off'].includes(value)) {
        problems.push(`dvs.diagnostics.severity.${code}: expected error|warning|information|hint|off`);
      } else settings.diagnostics.severity[code as DiagnosticCode] = value as SeverityName;
    }
  }
  if (typeof diag.docsBaseUrl === 'string' && diag.docsBaseUrl) settings.diagnostics.docsBaseUrl = diag.docsBaseUrl;
  const index = (obj.index && typeof obj.index === 'object' ? obj.index : {}) as Record<string, unknown>;
  if (typeof index.maxFiles === 'number' && index.maxFiles >= 0) settings.index.maxFiles = index.maxFiles;
  if (Array.isArray(index.exclude) && index.exclude.every((x) => typeof x === 'string')) settings.index.exclude = index.exclude as string[];
  if (index.workers !== undefined) {
    if (typeof index.workers === 'number' && Number.isInteger(index.workers) && index.workers >= 0 && index.workers <= 16) settings.index.workers = index.workers;
    else problems.push('dvs.index.workers: expected an integer from 0 to 16');
  }
  return { settings, problems };
}

/**
 * Threads only pay off with cores to spare: each thread warms up its own JIT and grammar
 * code and its results are copied back. On 2 cores, measured indexing of 500 files got
 * slower with threads (server/BENCHMARKS.md), so small machines index on the main thread.
 */
function defaultIndexThreads(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return cores >= 4 ? Math.min(4, cores - 1) : 0;
}
