/* jwe_content.c: content encryption, AES-GCM and AES-CBC-HMAC-SHA2 (RFC 7518 §5).
 * Runs on the host: the CEK is host-visible by the design of JWE. */
#include "jose/jwe_internal.h"

#include "core/alg.h"
#include "core/error.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <string.h>

static int is_gcm(hwj_alg enc)
{
    return enc == HWJ_ENC_A128GCM || enc == HWJ_ENC_A192GCM || enc == HWJ_ENC_A256GCM;
}

static int is_cbc(hwj_alg enc)
{
    return enc == HWJ_ENC_A128CBC_HS256 || enc == HWJ_ENC_A192CBC_HS384 ||
           enc == HWJ_ENC_A256CBC_HS512;
}

size_t hwj_jwe_cek_len(hwj_alg enc)
{
    const hwj_alg_info *i = hwj_alg_info_get(enc);
    return (i != NULL && i->kind == HWJ_ALG_KIND_ENC) ? i->key_bits / 8 : 0;
}

size_t hwj_jwe_iv_len(hwj_alg enc)
{
    return is_gcm(enc) ? 12 : is_cbc(enc) ? 16 : 0;
}

size_t hwj_jwe_tag_len(hwj_alg enc)
{
    /* GCM: 128 bits; CBC-HS: the first half of the HMAC, as long as the MAC key. */
    return is_gcm(enc) ? 16 : is_cbc(enc) ? hwj_jwe_cek_len(enc) / 2 : 0;
}

static const EVP_CIPHER *cipher_for(hwj_alg enc)
{
    switch (enc) {
    case HWJ_ENC_A128GCM: return EVP_aes_128_gcm();
    case HWJ_ENC_A192GCM: return EVP_aes_192_gcm();
    case HWJ_ENC_A256GCM: return EVP_aes_256_gcm();
    case HWJ_ENC_A128CBC_HS256: return EVP_aes_128_cbc();
    case HWJ_ENC_A192CBC_HS384: return EVP_aes_192_cbc();
    case HWJ_ENC_A256CBC_HS512: return EVP_aes_256_cbc();
    default: return NULL;
    }
}

/* M = HMAC(MAC_KEY, A || IV || E || AL); T = the first taglen bytes (RFC 7518 §5.2.2.1). */
static int cbc_hs_tag(hwj_alg enc, const uint8_t *mackey, size_t keylen, const uint8_t *aad,
                      size_t aadlen, const uint8_t *iv, const uint8_t *ct, size_t ctlen,
                      uint8_t *tag)
{
    uint8_t al[8], mac[EVP_MAX_MD_SIZE];
    uint64_t bits = (uint64_t)aadlen * 8;
    size_t maclen = 0;
    int ok = 0;
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                            (char *)hwj_alg_info_get(enc)->md, 0),
                           OSSL_PARAM_construct_end()};

    for (int i = 7; i >= 0; i--, bits >>= 8)
        al[i] = (uint8_t)(bits & 0xff);
    if (ctx == NULL || !EVP_MAC_init(ctx, mackey, keylen, params) ||
        !EVP_MAC_update(ctx, aad, aadlen) || !EVP_MAC_update(ctx, iv, 16) ||
        !EVP_MAC_update(ctx, ct, ctlen) || !EVP_MAC_update(ctx, al, sizeof(al)) ||
        !EVP_MAC_final(ctx, mac, &maclen, sizeof(mac)) || maclen < keylen)
        goto out;
    memcpy(tag, mac, keylen);
    ok = 1;
out:
    OPENSSL_cleanse(mac, sizeof(mac));
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(hmac);
    return ok;
}

hwj_err hwj_jwe_content_encrypt(hwj_alg enc, const uint8_t *cek, const uint8_t *iv,
                                const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t len,
                                uint8_t *ct, size_t *ctlen, uint8_t *tag, hwj_error *err)
{
    const EVP_CIPHER *cipher = cipher_for(enc);
    size_t half = hwj_jwe_cek_len(enc) / 2;
    EVP_CIPHER_CTX *ctx = NULL;
    int n = 0, fin = 0;
    hwj_err rc = HWJ_ERR_CRYPTO;

    if (cipher == NULL)
        return hwj_error_set(err, HWJ_ERR_UNSUPPORTED, "unsupported enc");
    if (len > (size_t)INT32_MAX || aadlen > (size_t)INT32_MAX)
        return hwj_error_set(err, HWJ_ERR_LIMIT, "plaintext too large to encrypt");
    if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
        goto out;
    if (is_gcm(enc)) {
        if (!EVP_EncryptInit_ex2(ctx, cipher, cek, iv, NULL) ||
            !EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aadlen) ||
            !EVP_EncryptUpdate(ctx, ct, &n, pt, (int)len) ||
            !EVP_EncryptFinal_ex(ctx, ct + n, &fin) ||
            !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag))
            goto out;
    } else {
        /* K = MAC_KEY || ENC_KEY */
        if (!EVP_EncryptInit_ex2(ctx, cipher, cek + half, iv, NULL) ||
            !EVP_EncryptUpdate(ctx, ct, &n, pt, (int)len) ||
            !EVP_EncryptFinal_ex(ctx, ct + n, &fin) ||
            !cbc_hs_tag(enc, cek, half, aad, aadlen, iv, ct, (size_t)n + (size_t)fin, tag))
            goto out;
    }
    *ctlen = (size_t)n + (size_t)fin;
    rc = HWJ_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    if (rc != HWJ_OK)
        return hwj_error_set_openssl(err, rc, "content encryption with %s failed",
                                     hwj_alg_name(enc));
    return HWJ_OK;
}

hwj_err hwj_jwe_content_decrypt(hwj_alg enc, const uint8_t *cek, const uint8_t *iv, size_t ivlen,
                                const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t ctlen,
                                const uint8_t *tag, size_t taglen, uint8_t *pt, size_t *ptlen,
                                hwj_error *err)
{
    const EVP_CIPHER *cipher = cipher_for(enc);
    size_t half = hwj_jwe_cek_len(enc) / 2;
    uint8_t want[JWE_TAG_MAX];
    EVP_CIPHER_CTX *ctx = NULL;
    int n = 0, fin = 0, ok = 0;

    if (cipher == NULL || ivlen != hwj_jwe_iv_len(enc) || taglen != hwj_jwe_tag_len(enc) ||
        ctlen > (size_t)INT32_MAX || aadlen > (size_t)INT32_MAX)
        goto out;
    if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
        goto out;
    if (is_gcm(enc)) {
        /* OpenSSL writes plaintext before Final checks the tag; it is wiped on failure. */
        ok = EVP_DecryptInit_ex2(ctx, cipher, cek, iv, NULL) &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag) &&
             EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aadlen) &&
             EVP_DecryptUpdate(ctx, pt, &n, ct, (int)ctlen) &&
             EVP_DecryptFinal_ex(ctx, pt + n, &fin) > 0;
    } else {
        /* The tag is checked, in constant time, before anything is decrypted. */
        if (ctlen == 0 || ctlen % 16 != 0 ||
            !cbc_hs_tag(enc, cek, half, aad, aadlen, iv, ct, ctlen, want) ||
            CRYPTO_memcmp(want, tag, taglen) != 0)
            goto out;
        ok = EVP_DecryptInit_ex2(ctx, cipher, cek + half, iv, NULL) &&
             EVP_DecryptUpdate(ctx, pt, &n, ct, (int)ctlen) &&
             EVP_DecryptFinal_ex(ctx, pt + n, &fin) > 0;
    }
out:
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(want, sizeof(want));
    if (!ok) {
        if (pt != NULL && ctlen > 0)
            OPENSSL_cleanse(pt, ctlen);
        ERR_clear_error(); /* no detail: it could serve as an oracle */
        return hwj_error_set(err, HWJ_ERR_DECRYPT, "decryption failed");
    }
    *ptlen = (size_t)n + (size_t)fin;
    return HWJ_OK;
}
