/**
 * kv-client - a TypeScript client of the C key-value server
 * (samples/c/kv/kv_server.c): puts N values and reads them back. The server
 * moves each value with vcopy straight from/into this process's Buffers.
 *
 *   dvs run --ep 21 -- node samples/ts/dist/kv-client.js [N]
 *
 * Run by hand it binds endpoint 21 itself.
 */
import { bind, type Endpoint } from '@dvs/runtime';

import { KV_DC, KV_GET, KV_MAX_VALUE, KV_OK, KV_PUT, KV_SERVER, KV_STATS, KV_STATS_REPLY } from './kv_proto';

export async function put(ep: Endpoint, key: number, value: Buffer): Promise<void> {
  // The Buffer itself goes into the pointer field: its address is sent and
  // it stays alive until the reply.
  const r = await ep.sendrec(KV_SERVER, { type: KV_PUT, m1_i1: key, m1_i2: value.length, m1_p1: value });
  if (r.type !== KV_OK) throw new Error(`put ${key}: server answered type ${r.type} (${r.m1_i1})`);
}

export async function get(ep: Endpoint, key: number): Promise<Buffer | undefined> {
  const buf = Buffer.alloc(KV_MAX_VALUE);
  const r = await ep.sendrec(KV_SERVER, { type: KV_GET, m1_i1: key, m1_i2: buf.length, m1_p1: buf });
  if (r.type !== KV_OK) return undefined;
  return buf.subarray(0, r.m1_i2);
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 20);
  const endpoint = Number(process.env['DVS_EP'] ?? 21);
  const ep = await bind(KV_DC, endpoint);
  let errors = 0;
  for (let i = 0; i < n; i++) {
    const key = 192 + (i % 64); // keys 192..255: the C clients use 0..191 per endpoint
    const value = Buffer.from(`value ${i} written by TypeScript endpoint ${ep.endpoint}`);
    await put(ep, key, value);
    const back = await get(ep, key);
    if (!back || !back.equals(value)) {
      console.error(`kv-client: key ${key}: read back ${JSON.stringify(back?.toString())}`);
      errors++;
    }
  }
  const s = await ep.sendrec(KV_SERVER, { type: KV_STATS });
  if (s.type !== KV_STATS_REPLY) throw new Error(`stats: type ${s.type}`);
  console.log(`kv-client: ${n} puts and gets, ${errors} errors; server has ${s.m2_i1} keys, ${s.m2_l1} puts, ${s.m2_l2} gets`);
  await ep.unbind();
  process.exitCode = errors ? 1 : 0;
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`kv-client: ${(err as Error).message}`);
    process.exit(1);
  });
}
