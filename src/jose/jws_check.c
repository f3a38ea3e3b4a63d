/* jws_check.c: checking one JWS signature with OpenSSL EVP (RFC 7518 §3, RFC 8037 §3.1).
 * Every way a signature can fail to verify — wrong length, DER where r||s is due, bad
 * padding, wrong MAC — is the same "invalid signature". */
#include "core/alg.h"
#include "core/ecdsa.h"
#include "core/error.h"
#include "core/jwk.h"
#include "core/pkey_prep.h"
#include "jose/jws_internal.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#define RSA_MIN_BITS 2048

static hwj_err invalid(hwj_error *err)
{
    ERR_clear_error();
    return hwj_error_set(err, HWJ_ERR_SIGNATURE, "invalid signature");
}

/* HS*: recompute and compare in constant time; the length must be the hash length. */
static hwj_err check_hmac(const hwj_jwk *jwk, const hwj_alg_info *info, const uint8_t *in,
                          size_t inlen, const uint8_t *sig, size_t siglen, hwj_error *err)
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    int ok;

    if (jwk->secret == NULL || jwk->secret_len == 0)
        return hwj_error_set(err, HWJ_ERR_POLICY, "%s needs an oct key with a secret", info->name);
    if (EVP_Q_mac(NULL, "HMAC", NULL, info->md, NULL, jwk->secret, jwk->secret_len, in, inlen, mac,
                  sizeof(mac), &maclen) == NULL)
        return hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "%s: HMAC failed", info->name);
    ok = siglen == maclen && maclen == info->hash_len && CRYPTO_memcmp(mac, sig, maclen) == 0;
    OPENSSL_cleanse(mac, sizeof(mac));
    return ok ? HWJ_OK : invalid(err);
}

/* Does the public key's type (and curve, and size) fit the alg? hwj_jwk_check has said so
 * already; this keeps the EVP call below from ever running with a key of another kind. */
static hwj_err pkey_fits(const hwj_pkey_prep *prep, const hwj_alg_info *info, hwj_alg alg,
                         hwj_error *err)
{
    const char *crv = prep ? hwj_pkey_prep_crv(prep) : NULL;

    if (prep == NULL || hwj_pkey_prep_kty(prep) != info->kty)
        return hwj_error_set(err, HWJ_ERR_POLICY, "%s needs an %s key", info->name,
                             hwj_kty_name(info->kty));
    if (info->kty == HWJ_KTY_RSA && hwj_pkey_prep_bits(prep) < RSA_MIN_BITS)
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "the RSA key has %d bits; %s needs at least %d (RFC 7518 §3.3)",
                             hwj_pkey_prep_bits(prep), info->name, RSA_MIN_BITS);
    if (info->curve != NULL && (crv == NULL || strcmp(crv, info->curve) != 0))
        return hwj_error_set(err, HWJ_ERR_POLICY, "%s needs a key on %s", info->name, info->curve);
    if (hwj_alg_is_ed25519(alg) && (crv == NULL || strcmp(crv, "Ed25519") != 0))
        return hwj_error_set(err, HWJ_ERR_POLICY, "%s needs an Ed25519 key", info->name);
    return HWJ_OK;
}

/* RS*, PS*, ES*, EdDSA/Ed25519 through EVP_DigestVerify on a copy of the key's prepared context. */
static hwj_err check_pkey(hwj_pkey_prep *prep, const hwj_alg_info *info, hwj_alg alg,
                          const uint8_t *in, size_t inlen, const uint8_t *sig, size_t siglen,
                          hwj_error *err)
{
    EVP_MD_CTX *mctx = NULL;
    uint8_t der[HWJ_ECDSA_DER_MAX];
    size_t derlen = sizeof(der);
    hwj_err rc;

    if ((rc = pkey_fits(prep, info, alg, err)) != HWJ_OK)
        return rc;
    /* Exact lengths: the modulus size for RSA, r||s for ECDSA (a DER signature is invalid),
     * 64 bytes for Ed25519. */
    if (info->kty == HWJ_KTY_RSA ? siglen != (size_t)hwj_pkey_prep_size(prep)
                                 : siglen != info->sig_len)
        return invalid(err);
    if (info->kty == HWJ_KTY_EC) {
        if (hwj_ecdsa_raw_to_der_to(sig, siglen, info->sig_len / 2, der, &derlen) != HWJ_OK)
            return invalid(err);
        sig = der;
        siglen = derlen;
    }
    if ((rc = hwj_pkey_prep_start(prep, alg, 0, &mctx, err)) != HWJ_OK)
        return rc;
    rc = EVP_DigestVerify(mctx, sig, siglen, in, inlen) == 1 ? HWJ_OK : invalid(err);
    EVP_MD_CTX_free(mctx);
    return rc;
}

hwj_err hwj_jws_check_sig(const hwj_jwk *jwk, hwj_alg alg, const uint8_t *in, size_t inlen,
                          const uint8_t *sig, size_t siglen, hwj_error *err)
{
    const hwj_alg_info *info = hwj_alg_info_get(alg);

    if (jwk == NULL || info == NULL || info->kind != HWJ_ALG_KIND_JWS)
        return hwj_error_set(err, HWJ_ERR_INTERNAL, "JWS check without a key or a JWS alg");
    if (siglen == 0)
        return invalid(err);
    if (info->kty == HWJ_KTY_OCT) {
        if (jwk->kty != HWJ_KTY_OCT)
            return hwj_error_set(err, HWJ_ERR_POLICY, "%s needs an oct key", info->name);
        return check_hmac(jwk, info, in, inlen, sig, siglen, err);
    }
    if (jwk->kty != info->kty)
        return hwj_error_set(err, HWJ_ERR_POLICY, "%s needs an %s key", info->name,
                             hwj_kty_name(info->kty));
    return check_pkey(hwj_jwk_prep(jwk), info, alg, in, inlen, sig, siglen, err);
}
