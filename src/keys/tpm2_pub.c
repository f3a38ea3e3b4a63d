/* tpm2_pub.c: what a TPM key is, from its public area: the EVP_PKEY, the algs it can
 * serve (by its sign/decrypt attributes, its scheme and the TPM's hashes) and its custody. */
#include "keys/tpm2_internal.h"

#include "core/alg.h"
#include "core/error.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <string.h>

TPMI_ALG_HASH tpm2_hash_for(hwj_alg alg)
{
    const hwj_alg_info *ai = hwj_alg_info_get(alg);
    if (ai == NULL || ai->md == NULL)
        return TPM2_ALG_NULL;
    if (strcmp(ai->md, "SHA1") == 0 || strcmp(ai->md, "SHA-1") == 0)
        return TPM2_ALG_SHA1;
    if (ai->hash_len == 32)
        return TPM2_ALG_SHA256;
    if (ai->hash_len == 48)
        return TPM2_ALG_SHA384;
    if (ai->hash_len == 64)
        return TPM2_ALG_SHA512;
    return ai->hash_len == 20 ? TPM2_ALG_SHA1 : TPM2_ALG_NULL;
}

static const char *curve_name(TPMI_ECC_CURVE c, size_t *len)
{
    switch (c) {
    case TPM2_ECC_NIST_P256: *len = 32; return "P-256";
    case TPM2_ECC_NIST_P384: *len = 48; return "P-384";
    case TPM2_ECC_NIST_P521: *len = 66; return "P-521";
    default: return NULL;
    }
}

hwj_err tpm2_pub_to_pkey(const TPMT_PUBLIC *p, EVP_PKEY **out, hwj_error *err)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *n = NULL, *e = NULL;
    uint8_t point[1 + 2 * 66];
    const char *type;
    hwj_err rc = HWJ_OK;

    if (bld == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if (p->type == TPM2_ALG_RSA) {
        const TPM2B_PUBLIC_KEY_RSA *m = &p->unique.rsa;
        uint32_t exp = p->parameters.rsaDetail.exponent ? p->parameters.rsaDetail.exponent : 65537;
        type = "RSA";
        n = BN_bin2bn(m->buffer, m->size, NULL);
        e = BN_new();
        if (n == NULL || e == NULL || !BN_set_word(e, exp) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
            goto ossl;
    } else if (p->type == TPM2_ALG_ECC) {
        size_t flen = 0;
        const char *crv = curve_name(p->parameters.eccDetail.curveID, &flen);
        const TPMS_ECC_POINT *q = &p->unique.ecc;
        if (crv == NULL) {
            rc = hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                               "TPM key is on curve 0x%x; JOSE uses P-256, P-384 and P-521 only",
                               (unsigned)p->parameters.eccDetail.curveID);
            goto out;
        }
        if (q->x.size > flen || q->y.size > flen) {
            rc = hwj_error_set(err, HWJ_ERR_PARSE, "TPM key holds a malformed EC point");
            goto out;
        }
        type = "EC";
        memset(point, 0, sizeof(point));
        point[0] = 0x04; /* uncompressed; coordinates left-padded to the field size */
        memcpy(point + 1 + flen - q->x.size, q->x.buffer, q->x.size);
        memcpy(point + 1 + 2 * flen - q->y.size, q->y.buffer, q->y.size);
        if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, crv, 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * flen))
            goto ossl;
    } else {
        rc = hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                           "TPM object type 0x%x is not an RSA or ECC key", (unsigned)p->type);
        goto out;
    }
    if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
        (pctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
        EVP_PKEY_fromdata_init(pctx) <= 0 ||
        EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        goto ossl;
    *out = pkey;
    goto out;
ossl:
    rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "converting the TPM public key");
out:
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return rc;
}

/* The algs the key's attributes and scheme permit. A key with a fixed scheme (set when it
 * was made) serves only that scheme and hash. */
static uint64_t algs_for(const TPMT_PUBLIC *p, EVP_PKEY *pkey)
{
    uint64_t all = hwj_key_algs_for_pkey(pkey), m = 0;
    TPMA_OBJECT a = p->objectAttributes;
    int sign = (a & TPMA_OBJECT_SIGN_ENCRYPT) != 0, dec = (a & TPMA_OBJECT_DECRYPT) != 0;
    TPMI_ALG_ASYM_SCHEME scheme;
    TPMI_ALG_HASH shash;

    if (a & TPMA_OBJECT_RESTRICTED)
        return 0; /* restricted keys sign only TPM-made data and decrypt only for the TPM */
    if (p->type == TPM2_ALG_RSA) {
        scheme = p->parameters.rsaDetail.scheme.scheme;
        shash = p->parameters.rsaDetail.scheme.details.anySig.hashAlg;
    } else {
        scheme = p->parameters.eccDetail.scheme.scheme;
        shash = p->parameters.eccDetail.scheme.details.anySig.hashAlg;
    }
    for (hwj_alg alg = HWJ_ALG_HS256; alg < HWJ_ALG_COUNT_; alg++) {
        if (!(all & HWJ_ALG_BIT(alg)))
            continue;
        TPMI_ALG_ASYM_SCHEME want;
        TPMI_ALG_HASH h = tpm2_hash_for(alg);
        int for_sign = hwj_alg_get_kind(alg) == HWJ_ALG_KIND_JWS;
        if (alg >= HWJ_ALG_RS256 && alg <= HWJ_ALG_RS512)
            want = TPM2_ALG_RSASSA;
        else if (alg >= HWJ_ALG_PS256 && alg <= HWJ_ALG_PS512)
            want = TPM2_ALG_RSAPSS;
        else if (alg >= HWJ_ALG_ES256 && alg <= HWJ_ALG_ES512)
            want = TPM2_ALG_ECDSA;
        else if (alg == HWJ_ALG_RSA_OAEP || alg == HWJ_ALG_RSA_OAEP_256)
            want = TPM2_ALG_OAEP;
        else if (alg >= HWJ_ALG_ECDH_ES && alg <= HWJ_ALG_ECDH_ES_A256KW)
            want = TPM2_ALG_ECDH;
        else
            continue; /* RSA1_5: not offered (RFC 8725 §3.2 advises against it) */
        if (for_sign ? !sign : !dec)
            continue;
        if (scheme != TPM2_ALG_NULL &&
            (scheme != want || ((for_sign || want == TPM2_ALG_OAEP) && shash != h)))
            continue;
        m |= HWJ_ALG_BIT(alg);
    }
    return m;
}

hwj_err tpm2_describe(const TPMT_PUBLIC *p, struct hwj_key *key, hwj_error *err)
{
    EVP_PKEY *pkey = NULL;
    TPMA_OBJECT a = p->objectAttributes;
    hwj_err rc;

    if ((rc = tpm2_pub_to_pkey(p, &pkey, err)) != HWJ_OK)
        return rc;
    key->pkey = pkey;
    key->kty = p->type == TPM2_ALG_RSA ? HWJ_KTY_RSA : HWJ_KTY_EC;
    key->can = algs_for(p, pkey);
    key->custody.backend = "tpm2";
    key->custody.hardware = 1;
    key->custody.sensitive = 1; /* the private part never leaves the TPM unwrapped */
    key->custody.extractable = (a & TPMA_OBJECT_FIXEDTPM) && (a & TPMA_OBJECT_FIXEDPARENT) ? 0 : 1;
    key->custody.local = (a & TPMA_OBJECT_SENSITIVEDATAORIGIN) ? 1 : 0;
    key->custody.always_sensitive = key->custody.local;
    key->custody.never_extractable = key->custody.local && !key->custody.extractable;
    if (a & TPMA_OBJECT_RESTRICTED)
        hwj_custody_note(&key->custody,
                         "restricted key: the TPM allows it to sign or decrypt TPM-made data "
                         "only, so no JOSE alg can use it");
    if (!(a & TPMA_OBJECT_FIXEDTPM))
        hwj_custody_note(&key->custody, "not fixedTPM: the key may be duplicated to another TPM");
    if (!(a & TPMA_OBJECT_SENSITIVEDATAORIGIN))
        hwj_custody_note(&key->custody, "imported: the private key existed outside this TPM");
    if (key->kty == HWJ_KTY_RSA && (key->can & HWJ_ALG_BIT(HWJ_ALG_PS256)))
        hwj_custody_note(&key->custody, "PS*: TPM RSAPSS, salt length = hash length");
    hwj_custody_note(&key->custody, "no EdDSA: TPM 2.0 has no Ed25519 curve");
    return HWJ_OK;
}
