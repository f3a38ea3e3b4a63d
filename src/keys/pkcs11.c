/* pkcs11.c: PKCS#11 keys. STUB: being implemented. */
#include "core/error.h"
#include "keys/provider.h"

static hwj_err p11_open(void *state, const char *uri, const hwj_key_open_opts *opts,
                         struct hwj_key *key, hwj_error *err)
{
    (void)state; (void)opts; (void)key;
    return hwj_error_set(err, HWJ_ERR_UNSUPPORTED, "PKCS#11 keys not implemented yet: %s", uri);
}

static hwj_err p11_sign(struct hwj_key *key, hwj_alg alg, const uint8_t *in, size_t inlen,
                         uint8_t *sig, size_t *siglen, hwj_error *err)
{
    (void)key; (void)alg; (void)in; (void)inlen; (void)sig; (void)siglen;
    return hwj_error_set(err, HWJ_ERR_UNSUPPORTED, "not implemented");
}

static const char *const p11_schemes[] = {"pkcs11", NULL};

const struct hwj_key_ops hwj_pkcs11_ops = {
    .version = HWJ_KEY_OPS_VERSION,
    .name = "pkcs11",
    .schemes = p11_schemes,
    .open = p11_open,
    .sign = p11_sign,
};
