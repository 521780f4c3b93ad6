/**
 * The key-value protocol of samples/c/kv/kv_proto.h, for TypeScript.
 */
export const KV_DC = 0;
export const KV_SERVER = 1; // rcvrqst/reply server holding the store
export const KV_LOGGER = 2;

// Requests (client -> server, with sendrec); values travel by vcopy.
export const KV_PUT = 1; // m1_i1 key, m1_i2 length, m1_p1 value buffer
export const KV_GET = 2; // m1_i1 key, m1_i2 buffer size, m1_p1 buffer
export const KV_STATS = 3;

// Replies.
export const KV_OK = 100; // m1_i1 key, m1_i2 length
export const KV_NOTFOUND = 101;
export const KV_ERROR = 102; // m1_i1 negative EMOL* code
export const KV_STATS_REPLY = 103; // m2_i1 keys, m2_l1 puts, m2_l2 gets

export const KV_MAX_KEYS = 256;
export const KV_MAX_VALUE = 4096;
