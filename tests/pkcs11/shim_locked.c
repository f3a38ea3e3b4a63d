/* shim_locked.c: a fault-injecting PKCS#11 module for the tests. It forwards to SoftHSM but
 * reports every user PIN as locked — SoftHSM 2.6.1 itself never locks a PIN (measured: 15
 * wrong logins in a row all return CKR_PIN_INCORRECT). */
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <stddef.h>

#ifndef HWJ_SOFTHSM_MODULE
#define HWJ_SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#endif

static CK_FUNCTION_LIST shim;
static CK_C_Initialize real_init;
static CK_C_GetTokenInfo real_token_info;

static CK_RV locked_login(CK_SESSION_HANDLE s, CK_USER_TYPE u, CK_UTF8CHAR_PTR pin, CK_ULONG n)
{
    (void)s, (void)u, (void)pin, (void)n;
    return CKR_PIN_LOCKED;
}

static CK_RV shared_init(CK_VOID_PTR args)
{
    CK_RV rv = real_init(args);
    return rv == CKR_CRYPTOKI_ALREADY_INITIALIZED ? CKR_OK : rv;
}

static CK_RV keep_finalize(CK_VOID_PTR reserved)
{
    (void)reserved; /* SoftHSM is shared with the process's other users */
    return CKR_OK;
}

static CK_RV token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR ti)
{
    CK_RV rv = real_token_info(slot, ti);
    if (rv == CKR_OK)
        ti->flags |= CKF_USER_PIN_LOCKED;
    return rv;
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out);
__attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
    CK_C_GetFunctionList get;
    CK_FUNCTION_LIST *real = NULL;
    void *h = dlopen(HWJ_SOFTHSM_MODULE, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL || (get = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList")) == NULL ||
        get(&real) != CKR_OK)
        return CKR_GENERAL_ERROR;
    shim = *real;
    real_init = real->C_Initialize;
    real_token_info = real->C_GetTokenInfo;
    shim.C_Initialize = shared_init;
    shim.C_Finalize = keep_finalize;
    shim.C_GetTokenInfo = token_info;
    shim.C_Login = locked_login;
    *out = &shim;
    return CKR_OK;
}
