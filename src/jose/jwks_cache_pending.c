/* jwks_cache_pending.c: TEMPORARY weak fallbacks for hwj_jws_verify and hwj_jws_result_free,
 * which jws.c (being written concurrently) defines; without them nothing that links the
 * cache would link. Deleted as soon as jws.c lands. */
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

__attribute__((weak)) void hwj_jws_result_free(hwj_jws_result *res)
{
    if (res == NULL)
        return;
    hwj_free(res->payload);
    hwj_free(res->protected_json);
    hwj_free(res);
}
