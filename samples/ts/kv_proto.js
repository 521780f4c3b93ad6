"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.KV_MAX_VALUE = exports.KV_MAX_KEYS = exports.KV_STATS_REPLY = exports.KV_ERROR = exports.KV_NOTFOUND = exports.KV_OK = exports.KV_STATS = exports.KV_GET = exports.KV_PUT = exports.KV_LOGGER = exports.KV_SERVER = exports.KV_DC = void 0;
/**
 * The key-value protocol of samples/c/kv/kv_proto.h, for TypeScript.
 */
exports.KV_DC = 0;
exports.KV_SERVER = 1; // rcvrqst/reply server holding the store
exports.KV_LOGGER = 2;
// Requests (client -> server, with sendrec); values travel by vcopy.
exports.KV_PUT = 1; // m1_i1 key, m1_i2 length, m1_p1 value buffer
exports.KV_GET = 2; // m1_i1 key, m1_i2 buffer size, m1_p1 buffer
exports.KV_STATS = 3;
// Replies.
exports.KV_OK = 100; // m1_i1 key, m1_i2 length
exports.KV_NOTFOUND = 101;
exports.KV_ERROR = 102; // m1_i1 negative EMOL* code
exports.KV_STATS_REPLY = 103; // m2_i1 keys, m2_l1 puts, m2_l2 gets
exports.KV_MAX_KEYS = 256;
exports.KV_MAX_VALUE = 4096;
//# sourceMappingURL=kv_proto.js.map