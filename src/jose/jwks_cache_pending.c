/* jwks_cache_pending.c: TEMPORARY weak fallback for hwj_jws_verify, which jws.c (being
 * written concurrently) defines; without it nothing that links the cache would link.
 * Deleted as soon as jws.c lands. */
#include "core/error.h"

#include <hwjose/jws.h>

__attribute__((weak)) hwj_err hwj_jws_verify(const char *jws, size_t len, const hwj_jwks *keys,
                                             const hwj_verify_policy *policy,
                                             const uint8_t *detached, size_t detached_len,
                                             hwj_jws_result **out, hwj_error *err)
{
    (void)jws;
    (void)len;
    (void)keys;
    (void)policy;
    (void)detached;
    (void)detached_len;
    (void)out;
    return hwj_error_set(err, HWJ_ERR_UNSUPPORTED, "JWS verification is not available yet");
}
