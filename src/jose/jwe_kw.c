/* jwe_kw.c: AES key wrap (RFC 3394, RFC 7518 §4.4), AES-GCM key wrap (§4.7) and the
 * PBES2 key-encryption key (§4.8), all through OpenSSL's EVP. */
#include "jose/jwe_internal.h"

#include "core/alg.h"
#include "core/error.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <string.h>

static const EVP_CIPHER *kw_cipher(size_t keklen)
{
    switch (keklen) {
    case 16: return EVP_aes_128_wrap();
    case 24: return EVP_aes_192_wrap();
    case 32: return EVP_aes_256_wrap();
    default: return NULL;
    }
}

static const EVP_CIPHER *gcm_cipher(size_t keklen)
{
    switch (keklen) {
    case 16: return EVP_aes_128_gcm();
    case 24: return EVP_aes_192_gcm();
    case 32: return EVP_aes_256_gcm();
    default: return NULL;
    }
}

hwj_err hwj_jwe_aeskw(int wrap, const uint8_t *kek, size_t keklen, const uint8_t *in, size_t len,
                      uint8_t *out, size_t *outlen, hwj_error *err)
{
    const EVP_CIPHER *cipher = kw_cipher(keklen);
    EVP_CIPHER_CTX *ctx = NULL;
    int n = 0, fin = 0, ok = 0;

    /* Wrapped keys are whole 64-bit blocks: at least two in, one more out. */
    if (cipher == NULL || len % 8 != 0 || len < (wrap ? 16u : 24u) || len > JWE_EK_MAX)
        goto out;
    if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
        goto out;
    EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    ok = EVP_CipherInit_ex2(ctx, cipher, kek, NULL, wrap, NULL) &&
         EVP_CipherUpdate(ctx, out, &n, in, (int)len) && EVP_CipherFinal_ex(ctx, out + n, &fin);
out:
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        ERR_clear_error();
        if (wrap)
            return hwj_error_set(err, HWJ_ERR_CRYPTO, "AES key wrap failed");
        return hwj_error_set(err, HWJ_ERR_DECRYPT, "decryption failed");
    }
    *outlen = (size_t)n + (size_t)fin;
    return HWJ_OK;
}

hwj_err hwj_jwe_gcmkw(int wrap, const uint8_t *kek, size_t keklen, const uint8_t *iv, uint8_t *tag,
                      const uint8_t *in, size_t len, uint8_t *out, hwj_error *err)
{
    const EVP_CIPHER *cipher = gcm_cipher(keklen);
    EVP_CIPHER_CTX *ctx = NULL;
    int n = 0, fin = 0, ok = 0;

    if (cipher == NULL || len == 0 || len > JWE_CEK_MAX)
        goto out;
    if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
        goto out;
    if (wrap)
        ok = EVP_EncryptInit_ex2(ctx, cipher, kek, iv, NULL) &&
             EVP_EncryptUpdate(ctx, out, &n, in, (int)len) &&
             EVP_EncryptFinal_ex(ctx, out + n, &fin) &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
    else
        ok = EVP_DecryptInit_ex2(ctx, cipher, kek, iv, NULL) &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) &&
             EVP_DecryptUpdate(ctx, out, &n, in, (int)len) &&
             EVP_DecryptFinal_ex(ctx, out + n, &fin) > 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        ERR_clear_error();
        if (len > 0 && len <= JWE_CEK_MAX)
            OPENSSL_cleanse(out, len);
        if (wrap)
            return hwj_error_set(err, HWJ_ERR_CRYPTO, "AES-GCM key wrap failed");
        return hwj_error_set(err, HWJ_ERR_DECRYPT, "decryption failed");
    }
    return HWJ_OK;
}

hwj_err hwj_jwe_pbes2_kek(hwj_alg alg, const char *pw, size_t pwlen, const uint8_t *p2s,
                          size_t p2slen, uint32_t p2c, uint8_t *kek, size_t keklen, hwj_error *err)
{
    const hwj_alg_info *info = hwj_alg_info_get(alg);
    const char *name = hwj_alg_name(alg);
    size_t nlen = strlen(name);
    uint8_t salt[64 + 1 + 256];
    int pkcs5 = 1; /* JOSE fixes its own bounds; skip SP 800-132's minimums */
    unsigned int iter = p2c;
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *ctx = NULL;
    hwj_err rc = HWJ_OK;

    if (p2slen > 256)
        return hwj_error_set(err, HWJ_ERR_LIMIT, "PBES2 p2s longer than 256 bytes");
    memcpy(salt, name, nlen);
    salt[nlen] = 0x00;
    memcpy(salt + nlen + 1, p2s, p2slen);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pw, pwlen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, nlen + 1 + p2slen),
        OSSL_PARAM_construct_uint(OSSL_KDF_PARAM_ITER, &iter),
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)info->md, 0),
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_PKCS5, &pkcs5),
        OSSL_PARAM_construct_end()};
    if ((kdf = EVP_KDF_fetch(NULL, "PBKDF2", NULL)) == NULL ||
        (ctx = EVP_KDF_CTX_new(kdf)) == NULL || EVP_KDF_derive(ctx, kek, keklen, params) <= 0)
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "PBKDF2 failed");
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    OPENSSL_cleanse(salt, sizeof(salt));
    return rc;
}
