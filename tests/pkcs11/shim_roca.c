/* shim_roca.c: a PKCS#11 module for the tests that forwards to SoftHSM but "generates" RSA
 * key pairs the way a token with the flawed Infineon generator would (CVE-2017-15361): a
 * C_GenerateKeyPair for CKM_RSA_PKCS_KEY_PAIR_GEN creates, with the caller's templates, the
 * ROCA-vulnerable key in the PEM file $HWJ_ROCA_PEM (tests/data/roca). Every other call is
 * SoftHSM's own. */
#include <dlfcn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <p11-kit/pkcs11.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef HWJ_SOFTHSM_MODULE
#define HWJ_SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#endif

#define MAXA 40

static CK_FUNCTION_LIST shim;
static CK_FUNCTION_LIST *real;

static CK_RV shared_init(CK_VOID_PTR args)
{
    CK_RV rv = real->C_Initialize(args);
    return rv == CKR_CRYPTOKI_ALREADY_INITIALIZED ? CKR_OK : rv;
}

static CK_RV keep_finalize(CK_VOID_PTR reserved)
{
    (void)reserved; /* SoftHSM is shared with the process's other users */
    return CKR_OK;
}

/* The caller's template without what C_CreateObject refuses or we set. */
static CK_ULONG copy_tmpl(CK_ATTRIBUTE *dst, const CK_ATTRIBUTE *src, CK_ULONG n)
{
    CK_ULONG k = 0;
    for (CK_ULONG i = 0; i < n && k < MAXA - 12; i++)
        if (src[i].type != CKA_MODULUS_BITS && src[i].type != CKA_PUBLIC_EXPONENT)
            dst[k++] = src[i];
    return k;
}

static CK_RV roca_pair(CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR pt, CK_ULONG pn, CK_ATTRIBUTE_PTR vt,
                       CK_ULONG vn, CK_OBJECT_HANDLE_PTR hpub, CK_OBJECT_HANDLE_PTR hpriv)
{
    static const char *const names[] = {
        OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    static const CK_ATTRIBUTE_TYPE types[] = {
        CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
        CKA_PRIME_2, CKA_EXPONENT_1,      CKA_EXPONENT_2,       CKA_COEFFICIENT};
    static CK_OBJECT_CLASS pub_class = CKO_PUBLIC_KEY, priv_class = CKO_PRIVATE_KEY;
    static CK_KEY_TYPE rsa = CKK_RSA;
    unsigned char bytes[8][1024];
    CK_ATTRIBUTE pub[MAXA], priv[MAXA];
    CK_ULONG np, nv;
    CK_RV rv = CKR_GENERAL_ERROR;
    const char *path = getenv("HWJ_ROCA_PEM");
    FILE *f = path ? fopen(path, "r") : NULL;
    EVP_PKEY *pk = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

    if (f != NULL)
        fclose(f);
    if (pk == NULL)
        return CKR_GENERAL_ERROR;
    np = copy_tmpl(pub, pt, pn);
    nv = copy_tmpl(priv, vt, vn);
    pub[np++] = (CK_ATTRIBUTE){CKA_CLASS, &pub_class, sizeof(pub_class)};
    pub[np++] = (CK_ATTRIBUTE){CKA_KEY_TYPE, &rsa, sizeof(rsa)};
    priv[nv++] = (CK_ATTRIBUTE){CKA_CLASS, &priv_class, sizeof(priv_class)};
    priv[nv++] = (CK_ATTRIBUTE){CKA_KEY_TYPE, &rsa, sizeof(rsa)};
    for (int i = 0; i < 8; i++) {
        BIGNUM *bn = NULL;
        if (!EVP_PKEY_get_bn_param(pk, names[i], &bn))
            goto out;
        int len = BN_bn2bin(bn, bytes[i]);
        BN_free(bn);
        CK_ATTRIBUTE a = {types[i], bytes[i], (CK_ULONG)len};
        if (i < 2)
            pub[np++] = a;
        priv[nv++] = a;
    }
    if ((rv = real->C_CreateObject(s, pub, np, hpub)) == CKR_OK &&
        (rv = real->C_CreateObject(s, priv, nv, hpriv)) != CKR_OK)
        real->C_DestroyObject(s, *hpub);
out:
    EVP_PKEY_free(pk);
    return rv;
}

static CK_RV generate_pair(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR pt,
                           CK_ULONG pn, CK_ATTRIBUTE_PTR vt, CK_ULONG vn, CK_OBJECT_HANDLE_PTR hpub,
                           CK_OBJECT_HANDLE_PTR hpriv)
{
    if (m != NULL && m->mechanism == CKM_RSA_PKCS_KEY_PAIR_GEN)
        return roca_pair(s, pt, pn, vt, vn, hpub, hpriv);
    return real->C_GenerateKeyPair(s, m, pt, pn, vt, vn, hpub, hpriv);
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out);
__attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
    CK_C_GetFunctionList get;
    void *h = dlopen(HWJ_SOFTHSM_MODULE, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL || (get = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList")) == NULL ||
        get(&real) != CKR_OK)
        return CKR_GENERAL_ERROR;
    shim = *real;
    shim.C_Initialize = shared_init;
    shim.C_Finalize = keep_finalize;
    shim.C_GenerateKeyPair = generate_pair;
    *out = &shim;
    return CKR_OK;
}
