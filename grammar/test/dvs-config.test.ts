import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDvsConfig, layoutOfField, isPointerField, isScriptEntry, MESSAGE_LAYOUTS, formatConfigError, nameUses } from '../src/dvs-config';

const VALID = `{
  "$schema": "../grammar/dvs.schema.json",
  "cluster": { "name": "demo", "secret": { "env": "DVS_SECRET" } },
  "nodes": [ { "id": 0, "name": "node0", "host": "127.0.0.1", "isolate": "none" },
             { "id": 1, "name": "node1", "host": "127.0.0.2" } ],
  "dcs": [ { "id": 0, "name": "dc0", "nodes": [0, 1], "nr_procs": 64, "nr_tasks": 8, "nr_sysprocs": 16 } ],
  "endpoints": [
    { "name": "KV_SERVER", "number": 1, "dc": 0, "node": 0, "server": true,
      "program": { "build": "make -C kv", "run": "kv/kv_server", "args": [] } },
    { "name": "TS_CLIENT", "number": 20, "dc": 0, "node": 1,
      "program": { "run": "clients/client.ts", "args": ["--n", "10"] } }
  ],
  "protocol": {
    "types": [
      { "name": "KV_GET", "number": 1, "layout": "m1", "fields": { "key": "m1_i1", "buf": "m1_p1", "len": "m1_i2" }, "reply": "KV_GET_REPLY", "server": "KV_SERVER" },
      { "name": "KV_GET_REPLY", "number": 101, "layout": "m1", "fields": { "status": "m1_i1", "len": "m1_i2" } }
    ]
  }
}`;

test('a valid file loads with every entity and no error', () => {
  const r = parseDvsConfig(VALID, 'dvs.json');
  assert.deepEqual(r.errors, []);
  assert.ok(r.config);
  assert.equal(r.config.endpoints.length, 2);
  assert.deepEqual(r.config.cluster.secret, { env: 'DVS_SECRET' });
  assert.equal(r.config.protocol?.types[0]?.reply, 'KV_GET_REPLY');
  assert.equal(r.config.endpoints[0]?.program?.build, 'make -C kv');
  assert.ok(r.spans.endpoints.has('TS_CLIENT'));
  assert.ok(r.spans.programs.has('KV_SERVER'));
});

function errorsOf(text: string) {
  return parseDvsConfig(text, 'x/dvs.json').errors;
}

test('a syntax error carries line, column and offset', () => {
  const errs = errorsOf('{\n  "cluster": { "name": "a" },\n  "nodes": [ 1, ]\n  "dcs": []\n}');
  assert.ok(errs.length > 0);
  const e = errs[0]!;
  assert.equal(e.file, 'x/dvs.json');
  assert.equal(e.line, 4);
  assert.equal(e.column, 3);
  assert.match(e.message, /expected ","/);
});

test('schema errors say what was expected, at the value', () => {
  const text = VALID.replace('"layout": "m1", "fields": { "key"', '"layout": "m7", "fields": { "key"').replace('"isolate": "none"', '"isolate": "docker"');
  const errs = errorsOf(text);
  const iso = errs.find((e) => /isolate/.test(e.message));
  assert.ok(iso, 'isolate error');
  assert.equal(text.slice(iso.offset, iso.offset + iso.length), '"docker"');
  const field = errs.find((e) => /layout m7/.test(e.message));
  assert.ok(field, 'field/layout error');
  assert.equal(text.slice(field.offset, field.offset + field.length), '"m1_i1"');
  assert.equal(parseDvsConfig(text, 'f').config, undefined);
});

test('missing required properties and wrong types are reported', () => {
  const errs = errorsOf('{ "cluster": { "name": 3 }, "nodes": [], "dcs": [] }');
  assert.ok(errs.some((e) => /"name" to be a string/.test(e.message)));
  assert.ok(errs.some((e) => /missing required property "endpoints"/.test(e.message)));
});

test('cross references: unknown DC, node outside DC, slot range, duplicates, reply, server', () => {
  const text = VALID.replace('"number": 20, "dc": 0, "node": 1', '"number": 99, "dc": 0, "node": 1')
    .replace('"reply": "KV_GET_REPLY"', '"reply": "KV_NOPE"')
    .replace('"server": "KV_SERVER" }', '"server": "NOBODY" }')
    .replace('"nodes": [0, 1]', '"nodes": [0, 7]');
  const msgs = errorsOf(text).map((e) => e.message).join('\n');
  assert.match(msgs, /slot range -8 <= number < 64/);
  assert.match(msgs, /"KV_NOPE"/);
  assert.match(msgs, /"NOBODY"/);
  assert.match(msgs, /node id declared in "nodes"/);
  assert.match(msgs, /node 1 is not part of DC dc0/);
  const dup = VALID.replace('"name": "TS_CLIENT", "number": 20', '"name": "KV_SERVER", "number": 1');
  assert.match(errorsOf(dup).map((e) => e.message).join('\n'), /duplicate endpoint name "KV_SERVER"[\s\S]*already used by KV_SERVER/);
});

test('secret must be exactly one of env or file', () => {
  const errs = errorsOf(VALID.replace('{ "env": "DVS_SECRET" }', '{ "env": "A", "file": "b" }'));
  assert.ok(errs.some((e) => /exactly one of "env"/.test(e.message)));
});

test('layout helpers follow the MINIX sub-layouts', () => {
  assert.equal(layoutOfField('m1_i1'), 'm1');
  assert.equal(layoutOfField('m9_t1'), 'm9');
  assert.equal(layoutOfField('m1_l1'), undefined);
  assert.ok(isPointerField('m8_p4'));
  assert.ok(!isPointerField('m2_l1'));
  assert.ok(isScriptEntry('a/b.mjs') && !isScriptEntry('kv/kv_server'));
  assert.equal(MESSAGE_LAYOUTS.m5.length, 7);
  assert.equal(formatConfigError({ file: 'f', line: 1, column: 2, offset: 1, length: 1, message: 'm', severity: 'error' }), 'f:1:2: error: m');
});

test('the JSON schema knows the same layouts and required keys', () => {
  const schema = JSON.parse(readFileSync(join(__dirname, '..', '..', 'dvs.schema.json'), 'utf8'));
  assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
  assert.deepEqual(schema.required, ['cluster', 'nodes', 'dcs', 'endpoints']);
  const layouts = schema.properties.protocol.properties.types.items.properties.layout.enum;
  assert.deepEqual(layouts, Object.keys(MESSAGE_LAYOUTS));
});

test('backups: node ids of the DC other than the endpoint\'s, with a program; errors at the value', () => {
  const ok = VALID.replace('"node": 0, "server": true,', '"node": 0, "server": true, "backups": [1],');
  const r = parseDvsConfig(ok, 'dvs.json');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.config?.endpoints[0]?.backups, [1]);
  const bad = VALID.replace('"node": 0, "server": true,', '"node": 0, "server": true, "backups": [0, 5, 1, 1, "x"],');
  const errs = errorsOf(bad);
  const msgs = errs.map((e) => e.message).join('\n');
  assert.match(msgs, /node 0 is KV_SERVER's own node: a backup runs on another node/);
  assert.match(msgs, /node id declared in "nodes"/);
  assert.match(msgs, /node 1 is listed twice in "backups"/);
  assert.match(msgs, /expected a node id \(integer 0\.\.31\)/);
  const own = errs.find((e) => /own node/.test(e.message))!;
  assert.equal(own.line, 8); // at the "0" inside "backups"
  assert.equal(bad.split('\n')[7]!.slice(own.column - 1, own.column + 4), '0, 5,');
  const noProgram = VALID.replace('"name": "TS_CLIENT", "number": 20, "dc": 0, "node": 1,\n      "program": { "run": "clients/client.ts", "args": ["--n", "10"] } }', '"name": "TS_CLIENT", "number": 20, "dc": 0, "node": 1, "backups": [0] }');
  assert.match(errorsOf(noProgram).map((e) => e.message).join('\n'), /expected "program" too/);
  const schema = JSON.parse(readFileSync(join(__dirname, '..', '..', 'dvs.schema.json'), 'utf8'));
  assert.equal(schema.properties.endpoints.items.properties.backups.type, 'array');
});

test('a pointer field can be marked as a vcopy address; the loader keeps fields as accessors', () => {
  const text = VALID.replace('"buf": "m1_p1"', '"buf": { "field": "m1_p1", "vaddr": true }');
  const parsed = parseDvsConfig(text, 'f');
  assert.deepEqual(parsed.errors, []);
  const get = parsed.config?.protocol?.types.find((t) => t.name === 'KV_GET');
  assert.equal(get?.fields?.['buf'], 'm1_p1');
  assert.deepEqual(get?.vaddr, ['m1_p1']);
  assert.equal(parsed.config?.protocol?.types.find((t) => t.name === 'KV_GET_REPLY')?.vaddr, undefined);
});

test('vaddr on a non-pointer field, a missing "field" and unknown keys are errors at the value', () => {
  const onInt = VALID.replace('"key": "m1_i1"', '"key": { "field": "m1_i1", "vaddr": true }');
  const e1 = errorsOf(onInt).find((e) => /only pointer fields carry addresses/.test(e.message));
  assert.ok(e1, 'vaddr on m1_i1');
  assert.equal(onInt.slice(e1.offset, e1.offset + e1.length), '"m1_i1"');
  const noField = VALID.replace('"buf": "m1_p1"', '"buf": { "vaddr": true, "size": 3 }');
  const msgs = errorsOf(noField).map((e) => e.message).join('\n');
  assert.match(msgs, /missing required property "field"/);
  assert.match(msgs, /unknown property "size" in field "buf"/);
});

test('the JSON schema accepts the vaddr form of a field', () => {
  const schema = JSON.parse(readFileSync(join(__dirname, '..', '..', 'dvs.schema.json'), 'utf8'));
  const field = schema.properties.protocol.properties.types.items.properties.fields.additionalProperties;
  assert.ok(field.oneOf[0].enum.includes('m1_p1'));
  assert.equal(field.oneOf[1].properties.vaddr.type, 'boolean');
  assert.deepEqual(field.oneOf[1].required, ['field']);
});

test('nameUses: the endpoint and message type names of dvs.json, not other strings that look the same', () => {
  const text = `{
  "cluster": { "name": "KV" },
  "nodes": [ { "id": 0, "name": "KV" } ],
  "endpoints": [ { "name": "KV", "number": 1, "dc": 0, "node": 0, "program": { "run": "KV" } },
                 { "name": "OTHER", "number": 2, "dc": 0, "node": 0 } ],
  "protocol": { "types": [ { "name": "GET", "number": 1, "layout": "m1", "server": "KV", "reply": "KV" },
                           { "name": "KV", "number": 2, "layout": "m1" } ] }
}`;
  const uses = nameUses(text, 'KV');
  // endpoints[0].name, types[0].server, types[0].reply, types[1].name; not the cluster, node or program.
  assert.equal(uses.length, 4);
  for (const u of uses) assert.equal(text.slice(u.offset, u.offset + u.length), 'KV');
  const lineOf = (u: { offset: number }): number => text.slice(0, u.offset).split('\n').length;
  assert.deepEqual(uses.map(lineOf), [4, 6, 6, 7]);
  assert.deepEqual(nameUses(text, 'OTHER').length, 1);
  assert.deepEqual(nameUses('{ "endpoints": [ { "name": "KV" ', 'KV').length, 1, 'a truncated file as far as it can be read');
  assert.deepEqual(nameUses('not json', 'KV'), []);
});
