/*
 * sha256.h - SHA-256 and HMAC-SHA256 for authenticating nodes (FIPS 180-4,
 * RFC 2104). Small and dependency-free: the daemon links nothing else.
 */
#ifndef DVSD_SHA256_H
#define DVSD_SHA256_H

#include <stddef.h>
#include <stdint.h>

void sha256(const void *data, size_t len, uint8_t out[32]);
void hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                 uint8_t out[32]);
#endif
