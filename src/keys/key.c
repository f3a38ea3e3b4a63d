/* key.c: the key-provider contract: dispatches a URI to its backend and checks every
 * operation against what the key can do before the backend sees it. */
#include "keys/provider.h"
#include "keys/support.h"

#include "core/alg.h"
#include "core/error.h"
#include "core/jwk.h"
#include "core/json.h"
#include "core/roca.h"
#include "core/opts.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct hwj_key_ops hwj_soft_ops;
#ifdef HWJ_WITH_PKCS11
extern const struct hwj_key_ops hwj_pkcs11_ops;
#endif
#ifdef HWJ_WITH_TPM2
extern const struct hwj_key_ops hwj_tpm2_ops;
#endif

/* The backends, in a static array as curl lists its TLS backends: no constructors,
 * so static linking keeps working. */
static const struct hwj_key_ops *const backends[] = {
    &hwj_soft_ops,
#ifdef HWJ_WITH_PKCS11
    &hwj_pkcs11_ops,
#endif
#ifdef HWJ_WITH_TPM2
    &hwj_tpm2_ops,
#endif
};
#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

struct hwj_ctx {
    pthread_mutex_t lock;
    void *state[NBACKENDS];
    int ready[NBACKENDS];
};

HWJ_EXPORT hwj_err hwj_ctx_new(hwj_ctx **out, hwj_error *err)
{
    hwj_error_reset(err);
    if (out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_ctx_new: out is NULL");
    hwj_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory creating a context");
    pthread_mutex_init(&ctx->lock, NULL);
    *out = ctx;
    return HWJ_OK;
}

HWJ_EXPORT uint64_t hwj_ctx_get_token_reinits(hwj_ctx *ctx)
{
    uint64_t n = 0;
    if (ctx == NULL)
        return 0;
    pthread_mutex_lock(&ctx->lock); /* a backend's state appears under it */
    for (size_t i = 0; i < NBACKENDS; i++)
        if (ctx->ready[i] && backends[i]->reinits != NULL)
            n += backends[i]->reinits(ctx->state[i]);
    pthread_mutex_unlock(&ctx->lock);
    return n;
}

HWJ_EXPORT void hwj_ctx_free(hwj_ctx *ctx)
{
    if (ctx == NULL)
        return;
    for (size_t i = 0; i < NBACKENDS; i++)
        if (ctx->ready[i] && backends[i]->ctx_free != NULL)
            backends[i]->ctx_free(ctx->state[i]);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}

/* The backend serving `uri`'s scheme, and its per-context state (created on first use). */
static hwj_err find_backend(hwj_ctx *ctx, const char *uri, const struct hwj_key_ops **ops,
                            void **state, hwj_error *err)
{
    const char *colon = uri ? strchr(uri, ':') : NULL;
    if (colon == NULL)
        return hwj_error_set(
            err, HWJ_ERR_ARG,
            "key URI '%s' has no scheme; use pkcs11:, tpm2:, jwk: or file:", uri ? uri : "");
    size_t slen = (size_t)(colon - uri);
    for (size_t i = 0; i < NBACKENDS; i++) {
        for (const char *const *s = backends[i]->schemes; *s != NULL; s++) {
            if (strlen(*s) != slen || strncmp(*s, uri, slen) != 0)
                continue;
            hwj_err rc = HWJ_OK;
            pthread_mutex_lock(&ctx->lock);
            if (!ctx->ready[i]) {
                if (backends[i]->ctx_init != NULL)
                    rc = backends[i]->ctx_init(&ctx->state[i], err);
                ctx->ready[i] = rc == HWJ_OK;
            }
            pthread_mutex_unlock(&ctx->lock);
            if (rc != HWJ_OK)
                return rc;
            *ops = backends[i];
            *state = ctx->state[i];
            return HWJ_OK;
        }
    }
    return hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                         "key URI scheme '%.*s:' is not supported by this build; "
                         "use pkcs11:, tpm2:, jwk: or file:",
                         (int)slen, uri);
}

static void key_release(hwj_key *key)
{
    if (key->ops != NULL && key->ops->close != NULL)
        key->ops->close(key);
    EVP_PKEY_free(key->pkey);
    free(key->pub_json);
    free(key->kid);
    free(key->uri);
    free(key);
}

/* Common completion after a backend filled the key: kid, uri, extractable policy, and the
 * ROCA check, once per key whatever the backend (never per operation). */
static hwj_err key_finish(hwj_key *key, const char *uri, const hwj_key_open_opts *opts,
                          int generated, hwj_error *err)
{
    int roca = hwj_roca_pkey(key->pkey);
    if (roca < 0)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if (roca && (generated || !(opts != NULL && opts->allow_roca))) {
        char what[320];
        snprintf(what, sizeof(what), "%s '%.256s'", generated ? "the generated key" : "key", uri);
        return hwj_roca_refuse(what, generated, err);
    }
    if (key->kid == NULL && key->pkey != NULL) {
        hwj_err rc = hwj_pkey_thumbprint(key->pkey, &key->kid, err);
        if (rc != HWJ_OK)
            return rc;
    }
    if (key->uri == NULL && (key->uri = strdup(uri)) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if (key->pub_json == NULL && key->pkey != NULL) {
        /* exporting an EVP_PKEY's parameters costs as much as a software signature: once here */
        json_t *members = NULL;
        hwj_err rc = hwj_pkey_to_json(key->pkey, &members, err);
        if (rc == HWJ_OK)
            rc = hwj_json_dump(members, &key->pub_json, err);
        json_decref(members);
        if (rc != HWJ_OK)
            return rc;
    }
    key->alg = hwj_key_bound_alg(key); /* one alg possible: bound to it, and published so */
    if (key->custody.hardware == 1 && key->custody.extractable == 1 &&
        !(opts != NULL && opts->allow_extractable))
        key->use_refused = 1;
    return HWJ_OK;
}

typedef hwj_err (*open_fn)(const struct hwj_key_ops *ops, void *state, const char *uri,
                           const void *opts, hwj_key *key, hwj_error *err);

static hwj_err call_open(const struct hwj_key_ops *ops, void *state, const char *uri,
                         const void *opts, hwj_key *key, hwj_error *err)
{
    return ops->open(state, uri, opts, key, err);
}

static hwj_err call_generate(const struct hwj_key_ops *ops, void *state, const char *uri,
                             const void *opts, hwj_key *key, hwj_error *err)
{
    if (ops->generate == NULL)
        return hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                             "the %s backend cannot generate keys; generate them with your "
                             "own tools and open them by URI",
                             ops->name);
    return ops->generate(state, uri, opts, key, err);
}

static hwj_err open_with(hwj_ctx *ctx, const char *uri, const void *backend_opts,
                         const hwj_key_open_opts *opts, open_fn fn, hwj_key **out, hwj_error *err)
{
    const struct hwj_key_ops *ops = NULL;
    void *state = NULL;
    hwj_key *key = NULL;
    hwj_err rc;

    hwj_error_reset(err);
    if (ctx == NULL || uri == NULL || out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "opening a key needs a context, URI and output");
    if ((rc = find_backend(ctx, uri, &ops, &state, err)) != HWJ_OK)
        return rc;
    if ((key = calloc(1, sizeof(*key))) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    key->ctx = ctx;
    key->custody.backend = ops->name;
    key->custody.hardware = key->custody.sensitive = key->custody.always_sensitive = -1;
    key->custody.extractable = key->custody.never_extractable = key->custody.local = -1;
    if ((rc = fn(ops, state, uri, backend_opts, key, err)) != HWJ_OK) {
        free(key); /* the backend left nothing allocated */
        return rc;
    }
    key->ops = ops;
    if ((rc = key_finish(key, uri, opts, fn == call_generate, err)) != HWJ_OK) {
        key_release(key);
        return rc;
    }
    *out = key;
    return HWJ_OK;
}

HWJ_EXPORT hwj_err hwj_key_open(hwj_ctx *ctx, const char *uri, const hwj_key_open_opts *opts,
                                hwj_key **out, hwj_error *err)
{
    hwj_key_open_opts o;
    hwj_err rc;

    hwj_error_reset(err);
    if ((rc = HWJ_OPTS_LOAD(o, opts, hwj_key_open_opts, err)) != HWJ_OK)
        return rc;
    return open_with(ctx, uri, &o, &o, call_open, out, err);
}

HWJ_EXPORT hwj_err hwj_key_generate(hwj_ctx *ctx, const char *uri, const hwj_keygen_opts *opts,
                                    hwj_key **out, hwj_error *err)
{
    hwj_keygen_opts o;
    hwj_err rc;

    hwj_error_reset(err);
    if (opts == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "key generation needs an alg");
    if ((rc = HWJ_OPTS_LOAD(o, opts, hwj_keygen_opts, err)) != HWJ_OK)
        return rc;
    if (hwj_alg_info_get(o.alg) == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "key generation needs an alg");
    return open_with(ctx, uri, &o, NULL, call_generate, out, err);
}

HWJ_EXPORT hwj_err hwj_keys_list(hwj_ctx *ctx, const char *uri, const hwj_key_open_opts *opts,
                                 char **json, hwj_error *err)
{
    const struct hwj_key_ops *ops = NULL;
    void *state = NULL;
    json_t *list = NULL;
    hwj_key_open_opts o;
    hwj_err rc;

    hwj_error_reset(err);
    if (ctx == NULL || uri == NULL || json == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "listing keys needs a context, URI and output");
    if ((rc = HWJ_OPTS_LOAD(o, opts, hwj_key_open_opts, err)) != HWJ_OK)
        return rc;
    if ((rc = find_backend(ctx, uri, &ops, &state, err)) != HWJ_OK)
        return rc;
    if (ops->list == NULL)
        return hwj_error_set(err, HWJ_ERR_UNSUPPORTED, "the %s backend cannot list keys",
                             ops->name);
    if ((list = json_array()) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if ((rc = ops->list(state, uri, &o, list, err)) == HWJ_OK)
        rc = hwj_json_dump(list, json, err);
    json_decref(list);
    return rc;
}

HWJ_EXPORT void hwj_key_free(hwj_key *key)
{
    if (key != NULL)
        key_release(key);
}

HWJ_EXPORT int hwj_key_can(const hwj_key *key, hwj_alg alg)
{
    return key != NULL && hwj_alg_info_get(alg) != NULL && (key->can & HWJ_ALG_BIT(alg)) != 0;
}

HWJ_EXPORT hwj_alg hwj_key_default_alg(const hwj_key *key)
{
    if (key == NULL)
        return HWJ_ALG_UNKNOWN;
    if (key->alg != HWJ_ALG_UNKNOWN)
        return key->alg;
    static const hwj_alg prefs[] = {HWJ_ALG_RS256, HWJ_ALG_ES256, HWJ_ALG_ES384,
                                    HWJ_ALG_ES512, HWJ_ALG_EDDSA, HWJ_ALG_HS256,
                                    HWJ_ALG_HS384, HWJ_ALG_HS512, HWJ_ALG_PS256};
    for (size_t i = 0; i < sizeof(prefs) / sizeof(prefs[0]); i++)
        if (key->can & HWJ_ALG_BIT(prefs[i]))
            return prefs[i];
    return HWJ_ALG_UNKNOWN;
}

HWJ_EXPORT hwj_kty hwj_key_get_kty(const hwj_key *key)
{
    return key ? key->kty : HWJ_KTY_NONE;
}

/* Why `key` cannot do `alg`, as an actionable message. */
static hwj_err cannot(const hwj_key *key, hwj_alg alg, const char *verb, hwj_error *err)
{
    const char *name = hwj_alg_name(alg);
    if (name == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "cannot %s: no valid alg given", verb);
    if (key->alg != HWJ_ALG_UNKNOWN && key->alg != alg)
        return hwj_error_set(err, HWJ_ERR_POLICY, "key '%s' is bound to %s and may not %s with %s",
                             key->uri, hwj_alg_name(key->alg), verb, name);
    if (hwj_alg_kty(alg) != key->kty)
        return hwj_error_set(err, HWJ_ERR_POLICY, "key '%s' is a %s key; %s needs a %s key",
                             key->uri, hwj_kty_name(key->kty) ? hwj_kty_name(key->kty) : "?", name,
                             hwj_kty_name(hwj_alg_kty(alg)) ? hwj_kty_name(hwj_alg_kty(alg))
                                                            : "different");
    return hwj_error_set(err, HWJ_ERR_CAPABILITY,
                         "key '%s' cannot %s with %s on this %s backend%s%s; a key listing of "
                         "its token shows what it can do",
                         key->uri, verb, name, key->ops->name, key->custody.notes[0] ? ": " : "",
                         key->custody.notes);
}

/* A key that can leave its token protects nothing a software key would not: its use is an
 * explicit choice (hwj_key_open_opts.allow_extractable), for every operation alike. */
static hwj_err refused(const hwj_key *key, const char *what, hwj_error *err)
{
    return hwj_error_set(err, HWJ_ERR_POLICY,
                         "%s refused: key '%s' is extractable from its token; opt in with "
                         "allow_extractable if a key that can leave its token is acceptable",
                         what, key->uri);
}

/* The checks every signature passes: the alg is one the key can sign with, and its policy. */
static hwj_err sign_allowed(const hwj_key *key, hwj_alg alg, hwj_error *err)
{
    if (hwj_alg_get_kind(alg) != HWJ_ALG_KIND_JWS || !(key->can & HWJ_ALG_BIT(alg)))
        return cannot(key, alg, "sign", err);
    if (key->use_refused)
        return refused(key, "signing", err);
    return HWJ_OK;
}

HWJ_EXPORT hwj_err hwj_key_sign(hwj_key *key, hwj_alg alg, const uint8_t *in, size_t inlen,
                                uint8_t *sig, size_t *siglen, hwj_error *err)
{
    hwj_err rc;
    hwj_error_reset(err);
    if (key == NULL || (in == NULL && inlen > 0) || sig == NULL || siglen == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_key_sign: missing argument");
    if ((rc = sign_allowed(key, alg, err)) != HWJ_OK)
        return rc;
    return key->ops->sign(key, alg, in, inlen, sig, siglen, err);
}

HWJ_EXPORT hwj_err hwj_key_sign_digest(hwj_key *key, hwj_alg alg, const uint8_t *digest,
                                       size_t dlen, uint8_t *sig, size_t *siglen, hwj_error *err)
{
    const hwj_alg_info *info = hwj_alg_info_get(alg);
    hwj_err rc;
    hwj_error_reset(err);
    if (key == NULL || digest == NULL || sig == NULL || siglen == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_key_sign_digest: missing argument");
    if ((rc = sign_allowed(key, alg, err)) != HWJ_OK)
        return rc;
    if (hwj_alg_is_ed25519(alg) || info->kty == HWJ_KTY_OCT || key->ops->sign_digest == NULL)
        return hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                             "key '%s': %s cannot sign a digest computed elsewhere on the %s "
                             "backend; sign the message itself",
                             key->uri, info->name, key->ops->name);
    if (dlen != info->hash_len)
        return hwj_error_set(err, HWJ_ERR_ARG, "%s signs a %u-byte digest, not %zu bytes",
                             info->name, info->hash_len, dlen);
    return key->ops->sign_digest(key, alg, digest, dlen, sig, siglen, err);
}

HWJ_EXPORT hwj_err hwj_key_decrypt(hwj_key *key, hwj_alg alg, const uint8_t *in, size_t inlen,
                                   uint8_t *out, size_t *outlen, hwj_error *err)
{
    hwj_error_reset(err);
    if (key == NULL || in == NULL || out == NULL || outlen == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_key_decrypt: missing argument");
    if (key->ops->decrypt == NULL || hwj_alg_get_kind(alg) != HWJ_ALG_KIND_KM ||
        !(key->can & HWJ_ALG_BIT(alg)))
        return cannot(key, alg, "decrypt", err);
    if (key->use_refused)
        return refused(key, "decryption", err);
    return key->ops->decrypt(key, alg, in, inlen, out, outlen, err);
}

HWJ_EXPORT hwj_err hwj_key_derive(hwj_key *key, EVP_PKEY *peer, uint8_t *z, size_t *zlen,
                                  hwj_error *err)
{
    hwj_error_reset(err);
    if (key == NULL || peer == NULL || z == NULL || zlen == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_key_derive: missing argument");
    const uint64_t ecdh = HWJ_ALG_BIT(HWJ_ALG_ECDH_ES) | HWJ_ALG_BIT(HWJ_ALG_ECDH_ES_A128KW) |
                          HWJ_ALG_BIT(HWJ_ALG_ECDH_ES_A192KW) | HWJ_ALG_BIT(HWJ_ALG_ECDH_ES_A256KW);
    if (key->ops->derive == NULL || !(key->can & ecdh))
        return cannot(key, HWJ_ALG_ECDH_ES, "derive", err);
    if (key->use_refused)
        return refused(key, "key agreement", err);
    return key->ops->derive(key, peer, z, zlen, err);
}

HWJ_EXPORT EVP_PKEY *hwj_key_get0_pkey(const hwj_key *key)
{
    return key ? key->pkey : NULL;
}
HWJ_EXPORT const char *hwj_key_get0_kid(const hwj_key *key)
{
    return key ? key->kid : NULL;
}
HWJ_EXPORT const char *hwj_key_get0_uri(const hwj_key *key)
{
    return key ? key->uri : NULL;
}
HWJ_EXPORT const hwj_custody *hwj_key_get0_custody(const hwj_key *key)
{
    return key ? &key->custody : NULL;
}

HWJ_EXPORT const char *hwj_key_get0_public_members(const hwj_key *key)
{
    return key != NULL ? key->pub_json : NULL;
}

HWJ_EXPORT hwj_err hwj_key_public_jwk(const hwj_key *key, char **json, hwj_error *err)
{
    json_t *obj = NULL;
    hwj_err rc;

    hwj_error_reset(err);
    if (key == NULL || json == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_key_public_jwk: missing argument");
    if (key->pkey == NULL)
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "key '%s' is symmetric: it has no public JWK to publish", key->uri);
    if ((rc = hwj_pkey_to_json(key->pkey, &obj, err)) != HWJ_OK)
        return rc;
    if (key->kid != NULL)
        json_object_set_new(obj, "kid", json_string(key->kid));
    if (key->alg != HWJ_ALG_UNKNOWN) {
        json_object_set_new(obj, "alg", json_string(hwj_alg_name(key->alg)));
        json_object_set_new(
            obj, "use",
            json_string(hwj_alg_get_kind(key->alg) == HWJ_ALG_KIND_JWS ? "sig" : "enc"));
    }
    rc = hwj_json_dump(obj, json, err);
    json_decref(obj);
    return rc;
}
