/* tpm2_keygen.c: generating keys inside the TPM (fixedTPM, fixedParent,
 * sensitiveDataOrigin, userWithAuth, and only sign or only decrypt), and listing what a
 * TPM (persistent handles) or a folder of TSS2 key files holds. */
#include "keys/tpm2_internal.h"

#include "core/alg.h"
#include "core/error.h"
#include "core/jwk.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>
#include <unistd.h>

/* tss2_tpm2_types.h's TPM2_PERSISTENT_FIRST shifts a (promoted, signed) int 0x81 by 24: UBSan
 * rightly reports it as undefined behaviour, so spell the handle out. */
#define HWJ_TPM2_PERSISTENT_FIRST ((TPM2_HC)0x81000000u)

#define KEY_ATTRS                                                                                  \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |            \
     TPMA_OBJECT_USERWITHAUTH)

/* The template for `alg`: RSA or ECC; the attributes confine the key to signing or to
 * decryption. Signing keys keep their family (scheme NULL: an RSA key made for RS256 may sign
 * PS384, as PKCS#11 keys may); an RSA decryption key is bound to OAEP with its alg's hash, which
 * the TPM enforces for every client (like CKA_ALLOWED_MECHANISMS for PKCS#11 keys). */
static hwj_err template_for(const hwj_keygen_opts *opts, TPM2B_PUBLIC *t, hwj_error *err)
{
    hwj_alg alg = opts->alg;
    const hwj_alg_info *ai = hwj_alg_info_get(alg);
    int sign = hwj_alg_get_kind(alg) == HWJ_ALG_KIND_JWS;
    TPMT_PUBLIC *p = &t->publicArea;

    memset(t, 0, sizeof(*t));
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = KEY_ATTRS | (sign ? TPMA_OBJECT_SIGN_ENCRYPT : TPMA_OBJECT_DECRYPT);
    if (hwj_alg_is_ed25519(alg))
        return hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                             "a TPM cannot make %s keys: TPM 2.0 (and swtpm) has no Ed25519 "
                             "curve; use ES256, or a pkcs11: token for %s",
                             ai->name, ai->name);
    if (ai != NULL && ai->kty == HWJ_KTY_RSA && alg != HWJ_ALG_RSA1_5) {
        unsigned bits = opts->bits ? opts->bits : 3072;
        if (bits != 2048 && bits != 3072 && bits != 4096)
            return hwj_error_set(err, HWJ_ERR_ARG,
                                 "an RSA key of %u bits: a TPM makes RSA keys of 2048, 3072 "
                                 "(default) or 4096 bits, as far as it supports them",
                                 bits);
        p->type = TPM2_ALG_RSA;
        p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
        p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
        if (!sign) { /* bound to its alg: the TPM refuses RSAES (RSA1_5) and the other hash */
            p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_OAEP;
            p->parameters.rsaDetail.scheme.details.oaep.hashAlg = tpm2_hash_for(alg);
        }
        p->parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)bits;
        return HWJ_OK;
    }
    if (ai != NULL && ai->kty == HWJ_KTY_EC) {
        const char *crv = ai->curve;
        if (crv == NULL) { /* ECDH-ES*: --bits picks the curve */
            unsigned b = opts->bits ? opts->bits : 256;
            crv = b == 256 ? "P-256" : b == 384 ? "P-384" : b == 521 ? "P-521" : NULL;
            if (crv == NULL)
                return hwj_error_set(err, HWJ_ERR_ARG,
                                     "a %u-bit ECDH-ES key: the size picks the curve, 256 "
                                     "(P-256), 384 (P-384) or 521 (P-521)",
                                     b);
        }
        p->type = TPM2_ALG_ECC;
        p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
        p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
        p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        p->parameters.eccDetail.curveID = strcmp(crv, "P-256") == 0   ? TPM2_ECC_NIST_P256
                                          : strcmp(crv, "P-384") == 0 ? TPM2_ECC_NIST_P384
                                                                      : TPM2_ECC_NIST_P521;
        return HWJ_OK;
    }
    return hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                         "a TPM key cannot be made for %s; use ES256, ES384, ES512, RS*, PS*, "
                         "RSA-OAEP, RSA-OAEP-256 or ECDH-ES",
                         ai ? ai->name : "this alg");
}

hwj_err tpm2_keygen(void *state, const char *uri, const hwj_keygen_opts *opts, struct hwj_key *key,
                    hwj_error *err)
{
    hwj_key_open_opts oo = {.size = sizeof(hwj_key_open_opts), .pin = opts->pin};
    tpm2_uri u = {0};
    tpm2_conn *c = NULL;
    tpm2_keyfile kf = {0};
    TPM2B_PUBLIC tmpl;
    TPM2B_AUTH auth = {0};
    char *pin = NULL;
    hwj_err rc;

    if ((rc = tpm2_uri_parse(uri, 0, &u, err)) != HWJ_OK)
        return rc;
    if ((rc = template_for(opts, &tmpl, err)) != HWJ_OK)
        goto out;
    if (u.file != NULL && access(u.file, F_OK) == 0) {
        rc = hwj_error_set(err, HWJ_ERR_ARG,
                           "key file '%s' exists; choose another path or remove it first", u.file);
        goto out;
    }
    if ((rc = hwj_pin_resolve(u.auth_source, &oo, &pin, err)) != HWJ_OK)
        goto out;
    if (pin != NULL) {
        size_t n = strlen(pin);
        if (n > sizeof(auth.buffer)) {
            rc = hwj_error_set(err, HWJ_ERR_AUTH, "the TPM key auth is longer than %zu bytes",
                               sizeof(auth.buffer));
            goto out;
        }
        memcpy(auth.buffer, pin, n);
        auth.size = (UINT16)n;
    }
    if ((rc = tpm2_conn_get(u.tcti, &c, err)) != HWJ_OK)
        goto out;
    pthread_mutex_lock(&c->lock);
    rc = tpm2_create(c, &tmpl, &auth, &kf.pub, &kf.priv, err);
    if (rc == HWJ_OK && u.handle != 0) {
        /* Persistent: load under the primary, copy to NV at the handle, drop the transient. */
        tpm2_keyimpl tmp = {.conn = c, .kf = kf, .obj = {.tr = ESYS_TR_NONE}};
        ESYS_TR tr;
        tmp.kf.parent = TPM2_RH_OWNER;
        if ((rc = tpm2_key_handle(&tmp, uri, &tr, err)) == HWJ_OK)
            rc = tpm2_persist(c, tr, &tmp.obj, u.handle, err);
        tpm2_key_unload(&tmp);
        OPENSSL_cleanse(&tmp, sizeof(tmp));
    }
    pthread_mutex_unlock(&c->lock);
    if (rc != HWJ_OK)
        goto out;
    if (u.file != NULL) {
        kf.parent = TPM2_RH_OWNER;
        kf.empty_auth = auth.size == 0;
        if ((rc = tpm2_keyfile_write(u.file, &kf, err)) != HWJ_OK)
            goto out;
    }
    /* Bound to the alg it was made for, as PKCS#11 keygen does: its JWK says "alg" and "use". */
    if ((rc = tpm2_open(state, uri, &oo, key, err)) == HWJ_OK)
        key->alg = opts->alg;
out:
    tpm2_conn_put(c);
    if (pin != NULL)
        hwj_free_secret(pin, strlen(pin));
    OPENSSL_cleanse(&auth, sizeof(auth));
    OPENSSL_cleanse(&kf, sizeof(kf));
    tpm2_uri_clear(&u);
    return rc;
}

/* ---- listing ---- */

/* One list entry for a key with public area `p`, or {"uri","error"}. */
static json_t *describe(const char *uri, const TPMT_PUBLIC *p)
{
    struct hwj_key key = {0};
    hwj_error e = {0};
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    json_object_set_new(o, "uri", json_string(uri));
    if (tpm2_describe(p, &key, &e) != HWJ_OK)
        json_object_set_new(o, "error", json_string(e.message));
    else if (hwj_key_describe(&key, o) != HWJ_OK) {
        json_decref(o);
        o = NULL;
    }
    EVP_PKEY_free(key.pkey);
    return o;
}

/* The ?tcti=... part of `uri` (with its '?'), or "". */
static const char *query_of(const char *uri)
{
    const char *q = strchr(uri, '?');
    return q ? q : "";
}

static hwj_err list_persistent(tpm2_conn *c, const char *uri, json_t *list, hwj_error *err)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    TSS2_RC r;
    hwj_err rc = HWJ_OK;

    pthread_mutex_lock(&c->lock);
    if ((rc = tpm2_conn_ensure(c, err)) != HWJ_OK)
        goto out;
    r = Esys_GetCapability(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                           HWJ_TPM2_PERSISTENT_FIRST, TPM2_MAX_CAP_HANDLES, &more, &cap);
    if (r != TSS2_RC_SUCCESS) {
        if (tpm2_rc_is_transport(r))
            tpm2_conn_drop(c);
        rc = tpm2_error(err, r, c, "listing the TPM's persistent handles");
        goto out;
    }
    for (UINT32 i = 0; i < cap->data.handles.count; i++) {
        TPM2_HANDLE h = cap->data.handles.handle[i];
        TPM2B_PUBLIC *pub = NULL;
        ESYS_TR tr = ESYS_TR_NONE;
        char kuri[96];
        while ((r = Esys_TR_FromTPMPublic(c->esys, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                          &tr)) == TPM2_RC_OBJECT_MEMORY &&
               tpm2_evict_one(c, NULL, NULL))
            ;
        if (r != TSS2_RC_SUCCESS)
            continue;
        while ((r = Esys_ReadPublic(c->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub,
                                    NULL, NULL)) == TPM2_RC_OBJECT_MEMORY &&
               tpm2_evict_one(c, NULL, NULL))
            ;
        Esys_TR_Close(c->esys, &tr);
        /* Storage keys (restricted decrypt) are parents, not JOSE keys: skip them. */
        if (r == TSS2_RC_SUCCESS && !(pub->publicArea.objectAttributes & TPMA_OBJECT_RESTRICTED &&
                                      pub->publicArea.objectAttributes & TPMA_OBJECT_DECRYPT)) {
            snprintf(kuri, sizeof(kuri), "tpm2:handle=0x%08x%s", (unsigned)h,
                     strlen(query_of(uri)) < 40 ? query_of(uri) : "");
            json_t *o = describe(kuri, &pub->publicArea);
            if (o != NULL)
                json_array_append_new(list, o);
        }
        Esys_Free(pub);
    }
out:
    pthread_mutex_unlock(&c->lock);
    Esys_Free(cap);
    return rc;
}

static hwj_err list_dir(const char *dir, const char *uri, json_t *list, hwj_error *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    if (d == NULL)
        return hwj_error_set_native(err, HWJ_ERR_IO, HWJ_SRC_ERRNO, 0,
                                    "cannot list the folder '%s'", dir);
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        char *path = NULL, *kuri = NULL;
        tpm2_keyfile kf;
        hwj_error e = {0};
        if (n < 5 || strcmp(de->d_name + n - 4, ".pem") != 0)
            continue;
        if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
            continue;
        if (tpm2_keyfile_read(path, &kf, &e) == HWJ_OK &&
            asprintf(&kuri, "tpm2:file=%s%s", path, query_of(uri)) >= 0) {
            json_t *o = describe(kuri, &kf.pub.publicArea);
            if (o != NULL)
                json_array_append_new(list, o);
            free(kuri);
        }
        OPENSSL_cleanse(&kf, sizeof(kf));
        free(path);
    }
    closedir(d);
    return HWJ_OK;
}

hwj_err tpm2_list(void *state, const char *uri, const hwj_key_open_opts *opts, json_t *list,
                  hwj_error *err)
{
    tpm2_uri u = {0};
    tpm2_conn *c = NULL;
    struct stat st;
    hwj_err rc;

    (void)state;
    (void)opts;
    if ((rc = tpm2_uri_parse(uri, 1, &u, err)) != HWJ_OK)
        return rc;
    if (u.file != NULL && stat(u.file, &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = list_dir(u.file, uri, list, err);
    } else if (u.file != NULL) {
        tpm2_keyfile kf;
        if ((rc = tpm2_keyfile_read(u.file, &kf, err)) == HWJ_OK) {
            json_t *o = describe(uri, &kf.pub.publicArea);
            if (o != NULL)
                json_array_append_new(list, o);
        }
    } else if ((rc = tpm2_conn_get(u.tcti, &c, err)) == HWJ_OK) {
        rc = list_persistent(c, uri, list, err);
        tpm2_conn_put(c);
    }
    tpm2_uri_clear(&u);
    return rc;
}
