/**
 * The key-value protocol of samples/c/kv/kv_proto.h, for TypeScript.
 */
export declare const KV_DC = 0;
export declare const KV_SERVER = 1;
export declare const KV_LOGGER = 2;
export declare const KV_PUT = 1;
export declare const KV_GET = 2;
export declare const KV_STATS = 3;
export declare const KV_OK = 100;
export declare const KV_NOTFOUND = 101;
export declare const KV_ERROR = 102;
export declare const KV_STATS_REPLY = 103;
export declare const KV_MAX_KEYS = 256;
export declare const KV_MAX_VALUE = 4096;
