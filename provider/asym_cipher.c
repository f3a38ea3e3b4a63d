/* asym_cipher.c: RSA-OAEP decryption with hwjose keys.
 *
 * hwj_key_decrypt knows JOSE's key-management algs, so OAEP with SHA-1 (RSA-OAEP) and with
 * SHA-256 (RSA-OAEP-256), MGF1 with the same digest and no label, is what is offered.
 * PKCS#1 v1.5 decryption is refused (a padding oracle in a token is a key compromise, and
 * OpenSSL's default padding is v1.5: callers ask for OAEP explicitly). Encryption is public:
 * the default provider does it with the certificate or exported public key. */
#include "prov.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct decctx {
    hwjp_ctx *pctx;
    hwjp_key *key;
    int pad;
    char md[16], mgf1[16];
    int has_label;
} decctx;

static void *dec_newctx(void *provctx)
{
    decctx *c = calloc(1, sizeof(*c));
    if (c != NULL)
        c->pctx = provctx;
    return c;
}

static void dec_freectx(void *vctx)
{
    decctx *c = vctx;
    if (c == NULL)
        return;
    hwjp_key_free(c->key);
    free(c);
}

static void *dec_dupctx(void *vctx)
{
    decctx *d = malloc(sizeof(*d));
    if (d == NULL)
        return NULL;
    *d = *(decctx *)vctx;
    if (d->key != NULL)
        hwjp_key_ref(d->key);
    return d;
}

static int dec_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    decctx *c = vctx;
    const OSSL_PARAM *p;
    char *s;

    if (params == NULL)
        return 1;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE)) != NULL) {
        if (p->data_type == OSSL_PARAM_UTF8_STRING)
            c->pad = strcasecmp(p->data, "oaep") == 0 ? RSA_PKCS1_OAEP_PADDING : RSA_PKCS1_PADDING;
        else if (!OSSL_PARAM_get_int(p, &c->pad))
            return 0;
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST)) != NULL) {
        s = c->md;
        if (!OSSL_PARAM_get_utf8_string(p, &s, sizeof(c->md)))
            return 0;
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST)) != NULL) {
        s = c->mgf1;
        if (!OSSL_PARAM_get_utf8_string(p, &s, sizeof(c->mgf1)))
            return 0;
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL)) != NULL)
        c->has_label = p->data_size > 0;
    return 1;
}

static const OSSL_PARAM *dec_settable_ctx_params(void *vctx, void *provctx)
{
    (void)vctx, (void)provctx;
    static const OSSL_PARAM p[] = {
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, NULL, 0), OSSL_PARAM_END};
    return p;
}

static int dec_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    decctx *c = vctx;
    const hwjp_key *k = provkey;
    if (k == NULL || k->key == NULL || hwjp_key_type(k) == NULL)
        return 0; /* an imported public key: the default provider serves it */
    hwjp_key_free(c->key);
    c->key = hwjp_key_ref(provkey);
    c->pad = RSA_PKCS1_PADDING; /* OpenSSL's default, refused at decrypt unless changed */
    snprintf(c->md, sizeof(c->md), "SHA1");
    c->mgf1[0] = '\0';
    c->has_label = 0;
    return dec_set_ctx_params(c, params);
}

static int is_sha(const char *md, int bits)
{
    if (bits == 1)
        return strcasecmp(md, "SHA1") == 0 || strcasecmp(md, "SHA-1") == 0;
    return strcasecmp(md, "SHA256") == 0 || strcasecmp(md, "SHA2-256") == 0 ||
           strcasecmp(md, "SHA-256") == 0;
}

static int dec_decrypt(void *vctx, unsigned char *out, size_t *outlen, size_t outsize,
                       const unsigned char *in, size_t inlen)
{
    decctx *c = vctx;
    const char *mgf1 = c->mgf1[0] ? c->mgf1 : c->md;
    hwj_alg alg = HWJ_ALG_UNKNOWN;
    hwj_error err;

    if (out == NULL) {
        *outlen = (size_t)EVP_PKEY_get_size(c->key->pub);
        return 1;
    }
    if (c->pad == RSA_PKCS1_OAEP_PADDING && !c->has_label)
        alg = is_sha(c->md, 1) && is_sha(mgf1, 1)       ? HWJ_ALG_RSA_OAEP
              : is_sha(c->md, 256) && is_sha(mgf1, 256) ? HWJ_ALG_RSA_OAEP_256
                                                        : HWJ_ALG_UNKNOWN;
    if (alg == HWJ_ALG_UNKNOWN) {
        hwjp_raise(c->pctx, HWJP_REASON,
                   "key '%s': hwjose decrypts RSA-OAEP only, with SHA-1 or SHA-256 (MGF1 the same, "
                   "no label); set the padding to oaep",
                   hwj_key_get0_uri(c->key->key));
        return 0;
    }
    *outlen = outsize;
    if (hwj_key_decrypt(c->key->key, alg, in, inlen, out, outlen, &err) != HWJ_OK) {
        hwjp_raise_hwj(c->pctx, &err);
        return 0;
    }
    return 1;
}

const OSSL_DISPATCH hwjp_rsa_asym_cipher[] = {
    {OSSL_FUNC_ASYM_CIPHER_NEWCTX, (void (*)(void))dec_newctx},
    {OSSL_FUNC_ASYM_CIPHER_FREECTX, (void (*)(void))dec_freectx},
    {OSSL_FUNC_ASYM_CIPHER_DUPCTX, (void (*)(void))dec_dupctx},
    {OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, (void (*)(void))dec_init},
    {OSSL_FUNC_ASYM_CIPHER_DECRYPT, (void (*)(void))dec_decrypt},
    {OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS, (void (*)(void))dec_set_ctx_params},
    {OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS, (void (*)(void))dec_settable_ctx_params},
    {0, NULL}};
