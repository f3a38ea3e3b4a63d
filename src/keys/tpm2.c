/* tpm2.c: TPM 2.0 keys. STUB: being implemented. */
#include "core/error.h"
#include "keys/provider.h"

static hwj_err tpm2_open(void *state, const char *uri, const hwj_key_open_opts *opts,
                         struct hwj_key *key, hwj_error *err)
{
    (void)state; (void)opts; (void)key;
    return hwj_error_set(err, HWJ_ERR_UNSUPPORTED, "TPM keys not implemented yet: %s", uri);
}

static hwj_err tpm2_sign(struct hwj_key *key, hwj_alg alg, const uint8_t *in, size_t inlen,
                         uint8_t *sig, size_t *siglen, hwj_error *err)
{
    (void)key; (void)alg; (void)in; (void)inlen; (void)sig; (void)siglen;
    return hwj_error_set(err, HWJ_ERR_UNSUPPORTED, "not implemented");
}

static const char *const tpm2_schemes[] = {"tpm2", NULL};

const struct hwj_key_ops hwj_tpm2_ops = {
    .version = HWJ_KEY_OPS_VERSION,
    .name = "tpm2",
    .schemes = tpm2_schemes,
    .open = tpm2_open,
    .sign = tpm2_sign,
};
