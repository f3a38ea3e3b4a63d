/* pending.c: TEMPORARY weak fallback for hwj_jws_sign, which is being written
 * concurrently (src/jose/jws.c); the real definition wins at link time. Deleted
 * once it has landed. */
#include <hwjose/jws.h>

__attribute__((weak)) hwj_err hwj_jws_sign(hwj_key *key, const uint8_t *payload, size_t len,
                                           const hwj_jws_sign_opts *opts, char **out,
                                           hwj_error *err)
{
    (void)key;
    (void)payload;
    (void)len;
    (void)opts;
    (void)out;
    (void)err;
    return HWJ_ERR_UNSUPPORTED;
}
