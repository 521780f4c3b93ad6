/**
 * kv-client - a TypeScript client of the C key-value server
 * (samples/c/kv/kv_server.c): puts N values and reads them back. The server
 * moves each value with vcopy straight from/into this process's Buffers.
 *
 *   dvs run --ep 21 -- node samples/ts/dist/kv-client.js [N]
 *
 * Run by hand it binds endpoint 21 itself.
 */
import { type Endpoint } from '@dvs/runtime';
export declare function put(ep: Endpoint, key: number, value: Buffer): Promise<void>;
export declare function get(ep: Endpoint, key: number): Promise<Buffer | undefined>;
