/* pkey_prep.c: per-key prepared contexts (see pkey_prep.h). */
#include "core/pkey_prep.h"

#include "core/alg.h"
#include "core/digest.h"
#include "core/error.h"
#include "core/jwk.h"

#include <openssl/rsa.h>
#include <stdatomic.h>
#include <stdlib.h>

struct hwj_pkey_prep {
    EVP_PKEY *pkey;
    hwj_kty kty;
    const char *crv;
    int bits, size;
    EVP_MD_CTX *_Atomic tmpl[2][HWJ_ALG_COUNT_]; /* [sign][alg] */
};

hwj_pkey_prep *hwj_pkey_prep_new(EVP_PKEY *pkey)
{
    hwj_pkey_prep *p;

    if (pkey == NULL || (p = calloc(1, sizeof(*p))) == NULL)
        return NULL;
    p->pkey = pkey;
    p->kty = hwj_pkey_kty(pkey);
    p->crv = hwj_pkey_crv(pkey);
    p->bits = EVP_PKEY_get_bits(pkey);
    p->size = EVP_PKEY_get_size(pkey);
    return p;
}

void hwj_pkey_prep_free(hwj_pkey_prep *prep)
{
    if (prep == NULL)
        return;
    for (size_t s = 0; s < 2; s++)
        for (size_t a = 0; a < HWJ_ALG_COUNT_; a++)
            EVP_MD_CTX_free(atomic_load(&prep->tmpl[s][a]));
    free(prep);
}

hwj_pkey_prep *hwj_pkey_prep_get(hwj_pkey_prep *_Atomic *slot, EVP_PKEY *pkey)
{
    hwj_pkey_prep *p = atomic_load_explicit(slot, memory_order_acquire), *none = NULL;

    if (p != NULL || (p = hwj_pkey_prep_new(pkey)) == NULL)
        return p;
    if (!atomic_compare_exchange_strong_explicit(slot, &none, p, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        hwj_pkey_prep_free(p); /* another thread published first: use its prep */
        p = none;
    }
    return p;
}

hwj_pkey_prep *hwj_jwk_prep(const hwj_jwk *jwk)
{
    if (jwk == NULL || jwk->pkey == NULL)
        return NULL;
    /* The prep is the key's cache, not its value: the JWK stays const to its users. */
    return hwj_pkey_prep_get(&((hwj_jwk *)jwk)->prep, jwk->pkey);
}

EVP_PKEY *hwj_pkey_prep_pkey(const hwj_pkey_prep *prep)
{
    return prep->pkey;
}

hwj_kty hwj_pkey_prep_kty(const hwj_pkey_prep *prep)
{
    return prep->kty;
}

const char *hwj_pkey_prep_crv(const hwj_pkey_prep *prep)
{
    return prep->crv;
}

int hwj_pkey_prep_bits(const hwj_pkey_prep *prep)
{
    return prep->bits;
}

int hwj_pkey_prep_size(const hwj_pkey_prep *prep)
{
    return prep->size;
}

/* The template for (alg, sign): the one EVP_Digest*Init_ex this key and alg ever run. */
static EVP_MD_CTX *template_new(EVP_PKEY *pkey, const hwj_alg_info *info, hwj_alg alg, int sign)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *md = hwj_md_get(info->md);
    int ok, pss = alg >= HWJ_ALG_PS256 && alg <= HWJ_ALG_PS512;

    if (m == NULL || (info->md != NULL && md == NULL))
        goto fail;
    ok = sign ? EVP_DigestSignInit(m, &pctx, md, NULL, pkey)
              : EVP_DigestVerifyInit(m, &pctx, md, NULL, pkey);
    if (ok != 1)
        goto fail;
    /* PS*: MGF1 with the same hash, salt exactly as long as the hash (RFC 7518 §3.5). */
    if (pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1 ||
                EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)info->hash_len) != 1))
        goto fail;
    return m;
fail:
    EVP_MD_CTX_free(m);
    return NULL;
}

hwj_err hwj_pkey_prep_start(hwj_pkey_prep *prep, hwj_alg alg, int sign, EVP_MD_CTX **out,
                            hwj_error *err)
{
    const hwj_alg_info *info = hwj_alg_info_get(alg);
    EVP_MD_CTX *_Atomic *slot;
    EVP_MD_CTX *t, *none = NULL, *m = NULL;

    if (prep == NULL || info == NULL || info->kind != HWJ_ALG_KIND_JWS)
        return hwj_error_set(err, HWJ_ERR_INTERNAL, "signature context without a key or JWS alg");
    slot = &prep->tmpl[sign ? 1 : 0][alg];
    if ((t = atomic_load_explicit(slot, memory_order_acquire)) == NULL) {
        if ((t = template_new(prep->pkey, info, alg, sign)) == NULL)
            return hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "%s: cannot start %s", info->name,
                                         sign ? "signing" : "verification");
        if (!atomic_compare_exchange_strong_explicit(slot, &none, t, memory_order_acq_rel,
                                                     memory_order_acquire)) {
            EVP_MD_CTX_free(t); /* another thread's template won; it is the same */
            t = none;
        }
    }
    if ((m = EVP_MD_CTX_new()) == NULL || EVP_MD_CTX_copy_ex(m, t) != 1) {
        EVP_MD_CTX_free(m);
        return hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "%s: cannot start %s", info->name,
                                     sign ? "signing" : "verification");
    }
    /* One operation per copy: EVP_Digest{Sign,Verify}Final may then finish in place instead
     * of duplicating the provider context first (an EVP_PKEY_CTX_dup per signature). */
    EVP_MD_CTX_set_flags(m, EVP_MD_CTX_FLAG_FINALISE);
    *out = m;
    return HWJ_OK;
}
