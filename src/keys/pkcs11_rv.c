/* pkcs11_rv.c: Cryptoki results — what a CK_RV means for the caller (error code, retry or
 * not) — and the one object search every PKCS#11 path uses. */
#include "keys/pkcs11_internal.h"

#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>

static hwj_err code_for(CK_RV rv)
{
    switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_LOCKED:
    case CKR_PIN_EXPIRED:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_USER_PIN_NOT_INITIALIZED: return HWJ_ERR_AUTH;
    case CKR_HOST_MEMORY: return HWJ_ERR_NOMEM;
    case CKR_MECHANISM_INVALID:
    case CKR_MECHANISM_PARAM_INVALID:
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
    case CKR_KEY_TYPE_INCONSISTENT:
    case CKR_KEY_SIZE_RANGE:
    case CKR_FUNCTION_NOT_SUPPORTED:
    case CKR_TEMPLATE_INCONSISTENT:
    case CKR_ATTRIBUTE_VALUE_INVALID: return HWJ_ERR_CAPABILITY;
    default: return HWJ_ERR_TOKEN;
    }
}

hwj_err p11_error(hwj_error *err, CK_RV rv, const char *fmt, ...)
{
    hwj_err code = code_for(rv);
    if (err != NULL) {
        char what[HWJ_ERROR_MESSAGE_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        hwj_error_set_native(err, code, HWJ_SRC_PKCS11, rv, "%s: %s (CK_RV 0x%lx)", what,
                             p11_kit_strerror(rv), (unsigned long)rv);
    }
    return code;
}

int p11_rv_lost(CK_RV rv)
{
    return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
           rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_CRYPTOKI_NOT_INITIALIZED;
}

int p11_rv_gone(CK_RV rv)
{
    return rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_SLOT_ID_INVALID;
}

CK_RV p11_find(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
               CK_OBJECT_HANDLE *hs, CK_ULONG max, CK_ULONG *found)
{
    CK_RV rv = f->C_FindObjectsInit(s, tmpl, n);
    *found = 0;
    if (rv != CKR_OK)
        return rv;
    rv = f->C_FindObjects(s, hs, max, found);
    f->C_FindObjectsFinal(s); /* ends the search even after a failure: the session stays usable */
    if (rv != CKR_OK)
        *found = 0;
    return rv;
}
