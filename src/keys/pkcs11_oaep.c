/* pkcs11_oaep.c: EME-OAEP decoding (RFC 8017 §7.1.2) on the host, for tokens that refuse
 * OAEP with SHA-256 (SoftHSM 2.6.1) but decrypt raw (CKM_RSA_X_509). Every check runs in
 * constant time and all failures are one result: no padding oracle (Manger's attack).
 * OpenSSL's RSA_padding_check_PKCS1_OAEP_mgf1 does this but is deprecated in 3.0. */
#include "keys/pkcs11_internal.h"

#include "core/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

/* All ones if a == b, else 0. */
static unsigned ct_eq(unsigned a, unsigned b)
{
    unsigned x = a ^ b;
    return 0u - (unsigned)(((x | (0u - x)) >> (sizeof(unsigned) * 8 - 1)) ^ 1u);
}

static unsigned ct_select(unsigned mask, unsigned a, unsigned b)
{
    return (mask & a) | (~mask & b);
}

/* out[0..len) ^= MGF1(seed, len) */
static int mgf1_xor(uint8_t *out, size_t len, const uint8_t *seed, size_t seedlen, const EVP_MD *md)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    uint8_t h[EVP_MAX_MD_SIZE];
    unsigned hlen = 0;
    int ok = c != NULL;
    for (uint32_t ctr = 0, done = 0; ok && done < len; ctr++) {
        uint8_t cb[4] = {(uint8_t)(ctr >> 24), (uint8_t)(ctr >> 16), (uint8_t)(ctr >> 8),
                         (uint8_t)ctr};
        ok = EVP_DigestInit_ex(c, md, NULL) == 1 && EVP_DigestUpdate(c, seed, seedlen) == 1 &&
             EVP_DigestUpdate(c, cb, 4) == 1 && EVP_DigestFinal_ex(c, h, &hlen) == 1;
        for (unsigned i = 0; ok && i < hlen && done < len; i++)
            out[done++] ^= h[i];
    }
    OPENSSL_cleanse(h, sizeof(h));
    EVP_MD_CTX_free(c);
    return ok;
}

int p11_oaep_decode(const uint8_t *em, size_t k, const char *mdname, uint8_t *out, size_t outcap)
{
    const EVP_MD *md = hwj_md_get(mdname);
    uint8_t db[1024], seed[EVP_MAX_MD_SIZE], lhash[EVP_MAX_MD_SIZE];
    size_t hlen, dblen;
    unsigned good, found = 0, one_index = 0;
    int result = -1;

    if (md == NULL)
        return -1;
    hlen = (size_t)EVP_MD_get_size(md);
    if (k > sizeof(db) || k < 2 * hlen + 2)
        goto out; /* depends on the key only */
    dblen = k - hlen - 1;
    memcpy(seed, em + 1, hlen);
    memcpy(db, em + 1 + hlen, dblen);
    if (!mgf1_xor(seed, hlen, db, dblen, md) || !mgf1_xor(db, dblen, seed, hlen, md) ||
        EVP_Digest("", 0, lhash, NULL, md, NULL) != 1)
        goto out;
    good = ct_eq(em[0], 0);
    good &= ct_eq((unsigned)CRYPTO_memcmp(db, lhash, hlen), 0);
    for (size_t i = hlen; i < dblen; i++) {
        unsigned is1 = ct_eq(db[i], 1), is0 = ct_eq(db[i], 0);
        one_index = ct_select(~found & is1, (unsigned)i, one_index);
        found |= is1;
        good &= found | is0;
    }
    good &= found;
    size_t mlen = dblen - (size_t)one_index - 1;
    good &= ~(0u - (unsigned)(mlen > outcap)); /* only meaningful when found */
    /* The one branch: after every check, as RFC 8017 §7.1.2 step 4 asks. */
    if (good) {
        memmove(out, db + one_index + 1, mlen);
        result = (int)mlen;
    }
out:
    OPENSSL_cleanse(db, sizeof(db));
    OPENSSL_cleanse(seed, sizeof(seed));
    return result;
}
