/* jwe_jwk_pending.c: TEMPORARY weak fallbacks for functions that JWE calls and that are
 * being written concurrently. The JWK ones have landed (src/core/jwk*.c, src/jose/jwks.c)
 * and are gone from here: in a static archive a weak member can shadow the real one.
 * This file is deleted once jwt.c has landed. */
#include "core/error.h"
#include "core/jwk.h"

#include <hwjose/jwt.h>

#include <stdlib.h>

/* jwt.c (hwj_jwt_issue, hwj_jwt_verify) is also being written concurrently. */
__attribute__((weak)) hwj_err hwj_jwt_issue(hwj_key *key, const hwj_jwt_issue_opts *opts,
                                            char **jwt, hwj_error *err)
{
    (void)key;
    (void)opts;
    (void)jwt;
    return hwj_error_set(err, HWJ_ERR_UNSUPPORTED, "JWT issuing is not available yet");
}

__attribute__((weak)) hwj_err hwj_jwt_verify(const char *jwt, size_t len, const hwj_jwks *keys,
                                             const hwj_jwt_verify_opts *opts, char **claims_json,
                                             hwj_error *err)
{
    (void)jwt;
    (void)len;
    (void)keys;
    (void)opts;
    (void)claims_json;
    return hwj_error_set(err, HWJ_ERR_UNSUPPORTED, "JWT verification is not available yet");
}
