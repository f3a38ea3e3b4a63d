/* keymgmt.c: key management for keys opened through hwjose (RSA, EC, Ed25519).
 *
 * Private keys come only from the store (load by reference); nothing is generated here.
 * Parameters and export answer from the public EVP_PKEY the backend opened, so OpenSSL (the
 * default provider) does everything public itself: verification, encryption, encoding.
 *
 * Export gives the public part, and fails when the private part is asked for: OpenSSL
 * first offers an operation to the default provider by exporting the whole key there, and
 * only a failed export sends it back to this provider's signature and decryption. To
 * compare a certificate with one of our keys, OpenSSL then imports the certificate's
 * public key here: import takes public keys only. */
#include "prov.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>

hwjp_key *hwjp_key_new(hwjp_ctx *pctx, hwj_key *key)
{
    hwjp_key *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        hwj_key_free(key);
        return NULL;
    }
    k->pctx = pctx;
    k->key = key;
    k->pub = hwj_key_get0_pkey(key);
    k->refs = 1;
    if (!EVP_PKEY_up_ref(k->pub)) {
        hwj_key_free(key);
        free(k);
        return NULL;
    }
    return k;
}

hwjp_key *hwjp_key_ref(hwjp_key *k)
{
    __atomic_add_fetch(&k->refs, 1, __ATOMIC_RELAXED);
    return k;
}

void hwjp_key_free(hwjp_key *k)
{
    if (k == NULL || __atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    EVP_PKEY_free(k->pub);
    hwj_key_free(k->key);
    free(k);
}

const char *hwjp_key_type(const hwjp_key *k)
{
    EVP_PKEY *pk = k->pub;
    if (pk == NULL)
        return NULL;
    if (EVP_PKEY_is_a(pk, "RSA"))
        return "RSA";
    if (EVP_PKEY_is_a(pk, "EC"))
        return "EC";
    if (EVP_PKEY_is_a(pk, "ED25519"))
        return "ED25519";
    return NULL;
}

/* The store passes a pointer to its hwjp_key; the key it loads holds its own reference. */
static void *km_load(const void *reference, size_t reference_sz)
{
    hwjp_key *k = NULL;
    if (reference == NULL || reference_sz != sizeof(k))
        return NULL;
    memcpy(&k, reference, sizeof(k));
    return hwjp_key_ref(k);
}

static void km_free(void *keydata)
{
    hwjp_key_free(keydata);
}

/* Keys are immutable: a duplicate is another reference. */
static void *km_dup(const void *keydata, int selection)
{
    (void)selection;
    return hwjp_key_ref((hwjp_key *)keydata);
}

static void *km_new(void *provctx)
{
    hwjp_key *k = calloc(1, sizeof(*k));
    if (k != NULL) {
        k->pctx = provctx;
        k->refs = 1;
    }
    return k;
}

/* A public key (a certificate's, to compare): the default provider's copy of it. Private
 * material is refused: hwjose keys come from tokens, not from bytes. */
static int km_import(hwjp_key *k, const char *type, int selection, const OSSL_PARAM params[])
{
    static const char *const secret[] = {OSSL_PKEY_PARAM_PRIV_KEY, OSSL_PKEY_PARAM_RSA_D,
                                         OSSL_PKEY_PARAM_RSA_FACTOR1, NULL};
    EVP_PKEY_CTX *pc = NULL;
    int ok = 0;

    if (k->pub != NULL || (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0)
        return 0;
    for (size_t i = 0; secret[i] != NULL; i++)
        if (OSSL_PARAM_locate_const(params, secret[i]) != NULL)
            return 0;
    if ((pc = EVP_PKEY_CTX_new_from_name(NULL, type, "provider=default")) == NULL ||
        EVP_PKEY_fromdata_init(pc) != 1 ||
        EVP_PKEY_fromdata(pc, &k->pub, EVP_PKEY_PUBLIC_KEY, (OSSL_PARAM *)params) != 1)
        goto out;
    ok = 1;
out:
    EVP_PKEY_CTX_free(pc);
    return ok;
}

static int rsa_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    return km_import(keydata, "RSA", selection, params);
}
static int ec_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    return km_import(keydata, "EC", selection, params);
}
static int ed25519_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    return km_import(keydata, "ED25519", selection, params);
}

static int km_has(const void *keydata, int selection)
{
    const hwjp_key *k = keydata;
    if (k == NULL || k->pub == NULL)
        return 0;
    /* the private key is in the token; an imported public key has none */
    return (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) == 0 || k->key != NULL;
}

static int km_match(const void *a, const void *b, int selection)
{
    (void)selection; /* the public keys tell: a private key in a token is its public key's */
    const hwjp_key *ka = a, *kb = b;
    return ka->pub != NULL && kb->pub != NULL && EVP_PKEY_eq(ka->pub, kb->pub) == 1;
}

static int km_get_params(void *keydata, OSSL_PARAM params[])
{
    hwjp_key *k = keydata;
    return k->pub != NULL && EVP_PKEY_get_params(k->pub, params);
}

static const OSSL_PARAM *km_gettable_params(void *provctx)
{
    (void)provctx;
    static const OSSL_PARAM p[] = {
        OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_MANDATORY_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
        OSSL_PARAM_END};
    return p;
}

static int km_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
    hwjp_key *k = keydata;
    OSSL_PARAM *params = NULL;
    int ok = 0;

    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 || k->pub == NULL)
        return 0; /* no error raised: OpenSSL tries this provider's operations next */
    if (EVP_PKEY_todata(k->pub, EVP_PKEY_PUBLIC_KEY, &params) != 1)
        goto out;
    ok = cb(params, cbarg);
out:
    OSSL_PARAM_free(params);
    return ok;
}

static const OSSL_PARAM *rsa_export_types(int selection)
{
    static const OSSL_PARAM p[] = {OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
                                   OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0), OSSL_PARAM_END};
    return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) ? p : NULL;
}

static const OSSL_PARAM *ec_export_types(int selection)
{
    static const OSSL_PARAM p[] = {OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
                                   OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
                                   OSSL_PARAM_END};
    return (selection & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS))
               ? p
               : NULL;
}

static const OSSL_PARAM *ed25519_export_types(int selection)
{
    static const OSSL_PARAM p[] = {OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
                                   OSSL_PARAM_END};
    return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) ? p : NULL;
}

static const char *rsa_op_name(int op)
{
    (void)op;
    return "RSA";
}
static const char *ec_op_name(int op)
{
    return op == OSSL_OP_SIGNATURE ? "ECDSA" : "EC";
}
static const char *ed25519_op_name(int op)
{
    (void)op;
    return "ED25519";
}

#define KEYMGMT(name, import, export_types, op_name)                                               \
    const OSSL_DISPATCH name[] = {                                                                 \
        {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))km_new},                                           \
        {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))import},                                        \
        {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))export_types},                            \
        {OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))km_load},                                         \
        {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free},                                         \
        {OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))km_dup},                                           \
        {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has},                                           \
        {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match},                                       \
        {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params},                             \
        {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))km_gettable_params},                   \
        {OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))km_export},                                     \
        {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))export_types},                            \
        {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))op_name},                         \
        {0, NULL}}

KEYMGMT(hwjp_rsa_keymgmt, rsa_import, rsa_export_types, rsa_op_name);
KEYMGMT(hwjp_ec_keymgmt, ec_import, ec_export_types, ec_op_name);
KEYMGMT(hwjp_ed25519_keymgmt, ed25519_import, ed25519_export_types, ed25519_op_name);
