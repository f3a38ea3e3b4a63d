/* jwe_ecdh.c: ECDH-ES (RFC 7518 §4.6): the ephemeral key and the Concat KDF.
 * The receiver's half of ECDH (Z) runs in the key provider; this file only checks
 * the sender's "epk" and derives keys from Z. */
#include "jose/jwe_internal.h"

#include "core/error.h"
#include "core/json.h"
#include "core/jwk.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <string.h>

#define KDF_INFO_MAX 2200

static void put_u32(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A 32-bit big-endian length, then the data (RFC 7518 §4.6.2). */
static size_t put_lv(uint8_t *p, const uint8_t *data, size_t len)
{
    put_u32(p, len);
    if (len > 0)
        memcpy(p + 4, data, len);
    return 4 + len;
}

hwj_err hwj_jwe_concat_kdf(const uint8_t *z, size_t zlen, const char *algid, const uint8_t *apu,
                           size_t apulen, const uint8_t *apv, size_t apvlen, uint8_t *out,
                           size_t outlen, hwj_error *err)
{
    /* OtherInfo = AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo (keydatalen). */
    uint8_t info[KDF_INFO_MAX];
    size_t n = 0, idlen = strlen(algid);
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *ctx = NULL;
    hwj_err rc = HWJ_OK;

    if (idlen + apulen + apvlen + 16 > sizeof(info))
        return hwj_error_set(err, HWJ_ERR_LIMIT, "ECDH-ES apu/apv too long");
    n += put_lv(info + n, (const uint8_t *)algid, idlen);
    n += put_lv(info + n, apu, apulen);
    n += put_lv(info + n, apv, apvlen);
    put_u32(info + n, outlen * 8);
    n += 4;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
                           OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, zlen),
                           OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n),
                           OSSL_PARAM_construct_end()};
    if ((kdf = EVP_KDF_fetch(NULL, "SSKDF", NULL)) == NULL ||
        (ctx = EVP_KDF_CTX_new(kdf)) == NULL || EVP_KDF_derive(ctx, out, outlen, params) <= 0)
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "Concat KDF (SSKDF) failed");
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rc;
}

hwj_err hwj_jwe_epk_parse(const json_t *epk, EVP_PKEY *own, EVP_PKEY **out, hwj_error *err)
{
    const char *kty = NULL, *crv = NULL;
    const char *own_kty = hwj_kty_name(hwj_pkey_kty(own));
    const char *own_crv = hwj_pkey_crv(own);
    hwj_jwk *jwk = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    hwj_err rc;

    if (!json_is_object(epk))
        return hwj_error_set(err, HWJ_ERR_PARSE, "JWE header: \"epk\" must be a JWK object");
    if ((rc = hwj_json_get_string(epk, "kty", "epk", &kty, err)) != HWJ_OK ||
        (rc = hwj_json_get_string(epk, "crv", "epk", &crv, err)) != HWJ_OK)
        return rc;
    /* Invalid-curve defence: the peer's point must be on our key's own curve. */
    if (own_kty == NULL || own_crv == NULL || kty == NULL || crv == NULL ||
        strcmp(kty, own_kty) != 0 || strcmp(crv, own_crv) != 0)
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "JWE \"epk\" is not a key on the recipient key's curve (%s)",
                             own_crv ? own_crv : "?");
    if (json_object_get(epk, "d") != NULL)
        return hwj_error_set(err, HWJ_ERR_PARSE, "JWE \"epk\" must be a public key");
    if ((rc = hwj_jwk_from_json(epk, &jwk, err)) != HWJ_OK) {
        hwj_error_prefix(err, "JWE \"epk\"");
        return rc;
    }
    if (jwk->pkey == NULL || hwj_pkey_kty(jwk->pkey) != hwj_pkey_kty(own) ||
        hwj_pkey_crv(jwk->pkey) == NULL || strcmp(hwj_pkey_crv(jwk->pkey), own_crv) != 0) {
        rc = hwj_error_set(err, HWJ_ERR_POLICY, "JWE \"epk\" is not on the curve %s", own_crv);
        goto out;
    }
    /* Belt and braces: whatever the JWK parser did, the point must pass a full check. */
    if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, jwk->pkey, NULL)) == NULL ||
        EVP_PKEY_public_check(pctx) != 1) {
        ERR_clear_error();
        rc = hwj_error_set(err, HWJ_ERR_POLICY, "JWE \"epk\" is not a valid point on %s", own_crv);
        goto out;
    }
    if (!EVP_PKEY_up_ref(jwk->pkey)) {
        rc = hwj_error_set(err, HWJ_ERR_CRYPTO, "EVP_PKEY_up_ref failed");
        goto out;
    }
    *out = jwk->pkey;
out:
    EVP_PKEY_CTX_free(pctx);
    hwj_jwk_free(jwk);
    return rc;
}

hwj_err hwj_jwe_epk_generate(EVP_PKEY *peer, uint8_t *z, size_t *zlen, json_t **epk, hwj_error *err)
{
    char group[64];
    EVP_PKEY *eph = NULL;
    EVP_PKEY_CTX *dctx = NULL;
    json_t *obj = NULL;
    size_t n = *zlen;
    hwj_err rc;

    if (hwj_pkey_kty(peer) == HWJ_KTY_EC) {
        if (!EVP_PKEY_get_group_name(peer, group, sizeof(group), NULL))
            return hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "reading the EC curve failed");
        eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
    } else if (hwj_pkey_crv(peer) != NULL && strcmp(hwj_pkey_crv(peer), "X25519") == 0) {
        eph = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    } else {
        return hwj_error_set(err, HWJ_ERR_POLICY, "ECDH-ES needs an EC or X25519 public key");
    }
    if (eph == NULL)
        return hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "generating the ephemeral key failed");
    if ((dctx = EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL)) == NULL ||
        EVP_PKEY_derive_init(dctx) <= 0 || EVP_PKEY_derive_set_peer(dctx, peer) <= 0 ||
        EVP_PKEY_derive(dctx, z, &n) <= 0) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "ECDH with the recipient's key failed");
        goto out;
    }
    if ((rc = hwj_pkey_to_json(eph, &obj, err)) != HWJ_OK)
        goto out;
    *zlen = n;
    *epk = obj;
out:
    EVP_PKEY_CTX_free(dctx);
    EVP_PKEY_free(eph);
    return rc;
}
