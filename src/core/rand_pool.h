/* rand_pool.h (internal): random bytes for values that are public once used (a JWT's jti). */
#ifndef HWJ_CORE_RAND_POOL_H
#define HWJ_CORE_RAND_POOL_H

#include <stddef.h>
#include <stdint.h>

/*
 * `n` (at most 64) bytes from a per-thread buffer that RAND_bytes refills 512 bytes at a time.
 * OpenSSL's DRBG makes a getpid() system call on every draw (its fork check); a token's jti
 * need not pay it. Bytes are handed out once and wiped; a forked child wipes the buffer it
 * inherits (pthread_atfork), so parent and child never share a value. Never for keys, IVs or
 * nonces: those come from RAND_bytes directly. Returns 1 on success, 0 if RAND_bytes failed.
 */
int hwj_rand_public(uint8_t *out, size_t n);

#endif
