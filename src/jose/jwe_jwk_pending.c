/* jwe_jwk_pending.c: TEMPORARY weak fallbacks for JWK functions that JWE calls and
 * that are being written concurrently (src/core/jwk.c). The real, strong definitions
 * win at link time; this file is deleted once they have landed. */
#include "core/error.h"
#include "core/jwk.h"

#include <hwjose/jwt.h>

#include <stdlib.h>

__attribute__((weak)) hwj_err hwj_jwk_from_json(const json_t *obj, hwj_jwk **out, hwj_error *err)
{
    (void)obj;
    (void)out;
    return hwj_error_set(err, HWJ_ERR_UNSUPPORTED, "JWK parsing is not available yet");
}

__attribute__((weak)) void hwj_jwk_free(hwj_jwk *jwk)
{
    free(jwk);
}

__attribute__((weak)) const char *hwj_jwk_get0_kid(const hwj_jwk *jwk)
{
    return jwk ? jwk->kid : NULL;
}

__attribute__((weak)) hwj_err hwj_jwk_check(const hwj_jwk *jwk, hwj_alg alg, hwj_key_op op,
                                            hwj_error *err)
{
    (void)op; /* the minimum: kty and a bound alg */
    if (jwk == NULL || jwk->kty != hwj_alg_kty(alg) ||
        (jwk->alg != HWJ_ALG_UNKNOWN && jwk->alg != alg))
        return hwj_error_set(err, HWJ_ERR_POLICY, "the JWK does not fit %s", hwj_alg_name(alg));
    return HWJ_OK;
}

__attribute__((weak)) hwj_err hwj_jwk_from_key(const hwj_key *key, hwj_jwk **out, hwj_error *err)
{
    (void)key;
    (void)out;
    return hwj_error_set(err, HWJ_ERR_UNSUPPORTED, "JWK export is not available yet");
}

__attribute__((weak)) hwj_err hwj_jwk_read_file(const char *path, hwj_jwk **out, hwj_error *err)
{
    (void)out;
    return hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                         "cannot read JWK '%s': JWK parsing is not "
                         "available yet",
                         path);
}

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
