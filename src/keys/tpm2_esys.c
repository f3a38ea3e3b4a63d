/* tpm2_esys.c: ESAPI connections (one per TCTI, shared in the process, serialised by a
 * mutex because ESAPI is not thread-safe: tpm2-openssl#61, #118), the storage primary,
 * loading keys once and keeping them loaded, TPM_RC_OBJECT_MEMORY handled by context
 * save/flush of the least recently used object, and reconnection after the TPM went away. */
#include "keys/tpm2_internal.h"

#include "core/error.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static tpm2_conn *registry;

/* The standard storage primary (ECC P-256, AES-128-CFB), as tpm2-openssl makes for
 * parent 0x40000001, so that its key files load here and ours load there. */
static const TPM2B_PUBLIC primary_template = {
    .publicArea =
        {
            .type = TPM2_ALG_ECC,
            .nameAlg = TPM2_ALG_SHA256,
            .objectAttributes = TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED |
                                TPMA_OBJECT_DECRYPT | TPMA_OBJECT_NODA | TPMA_OBJECT_FIXEDTPM |
                                TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN,
            .parameters.eccDetail =
                {
                    .symmetric = {.algorithm = TPM2_ALG_AES,
                                  .keyBits.aes = 128,
                                  .mode.aes = TPM2_ALG_CFB},
                    .scheme = {.scheme = TPM2_ALG_NULL},
                    .curveID = TPM2_ECC_NIST_P256,
                    .kdf = {.scheme = TPM2_ALG_NULL},
                },
        },
};

/* ---- return codes ---- */

int tpm2_rc_is_transport(TSS2_RC rc)
{
    TSS2_RC layer = rc & TSS2_RC_LAYER_MASK, base = rc & 0xffff;
    if (rc == TPM2_RC_INITIALIZE) /* a TPM restarted without TPM2_Startup */
        return 1;
    if (layer == TSS2_TCTI_RC_LAYER)
        return 1;
    return layer != TSS2_TPM_RC_LAYER &&
           (base == TSS2_BASE_RC_IO_ERROR || base == TSS2_BASE_RC_NO_CONNECTION ||
            base == TSS2_BASE_RC_MALFORMED_RESPONSE || base == TSS2_BASE_RC_INSUFFICIENT_RESPONSE);
}

/* The format-one error number without its handle/session/parameter index. */
static TSS2_RC fmt1(TSS2_RC rc)
{
    return (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && (rc & TPM2_RC_FMT1) ? rc & 0xbf : 0;
}

int tpm2_rc_is_stale_handle(TSS2_RC rc)
{
    return (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && rc >= TPM2_RC_REFERENCE_H0 &&
           rc <= TPM2_RC_REFERENCE_S6;
}

hwj_err tpm2_error(hwj_error *err, TSS2_RC rc, const tpm2_conn *c, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);

    const char *decoded = Tss2_RC_Decode(rc);
    const char *tcti = c != NULL && c->tcti[0] ? c->tcti : "(TSS default)";
    hwj_err code = HWJ_ERR_TOKEN;
    const char *hint = "";
    TSS2_RC f = fmt1(rc);

    if (tpm2_rc_is_transport(rc)) {
        return hwj_error_set_native(err, HWJ_ERR_TOKEN, HWJ_SRC_TSS2, rc,
                                    "%s: the TPM is unreachable through TCTI '%s' (%s, 0x%x); is "
                                    "swtpm running? check HWJOSE_TCTI",
                                    what, tcti, decoded, (unsigned)rc);
    } else if (f == TPM2_RC_AUTH_FAIL || f == TPM2_RC_BAD_AUTH) {
        code = HWJ_ERR_AUTH;
        hint = "; the key auth is wrong or missing (give it with auth-source=file:PATH in the "
               "URI or HWJOSE_PIN)";
    } else if (rc == TPM2_RC_LOCKOUT) {
        code = HWJ_ERR_AUTH;
        hint = "; the TPM is in dictionary-attack lockout: wait for recovery or reset it with "
               "tpm2_dictionarylockout";
    } else if (f == TPM2_RC_HANDLE) {
        code = HWJ_ERR_KEY_NOT_FOUND;
        hint = "; no such object in the TPM: a key listing of tpm2: shows what it holds";
    } else if (f == TPM2_RC_INTEGRITY || f == TPM2_RC_BINDING) {
        code = HWJ_ERR_KEY_NOT_FOUND;
        hint = "; the key file was made by another TPM or under another parent (was the TPM "
               "cleared?)";
    } else if (f == TPM2_RC_SCHEME || f == TPM2_RC_HASH || f == TPM2_RC_KEY ||
               f == TPM2_RC_ATTRIBUTES || f == TPM2_RC_CURVE || f == TPM2_RC_KEY_SIZE ||
               f == TPM2_RC_ASYMMETRIC || f == TPM2_RC_TYPE) {
        code = HWJ_ERR_CAPABILITY;
        hint = "; the TPM or the key's attributes do not allow this (its key listing shows "
               "what it can do)";
    } else if (rc == TPM2_RC_OBJECT_MEMORY) {
        hint = "; every transient object slot is held by another process: use a resource "
               "manager (/dev/tpmrm0, tabrmd) or free slots with `tpm2_flushcontext -t`";
    }
    return hwj_error_set_native(err, code, HWJ_SRC_TSS2, rc, "%s: %s (0x%x)%s", what, decoded,
                                (unsigned)rc, hint);
}

/* ---- connections ---- */

void tpm2_conn_drop(tpm2_conn *c)
{
    /* Saved contexts and handles die with the ESAPI context (and the TPM's objects with a
     * TPM restart): forget them all; each object reloads from its key file when next used. */
    for (tpm2_obj *o = c->objs, *next; o != NULL; o = next) {
        next = o->next;
        Esys_Free(o->saved);
        o->saved = NULL;
        o->tr = ESYS_TR_NONE;
        o->next = o->prev = NULL;
    }
    c->objs = NULL;
    c->primary.tr = ESYS_TR_NONE;
    if (c->esys != NULL)
        Esys_Finalize(&c->esys);
    if (c->tctx != NULL)
        Tss2_TctiLdr_Finalize(&c->tctx);
    c->esys = NULL;
    c->tctx = NULL;
}

hwj_err tpm2_conn_ensure(tpm2_conn *c, hwj_error *err)
{
    TSS2_RC r;
    if (c->esys != NULL)
        return HWJ_OK;
    r = Tss2_TctiLdr_Initialize(c->tcti[0] ? c->tcti : NULL, &c->tctx);
    if (r != TSS2_RC_SUCCESS) {
        c->tctx = NULL;
        if (c->tcti[0] && (r & ~TSS2_RC_LAYER_MASK) == TSS2_BASE_RC_NOT_SUPPORTED)
            /* the loader found no TCTI library of that name: swtpm's state is beside the point */
            return hwj_error_set_native(
                err, HWJ_ERR_TOKEN, HWJ_SRC_TSS2, r,
                "connecting to the TPM: tpm2-tss has no TCTI '%.*s' (TCTI '%s': %s, 0x%x); use "
                "device:/dev/tpmrm0, swtpm:host=H,port=P, mssim:... or tabrmd in HWJOSE_TCTI",
                (int)strcspn(c->tcti, ":"), c->tcti, c->tcti, Tss2_RC_Decode(r), (unsigned)r);
        if (c->tcti[0] && (r & ~TSS2_RC_LAYER_MASK) == TSS2_BASE_RC_BAD_VALUE)
            return hwj_error_set_native(
                err, HWJ_ERR_TOKEN, HWJ_SRC_TSS2, r,
                "connecting to the TPM: TCTI '%s' has a parameter its TCTI does not take (%s, "
                "0x%x); e.g. swtpm:host=127.0.0.1,port=2321 or device:/dev/tpmrm0 (HWJOSE_TCTI)",
                c->tcti, Tss2_RC_Decode(r), (unsigned)r);
        return tpm2_error(err, r, c, "connecting to the TPM");
    }
    r = Esys_Initialize(&c->esys, c->tctx, NULL);
    if (r != TSS2_RC_SUCCESS) {
        c->esys = NULL;
        Tss2_TctiLdr_Finalize(&c->tctx);
        return tpm2_error(err, r, c, "initialising ESAPI");
    }
    c->gen++;
    return HWJ_OK;
}

/* The library never prints, but tpm2-tss logs to stderr (a dozen "ERROR:tcti:" lines for a
 * missing TCTI). tpm2-tss 3.x offers no call to silence it, only TSS2_LOG, read by each of its
 * libraries at its first log call. So before our first tpm2-tss call, and only if the
 * application has not chosen a level itself, set it off; our errors carry the TSS2_RC and its
 * decoding instead. Once per process (setenv is not thread-safe; docs/tpm2.md). */
static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;
static void tss2_quiet(void)
{
    setenv("TSS2_LOG", "all+NONE", 0);
}

void tpm2_tss_quiet(void)
{
    pthread_once(&quiet_once, tss2_quiet);
}

hwj_err tpm2_conn_get(const char *tcti, tpm2_conn **out, hwj_error *err)
{
    tpm2_conn *c;
    hwj_err rc = HWJ_OK;

    tpm2_tss_quiet();
    if (tcti == NULL)
        tcti = getenv("HWJOSE_TCTI");
    if (tcti == NULL)
        tcti = "";
    pthread_mutex_lock(&registry_lock);
    for (c = registry; c != NULL; c = c->next_conn)
        if (strcmp(c->tcti, tcti) == 0)
            break;
    if (c == NULL) {
        if ((c = calloc(1, sizeof(*c))) == NULL || (c->tcti = strdup(tcti)) == NULL) {
            free(c);
            pthread_mutex_unlock(&registry_lock);
            return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        }
        pthread_mutex_init(&c->lock, NULL);
        c->primary.tr = ESYS_TR_NONE;
        c->next_conn = registry;
        registry = c;
    }
    c->refs++;
    pthread_mutex_unlock(&registry_lock);

    pthread_mutex_lock(&c->lock);
    rc = tpm2_conn_ensure(c, err);
    pthread_mutex_unlock(&c->lock);
    if (rc != HWJ_OK) {
        tpm2_conn_put(c);
        return rc;
    }
    *out = c;
    return HWJ_OK;
}

void tpm2_conn_put(tpm2_conn *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&registry_lock);
    if (--c->refs > 0) {
        pthread_mutex_unlock(&registry_lock);
        return;
    }
    for (tpm2_conn **pp = &registry; *pp != NULL; pp = &(*pp)->next_conn)
        if (*pp == c) {
            *pp = c->next_conn;
            break;
        }
    pthread_mutex_unlock(&registry_lock);
    /* Leave the TPM as we found it: transient objects would otherwise hold its few slots. */
    if (c->esys != NULL && c->primary.tr != ESYS_TR_NONE)
        Esys_FlushContext(c->esys, c->primary.tr);
    tpm2_conn_drop(c);
    pthread_mutex_destroy(&c->lock);
    free(c->tcti);
    free(c);
}

/* ---- objects and slots ---- */

static void obj_link(tpm2_conn *c, tpm2_obj *o)
{
    if (o->prev != NULL || c->objs == o)
        return;
    o->prev = NULL;
    o->next = c->objs;
    if (c->objs != NULL)
        c->objs->prev = o;
    c->objs = o;
}

static void obj_unlink(tpm2_conn *c, tpm2_obj *o)
{
    if (o->prev != NULL)
        o->prev->next = o->next;
    else if (c->objs == o)
        c->objs = o->next;
    else
        return;
    if (o->next != NULL)
        o->next->prev = o->prev;
    o->next = o->prev = NULL;
}

/* Free a TPM object slot: context-save (once) and flush the least recently used loaded
 * object other than keep1/keep2. 0 if none of ours could go. */
int tpm2_evict_one(tpm2_conn *c, const tpm2_obj *keep1, const tpm2_obj *keep2)
{
    tpm2_obj *best = NULL;
    for (tpm2_obj *o = c->objs; o != NULL; o = o->next)
        if (o->tr != ESYS_TR_NONE && o != keep1 && o != keep2 &&
            (best == NULL || o->last_use < best->last_use))
            best = o;
    if (best == NULL)
        return 0;
    /* An object's saved context may be loaded again and again: save it only once. */
    if (best->saved == NULL && Esys_ContextSave(c->esys, best->tr, &best->saved) != 0) {
        best->saved = NULL;
        return 0;
    }
    Esys_FlushContext(c->esys, best->tr);
    best->tr = ESYS_TR_NONE;
    return 1;
}

/* Load o from its saved context, evicting others as needed. */
static TSS2_RC obj_load_saved(tpm2_conn *c, tpm2_obj *o)
{
    TSS2_RC r;
    do {
        r = Esys_ContextLoad(c->esys, o->saved, &o->tr);
    } while (r == TPM2_RC_OBJECT_MEMORY && tpm2_evict_one(c, o, NULL));
    if (r != TSS2_RC_SUCCESS)
        o->tr = ESYS_TR_NONE;
    return r;
}

static void touch(tpm2_conn *c, tpm2_obj *o)
{
    o->last_use = ++c->clock;
}

/* The storage primary, created (or loaded back) if needed. */
static hwj_err ensure_primary(tpm2_conn *c, hwj_error *err)
{
    tpm2_obj *o = &c->primary;
    static const TPM2B_SENSITIVE_CREATE sens = {0};
    static const TPM2B_DATA outside = {0};
    static const TPML_PCR_SELECTION pcrs = {0};
    static const TPM2B_AUTH empty = {0};
    TSS2_RC r;

    if (o->gen == c->gen && o->tr != ESYS_TR_NONE) {
        touch(c, o);
        return HWJ_OK;
    }
    if (o->gen == c->gen && o->saved != NULL) {
        if ((r = obj_load_saved(c, o)) != TSS2_RC_SUCCESS)
            return tpm2_error(err, r, c, "reloading the TPM storage primary");
        touch(c, o);
        return HWJ_OK;
    }
    Esys_TR_SetAuth(c->esys, ESYS_TR_RH_OWNER, &empty);
    do {
        r = Esys_CreatePrimary(c->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE, &sens, &primary_template, &outside, &pcrs, &o->tr,
                               NULL, NULL, NULL, NULL);
    } while (r == TPM2_RC_OBJECT_MEMORY && tpm2_evict_one(c, o, NULL));
    if (r != TSS2_RC_SUCCESS) {
        o->tr = ESYS_TR_NONE;
        return tpm2_error(err, r, c,
                          "creating the TPM storage primary (owner hierarchy, ECC P-256); if "
                          "the owner hierarchy has a password, it is not supported");
    }
    o->gen = c->gen;
    obj_link(c, o);
    touch(c, o);
    return HWJ_OK;
}

/* The ESYS_TR of a persistent object (no slot is used: it lives in NV). */
static TSS2_RC persistent_tr(tpm2_conn *c, TPM2_HANDLE h, ESYS_TR *tr)
{
    TSS2_RC r;
    do { /* reading a persistent object's public part takes a transient slot for a while */
        r = Esys_TR_FromTPMPublic(c->esys, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, tr);
    } while (r == TPM2_RC_OBJECT_MEMORY && tpm2_evict_one(c, NULL, NULL));
    return r;
}

hwj_err tpm2_key_handle(tpm2_keyimpl *k, const char *uri, ESYS_TR *tr, hwj_error *err)
{
    tpm2_conn *c = k->conn;
    tpm2_obj *o = &k->obj;
    ESYS_TR parent = ESYS_TR_NONE;
    TSS2_RC r;
    hwj_err rc;

    if (k->persistent != 0) {
        if (k->pgen != c->gen || k->ptr == ESYS_TR_NONE) {
            if ((r = persistent_tr(c, k->persistent, &k->ptr)) != TSS2_RC_SUCCESS) {
                k->ptr = ESYS_TR_NONE;
                return tpm2_error(err, r, c, "finding key '%s' (persistent handle 0x%x)", uri,
                                  (unsigned)k->persistent);
            }
            Esys_TR_SetAuth(c->esys, k->ptr, &k->auth);
            k->pgen = c->gen;
        }
        *tr = k->ptr;
        return HWJ_OK;
    }
    if (o->gen == c->gen && o->tr != ESYS_TR_NONE) {
        touch(c, o);
        *tr = o->tr;
        return HWJ_OK;
    }
    if (o->gen == c->gen && o->saved != NULL) {
        if ((r = obj_load_saved(c, o)) != TSS2_RC_SUCCESS)
            return tpm2_error(err, r, c, "reloading key '%s' into the TPM", uri);
    } else {
        if (k->kf.parent == TPM2_RH_OWNER) {
            if ((rc = ensure_primary(c, err)) != HWJ_OK)
                return rc;
            parent = c->primary.tr;
        } else if ((r = persistent_tr(c, k->kf.parent, &parent)) != TSS2_RC_SUCCESS) {
            return tpm2_error(err, r, c, "finding the parent 0x%x of key '%s'",
                              (unsigned)k->kf.parent, uri);
        }
        do {
            r = Esys_Load(c->esys, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                          &k->kf.priv, &k->kf.pub, &o->tr);
        } while (r == TPM2_RC_OBJECT_MEMORY && tpm2_evict_one(c, o, &c->primary));
        if (k->kf.parent != TPM2_RH_OWNER)
            Esys_TR_Close(c->esys, &parent);
        if (r != TSS2_RC_SUCCESS) {
            o->tr = ESYS_TR_NONE;
            return tpm2_error(err, r, c, "loading key '%s' into the TPM", uri);
        }
        o->gen = c->gen;
    }
    Esys_TR_SetAuth(c->esys, o->tr, &k->auth);
    obj_link(c, o);
    touch(c, o);
    *tr = o->tr;
    return HWJ_OK;
}

void tpm2_key_unload(tpm2_keyimpl *k)
{
    tpm2_conn *c = k->conn;
    if (k->persistent != 0) {
        if (c->esys != NULL && k->pgen == c->gen && k->ptr != ESYS_TR_NONE)
            Esys_TR_Close(c->esys, &k->ptr);
        k->ptr = ESYS_TR_NONE;
        return;
    }
    if (c->esys != NULL && k->obj.gen == c->gen && k->obj.tr != ESYS_TR_NONE)
        Esys_FlushContext(c->esys, k->obj.tr);
    k->obj.tr = ESYS_TR_NONE;
    Esys_Free(k->obj.saved);
    k->obj.saved = NULL;
    obj_unlink(c, &k->obj);
}

hwj_err tpm2_create(tpm2_conn *c, const TPM2B_PUBLIC *tmpl, const TPM2B_AUTH *auth,
                    TPM2B_PUBLIC *pub, TPM2B_PRIVATE *priv, hwj_error *err)
{
    TPM2B_SENSITIVE_CREATE sens = {0};
    static const TPM2B_DATA outside = {0};
    static const TPML_PCR_SELECTION pcrs = {0};
    TPM2B_PUBLIC *opub = NULL;
    TPM2B_PRIVATE *opriv = NULL;
    TSS2_RC r;
    hwj_err rc;

    if ((rc = ensure_primary(c, err)) != HWJ_OK)
        return rc;
    sens.sensitive.userAuth = *auth;
    do { /* TPM2_Create builds the new object in a free slot */
        r = Esys_Create(c->esys, c->primary.tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens,
                        tmpl, &outside, &pcrs, &opriv, &opub, NULL, NULL, NULL);
    } while (r == TPM2_RC_OBJECT_MEMORY && tpm2_evict_one(c, &c->primary, NULL));
    OPENSSL_cleanse(&sens, sizeof(sens));
    if (r != TSS2_RC_SUCCESS)
        return tpm2_error(err, r, c, "creating a key in the TPM");
    *pub = *opub;
    *priv = *opriv;
    Esys_Free(opub);
    Esys_Free(opriv);
    return HWJ_OK;
}

hwj_err tpm2_persist(tpm2_conn *c, ESYS_TR tr, const tpm2_obj *keep, TPM2_HANDLE handle,
                     hwj_error *err)
{
    ESYS_TR out = ESYS_TR_NONE;
    TSS2_RC r;
    do {
        r = Esys_EvictControl(c->esys, ESYS_TR_RH_OWNER, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                              ESYS_TR_NONE, handle, &out);
    } while (r == TPM2_RC_OBJECT_MEMORY && tpm2_evict_one(c, keep, NULL));
    if (r != TSS2_RC_SUCCESS)
        return tpm2_error(err, r, c,
                          "making the key persistent at handle 0x%x (is it taken? a key "
                          "listing of tpm2: shows the handles in use)",
                          (unsigned)handle);
    Esys_TR_Close(c->esys, &out);
    return HWJ_OK;
}
