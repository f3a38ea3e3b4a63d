/* prov.c: the provider's init, teardown, algorithm query and error reporting. */
#include "prov.h"

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* The core's error functions, from the dispatch table the core hands to init. */
static OSSL_FUNC_core_new_error_fn *c_new_error;
static OSSL_FUNC_core_vset_error_fn *c_vset_error;

void hwjp_raise(const hwjp_ctx *pctx, int reason, const char *fmt, ...)
{
    va_list ap;
    if (pctx == NULL || c_new_error == NULL || c_vset_error == NULL)
        return;
    va_start(ap, fmt);
    c_new_error(pctx->handle);
    c_vset_error(pctx->handle, reason, fmt, ap);
    va_end(ap);
}

void hwjp_raise_hwj(const hwjp_ctx *pctx, const hwj_error *err)
{
    hwjp_raise(pctx, HWJP_REASON, "%s", err->message[0] ? err->message : hwj_err_str(err->code));
}

static const OSSL_ALGORITHM keymgmts[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", "provider=hwjose", hwjp_rsa_keymgmt,
     "hwjose RSA key (private part in a token or TPM)"},
    {"EC:id-ecPublicKey:1.2.840.10045.2.1", "provider=hwjose", hwjp_ec_keymgmt,
     "hwjose EC key (private part in a token or TPM)"},
    {"ED25519:1.3.101.112", "provider=hwjose", hwjp_ed25519_keymgmt,
     "hwjose Ed25519 key (private part in a token or TPM)"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM signatures[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", "provider=hwjose", hwjp_rsa_signature, NULL},
    {"ECDSA", "provider=hwjose", hwjp_ecdsa_signature, NULL},
    {"ED25519:1.3.101.112", "provider=hwjose", hwjp_ed25519_signature, NULL},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM asym_ciphers[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", "provider=hwjose", hwjp_rsa_asym_cipher, NULL},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM stores[] = {
    {"hwjose", "provider=hwjose", hwjp_store, "hwjose:pkcs11:... and hwjose:tpm2:... key URIs"},
    {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM *query(void *provctx, int operation_id, int *no_cache)
{
    (void)provctx;
    *no_cache = 0;
    switch (operation_id) {
    case OSSL_OP_KEYMGMT: return keymgmts;
    case OSSL_OP_SIGNATURE: return signatures;
    case OSSL_OP_ASYM_CIPHER: return asym_ciphers;
    case OSSL_OP_STORE: return stores;
    default: return NULL;
    }
}

static const OSSL_PARAM *gettable_params(void *provctx)
{
    (void)provctx;
    static const OSSL_PARAM p[] = {OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, NULL, 0),
                                   OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, NULL, 0),
                                   OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, NULL), OSSL_PARAM_END};
    return p;
}

static int get_params(void *provctx, OSSL_PARAM params[])
{
    (void)provctx;
    OSSL_PARAM *p;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME)) != NULL &&
        !OSSL_PARAM_set_utf8_ptr(p, "hwjose: keys in PKCS#11 tokens and TPMs"))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION)) != NULL &&
        !OSSL_PARAM_set_utf8_ptr(p, hwj_version()))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS)) != NULL &&
        !OSSL_PARAM_set_int(p, 1))
        return 0;
    return 1;
}

static const OSSL_ITEM *reason_strings(void *provctx)
{
    (void)provctx;
    static const OSSL_ITEM r[] = {{HWJP_REASON, "hwjose key operation failed"}, {0, NULL}};
    return r;
}

/*
 * OpenSSL tears providers down from its own exit handler. By then a PKCS#11 module's static
 * state may be gone (SoftHSM's C++ destructors ran first, and closing a session crashes), so
 * at exit the token connections are left for the process end to close; the pointer stays
 * reachable so leak checkers do not count it.
 */
static int exiting;
static hwj_ctx *left_at_exit;

static void at_exit(void)
{
    __atomic_store_n(&exiting, 1, __ATOMIC_RELEASE);
}

static hwj_ctx *use_ctx;

void hwjp_use_ctx(hwj_ctx *ctx)
{
    __atomic_store_n(&use_ctx, ctx, __ATOMIC_RELEASE);
}

static void teardown(void *provctx)
{
    hwjp_ctx *pctx = provctx;
    if (pctx == NULL)
        return;
    if (pctx->borrowed)
        ; /* the program's */
    else if (__atomic_load_n(&exiting, __ATOMIC_ACQUIRE))
        left_at_exit = pctx->hwj;
    else
        hwj_ctx_free(pctx->hwj);
    free(pctx);
}

static const OSSL_DISPATCH prov_dispatch[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))teardown},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))query},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))gettable_params},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))get_params},
    {OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, (void (*)(void))reason_strings},
    {0, NULL}};

/* Registered after OpenSSL's own exit handler, so it runs before OpenSSL tears providers down. */
static void register_at_exit(void)
{
    atexit(at_exit);
}

int hwjp_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in, const OSSL_DISPATCH **out,
              void **provctx)
{
    hwjp_ctx *pctx = NULL;
    hwj_error err;

    for (; in != NULL && in->function_id != 0; in++) {
        if (in->function_id == OSSL_FUNC_CORE_NEW_ERROR)
            c_new_error = OSSL_FUNC_core_new_error(in);
        else if (in->function_id == OSSL_FUNC_CORE_VSET_ERROR)
            c_vset_error = OSSL_FUNC_core_vset_error(in);
    }
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_at_exit);
    if ((pctx = calloc(1, sizeof(*pctx))) == NULL)
        return 0;
    pctx->handle = handle;
    if ((pctx->hwj = __atomic_load_n(&use_ctx, __ATOMIC_ACQUIRE)) != NULL) {
        pctx->borrowed = 1;
    } else if (hwj_ctx_new(&pctx->hwj, &err) != HWJ_OK) {
        hwjp_raise_hwj(pctx, &err);
        free(pctx);
        return 0;
    }
    *out = prov_dispatch;
    *provctx = pctx;
    return 1;
}
