/* signature.c: signing with hwjose keys: RSA PKCS#1 v1.5 and PSS, ECDSA, Ed25519.
 *
 * hwj_key_sign signs a message with a JOSE alg (the backend hashes where its token wants a
 * digest), so this is OpenSSL's digest-sign operation: the message is buffered, and the
 * (key type, digest, padding) OpenSSL asks for is mapped to the JOSE alg that means exactly
 * that — RS256…RS512, PS256…PS512 (MGF1 with the same digest, salt as long as the digest,
 * as TLS 1.3 requires), ES256…ES512 (the curve's own digest), EdDSA (or Ed25519). Anything else is
 * refused rather than approximated. TLS signs a few hundred bytes, so buffering costs
 * nothing. A digest computed elsewhere (OpenSSL's plain sign) goes to hwj_key_sign_digest,
 * which signs it with the same alg. Verifying with one of our keys is handed to the default
 * provider with the key's public half. */
#include "prov.h"

#include "core/ecdsa.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MSG_MAX (1u << 20) /* a larger message is not a handshake or a certificate */

typedef struct sigctx {
    hwjp_ctx *pctx;
    hwjp_key *key;
    char md[16];   /* OpenSSL digest name, "" for none */
    char mgf1[16]; /* "" for the same as md */
    int pad;       /* RSA_PKCS1_PADDING or RSA_PKCS1_PSS_PADDING */
    int saltlen;   /* RSA_PSS_SALTLEN_DIGEST or a byte count */
    unsigned char *msg;
    size_t len, cap;
} sigctx;

static void *sig_newctx(void *provctx, const char *propq)
{
    (void)propq;
    sigctx *c = calloc(1, sizeof(*c));
    if (c != NULL)
        c->pctx = provctx;
    return c;
}

static void sig_freectx(void *vctx)
{
    sigctx *c = vctx;
    if (c == NULL)
        return;
    hwjp_key_free(c->key);
    free(c->msg);
    free(c);
}

static void *sig_dupctx(void *vctx)
{
    const sigctx *c = vctx;
    sigctx *d = malloc(sizeof(*d));
    if (d == NULL)
        return NULL;
    *d = *c;
    d->msg = NULL;
    if (c->cap > 0 && (d->msg = malloc(c->cap)) == NULL) {
        free(d);
        return NULL;
    }
    if (c->len > 0)
        memcpy(d->msg, c->msg, c->len);
    if (d->key != NULL)
        hwjp_key_ref(d->key);
    return d;
}

/* OpenSSL passes a padding mode or salt length as an integer or as a name. */
static int param_int_or_name(const OSSL_PARAM *p, const char *const *names, const int *values,
                             int *out)
{
    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
        const char *s = p->data;
        for (size_t i = 0; names[i] != NULL; i++)
            if (strcasecmp(s, names[i]) == 0)
                return *out = values[i], 1;
        char *end = NULL;
        long v = strtol(s, &end, 10);
        if (end == s || *end != '\0' || v < -3 || v > 1024)
            return 0;
        return *out = (int)v, 1;
    }
    return OSSL_PARAM_get_int(p, out);
}

static int sig_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    static const char *const pads[] = {"pkcs1", "pss", "none", "oaep", "x931", NULL};
    static const int padv[] = {RSA_PKCS1_PADDING, RSA_PKCS1_PSS_PADDING, RSA_NO_PADDING,
                               RSA_PKCS1_OAEP_PADDING, RSA_X931_PADDING};
    static const char *const salts[] = {"digest", "auto", "max", NULL};
    static const int saltv[] = {RSA_PSS_SALTLEN_DIGEST, RSA_PSS_SALTLEN_AUTO, RSA_PSS_SALTLEN_MAX};
    sigctx *c = vctx;
    const OSSL_PARAM *p;
    char *s;

    if (params == NULL)
        return 1;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST)) != NULL) {
        s = c->md;
        if (!OSSL_PARAM_get_utf8_string(p, &s, sizeof(c->md)))
            return 0;
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST)) != NULL) {
        s = c->mgf1;
        if (!OSSL_PARAM_get_utf8_string(p, &s, sizeof(c->mgf1)))
            return 0;
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != NULL &&
        !param_int_or_name(p, pads, padv, &c->pad))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) != NULL &&
        !param_int_or_name(p, salts, saltv, &c->saltlen))
        return 0;
    return 1;
}

static const OSSL_PARAM *sig_settable_ctx_params(void *vctx, void *provctx)
{
    (void)vctx, (void)provctx;
    static const OSSL_PARAM p[] = {
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0), OSSL_PARAM_END};
    return p;
}

/* The digest's bits (256, 384, 512), or 0 for one JOSE has no alg with. */
static int md_bits(const char *md)
{
    static const struct {
        const char *name;
        int bits;
    } mds[] = {{"SHA256", 256}, {"SHA2-256", 256}, {"SHA-256", 256},
               {"SHA384", 384}, {"SHA2-384", 384}, {"SHA-384", 384},
               {"SHA512", 512}, {"SHA2-512", 512}, {"SHA-512", 512}};
    for (size_t i = 0; i < sizeof(mds) / sizeof(mds[0]); i++)
        if (strcasecmp(md, mds[i].name) == 0)
            return mds[i].bits;
    return 0;
}

static hwj_alg pick(int bits, hwj_alg a256, hwj_alg a384, hwj_alg a512)
{
    return bits == 256 ? a256 : bits == 384 ? a384 : bits == 512 ? a512 : HWJ_ALG_UNKNOWN;
}

/* The JOSE alg meaning what OpenSSL asked for, or HWJ_ALG_UNKNOWN (an error raised). */
static hwj_alg sig_alg(const sigctx *c)
{
    const char *type = hwjp_key_type(c->key);
    const char *md = c->md[0] ? c->md : "SHA256";
    int bits = md_bits(md);
    hwj_alg alg = HWJ_ALG_UNKNOWN;

    if (strcmp(type, "ED25519") == 0) {
        /* one scheme under two names (RFC 9864): the one the key is not bound away from */
        if (c->md[0] == '\0')
            return hwj_key_can(c->key->key, HWJ_ALG_EDDSA) ? HWJ_ALG_EDDSA : HWJ_ALG_ED25519;
    } else if (strcmp(type, "EC") == 0) {
        alg = pick(bits, HWJ_ALG_ES256, HWJ_ALG_ES384, HWJ_ALG_ES512);
    } else if (c->pad == RSA_PKCS1_PADDING) {
        alg = pick(bits, HWJ_ALG_RS256, HWJ_ALG_RS384, HWJ_ALG_RS512);
    } else if (c->pad == RSA_PKCS1_PSS_PADDING) {
        int salt_ok = c->saltlen == RSA_PSS_SALTLEN_DIGEST || c->saltlen == bits / 8;
        int mgf_ok = c->mgf1[0] == '\0' || md_bits(c->mgf1) == bits;
        if (salt_ok && mgf_ok)
            alg = pick(bits, HWJ_ALG_PS256, HWJ_ALG_PS384, HWJ_ALG_PS512);
    }
    if (alg == HWJ_ALG_UNKNOWN)
        hwjp_raise(c->pctx, HWJP_REASON,
                   "key '%s': a %s signature with %s%s is not supported; hwjose signs RSA "
                   "PKCS#1 v1.5 and PSS (MGF1 and salt length as the digest) with SHA-256/384/512, "
                   "ECDSA with its curve's digest, and pure Ed25519",
                   hwj_key_get0_uri(c->key->key), type, c->md[0] ? c->md : "no digest",
                   c->pad == RSA_PKCS1_PSS_PADDING ? " (PSS)" : "");
    return alg;
}

/* Signing needs a key in a token; verifying takes an imported public key too. */
static int sig_init(sigctx *c, const char *mdname, const hwjp_key *k, int sign,
                    const OSSL_PARAM params[])
{
    if (k == NULL || (sign && k->key == NULL) || hwjp_key_type(k) == NULL)
        return 0;
    hwjp_key_free(c->key);
    c->key = hwjp_key_ref((hwjp_key *)k);
    snprintf(c->md, sizeof(c->md), "%s", mdname != NULL ? mdname : "");
    c->mgf1[0] = '\0';
    c->pad = RSA_PKCS1_PADDING;
    c->saltlen = RSA_PSS_SALTLEN_DIGEST;
    c->len = 0;
    return sig_set_ctx_params(c, params);
}

static int sig_digest_sign_init(void *vctx, const char *mdname, void *provkey,
                                const OSSL_PARAM params[])
{
    return sig_init(vctx, mdname, provkey, 1, params);
}

static int sig_digest_sign_update(void *vctx, const unsigned char *data, size_t len)
{
    sigctx *c = vctx;
    if (len > MSG_MAX - c->len)
        return 0;
    if (c->len + len > c->cap) {
        size_t cap = c->cap ? c->cap : 512;
        while (cap < c->len + len)
            cap *= 2;
        unsigned char *m = realloc(c->msg, cap);
        if (m == NULL)
            return 0;
        c->msg = m, c->cap = cap;
    }
    if (len > 0)
        memcpy(c->msg + c->len, data, len);
    c->len += len;
    return 1;
}

/* JOSE's fixed-size r||s as the DER ECDSA-Sig-Value X.509 and TLS carry. */
static int ecdsa_der(const sigctx *c, const uint8_t *rs, size_t rslen, unsigned char *out,
                     size_t *outlen, size_t cap)
{
    uint8_t *der = NULL;
    size_t len = 0;
    hwj_error err;
    if (hwj_ecdsa_raw_to_der(rs, rslen, rslen / 2, &der, &len, &err) != HWJ_OK) {
        hwjp_raise_hwj(c->pctx, &err);
        return 0;
    }
    int ok = len <= cap;
    if (ok) {
        memcpy(out, der, len);
        *outlen = len;
    }
    hwj_free(der);
    return ok;
}

/* Sign the buffered message, or (`prehashed`) `in` as its digest, into OpenSSL's form. */
static int sign_out(sigctx *c, const unsigned char *in, size_t inlen, int prehashed,
                    unsigned char *sig, size_t *siglen, size_t sigsize)
{
    uint8_t raw[HWJ_SIG_MAX];
    size_t rawlen = sizeof(raw);
    hwj_error err;
    hwj_alg alg;
    hwj_err rc;

    if (sig == NULL) { /* the size OpenSSL should allocate */
        *siglen = (size_t)EVP_PKEY_get_size(c->key->pub);
        return 1;
    }
    if ((alg = sig_alg(c)) == HWJ_ALG_UNKNOWN)
        return 0;
    rc = prehashed ? hwj_key_sign_digest(c->key->key, alg, in, inlen, raw, &rawlen, &err)
                   : hwj_key_sign(c->key->key, alg, in, inlen, raw, &rawlen, &err);
    if (rc != HWJ_OK) {
        hwjp_raise_hwj(c->pctx, &err);
        return 0;
    }
    if (alg >= HWJ_ALG_ES256 && alg <= HWJ_ALG_ES512)
        return ecdsa_der(c, raw, rawlen, sig, siglen, sigsize);
    if (rawlen > sigsize)
        return 0;
    memcpy(sig, raw, rawlen);
    *siglen = rawlen;
    return 1;
}

static int sig_digest_sign_final(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize)
{
    sigctx *c = vctx;
    return sign_out(c, c->msg, c->len, 0, sig, siglen, sigsize);
}

/* A digest computed elsewhere (EVP_PKEY_sign; pkeyutl -sign without -rawin), of the hash the
 * "digest" parameter names (which RSA needs; ECDSA takes its curve's). */
static int sig_sign_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    return sig_init(vctx, NULL, provkey, 1, params);
}

static int sig_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                    const unsigned char *tbs, size_t tbslen)
{
    sigctx *c = vctx;
    /* Without a digest, OpenSSL's RSA signs the bytes as they are (no DigestInfo): not a JOSE
     * signature, and guessing SHA-256 would give another one than asked for. */
    if (sig != NULL && c->md[0] == '\0' && strcmp(hwjp_key_type(c->key), "RSA") == 0) {
        hwjp_raise(c->pctx, HWJP_REASON,
                   "key '%s': name the digest that was signed (the \"digest\" parameter, e.g. "
                   "digest:sha256); raw RSA signatures are not offered",
                   hwj_key_get0_uri(c->key->key));
        return 0;
    }
    return sign_out(c, tbs, tbslen, 1, sig, siglen, sigsize);
}

static int sig_digest_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                           const unsigned char *tbs, size_t tbslen)
{
    sigctx *c = vctx;
    if (sig == NULL)
        return sig_digest_sign_final(c, NULL, siglen, 0);
    c->len = 0;
    return sig_digest_sign_update(c, tbs, tbslen) && sig_digest_sign_final(c, sig, siglen, sigsize);
}

static int sig_digest_verify_init(void *vctx, const char *mdname, void *provkey,
                                  const OSSL_PARAM params[])
{
    return sig_init(vctx, mdname, provkey, 0, params);
}

/* The default provider verifies over the public key, with the same parameters. */
static int sig_digest_verify_final(void *vctx, const unsigned char *sig, size_t siglen)
{
    sigctx *c = vctx;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    int ok = 0;

    if (m == NULL || EVP_DigestVerifyInit_ex(m, &pc, c->md[0] ? c->md : NULL, NULL,
                                             "provider=default", c->key->pub, NULL) != 1)
        goto out;
    if (strcmp(hwjp_key_type(c->key), "RSA") == 0 &&
        (EVP_PKEY_CTX_set_rsa_padding(pc, c->pad) != 1 ||
         (c->pad == RSA_PKCS1_PSS_PADDING &&
          (EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, c->saltlen) != 1 ||
           (c->mgf1[0] && EVP_PKEY_CTX_set_rsa_mgf1_md_name(pc, c->mgf1, NULL) != 1)))))
        goto out;
    ok = EVP_DigestVerify(m, sig, siglen, c->msg, c->len) == 1;
out:
    EVP_MD_CTX_free(m);
    return ok;
}

static int sig_digest_verify(void *vctx, const unsigned char *sig, size_t siglen,
                             const unsigned char *tbs, size_t tbslen)
{
    sigctx *c = vctx;
    c->len = 0;
    return sig_digest_sign_update(c, tbs, tbslen) && sig_digest_verify_final(c, sig, siglen);
}

/* The DER AlgorithmIdentifier of the signature being made, for X.509 (certificate requests,
 * self-signed certificates): the fixed encodings for the algs that have no parameters. */
static int sig_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    static const unsigned char rs[3][15] = {
        {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00},
        {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00},
        {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00}};
    static const unsigned char es[3][12] = {
        {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02},
        {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03},
        {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04}};
    static const unsigned char ed[] = {0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};
    sigctx *c = vctx;
    OSSL_PARAM *p;

    if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID)) != NULL) {
        hwj_alg alg = c->key != NULL ? sig_alg(c) : HWJ_ALG_UNKNOWN;
        const unsigned char *der = NULL;
        size_t len = 0;
        if (alg >= HWJ_ALG_RS256 && alg <= HWJ_ALG_RS512)
            der = rs[alg - HWJ_ALG_RS256], len = sizeof(rs[0]);
        else if (alg >= HWJ_ALG_ES256 && alg <= HWJ_ALG_ES512)
            der = es[alg - HWJ_ALG_ES256], len = sizeof(es[0]);
        else if (alg == HWJ_ALG_EDDSA || alg == HWJ_ALG_ED25519)
            der = ed, len = sizeof(ed);
        if (der == NULL || !OSSL_PARAM_set_octet_string(p, der, len))
            return 0;
    }
    if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST)) != NULL &&
        !OSSL_PARAM_set_utf8_string(p, c->md))
        return 0;
    return 1;
}

static const OSSL_PARAM *sig_gettable_ctx_params(void *vctx, void *provctx)
{
    (void)vctx, (void)provctx;
    static const OSSL_PARAM p[] = {
        OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0), OSSL_PARAM_END};
    return p;
}

#define SIGNATURE(name)                                                                            \
    const OSSL_DISPATCH name[] = {                                                                 \
        {OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))sig_newctx},                                  \
        {OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))sig_freectx},                                \
        {OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))sig_dupctx},                                  \
        {OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))sig_sign_init},                            \
        {OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))sig_sign},                                      \
        {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, (void (*)(void))sig_digest_sign_init},              \
        {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, (void (*)(void))sig_digest_sign_update},          \
        {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, (void (*)(void))sig_digest_sign_final},            \
        {OSSL_FUNC_SIGNATURE_DIGEST_SIGN, (void (*)(void))sig_digest_sign},                        \
        {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, (void (*)(void))sig_digest_verify_init},          \
        {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, (void (*)(void))sig_digest_sign_update},        \
        {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, (void (*)(void))sig_digest_verify_final},        \
        {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY, (void (*)(void))sig_digest_verify},                    \
        {OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, (void (*)(void))sig_get_ctx_params},                  \
        {OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (void (*)(void))sig_gettable_ctx_params},        \
        {OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, (void (*)(void))sig_set_ctx_params},                  \
        {OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, (void (*)(void))sig_settable_ctx_params},        \
        {0, NULL}}

SIGNATURE(hwjp_rsa_signature);
SIGNATURE(hwjp_ecdsa_signature);
SIGNATURE(hwjp_ed25519_signature);
