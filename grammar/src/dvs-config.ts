/**
 * Loader for `dvs.json`, the one cluster model shared by the launcher, the language
 * server and the trace panel (SPEC §5). It is deliberately free of LSP dependencies:
 * `runtime/` imports it to start clusters, `server/` to check code against it.
 *
 * Every error carries a 1-based line/column and the offset/length of the offending
 * JSON value, so the CLI can print `dvs.json:12:15` and the editor can underline it.
 */
import { parseTree, printParseErrorCode, type Node as JsonNode, type ParseError } from 'jsonc-parser';

export type Layout = 'm1' | 'm2' | 'm3' | 'm4' | 'm5' | 'm6' | 'm7' | 'm8' | 'm9';

/** The MINIX message sub-layouts (reference §3.1); the accessor names user code writes. */
export const MESSAGE_LAYOUTS: Readonly<Record<Layout, readonly string[]>> = {
  m1: ['m1_i1', 'm1_i2', 'm1_i3', 'm1_p1', 'm1_p2', 'm1_p3'],
  m2: ['m2_i1', 'm2_i2', 'm2_i3', 'm2_l1', 'm2_l2', 'm2_p1'],
  m3: ['m3_i1', 'm3_i2', 'm3_p1', 'm3_ca1'],
  m4: ['m4_l1', 'm4_l2', 'm4_l3', 'm4_l4', 'm4_l5'],
  m5: ['m5_c1', 'm5_c2', 'm5_i1', 'm5_i2', 'm5_l1', 'm5_l2', 'm5_l3'],
  m6: ['m6_ca1'],
  m7: ['m7_i1', 'm7_i2', 'm7_i3', 'm7_i4', 'm7_p1', 'm7_p2'],
  m8: ['m8_i1', 'm8_i2', 'm8_p1', 'm8_p2', 'm8_p3', 'm8_p4'],
  m9: ['m9_i1', 'm9_l1', 'm9_t1'],
};

export const LAYOUT_NAMES = Object.keys(MESSAGE_LAYOUTS) as Layout[];

const LAYOUT_OF_FIELD: ReadonlyMap<string, Layout> = new Map(LAYOUT_NAMES.flatMap((l) => MESSAGE_LAYOUTS[l].map((f) => [f, l] as const)));

/**
 * `m1_i1` → `m1`; undefined when the name is not a MINIX message field. A table lookup:
 * the language server asks this for every field access of every file it checks.
 */
export function layoutOfField(field: string): Layout | undefined {
  return LAYOUT_OF_FIELD.get(field);
}

/** Pointer fields are only meaningful inside the sending process (reference §3.1). */
export function isPointerField(field: string): boolean {
  return /^m[1-9]_p[0-9]$/.test(field);
}

/** `program.run` ending in .ts/.js/.mjs is a script entry; anything else is a binary. */
export function isScriptEntry(run: string): boolean {
  return /\.(ts|js|mjs)$/.test(run);
}

export type SecretSource = { env: string } | { file: string };

export interface DvsCluster {
  name: string;
  secret?: SecretSource;
}

export interface DvsNode {
  id: number;
  name: string;
  host?: string;
  isolate?: 'none' | 'netns';
}

export interface DvsDc {
  id: number;
  name: string;
  nodes: number[];
  nr_procs: number;
  nr_tasks: number;
  nr_sysprocs: number;
}

export interface DvsProgram {
  build?: string;
  run: string;
  args?: string[];
}

export interface DvsEndpoint {
  name: string;
  number: number;
  dc: number;
  node: number;
  server?: boolean;
  program?: DvsProgram;
  /** Nodes running a standby of this endpoint (bkupbind); the lowest reachable one takes over. */
  backups?: number[];
}

export interface DvsMessageType {
  name: string;
  number: number;
  layout: Layout;
  /** Named fields: protocol name → MINIX accessor (`key` → `m1_i1`). */
  fields?: Record<string, string>;
  /**
   * Accessors of the pointer fields that carry a vcopy address (`"buffer": { "field":
   * "m1_p1", "vaddr": true }`): the receiver copies from/to the sender's memory with
   * vcopy while the sender waits in sendrec, so the address may cross nodes (DVS011).
   */
  vaddr?: string[];
  reply?: string;
  server?: string;
}

export interface DvsConfig {
  cluster: DvsCluster;
  nodes: DvsNode[];
  dcs: DvsDc[];
  endpoints: DvsEndpoint[];
  protocol?: { types: DvsMessageType[] };
}

export interface ConfigError {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units like the rest of the editor tooling. */
  column: number;
  offset: number;
  length: number;
  message: string;
  /** Schema violations are errors; questionable but loadable values are warnings. */
  severity: 'error' | 'warning';
}

export interface Span {
  offset: number;
  length: number;
}

/** Where named entities sit in the file (for go-to-definition and cross-check diagnostics). */
export interface DvsConfigSpans {
  endpoints: Map<string, Span>;
  types: Map<string, Span>;
  /** Endpoint name → span of its `program.run` value. */
  programs: Map<string, Span>;
  /** Span of the `endpoints` array (or the whole document when it is missing). */
  endpointsArray: Span;
}

export interface ParsedDvsConfig {
  config?: DvsConfig;
  errors: ConfigError[];
  spans: DvsConfigSpans;
}

/** Parse and validate a dvs.json text. `config` is present whenever the file has no schema error. */
export function parseDvsConfig(text: string, file: string): ParsedDvsConfig {
  const v = new Validator(text, file);
  const config = v.run();
  const hasErrors = v.errors.some((e) => e.severity === 'error');
  return { config: hasErrors ? undefined : config, errors: v.errors, spans: v.spans };
}

/**
 * Where `name` is used as an endpoint or message type name in a dvs.json text: the
 * contents (without the quotes) of the strings at `endpoints[].name` and
 * `protocol.types[].name`, `.server` and `.reply`, in text order. For references and
 * renames in the editor: a node, DC or program that happens to have the same name is not
 * one of them. Works on a file with errors as far as its structure can be read.
 */
export function nameUses(text: string, name: string): { offset: number; length: number }[] {
  const root = parseTree(text, [], { allowTrailingComma: true, disallowComments: false });
  const out: { offset: number; length: number }[] = [];
  const member = (obj: JsonNode | undefined, key: string): JsonNode | undefined =>
    obj?.type === 'object' ? obj.children?.find((p) => p.children?.[0]?.value === key)?.children?.[1] : undefined;
  const take = (obj: JsonNode, keys: string[]): void => {
    for (const key of keys) {
      const v = member(obj, key);
      if (v?.type === 'string' && v.value === name) out.push({ offset: v.offset + 1, length: v.length - 2 });
    }
  };
  for (const ep of member(root, 'endpoints')?.children ?? []) take(ep, ['name']);
  for (const t of member(member(root, 'protocol'), 'types')?.children ?? []) take(t, ['name', 'server', 'reply']);
  return out.sort((a, b) => a.offset - b.offset);
}

/** Format an error the way compilers do, for CLI output. */
export function formatConfigError(e: ConfigError): string {
  return `${e.file}:${e.line}:${e.column}: ${e.severity}: ${e.message}`;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

class Validator {
  readonly errors: ConfigError[] = [];
  readonly spans: DvsConfigSpans;
  private readonly lineStarts: number[] = [0];

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
    this.spans = {
      endpoints: new Map(),
      types: new Map(),
      programs: new Map(),
      endpointsArray: { offset: 0, length: text.length },
    };
  }

  run(): DvsConfig | undefined {
    const parseErrors: ParseError[] = [];
    const root = parseTree(this.text, parseErrors, { allowTrailingComma: true, disallowComments: false });
    for (const pe of parseErrors) {
      this.report(pe.offset, pe.length, `JSON syntax error: ${describeParseError(printParseErrorCode(pe.error))}`);
    }
    if (!root) return undefined;
    if (root.type !== 'object') {
      this.at(root, 'expected an object with "cluster", "nodes", "dcs" and "endpoints"');
      return undefined;
    }
    this.unknownKeys(root, ['$schema', 'cluster', 'nodes', 'dcs', 'endpoints', 'protocol'], 'top level');
    const cluster = this.cluster(this.required(root, 'cluster'));
    const nodes = this.array(root, 'nodes', (n) => this.node(n));
    const dcs = this.array(root, 'dcs', (n) => this.dc(n));
    const endpointsNode = prop(root, 'endpoints');
    if (endpointsNode) this.spans.endpointsArray = span(endpointsNode);
    const endpoints = this.array(root, 'endpoints', (n) => this.endpoint(n));
    const protocolNode = prop(root, 'protocol');
    let protocol: DvsConfig['protocol'];
    if (protocolNode) {
      if (this.expectType(protocolNode, 'object', 'an object with "types"')) {
        this.unknownKeys(protocolNode, ['types'], '"protocol"');
        protocol = { types: this.array(protocolNode, 'types', (n) => this.messageType(n)) };
      }
    }
    const config: DvsConfig = { cluster: cluster ?? { name: '' }, nodes, dcs, endpoints, ...(protocol ? { protocol } : {}) };
    this.crossCheck(config, root);
    return config;
  }

  // ---- entities ----------------------------------------------------------------------

  private cluster(n: JsonNode | undefined): DvsCluster | undefined {
    if (!n || !this.expectType(n, 'object', 'an object { "name", "secret" }')) return undefined;
    this.unknownKeys(n, ['name', 'secret'], '"cluster"');
    const name = this.string(n, 'name', true) ?? '';
    const secretNode = prop(n, 'secret');
    let secret: SecretSource | undefined;
    if (secretNode && this.expectType(secretNode, 'object', '{ "env": NAME } or { "file": path }')) {
      const env = this.string(secretNode, 'env', false);
      const file = this.string(secretNode, 'file', false);
      this.unknownKeys(secretNode, ['env', 'file'], '"secret"');
      if ((env === undefined) === (file === undefined)) {
        this.at(secretNode, 'expected exactly one of "env" (an environment variable name) or "file" (a path)');
      } else secret = env !== undefined ? { env } : { file: file as string };
    }
    return { name, ...(secret ? { secret } : {}) };
  }

  private node(n: JsonNode): DvsNode | undefined {
    if (!this.expectType(n, 'object', 'a node object { "id", "name", "host" }')) return undefined;
    this.unknownKeys(n, ['id', 'name', 'host', 'isolate'], 'a node');
    const id = this.integer(n, 'id', true, 0, 31);
    const name = this.string(n, 'name', true);
    const host = this.string(n, 'host', false);
    const isolate = this.enumValue(n, 'isolate', ['none', 'netns']) as DvsNode['isolate'];
    if (id === undefined || name === undefined) return undefined;
    return { id, name, ...(host !== undefined ? { host } : {}), ...(isolate ? { isolate } : {}) };
  }

  private dc(n: JsonNode): DvsDc | undefined {
    if (!this.expectType(n, 'object', 'a DC object { "id", "name", "nodes", "nr_procs", "nr_tasks", "nr_sysprocs" }')) return undefined;
    this.unknownKeys(n, ['id', 'name', 'nodes', 'nr_procs', 'nr_tasks', 'nr_sysprocs'], 'a DC');
    const id = this.integer(n, 'id', true, 0, 31);
    const name = this.string(n, 'name', true);
    const nodesNode = this.required(n, 'nodes');
    const nodes: number[] = [];
    if (nodesNode && this.expectType(nodesNode, 'array', 'an array of node ids')) {
      for (const c of nodesNode.children ?? []) {
        if (c.type === 'number' && Number.isInteger(c.value)) nodes.push(c.value as number);
        else this.at(c, 'expected a node id (integer)');
      }
    }
    const nr_procs = this.integer(n, 'nr_procs', true, 1, 65536);
    const nr_tasks = this.integer(n, 'nr_tasks', true, 0, 65536);
    const nr_sysprocs = this.integer(n, 'nr_sysprocs', true, 0, 65536);
    if (nr_procs !== undefined && nr_sysprocs !== undefined && nr_sysprocs > nr_procs) {
      this.at(prop(n, 'nr_sysprocs') ?? n, `expected nr_sysprocs <= nr_procs (${nr_procs})`);
    }
    if (id === undefined || name === undefined || nr_procs === undefined || nr_tasks === undefined || nr_sysprocs === undefined) return undefined;
    return { id, name, nodes, nr_procs, nr_tasks, nr_sysprocs };
  }

  private endpoint(n: JsonNode): DvsEndpoint | undefined {
    if (!this.expectType(n, 'object', 'an endpoint object { "name", "number", "dc", "node" }')) return undefined;
    this.unknownKeys(n, ['name', 'number', 'dc', 'node', 'server', 'program', 'backups'], 'an endpoint');
    const name = this.identifier(n, 'name');
    const number = this.integer(n, 'number', true, -65536, 65536);
    const dc = this.integer(n, 'dc', true, 0, 31);
    const node = this.integer(n, 'node', true, 0, 31);
    const server = this.boolean(n, 'server');
    const programNode = prop(n, 'program');
    let program: DvsProgram | undefined;
    if (programNode && this.expectType(programNode, 'object', 'an object { "build", "run", "args" }')) {
      this.unknownKeys(programNode, ['build', 'run', 'args'], '"program"');
      const run = this.string(programNode, 'run', true);
      const build = this.string(programNode, 'build', false);
      const argsNode = prop(programNode, 'args');
      const args: string[] = [];
      if (argsNode && this.expectType(argsNode, 'array', 'an array of strings')) {
        for (const c of argsNode.children ?? []) {
          if (c.type === 'string') args.push(c.value as string);
          else this.at(c, 'expected a string argument');
        }
      }
      if (run !== undefined) {
        program = { run, ...(build !== undefined ? { build } : {}), ...(argsNode ? { args } : {}) };
        const runNode = prop(programNode, 'run');
        if (name !== undefined && runNode) this.spans.programs.set(name, span(runNode));
      }
    }
    const backupsNode = prop(n, 'backups');
    const backups: number[] = [];
    if (backupsNode && this.expectType(backupsNode, 'array', 'an array of node ids (the nodes running a standby)')) {
      for (const c of backupsNode.children ?? []) {
        if (c.type === 'number' && Number.isInteger(c.value) && (c.value as number) >= 0 && (c.value as number) <= 31) {
          if (backups.includes(c.value as number)) this.at(c, `node ${c.value} is listed twice in "backups"`);
          else backups.push(c.value as number);
        } else this.at(c, 'expected a node id (integer 0..31)');
      }
      if (!programNode) this.at(backupsNode, 'expected "program" too: a backup runs the endpoint\'s program on its node');
    }
    if (name === undefined || number === undefined || dc === undefined || node === undefined) return undefined;
    const nameNode = prop(n, 'name');
    if (nameNode) this.spans.endpoints.set(name, span(nameNode));
    return {
      name,
      number,
      dc,
      node,
      ...(server !== undefined ? { server } : {}),
      ...(program ? { program } : {}),
      ...(backupsNode ? { backups } : {}),
    };
  }

  private messageType(n: JsonNode): DvsMessageType | undefined {
    if (!this.expectType(n, 'object', 'a message type { "name", "number", "layout", "fields" }')) return undefined;
    this.unknownKeys(n, ['name', 'number', 'layout', 'fields', 'reply', 'server'], 'a message type');
    const name = this.identifier(n, 'name');
    const number = this.integer(n, 'number', true, -2147483648, 2147483647);
    const layout = this.enumValue(n, 'layout', LAYOUT_NAMES, true) as Layout | undefined;
    const fieldsNode = prop(n, 'fields');
    let fields: Record<string, string> | undefined;
    const vaddr: string[] = [];
    if (fieldsNode && this.expectType(fieldsNode, 'object', 'an object { name: "m1_i1", … }')) {
      fields = {};
      for (const p of fieldsNode.children ?? []) {
        const key = p.children?.[0];
        let val = p.children?.[1];
        if (!key || !val) continue;
        // A field is an accessor ("m1_p1") or { "field": "m1_p1", "vaddr": true }.
        let isVaddr = false;
        if (val.type === 'object') {
          this.unknownKeys(val, ['field', 'vaddr'], `field "${key.value as string}"`);
          const flag = this.boolean(val, 'vaddr');
          const inner = this.required(val, 'field');
          if (!inner) continue;
          if (flag === true) isVaddr = true;
          val = inner;
        }
        if (val.type !== 'string') {
          this.at(val, `expected a MINIX field name such as "${layout ? MESSAGE_LAYOUTS[layout][0] : 'm1_i1'}", or { "field": "m1_p1", "vaddr": true }`);
          continue;
        }
        const field = val.value as string;
        if (layout && !MESSAGE_LAYOUTS[layout].includes(field)) {
          this.at(val, `expected a field of layout ${layout} (${MESSAGE_LAYOUTS[layout].join(', ')}), got "${field}"`);
          continue;
        }
        if (isVaddr && !isPointerField(field)) {
          this.at(val, `"vaddr" marks a pointer field (m1_p1, m2_p1, …), not "${field}": only pointer fields carry addresses`);
          continue;
        }
        fields[key.value as string] = field;
        if (isVaddr) vaddr.push(field);
      }
    }
    const reply = this.identifier(n, 'reply', false);
    const server = this.identifier(n, 'server', false);
    if (name === undefined || number === undefined || layout === undefined) return undefined;
    const nameNode = prop(n, 'name');
    if (nameNode) this.spans.types.set(name, span(nameNode));
    return {
      name,
      number,
      layout,
      ...(fields ? { fields } : {}),
      ...(vaddr.length ? { vaddr } : {}),
      ...(reply !== undefined ? { reply } : {}),
      ...(server !== undefined ? { server } : {}),
    };
  }

  // ---- cross-references ---------------------------------------------------------------

  private crossCheck(c: DvsConfig, root: JsonNode): void {
    const nodeIds = new Set(c.nodes.map((n) => n.id));
    const dcById = new Map(c.dcs.map((d) => [d.id, d]));
    const arr = (key: string): JsonNode[] => prop(root, key)?.children ?? [];
    const fieldNode = (obj: JsonNode | undefined, key: string): JsonNode | undefined => (obj ? prop(obj, key) : undefined);

    this.duplicates(arr('nodes'), 'id', 'node id');
    this.duplicates(arr('nodes'), 'name', 'node name');
    this.duplicates(arr('dcs'), 'id', 'DC id');
    this.duplicates(arr('endpoints'), 'name', 'endpoint name');
    const typeNodes = prop(root, 'protocol') ? (prop(prop(root, 'protocol') as JsonNode, 'types')?.children ?? []) : [];
    this.duplicates(typeNodes, 'name', 'message type name');
    this.duplicates(typeNodes, 'number', 'message type number');

    for (const dn of arr('dcs')) {
      for (const nn of fieldNode(dn, 'nodes')?.children ?? []) {
        if (typeof nn.value === 'number' && !nodeIds.has(nn.value)) {
          this.at(nn, `expected a node id declared in "nodes" (${[...nodeIds].join(', ') || 'none'})`);
        }
      }
    }

    const seenSlot = new Map<string, string>();
    for (const en of arr('endpoints')) {
      const name = fieldNode(en, 'name')?.value;
      const e = c.endpoints.find((x) => x.name === name);
      if (!e) continue;
      const dc = dcById.get(e.dc);
      if (!dc) {
        this.at(fieldNode(en, 'dc') ?? en, `expected a DC id declared in "dcs" (${[...dcById.keys()].join(', ') || 'none'})`);
        continue;
      }
      if (!nodeIds.has(e.node)) this.at(fieldNode(en, 'node') ?? en, `expected a node id declared in "nodes"`);
      else if (!dc.nodes.includes(e.node)) this.at(fieldNode(en, 'node') ?? en, `node ${e.node} is not part of DC ${dc.name} (nodes ${dc.nodes.join(', ')})`);
      const bnodes = fieldNode(en, 'backups')?.children ?? [];
      for (const bn of bnodes) {
        const b = bn.value;
        if (typeof b !== 'number' || !Number.isInteger(b)) continue;
        if (!nodeIds.has(b)) this.at(bn, `expected a node id declared in "nodes" (${[...nodeIds].join(', ') || 'none'})`);
        else if (b === e.node) this.at(bn, `node ${b} is ${e.name}'s own node: a backup runs on another node`);
        else if (!dc.nodes.includes(b)) this.at(bn, `node ${b} is not part of DC ${dc.name} (nodes ${dc.nodes.join(', ')})`);
      }
      if (e.number < -dc.nr_tasks || e.number >= dc.nr_procs) {
        this.at(fieldNode(en, 'number') ?? en, `expected an endpoint number in DC ${dc.name}'s slot range ${-dc.nr_tasks} <= number < ${dc.nr_procs}`);
      }
      const key = `${e.dc}:${e.number}`;
      const other = seenSlot.get(key);
      if (other) this.at(fieldNode(en, 'number') ?? en, `endpoint number ${e.number} is already used by ${other} in DC ${dc.name}`);
      else seenSlot.set(key, e.name);
    }

    const typeNames = new Set((c.protocol?.types ?? []).map((t) => t.name));
    const epNames = new Set(c.endpoints.map((e) => e.name));
    for (const tn of typeNodes) {
      const reply = fieldNode(tn, 'reply');
      if (reply && typeof reply.value === 'string' && !typeNames.has(reply.value)) {
        this.at(reply, `expected the name of a message type declared in "protocol.types", got "${reply.value}"`);
      }
      const server = fieldNode(tn, 'server');
      if (server && typeof server.value === 'string' && !epNames.has(server.value)) {
        this.at(server, `expected the name of an endpoint declared in "endpoints", got "${server.value}"`);
      }
    }
  }

  private duplicates(items: JsonNode[], key: string, what: string): void {
    const seen = new Set<unknown>();
    for (const it of items) {
      const v = prop(it, key);
      if (!v || v.value === undefined) continue;
      if (seen.has(v.value)) this.at(v, `duplicate ${what} ${JSON.stringify(v.value)}`);
      seen.add(v.value);
    }
  }

  // ---- primitive checks -------------------------------------------------------------

  private array<T>(obj: JsonNode, key: string, item: (n: JsonNode) => T | undefined): T[] {
    const n = this.required(obj, key);
    if (!n || !this.expectType(n, 'array', 'an array')) return [];
    const out: T[] = [];
    for (const c of n.children ?? []) {
      const v = item(c);
      if (v !== undefined) out.push(v);
    }
    return out;
  }

  private required(obj: JsonNode, key: string): JsonNode | undefined {
    const n = prop(obj, key);
    if (!n) this.at(obj, `missing required property "${key}"`, true);
    return n;
  }

  private string(obj: JsonNode, key: string, required: boolean): string | undefined {
    const n = required ? this.required(obj, key) : prop(obj, key);
    if (!n) return undefined;
    if (n.type !== 'string') {
      this.at(n, `expected "${key}" to be a string`);
      return undefined;
    }
    return n.value as string;
  }

  private identifier(obj: JsonNode, key: string, required = true): string | undefined {
    const s = this.string(obj, key, required);
    if (s !== undefined && !IDENT.test(s)) {
      this.at(prop(obj, key) as JsonNode, `expected "${key}" to be a C identifier (letters, digits, _), got "${s}"`);
      return undefined;
    }
    return s;
  }

  private integer(obj: JsonNode, key: string, required: boolean, min: number, max: number): number | undefined {
    const n = required ? this.required(obj, key) : prop(obj, key);
    if (!n) return undefined;
    if (n.type !== 'number' || !Number.isInteger(n.value)) {
      this.at(n, `expected "${key}" to be an integer`);
      return undefined;
    }
    const v = n.value as number;
    if (v < min || v > max) {
      this.at(n, `expected "${key}" between ${min} and ${max}, got ${v}`);
      return undefined;
    }
    return v;
  }

  private boolean(obj: JsonNode, key: string): boolean | undefined {
    const n = prop(obj, key);
    if (!n) return undefined;
    if (n.type !== 'boolean') {
      this.at(n, `expected "${key}" to be true or false`);
      return undefined;
    }
    return n.value as boolean;
  }

  private enumValue(obj: JsonNode, key: string, values: readonly string[], required = false): string | undefined {
    const n = required ? this.required(obj, key) : prop(obj, key);
    if (!n) return undefined;
    if (n.type !== 'string' || !values.includes(n.value as string)) {
      this.at(n, `expected "${key}" to be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`);
      return undefined;
    }
    return n.value as string;
  }

  private expectType(n: JsonNode, type: JsonNode['type'], what: string): boolean {
    if (n.type === type) return true;
    this.at(n, `expected ${what}, got ${n.type}`);
    return false;
  }

  private unknownKeys(obj: JsonNode, allowed: string[], where: string): void {
    for (const p of obj.children ?? []) {
      const key = p.children?.[0];
      if (key && !allowed.includes(key.value as string)) {
        this.at(key, `unknown property "${key.value as string}" in ${where} (expected one of ${allowed.join(', ')})`);
      }
    }
  }

  /** Report at a node; for a missing key, point at the object's opening brace only. */
  private at(n: JsonNode, message: string, openingOnly = false): void {
    this.report(n.offset, openingOnly ? 1 : n.length, message);
  }

  private report(offset: number, length: number, message: string, severity: ConfigError['severity'] = 'error'): void {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.lineStarts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    this.errors.push({
      file: this.file,
      line: lo + 1,
      column: offset - (this.lineStarts[lo] as number) + 1,
      offset,
      length: Math.max(length, 1),
      message,
      severity,
    });
  }
}

function prop(obj: JsonNode, key: string): JsonNode | undefined {
  if (obj.type !== 'object') return undefined;
  for (const p of obj.children ?? []) {
    if (p.children?.[0]?.value === key) return p.children[1];
  }
  return undefined;
}

function span(n: JsonNode): Span {
  return { offset: n.offset, length: n.length };
}

function describeParseError(code: string): string {
  const map: Record<string, string> = {
    InvalidSymbol: 'unexpected character',
    InvalidNumberFormat: 'invalid number',
    PropertyNameExpected: 'expected a property name in double quotes',
    ValueExpected: 'expected a value',
    ColonExpected: 'expected ":"',
    CommaExpected: 'expected ","',
    CloseBraceExpected: 'expected "}"',
    CloseBracketExpected: 'expected "]"',
    EndOfFileExpected: 'expected end of file',
    InvalidCommentToken: 'invalid comment',
    UnexpectedEndOfComment: 'unterminated comment',
    UnexpectedEndOfString: 'unterminated string',
    UnexpectedEndOfNumber: 'unterminated number',
    InvalidUnicode: 'invalid unicode escape',
    InvalidEscapeCharacter: 'invalid escape character',
    InvalidCharacter: 'invalid character',
  };
  return map[code] ?? code;
}
