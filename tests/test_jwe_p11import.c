/* test_jwe_p11import.c: see test_jwe_p11import.h. Direct Cryptoki through p11-kit. */
#include "test_jwe_p11import.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXA 24

typedef struct attrs {
    CK_ATTRIBUTE a[MAXA];
    size_t n;
    unsigned char *owned[MAXA];
    size_t nowned;
} attrs;

static void add(attrs *t, CK_ATTRIBUTE_TYPE type, const void *v, size_t len)
{
    t->a[t->n].type = type;
    t->a[t->n].pValue = (void *)v;
    t->a[t->n].ulValueLen = len;
    t->n++;
}

static int add_bn(attrs *t, CK_ATTRIBUTE_TYPE type, EVP_PKEY *pk, const char *param)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(pk, param, &bn))
        return -1;
    int len = BN_num_bytes(bn);
    unsigned char *buf = malloc((size_t)len + 1);
    BN_bn2bin(bn, buf);
    BN_clear_free(bn);
    t->owned[t->nowned++] = buf;
    add(t, type, buf, (size_t)len);
    return 0;
}

static void release(attrs *t)
{
    for (size_t i = 0; i < t->nowned; i++)
        free(t->owned[i]);
}

static CK_SLOT_ID find_slot(CK_FUNCTION_LIST *f, const char *token, int *found)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    *found = 0;
    if (f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
        return 0;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        char label[33];
        if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue;
        memcpy(label, ti.label, 32);
        label[32] = '\0';
        for (int j = 31; j >= 0 && label[j] == ' '; j--)
            label[j] = '\0';
        if (strcmp(label, token) == 0) {
            *found = 1;
            return slots[i];
        }
    }
    return 0;
}

/* The DER OID of an EC key's curve (CKA_EC_PARAMS) and its DER-wrapped point. */
static int ec_attrs(EVP_PKEY *pk, attrs *priv, attrs *pub)
{
    char group[64];
    unsigned char pt[200], *der = NULL, *p;
    size_t ptlen = 0;
    if (!EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL) ||
        !EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &ptlen))
        return -1;
    ASN1_OBJECT *oid = OBJ_txt2obj(group, 0);
    int dlen = i2d_ASN1_OBJECT(oid, &der);
    ASN1_OBJECT_free(oid);
    if (dlen <= 0)
        return -1;
    priv->owned[priv->nowned++] = der;
    add(priv, CKA_EC_PARAMS, der, (size_t)dlen);
    add(pub, CKA_EC_PARAMS, der, (size_t)dlen);
    /* CKA_EC_POINT: an OCTET STRING holding the uncompressed point */
    unsigned char *wrapped = malloc(ptlen + 4);
    p = wrapped;
    *p++ = 0x04;
    if (ptlen >= 128)
        *p++ = 0x81;
    *p++ = (unsigned char)ptlen;
    memcpy(p, pt, ptlen);
    pub->owned[pub->nowned++] = wrapped;
    add(pub, CKA_EC_POINT, wrapped, (size_t)(p - wrapped) + ptlen);
    return add_bn(priv, CKA_VALUE, pk, OSSL_PKEY_PARAM_PRIV_KEY);
}

int jt_p11_import(const char *module, const char *token, const char *pin, EVP_PKEY *pkey,
                  const char *label, unsigned char id)
{
    return jt_p11_import_ex(module, token, pin, pkey, label, id, 0);
}

int jt_p11_import_ex(const char *module, const char *token, const char *pin, EVP_PKEY *pkey,
                     const char *label, unsigned char id, int extractable)
{
    static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    static CK_OBJECT_CLASS cpriv = CKO_PRIVATE_KEY, cpub = CKO_PUBLIC_KEY;
    CK_KEY_TYPE kt;
    CK_FUNCTION_LIST *f = p11_kit_module_load(module, 0);
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE h;
    attrs priv = {0}, pub = {0};
    int rc = -1, found = 0, rsa = EVP_PKEY_is_a(pkey, "RSA");
    CK_RV rv;

    if (f == NULL) {
        fprintf(stderr, "p11import: cannot load %s\n", module);
        return -1;
    }
    rv = f->C_Initialize(NULL);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
        goto out;
    CK_SLOT_ID slot = find_slot(f, token, &found);
    if (!found ||
        f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) != CKR_OK)
        goto out;
    rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
        goto out;
    kt = rsa ? CKK_RSA : CKK_EC;
    add(&priv, CKA_CLASS, &cpriv, sizeof(cpriv));
    add(&pub, CKA_CLASS, &cpub, sizeof(cpub));
    add(&priv, CKA_KEY_TYPE, &kt, sizeof(kt));
    add(&pub, CKA_KEY_TYPE, &kt, sizeof(kt));
    add(&priv, CKA_TOKEN, &yes, sizeof(yes));
    add(&pub, CKA_TOKEN, &yes, sizeof(yes));
    add(&priv, CKA_PRIVATE, &yes, sizeof(yes));
    add(&priv, CKA_SENSITIVE, &yes, sizeof(yes));
    add(&priv, CKA_EXTRACTABLE, extractable ? &yes : &no, sizeof(no));
    add(&priv, CKA_LABEL, label, strlen(label));
    add(&pub, CKA_LABEL, label, strlen(label));
    add(&priv, CKA_ID, &id, 1);
    add(&pub, CKA_ID, &id, 1);
    if (rsa) {
        add(&priv, CKA_DECRYPT, &yes, sizeof(yes));
        add(&priv, CKA_SIGN, &yes, sizeof(yes));
        add(&pub, CKA_ENCRYPT, &yes, sizeof(yes));
        add(&pub, CKA_VERIFY, &yes, sizeof(yes));
        if (add_bn(&priv, CKA_MODULUS, pkey, OSSL_PKEY_PARAM_RSA_N) ||
            add_bn(&pub, CKA_MODULUS, pkey, OSSL_PKEY_PARAM_RSA_N) ||
            add_bn(&priv, CKA_PUBLIC_EXPONENT, pkey, OSSL_PKEY_PARAM_RSA_E) ||
            add_bn(&pub, CKA_PUBLIC_EXPONENT, pkey, OSSL_PKEY_PARAM_RSA_E) ||
            add_bn(&priv, CKA_PRIVATE_EXPONENT, pkey, OSSL_PKEY_PARAM_RSA_D) ||
            add_bn(&priv, CKA_PRIME_1, pkey, OSSL_PKEY_PARAM_RSA_FACTOR1) ||
            add_bn(&priv, CKA_PRIME_2, pkey, OSSL_PKEY_PARAM_RSA_FACTOR2) ||
            add_bn(&priv, CKA_EXPONENT_1, pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1) ||
            add_bn(&priv, CKA_EXPONENT_2, pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2) ||
            add_bn(&priv, CKA_COEFFICIENT, pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1))
            goto out;
    } else {
        add(&priv, CKA_DERIVE, &yes, sizeof(yes));
        add(&priv, CKA_SIGN, &yes, sizeof(yes));
        add(&pub, CKA_VERIFY, &yes, sizeof(yes));
        if (ec_attrs(pkey, &priv, &pub) != 0)
            goto out;
    }
    if ((rv = f->C_CreateObject(s, priv.a, priv.n, &h)) != CKR_OK ||
        (rv = f->C_CreateObject(s, pub.a, pub.n, &h)) != CKR_OK) {
        fprintf(stderr, "p11import: C_CreateObject failed: 0x%lx\n", (unsigned long)rv);
        goto out;
    }
    rc = 0;
out:
    if (rc != 0 && !found)
        fprintf(stderr, "p11import: token '%s' not found or login failed\n", token);
    if (s != CK_INVALID_HANDLE)
        f->C_CloseSession(s);
    f->C_Finalize(NULL);
    p11_kit_module_release(f);
    release(&priv);
    release(&pub);
    return rc;
}
