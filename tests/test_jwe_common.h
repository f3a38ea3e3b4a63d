/* test_jwe_common.h: helpers shared by the JWE test binaries. */
#ifndef HWJ_TEST_JWE_COMMON_H
#define HWJ_TEST_JWE_COMMON_H

#include "testutil.h"

#include <hwjose/jwe.h>

/* The process-wide context (created on first use). */
hwj_ctx *jt_ctx(void);
/* An oct JWK with the base64url key `k` (and optional alg); hwj_jwk_free it. */
hwj_jwk *jt_oct(const char *k, hwj_alg alg);
/* Which backend holds the private keys of the asymmetric tests: software by default;
 * HWJ_JWE_BACKEND=pkcs11 (set by ctest with the SoftHSM fixture) imports each key into
 * the token and opens it there, so the same tests decrypt and derive inside SoftHSM. */
int jt_backend_pkcs11(void);
/* Open a private JWK (a JSON object): "jwk:PATH", or imported into the token. */
hwj_key *jt_key_from_jwk(const json_t *jwk, const char *name);
/* Open a private EVP_PKEY: "file:PATH" (PEM), or imported into the token. */
hwj_key *jt_key_from_pkey(EVP_PKEY *pk, const char *name);
/* Decrypt options allowing every alg and enc (RSA1_5 still needs allow_rsa1_5). */
hwj_jwe_decrypt_opts jt_opts_all(void);
/* Decrypt and return the result (asserting success), or the error code. */
hwj_err jt_decrypt(const char *jwe, const hwj_jwe_decrypt_opts *o, hwj_jwe_result **res);
/* A JSON value serialized compactly (free it). */
char *jt_dump(const json_t *j);

#endif
