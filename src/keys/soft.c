/*
 * soft.c: the software backend. jwk:PATH opens a private JWK file (RSA, EC, Ed25519,
 * X25519, oct), file:PATH a PEM private key. For development, tests and symmetric keys:
 * the private key lives in this process, and custody says so (hardware 0, extractable 1).
 *
 * Thread safety: the EVP_PKEY is only read; every operation works on its own copy of the
 * key's prepared context (core/pkey_prep.h).
 */
#include "core/alg.h"
#include "core/digest.h"
#include "core/ecdsa.h"
#include "core/pkey_prep.h"
#include "core/error.h"
#include "core/file.h"
#include "core/jwk.h"
#include "keys/support.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <stdlib.h>
#include <string.h>

#define PEM_MAX_SIZE ((size_t)1024 * 1024)
#define RSA_MIN_BITS 2048

/* key->impl: an oct key's secret (wiped on close); an asymmetric key's prepared contexts. */
struct soft_secret {
    uint8_t *k;
    size_t len;
    hwj_pkey_prep *prep; /* asymmetric keys: signing contexts prepared once (core/pkey_prep.h) */
};

/* The algs a JWK's "use" / "key_ops" leave (RFC 7517 §4.2–4.3). */
static uint64_t restrict_by_use(const hwj_jwk *jwk, uint64_t can)
{
    uint64_t jws = 0, km = 0, ecdh = 0;
    for (hwj_alg a = HWJ_ALG_UNKNOWN + 1; a < HWJ_ALG_COUNT_; a++) {
        if (hwj_alg_get_kind(a) == HWJ_ALG_KIND_JWS)
            jws |= HWJ_ALG_BIT(a);
        else if (hwj_alg_get_kind(a) == HWJ_ALG_KIND_KM)
            km |= HWJ_ALG_BIT(a);
    }
    for (hwj_alg a = HWJ_ALG_ECDH_ES; a <= HWJ_ALG_ECDH_ES_A256KW; a++)
        ecdh |= HWJ_ALG_BIT(a);
    if (jwk->use != NULL)
        can &= strcmp(jwk->use, "sig") == 0 ? jws : strcmp(jwk->use, "enc") == 0 ? km : 0;
    if (jwk->key_ops != 0) {
        uint64_t keep = 0;
        if (jwk->key_ops & (1u << HWJ_OP_SIGN))
            keep |= jws;
        if (jwk->key_ops & ((1u << HWJ_OP_DECRYPT) | (1u << HWJ_OP_UNWRAP)))
            keep |= km & ~ecdh;
        if (jwk->key_ops & (1u << HWJ_OP_DERIVE))
            keep |= ecdh;
        can &= keep;
    }
    return can;
}

/* HMAC algs an oct key of `len` bytes is long enough for (RFC 7518 §3.2). */
static uint64_t hmac_algs(size_t len)
{
    uint64_t m = 0;
    for (hwj_alg a = HWJ_ALG_HS256; a <= HWJ_ALG_HS512; a++)
        if (len >= hwj_alg_info_get(a)->hash_len)
            m |= HWJ_ALG_BIT(a);
    return m;
}

/* Refuse what JOSE may not use: unknown types, other curves, short RSA moduli. */
static hwj_err check_type(EVP_PKEY *pkey, const char *uri, hwj_error *err)
{
    hwj_kty kty = hwj_pkey_kty(pkey);
    if (kty == HWJ_KTY_NONE || (kty != HWJ_KTY_RSA && hwj_pkey_crv(pkey) == NULL))
        return hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                             "key '%s' is of a type JOSE cannot use here; use RSA, EC "
                             "P-256/384/521, Ed25519 or X25519",
                             uri);
    if (kty == HWJ_KTY_RSA && EVP_PKEY_get_bits(pkey) < RSA_MIN_BITS)
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "key '%s' is a %d-bit RSA key; JOSE requires at least %d bits", uri,
                             EVP_PKEY_get_bits(pkey), RSA_MIN_BITS);
    return HWJ_OK;
}

static hwj_err open_jwk(const char *path, const char *uri, struct hwj_key *key, hwj_error *err)
{
    hwj_jwk *jwk = NULL;
    struct soft_secret *s = NULL;
    hwj_err rc;

    /* key.c applies the ROCA policy (and allow_roca) to every backend alike. */
    if ((rc = hwj_jwk_read_file_ex(
             path, &(hwj_jwk_parse_opts){.size = sizeof(hwj_jwk_parse_opts), .allow_roca = 1}, &jwk,
             err)) != HWJ_OK)
        return rc;
    if (!jwk->is_private) {
        rc = hwj_error_set(err, HWJ_ERR_POLICY,
                           "'%s' holds a public JWK; a key URI needs a private key (to verify "
                           "with a public key, load it as a verification JWK)",
                           uri);
        goto out;
    }
    if (jwk->kty == HWJ_KTY_OCT) {
        if ((s = calloc(1, sizeof(*s))) == NULL) {
            rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
            goto out;
        }
        /* The oct thumbprint is the default kid: pkey is NULL, so key.c cannot make it. */
        if (jwk->kid == NULL && (rc = hwj_jwk_thumbprint(jwk, &key->kid, err)) != HWJ_OK)
            goto out;
        s->k = jwk->secret;
        s->len = jwk->secret_len;
        jwk->secret = NULL;
        key->can = hmac_algs(s->len);
        key->impl = s;
        s = NULL;
    } else {
        if ((rc = check_type(jwk->pkey, uri, err)) != HWJ_OK)
            goto out;
        key->pkey = jwk->pkey;
        jwk->pkey = NULL;
        key->can = hwj_key_algs_for_pkey(key->pkey);
    }
    if (jwk->kid != NULL) {
        free(key->kid);
        key->kid = jwk->kid;
        jwk->kid = NULL;
    }
    key->kty = jwk->kty;
    key->alg = jwk->alg;
    key->can = restrict_by_use(jwk, key->can);
    if (key->alg != HWJ_ALG_UNKNOWN)
        key->can &= HWJ_ALG_BIT(key->alg);
out:
    free(s);
    hwj_jwk_free(jwk);
    return rc;
}

/* No passphrase prompt, ever: an encrypted PEM fails instead of reading the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static hwj_err open_pem(const char *path, const char *uri, struct hwj_key *key, hwj_error *err)
{
    char *text = NULL;
    size_t len = 0;
    BIO *bio = NULL;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *check = NULL;
    hwj_err rc;

    if ((rc = hwj_file_read(path, PEM_MAX_SIZE, "PEM key file", &text, &len, err)) != HWJ_OK)
        return rc;
    if ((bio = BIO_new_mem_buf(text, (int)len)) == NULL) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)) == NULL) {
        ERR_clear_error(); /* its reasons may quote the parser's view of the key */
        rc = hwj_error_set(err, HWJ_ERR_PARSE,
                           "'%s' does not hold an unencrypted PEM private key; convert it with "
                           "`openssl pkey -in KEY -out KEY.pem`",
                           uri);
        goto out;
    }
    if ((rc = check_type(pkey, uri, err)) != HWJ_OK)
        goto out;
    if ((check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
        EVP_PKEY_pairwise_check(check) != 1) {
        ERR_clear_error();
        rc = hwj_error_set(err, HWJ_ERR_PARSE, "'%s': the private key is inconsistent", uri);
        goto out;
    }
    key->pkey = pkey;
    pkey = NULL;
    key->kty = hwj_pkey_kty(key->pkey);
    key->can = hwj_key_algs_for_pkey(key->pkey);
out:
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    hwj_free_secret(text, len + 1);
    return rc;
}

static hwj_err soft_open(void *state, const char *uri, const hwj_key_open_opts *opts,
                         struct hwj_key *key, hwj_error *err)
{
    const char *path = strchr(uri, ':') + 1; /* key.c matched the scheme */
    int is_jwk = strncmp(uri, "jwk:", 4) == 0;
    hwj_err rc;

    (void)state;
    (void)opts;
    if (*path == '\0')
        return hwj_error_set(err, HWJ_ERR_ARG, "key URI '%s' names no file; use %s:PATH", uri,
                             is_jwk ? "jwk" : "file");
    rc = is_jwk ? open_jwk(path, uri, key, err) : open_pem(path, uri, key, err);
    /* Asymmetric keys keep their prepared signing contexts in key->impl too. */
    if (rc == HWJ_OK && key->impl == NULL &&
        (key->impl = calloc(1, sizeof(struct soft_secret))) == NULL)
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if (rc == HWJ_OK && key->pkey != NULL &&
        (((struct soft_secret *)key->impl)->prep = hwj_pkey_prep_new(key->pkey)) == NULL)
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if (rc != HWJ_OK) {
        EVP_PKEY_free(key->pkey);
        key->pkey = NULL;
        free(key->kid);
        key->kid = NULL;
        if (key->impl != NULL) {
            struct soft_secret *s = key->impl;
            hwj_free_secret(s->k, s->len);
            free(s);
            key->impl = NULL;
        }
        return rc;
    }
    key->custody.hardware = 0;
    key->custody.sensitive = 0;
    key->custody.always_sensitive = 0;
    key->custody.extractable = 1;
    key->custody.never_extractable = 0;
    key->custody.local = -1;
    hwj_custody_note(&key->custody, "software key: the private key is in this process's memory");
    return HWJ_OK;
}

static void soft_close(struct hwj_key *key)
{
    struct soft_secret *s = key->impl;
    if (s != NULL) {
        hwj_pkey_prep_free(s->prep);
        hwj_free_secret(s->k, s->len);
        free(s);
        key->impl = NULL;
    }
}

static hwj_err sign_hmac(const struct soft_secret *s, const hwj_alg_info *info, const uint8_t *in,
                         size_t inlen, uint8_t *sig, size_t *siglen, hwj_error *err)
{
    size_t len = 0;
    if (s == NULL)
        return hwj_error_set(err, HWJ_ERR_INTERNAL, "HMAC key has no secret");
    if (EVP_Q_mac(NULL, "HMAC", NULL, info->md, NULL, s->k, s->len, in, inlen, sig, *siglen,
                  &len) == NULL)
        return hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "%s failed", info->name);
    *siglen = len;
    return HWJ_OK;
}

/* PS*: salt as long as the hash, MGF1 with the same hash (RFC 7518 §3.5). */
static int set_pss(EVP_PKEY_CTX *pctx, const hwj_alg_info *info)
{
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, info->md, NULL) == 1;
}

/* OpenSSL's signature in `buf` as JOSE's: r||s for ECDSA, as is for RSA. */
static hwj_err sig_out(const hwj_alg_info *info, const uint8_t *buf, size_t len, uint8_t *sig,
                       size_t *siglen, hwj_error *err)
{
    hwj_err rc;
    if (info->kty == HWJ_KTY_EC) {
        if ((rc = hwj_ecdsa_der_to_raw(buf, len, info->sig_len / 2, sig, err)) != HWJ_OK)
            return rc;
        *siglen = info->sig_len;
        return HWJ_OK;
    }
    if (len > *siglen)
        return hwj_error_set(err, HWJ_ERR_INTERNAL, "%s signature longer than expected",
                             info->name);
    memcpy(sig, buf, len);
    *siglen = len;
    return HWJ_OK;
}

/* The capacity a signature with `info` needs. */
static size_t sig_need(const struct hwj_key *key, const hwj_alg_info *info)
{
    return info->kty == HWJ_KTY_OCT   ? info->hash_len
           : info->kty == HWJ_KTY_RSA ? (size_t)EVP_PKEY_get_size(key->pkey)
                                      : info->sig_len;
}

static hwj_err soft_sign(struct hwj_key *key, hwj_alg alg, const uint8_t *in, size_t inlen,
                         uint8_t *sig, size_t *siglen, hwj_error *err)
{
    const hwj_alg_info *info = hwj_alg_info_get(alg);
    const struct soft_secret *s = key->impl;
    EVP_MD_CTX *mctx = NULL;
    uint8_t der[HWJ_ECDSA_DER_MAX];
    size_t len, need = sig_need(key, info);
    hwj_err rc = HWJ_OK;

    if (*siglen < need)
        return hwj_error_set(err, HWJ_ERR_ARG, "signature buffer too small for %s (%zu < %zu)",
                             info->name, *siglen, need);
    if (info->kty == HWJ_KTY_OCT)
        return sign_hmac(s, info, in, inlen, sig, siglen, err);
    if (s == NULL || s->prep == NULL)
        return hwj_error_set(err, HWJ_ERR_INTERNAL, "software key without its signing state");
    /* A copy of the key's prepared context (PS*: salt as long as the hash, MGF1 with the
     * same hash, RFC 7518 §3.5). ECDSA signs into `der`, the rest straight into `sig`. */
    if ((rc = hwj_pkey_prep_start(s->prep, alg, 1, &mctx, err)) != HWJ_OK)
        return rc;
    len = info->kty == HWJ_KTY_EC ? sizeof(der) : *siglen;
    if (EVP_DigestSign(mctx, info->kty == HWJ_KTY_EC ? der : sig, &len, in, inlen) != 1) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "%s signing failed", info->name);
        goto out;
    }
    if (info->kty == HWJ_KTY_EC) {
        if ((rc = hwj_ecdsa_der_to_raw(der, len, info->sig_len / 2, sig, err)) != HWJ_OK)
            goto out;
        len = info->sig_len;
    }
    *siglen = len;
out:
    EVP_MD_CTX_free(mctx);
    return rc;
}

/* A digest computed elsewhere: EVP_PKEY_sign with the alg's hash named. */
static hwj_err soft_sign_digest(struct hwj_key *key, hwj_alg alg, const uint8_t *digest,
                                size_t dlen, uint8_t *sig, size_t *siglen, hwj_error *err)
{
    const hwj_alg_info *info = hwj_alg_info_get(alg);
    EVP_PKEY_CTX *pctx = NULL;
    uint8_t *buf = NULL;
    size_t len = 0, need = sig_need(key, info);
    int pss = alg >= HWJ_ALG_PS256 && alg <= HWJ_ALG_PS512;
    hwj_err rc = HWJ_OK;

    if (*siglen < need)
        return hwj_error_set(err, HWJ_ERR_ARG, "signature buffer too small for %s (%zu < %zu)",
                             info->name, *siglen, need);
    if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL)) == NULL ||
        EVP_PKEY_sign_init(pctx) != 1 ||
        EVP_PKEY_CTX_set_signature_md(pctx, hwj_md_get(info->md)) != 1 ||
        (pss && !set_pss(pctx, info))) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "%s: cannot start signing", info->name);
        goto out;
    }
    if (EVP_PKEY_sign(pctx, NULL, &len, digest, dlen) != 1 || (buf = malloc(len)) == NULL ||
        EVP_PKEY_sign(pctx, buf, &len, digest, dlen) != 1) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "%s signing failed", info->name);
        goto out;
    }
    rc = sig_out(info, buf, len, sig, siglen, err);
out:
    free(buf);
    EVP_PKEY_CTX_free(pctx);
    return rc;
}

/* RSA key management. Every failure is the same HWJ_ERR_DECRYPT, with no detail and the
 * OpenSSL queue drained: no padding oracle (RFC 7516 §11.5). */
static hwj_err soft_decrypt(struct hwj_key *key, hwj_alg alg, const uint8_t *in, size_t inlen,
                            uint8_t *out, size_t *outlen, hwj_error *err)
{
    const hwj_alg_info *info = hwj_alg_info_get(alg);
    EVP_PKEY_CTX *ctx = NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    int ok = 0;

    if (key->pkey == NULL || hwj_pkey_kty(key->pkey) != HWJ_KTY_RSA)
        return hwj_error_set(err, HWJ_ERR_POLICY, "%s needs an RSA key", info->name);
    cap = len = (size_t)EVP_PKEY_get_size(key->pkey);
    if ((buf = malloc(cap)) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL)) == NULL ||
        EVP_PKEY_decrypt_init(ctx) != 1)
        goto out;
    if (alg == HWJ_ALG_RSA1_5) {
        if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1)
            goto out;
    } else if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
               EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, info->md, NULL) != 1 ||
               EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, info->md, NULL) != 1) {
        goto out;
    }
    if (EVP_PKEY_decrypt(ctx, buf, &len, in, inlen) != 1 || len > *outlen)
        goto out;
    memcpy(out, buf, len);
    *outlen = len;
    ok = 1;
out:
    ERR_clear_error();
    EVP_PKEY_CTX_free(ctx);
    hwj_free_secret(buf, cap);
    return ok ? HWJ_OK : hwj_error_set(err, HWJ_ERR_DECRYPT, "decryption failed");
}

static hwj_err soft_derive(struct hwj_key *key, EVP_PKEY *peer, uint8_t *z, size_t *zlen,
                           hwj_error *err)
{
    const char *crv = hwj_pkey_crv(key->pkey), *pcrv = hwj_pkey_crv(peer);
    EVP_PKEY_CTX *ctx = NULL;
    size_t len = 0;
    hwj_err rc = HWJ_OK;

    /* Invalid-curve defence: the peer must be a key of our type on our curve. */
    if (crv == NULL || pcrv == NULL || hwj_pkey_kty(peer) != hwj_pkey_kty(key->pkey) ||
        strcmp(crv, pcrv) != 0)
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "ECDH peer key must be a %s key like '%s', not %s", crv ? crv : "?",
                             key->uri ? key->uri : "this key", pcrv ? pcrv : "another type");
    if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL)) == NULL ||
        EVP_PKEY_derive_init(ctx) != 1) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "ECDH: cannot start");
        goto out;
    }
    if (EVP_PKEY_derive_set_peer_ex(ctx, peer, 1) != 1) { /* 1: validate the peer's point */
        rc = hwj_error_set_openssl(err, HWJ_ERR_POLICY, "ECDH peer key is not valid on %s", crv);
        goto out;
    }
    if (EVP_PKEY_derive(ctx, NULL, &len) != 1) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "ECDH failed");
        goto out;
    }
    if (len > *zlen) {
        rc =
            hwj_error_set(err, HWJ_ERR_ARG, "ECDH output buffer too small (%zu < %zu)", *zlen, len);
        goto out;
    }
    if (EVP_PKEY_derive(ctx, z, &len) != 1) { /* X25519: also refuses an all-zero result */
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "ECDH failed");
        goto out;
    }
    *zlen = len;
out:
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

static const char *const soft_schemes[] = {"jwk", "file", NULL};

const struct hwj_key_ops hwj_soft_ops = {
    .name = "soft",
    .schemes = soft_schemes,
    .open = soft_open,
    .close = soft_close,
    .sign = soft_sign,
    .sign_digest = soft_sign_digest,
    .decrypt = soft_decrypt,
    .derive = soft_derive,
};
