/* tpm2.c: TPM 2.0 keys through tpm2-tss ESAPI — the backend's ops table, open/close and the
 * operations, all performed inside the TPM: RSASSA and RSAPSS, ECDSA (returned as r||s),
 * RSA-OAEP decryption (SHA-1 / SHA-256) and ECDH Z. The host hashes; the TPM signs the
 * digest with a null ticket (the keys are unrestricted). */
#include "keys/tpm2_internal.h"

#include "core/alg.h"
#include "core/digest.h"
#include "core/error.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static void impl_free(tpm2_keyimpl *k)
{
    if (k == NULL)
        return;
    if (k->conn != NULL) {
        pthread_mutex_lock(&k->conn->lock);
        tpm2_key_unload(k);
        pthread_mutex_unlock(&k->conn->lock);
        tpm2_conn_put(k->conn);
    }
    OPENSSL_cleanse(k, sizeof(*k));
    free(k);
}

/* The key auth: none for a key file that says emptyAuth; else auth-source, opts->pin or
 * HWJOSE_PIN (hwj_pin_resolve), or empty. */
static hwj_err resolve_auth(const tpm2_uri *u, const hwj_key_open_opts *opts, int empty_auth,
                            TPM2B_AUTH *auth, hwj_error *err)
{
    char *pin = NULL;
    hwj_err rc;
    memset(auth, 0, sizeof(*auth));
    if (empty_auth && u->auth_source == NULL)
        return HWJ_OK;
    if ((rc = hwj_pin_resolve(u->auth_source, opts, &pin, err)) != HWJ_OK || pin == NULL)
        return rc;
    size_t n = strlen(pin);
    if (n > sizeof(auth->buffer))
        rc = hwj_error_set(err, HWJ_ERR_AUTH, "the TPM key auth is longer than %zu bytes",
                           sizeof(auth->buffer));
    else {
        memcpy(auth->buffer, pin, n);
        auth->size = (UINT16)n;
    }
    hwj_free_secret(pin, n);
    return rc;
}

hwj_err tpm2_open(void *state, const char *uri, const hwj_key_open_opts *opts, struct hwj_key *key,
                  hwj_error *err)
{
    tpm2_uri u = {0};
    tpm2_keyimpl *k = NULL;
    TPM2B_PUBLIC *rpub = NULL;
    ESYS_TR tr;
    TSS2_RC r;
    hwj_err rc;

    (void)state;
    if ((rc = tpm2_uri_parse(uri, 0, &u, err)) != HWJ_OK)
        return rc;
    if ((k = calloc(1, sizeof(*k))) == NULL) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    k->obj.tr = k->ptr = ESYS_TR_NONE;
    k->persistent = u.handle;
    if (u.file != NULL && (rc = tpm2_keyfile_read(u.file, &k->kf, err)) != HWJ_OK)
        goto out;
    if ((rc = resolve_auth(&u, opts, u.file != NULL && k->kf.empty_auth, &k->auth, err)) !=
            HWJ_OK ||
        (rc = tpm2_conn_get(u.tcti, &k->conn, err)) != HWJ_OK)
        goto out;
    /* Load now: a key that cannot be loaded fails at open, not at first use. */
    pthread_mutex_lock(&k->conn->lock);
    rc = tpm2_key_handle(k, uri, &tr, err);
    if (rc == HWJ_OK && k->persistent != 0) {
        while ((r = Esys_ReadPublic(k->conn->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    &rpub, NULL, NULL)) == TPM2_RC_OBJECT_MEMORY &&
               tpm2_evict_one(k->conn, NULL, NULL))
            ;
        if (r != TSS2_RC_SUCCESS)
            rc = tpm2_error(err, r, k->conn, "reading the public part of key '%s'", uri);
        else
            k->pub = *rpub;
        Esys_Free(rpub);
    }
    pthread_mutex_unlock(&k->conn->lock);
    if (rc != HWJ_OK)
        goto out;
    if (k->persistent == 0)
        k->pub = k->kf.pub;
    if ((rc = tpm2_describe(&k->pub.publicArea, key, err)) != HWJ_OK)
        goto out;
    if (key->can == 0) {
        EVP_PKEY_free(key->pkey);
        key->pkey = NULL;
        rc = hwj_error_set(err, HWJ_ERR_CAPABILITY,
                           "TPM key '%s' can serve no JOSE alg (%s); generate a key for the "
                           "alg you need into a tpm2:file= URI",
                           uri, key->custody.notes);
        goto out;
    }
    key->impl = k;
    k = NULL;
out:
    impl_free(k);
    tpm2_uri_clear(&u);
    return rc;
}

static void tpm2_close(struct hwj_key *key)
{
    impl_free(key->impl);
    key->impl = NULL;
}

/* One TPM command on the key, under the connection lock. A transport failure or a stale
 * handle (the TPM restarted) drops the connection and is retried once on a fresh one, with
 * the key reloaded; if the TPM is still away, the error says so and the next call retries. */
typedef TSS2_RC (*tpm2_cmd)(ESYS_CONTEXT *esys, ESYS_TR tr, void *arg);

static hwj_err run(struct hwj_key *key, const char *what, tpm2_cmd cmd, void *arg, TSS2_RC *trc,
                   hwj_error *err)
{
    tpm2_keyimpl *k = key->impl;
    tpm2_conn *c = k->conn;
    hwj_error e = {0};
    hwj_err rc = HWJ_OK;
    TSS2_RC r = 0;
    ESYS_TR tr;

    pthread_mutex_lock(&c->lock);
    for (int attempt = 0; attempt < 2; attempt++) {
        if ((rc = tpm2_conn_ensure(c, &e)) != HWJ_OK)
            break;
        if ((rc = tpm2_key_handle(k, key->uri, &tr, &e)) != HWJ_OK) {
            r = (TSS2_RC)e.native;
            if (e.source == HWJ_SRC_TSS2 &&
                (tpm2_rc_is_transport(r) || tpm2_rc_is_stale_handle(r))) {
                tpm2_conn_drop(c);
                if (attempt == 0)
                    continue;
            }
            break;
        }
        /* A persistent key takes a transient slot while it is used. */
        while ((r = cmd(c->esys, tr, arg)) == TPM2_RC_OBJECT_MEMORY &&
               tpm2_evict_one(c, &k->obj, NULL))
            ;
        if (r == TSS2_RC_SUCCESS)
            break;
        if (tpm2_rc_is_transport(r) || tpm2_rc_is_stale_handle(r)) {
            if (r == TPM2_RC_INITIALIZE)
                Esys_Startup(c->esys, TPM2_SU_CLEAR);
            tpm2_conn_drop(c);
            if (attempt == 0)
                continue;
        }
        rc = tpm2_error(&e, r, c, "%s with key '%s'", what, key->uri);
        break;
    }
    pthread_mutex_unlock(&c->lock);
    *trc = r;
    if (rc != HWJ_OK && err != NULL)
        *err = e;
    return rc;
}

/* ---- sign ---- */

struct sign_args {
    TPM2B_DIGEST digest;
    TPMT_SIG_SCHEME scheme;
    TPMT_SIGNATURE *sig;
};

static TSS2_RC do_sign(ESYS_CONTEXT *esys, ESYS_TR tr, void *arg)
{
    struct sign_args *a = arg;
    static const TPMT_TK_HASHCHECK null_ticket = {.tag = TPM2_ST_HASHCHECK,
                                                  .hierarchy = TPM2_RH_NULL};
    return Esys_Sign(esys, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &a->digest, &a->scheme,
                     &null_ticket, &a->sig);
}

/* Copy a big-endian integer into out[0..len), left-padded with zeros. */
static int put_padded(uint8_t *out, size_t len, const uint8_t *in, size_t inlen)
{
    while (inlen > len && *in == 0) {
        in++;
        inlen--;
    }
    if (inlen > len)
        return 0;
    memset(out, 0, len - inlen);
    memcpy(out + len - inlen, in, inlen);
    return 1;
}

/* TPM2_Sign takes the digest: signing a message is hashing it, then this. */
static hwj_err tpm2_sign_digest(struct hwj_key *key, hwj_alg alg, const uint8_t *digest,
                                size_t dlen, uint8_t *sig, size_t *siglen, hwj_error *err)
{
    const hwj_alg_info *ai = hwj_alg_info_get(alg);
    struct sign_args a = {0};
    size_t need;
    TSS2_RC r;
    hwj_err rc;

    if (dlen > sizeof(a.digest.buffer))
        return hwj_error_set(err, HWJ_ERR_ARG, "digest too long for the TPM");
    memcpy(a.digest.buffer, digest, dlen);
    a.digest.size = (UINT16)dlen;
    a.scheme.details.any.hashAlg = tpm2_hash_for(alg);
    if (key->kty == HWJ_KTY_EC) {
        a.scheme.scheme = TPM2_ALG_ECDSA;
        need = ai->sig_len;
    } else {
        a.scheme.scheme = alg >= HWJ_ALG_PS256 ? TPM2_ALG_RSAPSS : TPM2_ALG_RSASSA;
        need = (size_t)EVP_PKEY_get_size(key->pkey);
    }
    if (*siglen < need)
        return hwj_error_set(err, HWJ_ERR_ARG, "signature buffer too small (%zu < %zu)", *siglen,
                             need);
    if ((rc = run(key, "signing", do_sign, &a, &r, err)) != HWJ_OK)
        return rc;
    int ok;
    if (key->kty == HWJ_KTY_EC) {
        const TPMS_SIGNATURE_ECDSA *e = &a.sig->signature.ecdsa;
        ok = put_padded(sig, need / 2, e->signatureR.buffer, e->signatureR.size) &&
             put_padded(sig + need / 2, need / 2, e->signatureS.buffer, e->signatureS.size);
    } else {
        const TPM2B_PUBLIC_KEY_RSA *s = &a.sig->signature.rsassa.sig; /* rsapss: same layout */
        ok = put_padded(sig, need, s->buffer, s->size);
    }
    Esys_Free(a.sig);
    if (!ok)
        return hwj_error_set(err, HWJ_ERR_TOKEN, "the TPM returned a malformed signature");
    *siglen = need;
    return HWJ_OK;
}

static hwj_err tpm2_sign(struct hwj_key *key, hwj_alg alg, const uint8_t *in, size_t inlen,
                         uint8_t *sig, size_t *siglen, hwj_error *err)
{
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (!EVP_Digest(in, inlen, digest, &dlen, hwj_md_get(hwj_alg_info_get(alg)->md), NULL))
        return hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "hashing the signing input");
    return tpm2_sign_digest(key, alg, digest, dlen, sig, siglen, err);
}

/* ---- decrypt ---- */

struct decrypt_args {
    TPM2B_PUBLIC_KEY_RSA in;
    TPMT_RSA_DECRYPT scheme;
    TPM2B_PUBLIC_KEY_RSA *out;
};

static TSS2_RC do_decrypt(ESYS_CONTEXT *esys, ESYS_TR tr, void *arg)
{
    struct decrypt_args *a = arg;
    static const TPM2B_DATA no_label = {0};
    return Esys_RSA_Decrypt(esys, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &a->in,
                            &a->scheme, &no_label, &a->out);
}

static hwj_err tpm2_decrypt(struct hwj_key *key, hwj_alg alg, const uint8_t *in, size_t inlen,
                            uint8_t *out, size_t *outlen, hwj_error *err)
{
    struct decrypt_args a = {0};
    TSS2_RC r = 0;
    hwj_err rc;

    if (inlen != (size_t)EVP_PKEY_get_size(key->pkey))
        return hwj_error_set(err, HWJ_ERR_DECRYPT, "decryption failed");
    memcpy(a.in.buffer, in, inlen);
    a.in.size = (UINT16)inlen;
    a.scheme.scheme = TPM2_ALG_OAEP;
    a.scheme.details.oaep.hashAlg = alg == HWJ_ALG_RSA_OAEP ? TPM2_ALG_SHA1 : TPM2_ALG_SHA256;
    rc = run(key, "decrypting", do_decrypt, &a, &r, err);
    if (rc != HWJ_OK) {
        /* The TPM's own refusal says nothing (padding oracles); a lost TPM is reported. */
        if (r != 0 && !tpm2_rc_is_transport(r))
            return hwj_error_set(err, HWJ_ERR_DECRYPT, "decryption failed");
        return rc;
    }
    if (a.out->size > *outlen) {
        rc = hwj_error_set(err, HWJ_ERR_ARG, "decryption output buffer too small");
    } else {
        memcpy(out, a.out->buffer, a.out->size);
        *outlen = a.out->size;
    }
    OPENSSL_cleanse(a.out, sizeof(*a.out));
    Esys_Free(a.out);
    return rc;
}

/* ---- ECDH ---- */

struct zgen_args {
    TPM2B_ECC_POINT in;
    TPM2B_ECC_POINT *out;
};

static TSS2_RC do_zgen(ESYS_CONTEXT *esys, ESYS_TR tr, void *arg)
{
    struct zgen_args *a = arg;
    return Esys_ECDH_ZGen(esys, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &a->in, &a->out);
}

static hwj_err tpm2_derive(struct hwj_key *key, EVP_PKEY *peer, uint8_t *z, size_t *zlen,
                           hwj_error *err)
{
    char mine[64] = "", theirs[64] = "";
    BIGNUM *x = NULL, *y = NULL;
    struct zgen_args a = {0};
    TSS2_RC r;
    hwj_err rc = HWJ_OK;
    size_t flen = (size_t)(EVP_PKEY_get_bits(key->pkey) + 7) / 8;

    if (!EVP_PKEY_is_a(peer, "EC") ||
        !EVP_PKEY_get_utf8_string_param(key->pkey, OSSL_PKEY_PARAM_GROUP_NAME, mine, sizeof(mine),
                                        NULL) ||
        !EVP_PKEY_get_utf8_string_param(peer, OSSL_PKEY_PARAM_GROUP_NAME, theirs, sizeof(theirs),
                                        NULL) ||
        strcmp(mine, theirs) != 0)
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "ECDH peer key is not on the TPM key's curve (%s)", mine);
    if (*zlen < flen)
        return hwj_error_set(err, HWJ_ERR_ARG, "ECDH output buffer too small");
    if (!EVP_PKEY_get_bn_param(peer, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
        !EVP_PKEY_get_bn_param(peer, OSSL_PKEY_PARAM_EC_PUB_Y, &y) ||
        BN_bn2binpad(x, a.in.point.x.buffer, (int)flen) < 0 ||
        BN_bn2binpad(y, a.in.point.y.buffer, (int)flen) < 0) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "reading the ECDH peer point");
        goto out;
    }
    a.in.point.x.size = a.in.point.y.size = (UINT16)flen;
    if ((rc = run(key, "ECDH (ZGen)", do_zgen, &a, &r, err)) != HWJ_OK)
        goto out;
    if (!put_padded(z, flen, a.out->point.x.buffer, a.out->point.x.size))
        rc = hwj_error_set(err, HWJ_ERR_TOKEN, "the TPM returned a malformed ECDH point");
    else
        *zlen = flen;
    OPENSSL_cleanse(a.out, sizeof(*a.out));
    Esys_Free(a.out);
out:
    BN_free(x);
    BN_free(y);
    return rc;
}

static const char *const tpm2_schemes[] = {"tpm2", NULL};

const struct hwj_key_ops hwj_tpm2_ops = {
    .name = "tpm2",
    .schemes = tpm2_schemes,
    .open = tpm2_open,
    .close = tpm2_close,
    .sign = tpm2_sign,
    .sign_digest = tpm2_sign_digest,
    .decrypt = tpm2_decrypt,
    .derive = tpm2_derive,
    .generate = tpm2_keygen,
    .list = tpm2_list,
};
