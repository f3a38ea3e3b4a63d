/* store.c: the OSSL_STORE loader for hwjose key URIs.
 *
 * "hwjose:" followed by a key URI the library opens (hwjose:pkcs11:…, hwjose:tpm2:…): the
 * prefix keeps the scheme apart from other providers' (pkcs11-provider also serves pkcs11:).
 * One URI names one private key; the loader yields it once, as a reference keymgmt loads.
 * The PIN comes as the library takes it: the URI's pin-source, or $HWJOSE_PIN. */
#include "prov.h"

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/params.h>
#include <openssl/store.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "hwjose:"

typedef struct storectx {
    hwjp_ctx *pctx;
    hwjp_key *key;
    int expect; /* OSSL_STORE_INFO_*, 0 for anything */
    int done;
} storectx;

static void *st_open(void *provctx, const char *uri)
{
    hwjp_ctx *pctx = provctx;
    storectx *c = NULL;
    hwj_key *key = NULL;
    hwj_error err;

    if (strncmp(uri, PREFIX, strlen(PREFIX)) != 0)
        return NULL;
    if (hwj_key_open(pctx->hwj, uri + strlen(PREFIX), NULL, &key, &err) != HWJ_OK) {
        hwjp_raise_hwj(pctx, &err);
        return NULL;
    }
    if (hwj_key_get0_pkey(key) == NULL) {
        hwjp_raise(pctx, HWJP_REASON,
                   "key '%s' is symmetric: OpenSSL takes asymmetric keys from hwjose",
                   hwj_key_get0_uri(key));
        hwj_key_free(key);
        return NULL;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL) {
        hwj_key_free(key);
        return NULL;
    }
    if ((c->key = hwjp_key_new(pctx, key)) == NULL) { /* it freed the key */
        free(c);
        return NULL;
    }
    if (hwjp_key_type(c->key) == NULL) {
        hwjp_raise(pctx, HWJP_REASON,
                   "key '%s': this type of key is not offered to OpenSSL (RSA, EC and "
                   "Ed25519 are)",
                   hwj_key_get0_uri(key));
        hwjp_key_free(c->key);
        free(c);
        return NULL;
    }
    c->pctx = pctx;
    return c;
}

static int st_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    storectx *c = vctx;
    const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT);
    return p == NULL || OSSL_PARAM_get_int(p, &c->expect);
}

static const OSSL_PARAM *st_settable_ctx_params(void *provctx)
{
    (void)provctx;
    static const OSSL_PARAM p[] = {OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL), OSSL_PARAM_END};
    return p;
}

static int st_load(void *vctx, OSSL_CALLBACK *object_cb, void *object_cbarg,
                   OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    (void)pw_cb, (void)pw_cbarg;
    storectx *c = vctx;
    int type = OSSL_OBJECT_PKEY;
    OSSL_PARAM params[4];

    c->done = 1;
    if (c->expect != 0 && c->expect != OSSL_STORE_INFO_PKEY)
        return 1; /* nothing of the kind asked for */
    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE,
                                                 (char *)hwjp_key_type(c->key), 0);
    params[2] =
        OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &c->key, sizeof(c->key));
    params[3] = OSSL_PARAM_construct_end();
    return object_cb(params, object_cbarg);
}

static int st_eof(void *vctx)
{
    return ((storectx *)vctx)->done;
}

static int st_close(void *vctx)
{
    storectx *c = vctx;
    if (c != NULL) {
        hwjp_key_free(c->key);
        free(c);
    }
    return 1;
}

const OSSL_DISPATCH hwjp_store[] = {
    {OSSL_FUNC_STORE_OPEN, (void (*)(void))st_open},
    {OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, (void (*)(void))st_settable_ctx_params},
    {OSSL_FUNC_STORE_SET_CTX_PARAMS, (void (*)(void))st_set_ctx_params},
    {OSSL_FUNC_STORE_LOAD, (void (*)(void))st_load},
    {OSSL_FUNC_STORE_EOF, (void (*)(void))st_eof},
    {OSSL_FUNC_STORE_CLOSE, (void (*)(void))st_close},
    {0, NULL}};
