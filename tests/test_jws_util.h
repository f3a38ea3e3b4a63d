/* test_jws_util.h: helpers the JWS test binaries share. */
#ifndef HWJ_TEST_JWS_UTIL_H
#define HWJ_TEST_JWS_UTIL_H

#include "testutil.h"

extern hwj_ctx *tj_ctx;

int tj_setup(void **state);
int tj_teardown(void **state);

/* Compact JSON text of `j` (free it). */
char *tj_dump(const json_t *j);
/* Write the JWK to a temp file called `name` and open it as "jwk:PATH". */
hwj_key *tj_key_jwk(const json_t *jwk, const char *name);
/* A set holding `jwk` (public members only when `public_only`). */
hwj_jwks *tj_set(const json_t *jwk, int public_only);
/* A set holding the public JWK of an opened key. */
hwj_jwks *tj_set_of_key(const hwj_key *key);
/* Verify with the allow-list {alg} (all JWS algs when alg is HWJ_ALG_UNKNOWN). */
hwj_err tj_verify(const char *jws, const hwj_jwks *set, hwj_alg alg, const char *detached,
                  hwj_jws_result **res, hwj_error *err);
/* Expect `rc` == `want`, with a message; "invalid signature" exactly for a bad signature. */
#define tj_expect(rc, want, err) tj_expect_((rc), (want), (err), __FILE__, __LINE__)
void tj_expect_(hwj_err rc, hwj_err want, const hwj_error *err, const char *file, int line);

/* base64url of `len` bytes / of a C string (free it). */
char *tj_b64(const void *data, size_t len);
char *tj_b64s(const char *s);
/* "B64(header).payload_part.B64(HMAC-SHA256(key, signing input))" — a token signed with any
 * header the test wants. `key` is the raw secret. */
char *tj_hs256(const uint8_t *key, size_t keylen, const char *header, const char *payload_part);

#endif
