/* jwe_keymgmt.c: per-recipient key management (RFC 7518 §4), both directions.
 * Asymmetric private operations go through the key provider (hwj_key_decrypt,
 * hwj_key_derive), so a hardware key never leaves its token. */
#include "jose/jwe_internal.h"

#include "core/alg.h"
#include "core/b64url.h"
#include "core/error.h"
#include "core/json.h"
#include "core/jwk.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

typedef enum km_class {
    KM_NONE,
    KM_RSA1_5,
    KM_OAEP,
    KM_ECDH,
    KM_AESKW,
    KM_GCMKW,
    KM_DIR,
    KM_PBES2
} km_class;

static km_class classify(hwj_alg alg)
{
    switch (alg) {
    case HWJ_ALG_RSA1_5: return KM_RSA1_5;
    case HWJ_ALG_RSA_OAEP:
    case HWJ_ALG_RSA_OAEP_256: return KM_OAEP;
    case HWJ_ALG_ECDH_ES:
    case HWJ_ALG_ECDH_ES_A128KW:
    case HWJ_ALG_ECDH_ES_A192KW:
    case HWJ_ALG_ECDH_ES_A256KW: return KM_ECDH;
    case HWJ_ALG_A128KW:
    case HWJ_ALG_A192KW:
    case HWJ_ALG_A256KW: return KM_AESKW;
    case HWJ_ALG_A128GCMKW:
    case HWJ_ALG_A192GCMKW:
    case HWJ_ALG_A256GCMKW: return KM_GCMKW;
    case HWJ_ALG_DIR: return KM_DIR;
    case HWJ_ALG_PBES2_HS256_A128KW:
    case HWJ_ALG_PBES2_HS384_A192KW:
    case HWJ_ALG_PBES2_HS512_A256KW: return KM_PBES2;
    default: return KM_NONE;
    }
}

int hwj_jwe_km_is_direct(hwj_alg alg)
{
    return alg == HWJ_ALG_DIR || alg == HWJ_ALG_ECDH_ES;
}

/* "use" and "key_ops" for the cases hwj_jwk_check cannot judge by alg alone. */
static int jwk_use_permits(const hwj_jwk *jwk, hwj_key_op op)
{
    if (jwk->use != NULL && strcmp(jwk->use, "enc") != 0)
        return 0;
    return jwk->key_ops == 0 || (jwk->key_ops & (1u << op)) != 0;
}

/* May `jwk` serve `alg`? dir keys may be bound to the enc (RFC 7520 §5.6 binds them so),
 * PBES2 passwords are oct keys with no kty of their own, X25519 is OKP. */
static hwj_err jwk_fits(const hwj_jwk *jwk, hwj_alg alg, hwj_alg enc, hwj_key_op op, hwj_error *err)
{
    km_class c = classify(alg);
    int local = (c == KM_DIR && jwk->alg == enc) || c == KM_PBES2 ||
                (c == KM_ECDH && jwk->kty == HWJ_KTY_OKP);
    if (!local)
        return hwj_jwk_check(jwk, alg, op, err);
    if ((c == KM_ECDH ? jwk->kty != HWJ_KTY_OKP : jwk->kty != HWJ_KTY_OCT) ||
        (jwk->alg != HWJ_ALG_UNKNOWN && jwk->alg != alg && !(c == KM_DIR && jwk->alg == enc)) ||
        !jwk_use_permits(jwk, op))
        return hwj_error_set(err, HWJ_ERR_POLICY, "the JWK may not be used with %s",
                             hwj_alg_name(alg));
    return HWJ_OK;
}

static size_t kek_len(hwj_alg alg)
{
    return hwj_alg_info_get(alg)->key_bits / 8;
}

int hwj_jwe_km_fits(hwj_alg alg, hwj_alg enc, const hwj_jwe_decrypt_opts *opts)
{
    switch (classify(alg)) {
    case KM_RSA1_5: return opts->allow_rsa1_5 && opts->key != NULL && hwj_key_can(opts->key, alg);
    case KM_OAEP:
    case KM_ECDH: return opts->key != NULL && hwj_key_can(opts->key, alg);
    case KM_AESKW:
    case KM_GCMKW:
        return opts->jwk != NULL && opts->jwk->secret_len == kek_len(alg) &&
               jwk_fits(opts->jwk, alg, enc, HWJ_OP_UNWRAP, NULL) == HWJ_OK;
    case KM_DIR:
        return opts->jwk != NULL && opts->jwk->secret_len == hwj_jwe_cek_len(enc) &&
               jwk_fits(opts->jwk, alg, enc, HWJ_OP_DECRYPT, NULL) == HWJ_OK;
    case KM_PBES2:
        return opts->password != NULL ||
               (opts->jwk != NULL && jwk_fits(opts->jwk, alg, enc, HWJ_OP_UNWRAP, NULL) == HWJ_OK);
    default: return 0;
    }
}

static hwj_err decrypt_failed(hwj_error *err)
{
    ERR_clear_error();
    return hwj_error_set(err, HWJ_ERR_DECRYPT, "decryption failed");
}

/* A base64url header member of exactly `want` bytes (0: any length up to cap). */
static hwj_err hdr_bytes(const json_t *hdr, const char *name, int required, size_t want, size_t cap,
                         uint8_t *out, size_t *outlen, hwj_error *err)
{
    const char *s = NULL;
    uint8_t *buf = NULL;
    size_t n = 0;
    hwj_err rc = hwj_json_get_string(hdr, name, "JWE header", &s, err);
    if (rc != HWJ_OK)
        return rc;
    if (s == NULL) {
        *outlen = 0;
        return required ? hwj_error_set(err, HWJ_ERR_PARSE, "JWE header: \"%s\" is missing", name)
                        : HWJ_OK;
    }
    if ((rc = hwj_b64url_decode(s, strlen(s), &buf, &n, name, err)) != HWJ_OK)
        return rc;
    if ((want != 0 && n != want) || n > cap)
        rc = hwj_error_set(err, HWJ_ERR_PARSE, "JWE header: \"%s\" has the wrong length", name);
    else {
        memcpy(out, buf, n);
        *outlen = n;
    }
    hwj_free_secret(buf, n);
    return rc;
}

static hwj_err rsa1_5_unwrap(const uint8_t *ek, size_t eklen, const hwj_jwe_decrypt_opts *opts,
                             uint8_t *cek, size_t ceklen, hwj_error *err)
{
    /* RFC 7516 §11.5 / RFC 3218 §2.3.2: on any failure continue with a random CEK, so
     * a padding error only ever surfaces as the same tag failure as a wrong key. */
    uint8_t rnd[JWE_CEK_MAX], buf[JWE_EK_MAX];
    size_t n = sizeof(buf);
    if (RAND_bytes(rnd, (int)ceklen) != 1)
        return hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "RAND_bytes failed");
    hwj_error e = {0};
    hwj_err rc = hwj_key_decrypt(opts->key, HWJ_ALG_RSA1_5, ek, eklen, buf, &n, &e);
    if (rc == HWJ_ERR_POLICY) {
        /* refused before any decryption (an extractable key): says nothing of the ciphertext */
        OPENSSL_cleanse(rnd, sizeof(rnd));
        return hwj_error_set(err, rc, "%s", e.message);
    }
    unsigned good = (unsigned)(rc == HWJ_OK) & (unsigned)(n == ceklen);
    uint8_t mask = (uint8_t)(0u - good);
    for (size_t i = 0; i < ceklen; i++)
        cek[i] = (uint8_t)((buf[i] & mask) | (rnd[i] & (uint8_t)~mask));
    OPENSSL_cleanse(buf, sizeof(buf));
    OPENSSL_cleanse(rnd, sizeof(rnd));
    ERR_clear_error();
    return HWJ_OK;
}

static hwj_err oaep_unwrap(hwj_alg alg, const uint8_t *ek, size_t eklen,
                           const hwj_jwe_decrypt_opts *opts, uint8_t *cek, size_t ceklen,
                           hwj_error *err)
{
    uint8_t buf[JWE_EK_MAX];
    size_t n = sizeof(buf);
    hwj_err rc;
    if (eklen == 0)
        return decrypt_failed(err);
    rc = hwj_key_decrypt(opts->key, alg, ek, eklen, buf, &n, err);
    if (rc == HWJ_OK && n == ceklen)
        memcpy(cek, buf, ceklen);
    else if (rc == HWJ_OK || rc == HWJ_ERR_DECRYPT)
        rc = decrypt_failed(err);
    /* other errors (token gone, PIN) keep the provider's actionable message */
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

static hwj_err ecdh_unwrap(hwj_alg alg, hwj_alg enc, const json_t *hdr, const uint8_t *ek,
                           size_t eklen, const hwj_jwe_decrypt_opts *opts, uint8_t *cek,
                           size_t ceklen, hwj_error *err)
{
    uint8_t apu[512], apv[512], z[JWE_Z_MAX], kek[32];
    size_t apulen = 0, apvlen = 0, zlen = sizeof(z), n = 0;
    EVP_PKEY *epk = NULL;
    hwj_err rc;

    if ((rc = hdr_bytes(hdr, "apu", 0, 0, sizeof(apu), apu, &apulen, err)) != HWJ_OK ||
        (rc = hdr_bytes(hdr, "apv", 0, 0, sizeof(apv), apv, &apvlen, err)) != HWJ_OK)
        return rc;
    if (json_object_get(hdr, "epk") == NULL)
        return hwj_error_set(err, HWJ_ERR_PARSE, "JWE header: \"epk\" is missing");
    if ((rc = hwj_jwe_epk_parse(json_object_get(hdr, "epk"), hwj_key_get0_pkey(opts->key), &epk,
                                err)) != HWJ_OK)
        return rc;
    if ((rc = hwj_key_derive(opts->key, epk, z, &zlen, err)) != HWJ_OK)
        goto out;
    if (hwj_jwe_km_is_direct(alg)) {
        if (eklen != 0) {
            rc = decrypt_failed(err);
            goto out;
        }
        rc = hwj_jwe_concat_kdf(z, zlen, hwj_alg_name(enc), apu, apulen, apv, apvlen, cek, ceklen,
                                err);
        goto out;
    }
    if ((rc = hwj_jwe_concat_kdf(z, zlen, hwj_alg_name(alg), apu, apulen, apv, apvlen, kek,
                                 kek_len(alg), err)) != HWJ_OK)
        goto out;
    if (eklen != ceklen + 8) {
        rc = decrypt_failed(err);
        goto out;
    }
    rc = hwj_jwe_aeskw(0, kek, kek_len(alg), ek, eklen, cek, &n, err);
out:
    OPENSSL_cleanse(z, sizeof(z));
    OPENSSL_cleanse(kek, sizeof(kek));
    EVP_PKEY_free(epk);
    return rc;
}

static hwj_err pbes2_unwrap(hwj_alg alg, const json_t *hdr, const uint8_t *ek, size_t eklen,
                            const hwj_jwe_decrypt_opts *opts, uint8_t *cek, size_t ceklen,
                            hwj_error *err)
{
    uint8_t p2s[256], kek[32];
    size_t p2slen = 0, n = 0;
    uint32_t max = opts->max_p2c ? opts->max_p2c : HWJ_JWE_DEFAULT_MAX_P2C;
    const json_t *p2c = json_object_get(hdr, "p2c");
    const char *pw = opts->password;
    size_t pwlen = opts->password_len;
    hwj_err rc;

    if ((rc = hdr_bytes(hdr, "p2s", 1, 0, sizeof(p2s), p2s, &p2slen, err)) != HWJ_OK)
        return rc;
    if (p2slen < 8)
        return hwj_error_set(err, HWJ_ERR_PARSE, "JWE header: \"p2s\" is shorter than 8 bytes");
    if (!json_is_integer(p2c))
        return hwj_error_set(err, HWJ_ERR_PARSE, "JWE header: \"p2c\" must be an integer");
    if (json_integer_value(p2c) < (json_int_t)HWJ_JWE_MIN_P2C)
        return hwj_error_set(err, HWJ_ERR_POLICY, "PBES2 p2c %lld is below the minimum %u",
                             (long long)json_integer_value(p2c), HWJ_JWE_MIN_P2C);
    if (json_integer_value(p2c) > (json_int_t)max)
        return hwj_error_set(err, HWJ_ERR_LIMIT,
                             "PBES2 p2c %lld exceeds the limit %u; raise max_p2c if trusted",
                             (long long)json_integer_value(p2c), max);
    if (pw == NULL) {
        pw = (const char *)opts->jwk->secret;
        pwlen = opts->jwk->secret_len;
    }
    if ((rc = hwj_jwe_pbes2_kek(alg, pw, pwlen, p2s, p2slen, (uint32_t)json_integer_value(p2c), kek,
                                kek_len(alg), err)) == HWJ_OK) {
        if (eklen != ceklen + 8)
            rc = decrypt_failed(err);
        else
            rc = hwj_jwe_aeskw(0, kek, kek_len(alg), ek, eklen, cek, &n, err);
    }
    OPENSSL_cleanse(kek, sizeof(kek));
    return rc;
}

hwj_err hwj_jwe_km_decrypt(hwj_alg alg, hwj_alg enc, const json_t *hdr, const uint8_t *ek,
                           size_t eklen, const hwj_jwe_decrypt_opts *opts, uint8_t *cek,
                           size_t ceklen, hwj_error *err)
{
    uint8_t iv[12], tag[16];
    size_t ivlen = 0, taglen = 0, n = 0;
    hwj_err rc;

    switch (classify(alg)) {
    case KM_RSA1_5: return rsa1_5_unwrap(ek, eklen, opts, cek, ceklen, err);
    case KM_OAEP: return oaep_unwrap(alg, ek, eklen, opts, cek, ceklen, err);
    case KM_ECDH: return ecdh_unwrap(alg, enc, hdr, ek, eklen, opts, cek, ceklen, err);
    case KM_PBES2: return pbes2_unwrap(alg, hdr, ek, eklen, opts, cek, ceklen, err);
    case KM_AESKW:
        if (eklen != ceklen + 8)
            return decrypt_failed(err);
        return hwj_jwe_aeskw(0, opts->jwk->secret, opts->jwk->secret_len, ek, eklen, cek, &n, err);
    case KM_GCMKW:
        if ((rc = hdr_bytes(hdr, "iv", 1, 12, 12, iv, &ivlen, err)) != HWJ_OK ||
            (rc = hdr_bytes(hdr, "tag", 1, 16, 16, tag, &taglen, err)) != HWJ_OK)
            return rc;
        if (eklen != ceklen)
            return decrypt_failed(err);
        return hwj_jwe_gcmkw(0, opts->jwk->secret, opts->jwk->secret_len, iv, tag, ek, eklen, cek,
                             err);
    case KM_DIR:
        if (eklen != 0 || opts->jwk->secret_len != ceklen)
            return decrypt_failed(err);
        memcpy(cek, opts->jwk->secret, ceklen);
        return HWJ_OK;
    default: return hwj_error_set(err, HWJ_ERR_UNSUPPORTED, "unsupported JWE alg");
    }
}

/* --- encryption side ------------------------------------------------------------ */

static hwj_err set_b64(json_t *hdr, const char *name, const uint8_t *v, size_t len, hwj_error *err)
{
    char *s = NULL;
    hwj_err rc = hwj_b64url_encode(v, len, &s, err);
    if (rc != HWJ_OK)
        return rc;
    if (json_object_set_new(hdr, name, json_string(s)) != 0)
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    free(s);
    return rc;
}

static hwj_err oaep_wrap(hwj_alg alg, EVP_PKEY *pub, const uint8_t *cek, size_t ceklen,
                         uint8_t *out, size_t *outlen, hwj_error *err)
{
    const char *md = hwj_alg_info_get(alg)->md;
    EVP_PKEY_CTX *ctx = NULL;
    hwj_err rc = HWJ_OK;

    if (EVP_PKEY_get_bits(pub) < 2048)
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "RSA keys shorter than 2048 bits are refused (RFC 7518 §4.3)");
    if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL)) == NULL ||
        EVP_PKEY_encrypt_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, md, NULL) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, md, NULL) <= 0 ||
        EVP_PKEY_encrypt(ctx, out, outlen, cek, ceklen) <= 0)
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "RSA-OAEP encryption failed");
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

static hwj_err ecdh_wrap(hwj_alg alg, hwj_alg enc, EVP_PKEY *pub, uint8_t *cek, size_t ceklen,
                         json_t *hdr, uint8_t *out, size_t *outlen, hwj_error *err)
{
    uint8_t z[JWE_Z_MAX], kek[32];
    size_t zlen = sizeof(z);
    json_t *epk = NULL;
    hwj_err rc;

    if ((rc = hwj_jwe_epk_generate(pub, z, &zlen, &epk, err)) != HWJ_OK)
        return rc;
    if (json_object_set_new(hdr, "epk", epk) != 0) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (hwj_jwe_km_is_direct(alg)) {
        *outlen = 0;
        rc = hwj_jwe_concat_kdf(z, zlen, hwj_alg_name(enc), NULL, 0, NULL, 0, cek, ceklen, err);
    } else if ((rc = hwj_jwe_concat_kdf(z, zlen, hwj_alg_name(alg), NULL, 0, NULL, 0, kek,
                                        kek_len(alg), err)) == HWJ_OK) {
        rc = hwj_jwe_aeskw(1, kek, kek_len(alg), cek, ceklen, out, outlen, err);
    }
out:
    OPENSSL_cleanse(z, sizeof(z));
    OPENSSL_cleanse(kek, sizeof(kek));
    return rc;
}

static hwj_err pbes2_wrap(const hwj_jwe_recipient *r, const uint8_t *cek, size_t ceklen,
                          json_t *hdr, uint8_t *out, size_t *outlen, hwj_error *err)
{
    uint8_t p2s[16], kek[32];
    uint32_t p2c = r->p2c ? r->p2c : HWJ_JWE_DEFAULT_MAX_P2C;
    const char *pw = r->password ? r->password : (const char *)r->jwk->secret;
    size_t pwlen = r->password ? r->password_len : r->jwk->secret_len;
    hwj_err rc;

    if (p2c < HWJ_JWE_MIN_P2C)
        return hwj_error_set(err, HWJ_ERR_ARG, "PBES2 p2c must be at least %u", HWJ_JWE_MIN_P2C);
    if (RAND_bytes(p2s, sizeof(p2s)) != 1)
        return hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "RAND_bytes failed");
    if ((rc = hwj_jwe_pbes2_kek(r->alg, pw, pwlen, p2s, sizeof(p2s), p2c, kek, kek_len(r->alg),
                                err)) == HWJ_OK &&
        (rc = hwj_jwe_aeskw(1, kek, kek_len(r->alg), cek, ceklen, out, outlen, err)) == HWJ_OK &&
        (rc = set_b64(hdr, "p2s", p2s, sizeof(p2s), err)) == HWJ_OK &&
        json_object_set_new(hdr, "p2c", json_integer(p2c)) != 0)
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    OPENSSL_cleanse(kek, sizeof(kek));
    return rc;
}

static hwj_key_op encrypt_op(km_class c)
{
    return c == KM_DIR ? HWJ_OP_ENCRYPT : c == KM_ECDH ? HWJ_OP_DERIVE : HWJ_OP_WRAP;
}

hwj_err hwj_jwe_km_encrypt(const hwj_jwe_recipient *r, hwj_alg enc, uint8_t *cek, size_t ceklen,
                           json_t *hdr, uint8_t **ek, size_t *eklen, hwj_error *err)
{
    km_class c = classify(r->alg);
    uint8_t buf[JWE_EK_MAX], iv[12], tag[16];
    size_t n = sizeof(buf);
    hwj_err rc = HWJ_OK;

    if (c == KM_NONE || c == KM_RSA1_5)
        return hwj_error_set(err, c == KM_NONE ? HWJ_ERR_ARG : HWJ_ERR_POLICY,
                             "cannot encrypt with alg %s%s",
                             hwj_alg_name(r->alg) ? hwj_alg_name(r->alg) : "(none)",
                             c == KM_RSA1_5 ? ": RSA1_5 is only ever decrypted" : "");
    if (c == KM_PBES2 && r->password != NULL)
        ; /* a password needs no JWK */
    else if (r->jwk == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "recipient for %s needs a %s", hwj_alg_name(r->alg),
                             c == KM_PBES2 ? "password" : "JWK");
    else if ((rc = jwk_fits(r->jwk, r->alg, enc, encrypt_op(c), err)) != HWJ_OK)
        return rc;

    switch (c) {
    case KM_OAEP: rc = oaep_wrap(r->alg, r->jwk->pkey, cek, ceklen, buf, &n, err); break;
    case KM_ECDH: rc = ecdh_wrap(r->alg, enc, r->jwk->pkey, cek, ceklen, hdr, buf, &n, err); break;
    case KM_PBES2: rc = pbes2_wrap(r, cek, ceklen, hdr, buf, &n, err); break;
    case KM_AESKW:
        if (r->jwk->secret_len != kek_len(r->alg))
            return hwj_error_set(err, HWJ_ERR_POLICY, "%s needs a %zu-byte oct key",
                                 hwj_alg_name(r->alg), kek_len(r->alg));
        rc = hwj_jwe_aeskw(1, r->jwk->secret, r->jwk->secret_len, cek, ceklen, buf, &n, err);
        break;
    case KM_GCMKW:
        if (r->jwk->secret_len != kek_len(r->alg))
            return hwj_error_set(err, HWJ_ERR_POLICY, "%s needs a %zu-byte oct key",
                                 hwj_alg_name(r->alg), kek_len(r->alg));
        if (RAND_bytes(iv, sizeof(iv)) != 1)
            return hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "RAND_bytes failed");
        n = ceklen;
        if ((rc = hwj_jwe_gcmkw(1, r->jwk->secret, r->jwk->secret_len, iv, tag, cek, ceklen, buf,
                                err)) == HWJ_OK &&
            (rc = set_b64(hdr, "iv", iv, sizeof(iv), err)) == HWJ_OK)
            rc = set_b64(hdr, "tag", tag, sizeof(tag), err);
        break;
    case KM_DIR:
        if (r->jwk->secret_len != ceklen)
            return hwj_error_set(err, HWJ_ERR_POLICY, "dir with %s needs a %zu-byte oct key",
                                 hwj_alg_name(enc), ceklen);
        memcpy(cek, r->jwk->secret, ceklen);
        n = 0;
        break;
    default: return hwj_error_set(err, HWJ_ERR_INTERNAL, "unhandled alg");
    }
    if (rc == HWJ_OK && n > 0) {
        if ((*ek = malloc(n)) == NULL)
            rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        else
            memcpy(*ek, buf, n);
    } else if (rc == HWJ_OK) {
        *ek = NULL;
    }
    if (rc == HWJ_OK)
        *eklen = n;
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}
