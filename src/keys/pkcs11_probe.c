/* pkcs11_probe.c: what a private key object is and what its token lets it do — read once,
 * when the key is opened, so that operations never search, parse or ask again. */
#include "keys/pkcs11_internal.h"

#include "core/alg.h"
#include "core/error.h"
#include "core/jwk.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

CK_RV p11_attr_get(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                   CK_ATTRIBUTE_TYPE type, uint8_t **val, CK_ULONG *len)
{
    CK_ATTRIBUTE a = {type, NULL, 0};
    CK_RV rv = f->C_GetAttributeValue(s, h, &a, 1);
    if (rv != CKR_OK)
        return rv;
    if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return CKR_ATTRIBUTE_TYPE_INVALID;
    if ((a.pValue = malloc(a.ulValueLen ? a.ulValueLen : 1)) == NULL)
        return CKR_HOST_MEMORY;
    if ((rv = f->C_GetAttributeValue(s, h, &a, 1)) != CKR_OK) {
        free(a.pValue);
        return rv;
    }
    *val = a.pValue;
    *len = a.ulValueLen;
    return CKR_OK;
}

static const struct {
    const char *crv;
    const char *group; /* OpenSSL's name */
    uint8_t der[16];
    size_t len;
} curves[] = {
    {"P-256", "prime256v1", {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}, 10},
    {"P-384", "secp384r1", {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}, 7},
    {"P-521", "secp521r1", {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23}, 7},
    {"Ed25519", "ED25519", {0x06, 0x03, 0x2b, 0x65, 0x70}, 5},
    /* SoftHSM 2.6 stores Ed25519's CKA_EC_PARAMS as PrintableString "edwards25519" */
    {"Ed25519",
     "ED25519",
     {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9'},
     14},
};

const char *p11_curve_of_params(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
        if (curves[i].len == len && memcmp(curves[i].der, p, len) == 0)
            return curves[i].crv;
    return NULL;
}

static const char *group_of(const char *crv)
{
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
        if (strcmp(curves[i].crv, crv) == 0)
            return curves[i].group;
    return NULL;
}

/* CKA_EC_POINT is a DER OCTET STRING around the point (v2.40), but some tokens give it raw. */
static int unwrap_point(const uint8_t *p, size_t len, size_t raw_len, const uint8_t **pt)
{
    size_t hdr;
    if (len == raw_len && (raw_len == 32 || p[0] == 0x04)) {
        *pt = p;
        return 1;
    }
    if (len < 2 || p[0] != 0x04)
        return 0;
    hdr = p[1] < 0x80 ? 2 : p[1] == 0x81 ? 3 : p[1] == 0x82 ? 4 : 0;
    if (hdr == 0 || len != hdr + raw_len)
        return 0;
    *pt = p + hdr;
    return 1;
}

/* The public object beside private key h: same CKA_ID (and label when it has one). */
static CK_OBJECT_HANDLE find_public(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const p11_key *pk)
{
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE t[3] = {{CKA_CLASS, &cls, sizeof(cls)}};
    CK_ULONG n = 1, found = 0;
    CK_OBJECT_HANDLE h[2];
    if (pk->idlen > 0)
        t[n++] = (CK_ATTRIBUTE){CKA_ID, (void *)pk->id, pk->idlen};
    if (pk->has_label)
        t[n++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)pk->label, strlen(pk->label)};
    if (n == 1)
        return CK_INVALID_HANDLE;
    (void)p11_find(f, s, t, n, h, 2, &found); /* a failed search finds nothing */
    return found == 1 ? h[0] : CK_INVALID_HANDLE;
}

static hwj_err ec_point(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                        const p11_key *pk, uint8_t **val, CK_ULONG *len, hwj_error *err)
{
    CK_OBJECT_HANDLE pub;
    if (p11_attr_get(f, s, h, CKA_EC_POINT, val, len) == CKR_OK)
        return HWJ_OK;
    if ((pub = find_public(f, s, pk)) == CK_INVALID_HANDLE)
        return hwj_error_set(err, HWJ_ERR_KEY_NOT_FOUND,
                             "the public key of '%s' is not in the token (no public object with "
                             "its CKA_ID/label); import it beside the private key",
                             pk->has_label ? pk->label : "(unlabelled key)");
    CK_RV rv = p11_attr_get(f, s, pub, CKA_EC_POINT, val, len);
    if (rv != CKR_OK)
        return p11_error(err, rv, "reading CKA_EC_POINT of '%s'", pk->label);
    return HWJ_OK;
}

static hwj_err build_pkey(p11_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, p11_key *pk,
                          EVP_PKEY **out, hwj_error *err)
{
    CK_FUNCTION_LIST *f = t->mod->f;
    uint8_t *a = NULL, *b = NULL;
    CK_ULONG alen = 0, blen = 0;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    BIGNUM *n = NULL, *e = NULL;
    const char *crv, *type = NULL;
    const uint8_t *pt = NULL;
    hwj_err rc = HWJ_OK;
    CK_RV rv;

    if ((bld = OSSL_PARAM_BLD_new()) == NULL) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (pk->type == CKK_RSA) {
        if ((rv = p11_attr_get(f, s, h, CKA_MODULUS, &a, &alen)) != CKR_OK ||
            (rv = p11_attr_get(f, s, h, CKA_PUBLIC_EXPONENT, &b, &blen)) != CKR_OK) {
            rc = p11_error(err, rv, "reading the RSA public key of '%s'", pk->label);
            goto out;
        }
        n = BN_bin2bn(a, (int)alen, NULL);
        e = BN_bin2bn(b, (int)blen, NULL);
        if (n == NULL || e == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)) {
            rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "building the RSA public key");
            goto out;
        }
        pk->modlen = (size_t)BN_num_bytes(n);
        type = "RSA";
    } else if (pk->type == CKK_EC || pk->type == CKK_EC_EDWARDS) {
        if ((rv = p11_attr_get(f, s, h, CKA_EC_PARAMS, &a, &alen)) != CKR_OK) {
            rc = p11_error(err, rv, "reading CKA_EC_PARAMS of '%s'", pk->label);
            goto out;
        }
        if ((crv = p11_curve_of_params(a, alen)) == NULL ||
            (strcmp(crv, "Ed25519") == 0) != (pk->type == CKK_EC_EDWARDS)) {
            rc = hwj_error_set(
                err, HWJ_ERR_UNSUPPORTED,
                "key '%s' is on a curve JOSE does not use here; this library supports "
                "P-256, P-384, P-521 and Ed25519",
                pk->label);
            goto out;
        }
        if ((rc = ec_point(f, s, h, pk, &b, &blen, err)) != HWJ_OK)
            goto out;
        pk->half = strcmp(crv, "P-256") == 0 ? 32 : strcmp(crv, "P-384") == 0 ? 48 : 66;
        size_t raw = pk->type == CKK_EC_EDWARDS ? 32 : 2 * pk->half + 1;
        if (!unwrap_point(b, blen, raw, &pt)) {
            rc = hwj_error_set(err, HWJ_ERR_PARSE, "CKA_EC_POINT of '%s' is malformed", pk->label);
            goto out;
        }
        if (pk->type == CKK_EC_EDWARDS) {
            if ((*out = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pt, 32)) == NULL)
                rc = hwj_error_set_openssl(err, HWJ_ERR_PARSE, "Ed25519 key of '%s'", pk->label);
            goto out;
        }
        if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group_of(crv), 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, raw)) {
            rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "building the EC public key");
            goto out;
        }
        type = "EC";
    } else {
        rc = hwj_error_set(
            err, HWJ_ERR_UNSUPPORTED,
            "key '%s' has a key type (CKK 0x%lx) JOSE cannot use; this library uses RSA, "
            "EC and Ed25519 keys",
            pk->label, (unsigned long)pk->type);
        goto out;
    }
    if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
        (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
        EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1)
        rc = hwj_error_set_openssl(err, HWJ_ERR_PARSE, "the public key of '%s' is invalid",
                                   pk->label);
out:
    BN_free(n);
    BN_free(e);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    free(a);
    free(b);
    return rc;
}

static int tri(const CK_ATTRIBUTE *a)
{
    if (a->ulValueLen != sizeof(CK_BBOOL))
        return -1;
    return *(CK_BBOOL *)a->pValue ? 1 : 0;
}

/* Does this token do OAEP with SHA-256? Asked once per token with a real decryption. */
static int probe_oaep256(p11_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, EVP_PKEY *pub)
{
    CK_RSA_PKCS_OAEP_PARAMS p = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM m = {CKM_RSA_PKCS_OAEP, &p, sizeof(p)};
    uint8_t msg[16], ct[1024], pt[1024];
    size_t ctlen = sizeof(ct);
    CK_ULONG ptlen = sizeof(pt);
    EVP_PKEY_CTX *c = NULL;
    int result = -1;
    CK_RV rv;

    pthread_mutex_lock(&t->lock);
    result = t->oaep256;
    pthread_mutex_unlock(&t->lock);
    if (result != -1)
        return result;
    if (RAND_bytes(msg, sizeof(msg)) != 1 ||
        (c = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL)) == NULL ||
        EVP_PKEY_encrypt_init(c) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_oaep_md_name(c, "SHA256", NULL) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md_name(c, "SHA256", NULL) != 1 ||
        EVP_PKEY_encrypt(c, ct, &ctlen, msg, sizeof(msg)) != 1) {
        ERR_clear_error();
        EVP_PKEY_CTX_free(c);
        return 0;
    }
    EVP_PKEY_CTX_free(c);
    rv = t->mod->f->C_DecryptInit(s, &m, h);
    if (rv == CKR_OK)
        rv = t->mod->f->C_Decrypt(s, ct, ctlen, pt, &ptlen);
    if (rv == CKR_OK)
        result = ptlen == sizeof(msg) && CRYPTO_memcmp(pt, msg, sizeof(msg)) == 0;
    else if (rv == CKR_ARGUMENTS_BAD || rv == CKR_MECHANISM_PARAM_INVALID ||
             rv == CKR_MECHANISM_INVALID)
        result = 0; /* SoftHSM 2.6.1: CKR_ARGUMENTS_BAD */
    else
        return 0; /* e.g. this key may not decrypt: say nothing about the token */
    OPENSSL_cleanse(pt, sizeof(pt));
    pthread_mutex_lock(&t->lock);
    t->oaep256 = result;
    pthread_mutex_unlock(&t->lock);
    return result;
}

static const struct {
    hwj_alg alg;
    CK_MECHANISM_TYPE mech;
} sign_mechs[] = {
    {HWJ_ALG_RS256, CKM_SHA256_RSA_PKCS},
    {HWJ_ALG_RS384, CKM_SHA384_RSA_PKCS},
    {HWJ_ALG_RS512, CKM_SHA512_RSA_PKCS},
    {HWJ_ALG_PS256, CKM_SHA256_RSA_PKCS_PSS},
    {HWJ_ALG_PS384, CKM_SHA384_RSA_PKCS_PSS},
    {HWJ_ALG_PS512, CKM_SHA512_RSA_PKCS_PSS},
    {HWJ_ALG_ES256, CKM_ECDSA},
    {HWJ_ALG_ES384, CKM_ECDSA},
    {HWJ_ALG_ES512, CKM_ECDSA},
    {HWJ_ALG_EDDSA, CKM_EDDSA},
    {HWJ_ALG_ED25519, CKM_EDDSA},
};

static int mech_in(const CK_MECHANISM_TYPE *m, size_t n, CK_MECHANISM_TYPE want)
{
    for (size_t i = 0; i < n; i++)
        if (m[i] == want)
            return 1;
    return 0;
}

/* The algs the key's CKA_ALLOWED_MECHANISMS permit (all when absent or empty). OAEP's hash is
 * not part of the mechanism, so OAEP permits RSA-OAEP and RSA-OAEP-256; raw RSA permits the
 * RSA-OAEP-256 fallback; only CKM_RSA_PKCS permits RSA1_5. */
static uint64_t allowed_algs(p11_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h)
{
    uint8_t *val = NULL;
    CK_ULONG len = 0;
    uint64_t algs = 0;

    if (p11_attr_get(t->mod->f, s, h, CKA_ALLOWED_MECHANISMS, &val, &len) != CKR_OK || len == 0 ||
        len % sizeof(CK_MECHANISM_TYPE) != 0) {
        free(val);
        return ~(uint64_t)0;
    }
    const CK_MECHANISM_TYPE *m = (const CK_MECHANISM_TYPE *)(void *)val;
    size_t n = len / sizeof(*m);
    for (size_t i = 0; i < sizeof(sign_mechs) / sizeof(sign_mechs[0]); i++)
        if (mech_in(m, n, sign_mechs[i].mech))
            algs |= HWJ_ALG_BIT(sign_mechs[i].alg);
    if (mech_in(m, n, CKM_RSA_PKCS_OAEP))
        algs |= HWJ_ALG_BIT(HWJ_ALG_RSA_OAEP) | HWJ_ALG_BIT(HWJ_ALG_RSA_OAEP_256);
    if (mech_in(m, n, CKM_RSA_X_509)) /* OAEP-256 unpadded on the host (pkcs11_oaep.c) */
        algs |= HWJ_ALG_BIT(HWJ_ALG_RSA_OAEP_256);
    if (mech_in(m, n, CKM_RSA_PKCS))
        algs |= HWJ_ALG_BIT(HWJ_ALG_RSA1_5);
    if (mech_in(m, n, CKM_ECDH1_DERIVE))
        for (hwj_alg a = HWJ_ALG_ECDH_ES; a <= HWJ_ALG_ECDH_ES_A256KW; a++)
            algs |= HWJ_ALG_BIT(a);
    free(val);
    return algs;
}

/* Size check against the mechanism's range: bits for RSA and EC. */
static int size_ok(const CK_MECHANISM_INFO *mi, size_t bits)
{
    if (mi->ulMaxKeySize == 0)
        return 1; /* some tokens leave the range empty */
    return bits >= mi->ulMinKeySize && bits <= mi->ulMaxKeySize;
}

static uint64_t capabilities(p11_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                             struct hwj_key *key, p11_key *pk, int can_sign, int can_decrypt,
                             int can_derive)
{
    uint64_t type_algs = hwj_key_algs_for_pkey(key->pkey), can = 0;
    /* key sizes as tokens count them: the modulus, or the field (P-521: 521, not 528) */
    size_t bits = pk->type == CKK_RSA ? pk->modlen * 8 : pk->half == 66 ? 521 : pk->half * 8;
    CK_MECHANISM_INFO mi;
    hwj_custody *c = &key->custody;

    if (pk->type == CKK_RSA && pk->modlen < 256) {
        hwj_custody_note(c, "RSA key shorter than 2048 bits: refused (RFC 7518 §3.3)");
        return 0;
    }
    if (pk->type == CKK_EC_EDWARDS)
        bits = 0; /* SoftHSM reports Ed25519's range as 255..255 bits or none: not checked */
    for (size_t i = 0; i < sizeof(sign_mechs) / sizeof(sign_mechs[0]); i++) {
        if (!(type_algs & HWJ_ALG_BIT(sign_mechs[i].alg)) || !can_sign)
            continue;
        if (p11_token_has_mech(t, sign_mechs[i].mech, CKF_SIGN, &mi) &&
            (bits == 0 || size_ok(&mi, bits)))
            can |= HWJ_ALG_BIT(sign_mechs[i].alg);
        else
            hwj_custody_note(c, "%s: the token lacks its mechanism (CKM 0x%lx)",
                             hwj_alg_name(sign_mechs[i].alg), (unsigned long)sign_mechs[i].mech);
    }
    if (pk->type == CKK_RSA && can_decrypt) {
        int oaep = p11_token_has_mech(t, CKM_RSA_PKCS_OAEP, CKF_DECRYPT, NULL);
        int raw = p11_token_has_mech(t, CKM_RSA_X_509, CKF_DECRYPT, NULL);
        if (oaep)
            can |= HWJ_ALG_BIT(HWJ_ALG_RSA_OAEP);
        if (oaep && probe_oaep256(t, s, h, key->pkey)) {
            can |= HWJ_ALG_BIT(HWJ_ALG_RSA_OAEP_256);
        } else if (raw) {
            can |= HWJ_ALG_BIT(HWJ_ALG_RSA_OAEP_256);
            pk->oaep256_raw = 1;
            hwj_custody_note(c, "RSA-OAEP-256: CKM_RSA_X_509 in the token + constant-time OAEP "
                                "unpadding on the host (the token refuses OAEP with SHA-256)");
        } else {
            hwj_custody_note(c, "RSA-OAEP-256 unavailable: the token refuses OAEP with SHA-256 "
                                "and raw RSA decryption");
        }
        if (p11_token_has_mech(t, CKM_RSA_PKCS, CKF_DECRYPT, NULL))
            can |= HWJ_ALG_BIT(HWJ_ALG_RSA1_5);
    }
    if (pk->type == CKK_EC && can_derive) {
        if (p11_token_has_mech(t, CKM_ECDH1_DERIVE, CKF_DERIVE, NULL))
            for (hwj_alg a = HWJ_ALG_ECDH_ES; a <= HWJ_ALG_ECDH_ES_A256KW; a++)
                can |= HWJ_ALG_BIT(a);
        else
            hwj_custody_note(c, "ECDH-ES: the token lacks CKM_ECDH1_DERIVE");
    }
    if (!can_sign && !can_decrypt && !can_derive)
        hwj_custody_note(c, "the key permits none of sign, decrypt, derive");
    return can & type_algs & allowed_algs(t, s, h);
}

hwj_err p11_probe_key(p11_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, struct hwj_key *key,
                      p11_key *pk, hwj_error *err)
{
    CK_FUNCTION_LIST *f = t->mod->f;
    CK_BBOOL v[9];
    CK_KEY_TYPE type = (CK_KEY_TYPE)-1;
    CK_ATTRIBUTE a[] = {
        {CKA_SIGN, &v[0], 1},
        {CKA_DECRYPT, &v[1], 1},
        {CKA_DERIVE, &v[2], 1},
        {CKA_EXTRACTABLE, &v[3], 1},
        {CKA_SENSITIVE, &v[4], 1},
        {CKA_ALWAYS_SENSITIVE, &v[5], 1},
        {CKA_NEVER_EXTRACTABLE, &v[6], 1},
        {CKA_LOCAL, &v[7], 1},
        {CKA_KEY_TYPE, &type, sizeof(type)},
    };
    uint8_t *val = NULL;
    CK_ULONG len = 0;
    EVP_PKEY *pkey = NULL;
    hwj_err rc;
    CK_RV rv;

    /* Any attribute a token does not keep comes back unavailable; the rest are filled. */
    rv = f->C_GetAttributeValue(s, h, a, sizeof(a) / sizeof(a[0]));
    if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_ATTRIBUTE_SENSITIVE)
        return p11_error(err, rv, "reading the attributes of a key in token '%s'", t->label);
    if (a[8].ulValueLen != sizeof(type))
        return hwj_error_set(err, HWJ_ERR_TOKEN, "a key in token '%s' has no CKA_KEY_TYPE",
                             t->label);
    pk->type = type;
    pk->tok = t;
    if (p11_attr_get(f, s, h, CKA_ID, &val, &len) == CKR_OK) {
        if (len <= sizeof(pk->id)) {
            memcpy(pk->id, val, len);
            pk->idlen = len;
        }
        free(val);
    }
    if (p11_attr_get(f, s, h, CKA_LABEL, &val, &len) == CKR_OK) {
        if (len < sizeof(pk->label)) {
            memcpy(pk->label, val, len);
            pk->label[len] = '\0';
            pk->has_label = 1;
        }
        free(val);
    }
    if ((rc = build_pkey(t, s, h, pk, &pkey, err)) != HWJ_OK)
        return rc;
    key->pkey = pkey;
    key->kty = hwj_pkey_kty(pkey);
    key->custody.hardware = 1;
    key->custody.extractable = tri(&a[3]);
    key->custody.sensitive = tri(&a[4]);
    key->custody.always_sensitive = tri(&a[5]);
    key->custody.never_extractable = tri(&a[6]);
    key->custody.local = tri(&a[7]);
    key->can = capabilities(t, s, h, key, pk, tri(&a[0]) == 1, tri(&a[1]) == 1, tri(&a[2]) == 1);
    if (key->custody.extractable == 1)
        hwj_custody_note(&key->custody, "the private key is extractable (CKA_EXTRACTABLE): "
                                        "signing refused unless allow_extractable is set");
    return HWJ_OK;
}

hwj_err p11_find_private(p11_token *t, CK_SESSION_HANDLE s, const p11_uri *u, CK_OBJECT_HANDLE *h,
                         hwj_error *err)
{
    CK_FUNCTION_LIST *f = t->mod->f;
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[3] = {{CKA_CLASS, &cls, sizeof(cls)}};
    CK_ULONG n = 1, found = 0;
    CK_OBJECT_HANDLE hs[2];
    char name[160];
    CK_RV rv;

    if (u->has_cls && u->cls != CKO_PRIVATE_KEY)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "the key URI names an object that is not a private key; use "
                             "type=private or leave type out");
    if (!u->has_object && !u->has_id)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "the key URI names no key; add object=NAME or id=%%XX (a key listing "
                             "of pkcs11:token=%s shows them)",
                             t->label);
    if (u->has_object)
        tmpl[n++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)u->object, strlen(u->object)};
    if (u->has_id)
        tmpl[n++] = (CK_ATTRIBUTE){CKA_ID, (void *)u->id, u->idlen};
    if (u->has_object)
        snprintf(name, sizeof(name), "object=%s", u->object);
    else
        snprintf(name, sizeof(name), "id=(%zu bytes)", u->idlen);
    if ((rv = p11_find(f, s, tmpl, n, hs, 2, &found)) != CKR_OK)
        return p11_error(err, rv, "searching token '%s'", t->label);
    if (found == 0)
        return hwj_error_set(err, HWJ_ERR_KEY_NOT_FOUND,
                             "key 'pkcs11:%s' not found in token '%s'; a key listing of "
                             "pkcs11:token=%s shows its keys",
                             name, t->label, t->label);
    if (found > 1)
        return hwj_error_set(err, HWJ_ERR_KEY_AMBIGUOUS,
                             "more than one private key matches 'pkcs11:%s' in token '%s'; add "
                             "id= to the URI",
                             name, t->label);
    *h = hs[0];
    return HWJ_OK;
}
