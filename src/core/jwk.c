/* jwk.c: STUB, being implemented. */
#include "core/jwk.h"
#include "core/error.h"

hwj_err hwj_pkey_to_json(EVP_PKEY *pkey, json_t **out, hwj_error *err)
{
    (void)pkey; (void)out;
    return hwj_error_set(err, HWJ_ERR_UNSUPPORTED, "not implemented");
}
hwj_err hwj_pkey_thumbprint(EVP_PKEY *pkey, char **out, hwj_error *err)
{
    (void)pkey; (void)out;
    return hwj_error_set(err, HWJ_ERR_UNSUPPORTED, "not implemented");
}
hwj_kty hwj_pkey_kty(EVP_PKEY *pkey) { (void)pkey; return HWJ_KTY_NONE; }
const char *hwj_pkey_crv(EVP_PKEY *pkey) { (void)pkey; return NULL; }
