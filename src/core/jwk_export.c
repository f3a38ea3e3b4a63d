/* jwk_export.c: EVP_PKEY / hwj_jwk -> JWK JSON, and RFC 7638 thumbprints. */
#include "core/b64url.h"
#include "core/digest.h"
#include "core/error.h"
#include "core/json.h"
#include "core/jwk.h"
#include "core/roca.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <stdlib.h>
#include <string.h>

hwj_kty hwj_pkey_kty(EVP_PKEY *pkey)
{
    if (pkey == NULL)
        return HWJ_KTY_NONE;
    if (EVP_PKEY_is_a(pkey, "RSA"))
        return HWJ_KTY_RSA;
    if (EVP_PKEY_is_a(pkey, "EC"))
        return HWJ_KTY_EC;
    if (EVP_PKEY_is_a(pkey, "ED25519") || EVP_PKEY_is_a(pkey, "X25519"))
        return HWJ_KTY_OKP;
    return HWJ_KTY_NONE;
}

/* Coordinate octets of a JOSE EC curve. */
static size_t crv_len(const char *crv)
{
    return strcmp(crv, "P-256") == 0 ? 32 : strcmp(crv, "P-384") == 0 ? 48 : 66;
}

const char *hwj_pkey_crv(EVP_PKEY *pkey)
{
    static const struct {
        const char *ossl, *jose;
    } names[] = {{"prime256v1", "P-256"}, {"P-256", "P-256"}, {"secp256r1", "P-256"},
                 {"secp384r1", "P-384"},  {"P-384", "P-384"}, {"secp521r1", "P-521"},
                 {"P-521", "P-521"}};
    char group[64];
    size_t glen = 0;

    switch (hwj_pkey_kty(pkey)) {
    case HWJ_KTY_OKP: return EVP_PKEY_is_a(pkey, "ED25519") ? "Ed25519" : "X25519";
    case HWJ_KTY_EC:
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                           &glen) != 1) {
            ERR_clear_error();
            return NULL;
        }
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (strcmp(group, names[i].ossl) == 0)
                return names[i].jose;
        return NULL;
    default: return NULL;
    }
}

/* obj[name] = base64url(bytes). */
static hwj_err set_b64(json_t *obj, const char *name, const uint8_t *p, size_t n, hwj_error *err)
{
    char *s = NULL;
    hwj_err rc = hwj_b64url_encode(p, n, &s, err);
    if (rc != HWJ_OK)
        return rc;
    if (json_object_set_new(obj, name, json_string(s)) != 0)
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    hwj_free_secret(s, strlen(s));
    return rc;
}

/* obj[name] = base64url of the BIGNUM parameter `param`: minimal octets, or `pad` octets. */
static hwj_err set_bn(json_t *obj, const char *name, EVP_PKEY *pkey, const char *param, size_t pad,
                      hwj_error *err)
{
    BIGNUM *bn = NULL;
    uint8_t *buf = NULL;
    size_t n = 0;
    hwj_err rc = HWJ_OK;

    if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_CAPABILITY,
                                   "cannot export JWK member \"%s\" from the key", name);
        goto out;
    }
    n = pad ? pad : (size_t)BN_num_bytes(bn);
    if (n == 0)
        n = 1; /* zero is "AA" (RFC 7518 §2) */
    if ((size_t)BN_num_bytes(bn) > n || (buf = malloc(n)) == NULL ||
        BN_bn2binpad(bn, buf, (int)n) != (int)n) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "cannot encode JWK member \"%s\"", name);
        goto out;
    }
    rc = set_b64(obj, name, buf, n, err);
out:
    hwj_free_secret(buf, n);
    BN_clear_free(bn);
    return rc;
}

hwj_err hwj_pkey_to_json(EVP_PKEY *pkey, json_t **out, hwj_error *err)
{
    hwj_kty kty = hwj_pkey_kty(pkey);
    const char *crv = hwj_pkey_crv(pkey);
    json_t *obj = NULL;
    uint8_t raw[32];
    size_t rawlen = sizeof(raw);
    hwj_err rc = HWJ_OK;

    if (out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_pkey_to_json: out is NULL");
    if (kty == HWJ_KTY_NONE || (kty != HWJ_KTY_RSA && crv == NULL))
        return hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                             "key type is not supported for JWK; use RSA, EC P-256/384/521, "
                             "Ed25519 or X25519");
    if ((obj = json_object()) == NULL ||
        json_object_set_new(obj, "kty", json_string(hwj_kty_name(kty))) != 0 ||
        (crv != NULL && json_object_set_new(obj, "crv", json_string(crv)) != 0)) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    switch (kty) {
    case HWJ_KTY_RSA:
        if ((rc = set_bn(obj, "n", pkey, OSSL_PKEY_PARAM_RSA_N, 0, err)) == HWJ_OK)
            rc = set_bn(obj, "e", pkey, OSSL_PKEY_PARAM_RSA_E, 0, err);
        break;
    case HWJ_KTY_EC:
        if ((rc = set_bn(obj, "x", pkey, OSSL_PKEY_PARAM_EC_PUB_X, crv_len(crv), err)) == HWJ_OK)
            rc = set_bn(obj, "y", pkey, OSSL_PKEY_PARAM_EC_PUB_Y, crv_len(crv), err);
        break;
    default:
        if (EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1 || rawlen != sizeof(raw))
            rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "cannot export the %s public key", crv);
        else
            rc = set_b64(obj, "x", raw, rawlen, err);
        break;
    }
out:
    if (rc != HWJ_OK) {
        json_decref(obj);
        return rc;
    }
    *out = obj;
    return HWJ_OK;
}

/* The private members of `pkey` into `obj` (d / d p q dp dq qi). */
static hwj_err private_to_json(EVP_PKEY *pkey, json_t *obj, hwj_error *err)
{
    static const char *const rsa_members[] = {"d", "p", "q", "dp", "dq", "qi"};
    static const char *const rsa_params[] = {
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    uint8_t raw[32];
    size_t rawlen = sizeof(raw);
    hwj_err rc = HWJ_OK;

    switch (hwj_pkey_kty(pkey)) {
    case HWJ_KTY_RSA:
        for (size_t i = 0; i < 6 && rc == HWJ_OK; i++)
            rc = set_bn(obj, rsa_members[i], pkey, rsa_params[i], 0, err);
        return rc;
    case HWJ_KTY_EC:
        return set_bn(obj, "d", pkey, OSSL_PKEY_PARAM_PRIV_KEY, crv_len(hwj_pkey_crv(pkey)), err);
    default:
        if (EVP_PKEY_get_raw_private_key(pkey, raw, &rawlen) != 1 || rawlen != sizeof(raw))
            rc = hwj_error_set_openssl(err, HWJ_ERR_CAPABILITY, "cannot export the private key");
        else
            rc = set_b64(obj, "d", raw, rawlen, err);
        OPENSSL_cleanse(raw, sizeof(raw));
        return rc;
    }
}

/* The required members (RFC 7638 §3.2) of a JWK, as a new JSON object. */
static hwj_err required_members(const hwj_jwk *jwk, json_t **out, hwj_error *err)
{
    json_t *obj = NULL;
    hwj_err rc;
    if (jwk->kty != HWJ_KTY_OCT)
        return hwj_pkey_to_json(jwk->pkey, out, err);
    if ((obj = json_object()) == NULL || json_object_set_new(obj, "kty", json_string("oct")) != 0) {
        json_decref(obj);
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    }
    if ((rc = set_b64(obj, "k", jwk->secret, jwk->secret_len, err)) != HWJ_OK) {
        json_decref(obj);
        return rc;
    }
    *out = obj;
    return HWJ_OK;
}

/* base64url(SHA-256(members in lexicographic order, no whitespace)). */
static hwj_err thumbprint_of(json_t *members, char **out, hwj_error *err)
{
    uint8_t md[32];
    unsigned mdlen = 0;
    hwj_err rc;
    char *text = json_dumps(members, JSON_COMPACT | JSON_SORT_KEYS);
    if (text == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if (EVP_Digest(text, strlen(text), md, &mdlen, hwj_md_sha256(), NULL) != 1)
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "SHA-256 failed");
    else
        rc = hwj_b64url_encode(md, mdlen, out, err);
    hwj_free_secret(text, strlen(text)); /* an oct key's k is in it */
    return rc;
}

hwj_err hwj_pkey_thumbprint(EVP_PKEY *pkey, char **out, hwj_error *err)
{
    json_t *members = NULL;
    hwj_err rc;
    if (out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_pkey_thumbprint: out is NULL");
    if ((rc = hwj_pkey_to_json(pkey, &members, err)) != HWJ_OK)
        return rc;
    rc = thumbprint_of(members, out, err);
    json_decref(members);
    return rc;
}

HWJ_EXPORT hwj_err hwj_jwk_thumbprint(const hwj_jwk *jwk, char **b64u, hwj_error *err)
{
    json_t *members = NULL;
    hwj_err rc;
    hwj_error_reset(err);
    if (jwk == NULL || b64u == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwk_thumbprint: missing argument");
    if ((rc = required_members(jwk, &members, err)) != HWJ_OK)
        return rc;
    rc = thumbprint_of(members, b64u, err);
    json_decref(members);
    return rc;
}

HWJ_EXPORT hwj_err hwj_jwk_from_pkey(EVP_PKEY *pkey, hwj_jwk **out, hwj_error *err)
{
    json_t *obj = NULL;
    hwj_jwk *jwk = NULL;
    hwj_err rc;
    hwj_error_reset(err);
    if (pkey == NULL || out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwk_from_pkey: missing argument");
    /* Through JSON, so that the result is held to every import check. */
    if ((rc = hwj_pkey_to_json(pkey, &obj, err)) != HWJ_OK)
        return rc;
    rc = hwj_jwk_from_json(obj, &jwk, err);
    json_decref(obj);
    if (rc == HWJ_OK && jwk->roca) {
        hwj_jwk_free(jwk);
        return hwj_roca_refuse("the EVP_PKEY", 0, err);
    }
    if (rc == HWJ_OK)
        *out = jwk;
    return rc;
}

/* key_ops names in a fixed order, for export. */
static hwj_err key_ops_to_json(unsigned bits, json_t *obj, hwj_error *err)
{
    static const struct {
        const char *name;
        hwj_key_op op;
    } names[] = {{"sign", HWJ_OP_SIGN},        {"verify", HWJ_OP_VERIFY},
                 {"encrypt", HWJ_OP_ENCRYPT},  {"decrypt", HWJ_OP_DECRYPT},
                 {"wrapKey", HWJ_OP_WRAP},     {"unwrapKey", HWJ_OP_UNWRAP},
                 {"deriveBits", HWJ_OP_DERIVE}};
    json_t *arr = json_array();
    if (arr == NULL || json_object_set_new(obj, "key_ops", arr) != 0)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if ((bits & (1u << (unsigned)names[i].op)) &&
            json_array_append_new(arr, json_string(names[i].name)) != 0)
            return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    return HWJ_OK;
}

HWJ_EXPORT hwj_err hwj_jwk_to_json(const hwj_jwk *jwk, int with_private, char **json,
                                   hwj_error *err)
{
    json_t *obj = NULL;
    hwj_err rc;

    hwj_error_reset(err);
    if (jwk == NULL || json == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwk_to_json: missing argument");
    if (jwk->kty == HWJ_KTY_OCT && !with_private)
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "an oct JWK is a secret: it has no public form to export");
    if ((rc = required_members(jwk, &obj, err)) != HWJ_OK)
        return rc;
    if (with_private && jwk->is_private && jwk->kty != HWJ_KTY_OCT &&
        (rc = private_to_json(jwk->pkey, obj, err)) != HWJ_OK)
        goto out;
    if ((jwk->kid != NULL && json_object_set_new(obj, "kid", json_string(jwk->kid)) != 0) ||
        (jwk->use != NULL && json_object_set_new(obj, "use", json_string(jwk->use)) != 0) ||
        (jwk->alg != HWJ_ALG_UNKNOWN &&
         json_object_set_new(obj, "alg", json_string(hwj_alg_name(jwk->alg))) != 0)) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (jwk->key_ops != 0 && (rc = key_ops_to_json(jwk->key_ops, obj, err)) != HWJ_OK)
        goto out;
    rc = hwj_json_dump(obj, json, err);
out:
    json_decref(obj);
    return rc;
}
