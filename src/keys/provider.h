/*
 * provider.h: what a key backend implements. Nothing outside src/keys/
 * includes this file.
 *
 * A backend is one `static const struct hwj_key_ops` in one file, listed in
 * key.c's static array (under #ifdef for optional ones). The struct is
 * versioned and append-only, like sqlite3_vfs: a member is never removed or
 * reordered; new members go at the end with a version bump, and key.c checks
 * `version` before touching them.
 */
#ifndef HWJ_KEYS_PROVIDER_H
#define HWJ_KEYS_PROVIDER_H

#include <hwjose/key.h>
#include <jansson.h>
#include <pthread.h>
#include <sys/types.h>

#define HWJ_KEY_OPS_VERSION 1

struct hwj_key;

struct hwj_key_ops {
    /* --- version 1 --- */
    int version;
    const char *name;           /* "pkcs11", "tpm2", "soft" */
    const char *const *schemes; /* URI schemes served, NULL-terminated ("jwk", "file") */

    /* Per-context state, created on first use under the context lock (optional). */
    hwj_err (*ctx_init)(void **state, hwj_error *err);
    void (*ctx_free)(void *state);

    /* Fill key->impl, pkey, kty, alg (if bound), can, custody; kid may be left NULL
     * (key.c then sets the RFC 7638 thumbprint). On failure leave nothing allocated. */
    hwj_err (*open)(void *state, const char *uri, const hwj_key_open_opts *opts,
                    struct hwj_key *key, hwj_error *err);
    void (*close)(struct hwj_key *key);

    /* Called only for an alg in key->can, with a checked capacity. */
    hwj_err (*sign)(struct hwj_key *key, hwj_alg alg, const uint8_t *in, size_t inlen,
                    uint8_t *sig, size_t *siglen, hwj_error *err);
    hwj_err (*decrypt)(struct hwj_key *key, hwj_alg alg, const uint8_t *in, size_t inlen,
                       uint8_t *out, size_t *outlen, hwj_error *err); /* optional */
    hwj_err (*derive)(struct hwj_key *key, EVP_PKEY *peer, uint8_t *z, size_t *zlen,
                      hwj_error *err); /* optional */

    /* Generate into the token named by uri, then behave as open (optional). */
    hwj_err (*generate)(void *state, const char *uri, const hwj_keygen_opts *opts,
                        struct hwj_key *key, hwj_error *err);
    /* Append one description object per private key to `list` (optional). */
    hwj_err (*list)(void *state, const char *uri, const hwj_key_open_opts *opts, json_t *list,
                    hwj_error *err);
};

struct hwj_key {
    const struct hwj_key_ops *ops;
    hwj_ctx *ctx;
    void *impl;      /* the backend's own state */
    EVP_PKEY *pkey;  /* public key (a software backend may hold the private key here) */
    hwj_kty kty;
    hwj_alg alg;     /* the alg the key is bound to, or HWJ_ALG_UNKNOWN */
    uint64_t can;    /* HWJ_ALG_BIT(alg) for every alg the key and its token can perform */
    char *kid;
    char *uri;       /* without secrets */
    int sign_refused;/* extractable hardware key opened without allow_extractable */
    hwj_custody custody;
};

#define HWJ_ALG_BIT(a) ((uint64_t)1 << (unsigned)(a))

/* The algs a public key type can serve (before asking the token). */
uint64_t hwj_key_algs_for_pkey(EVP_PKEY *pkey);

/*
 * The PIN for a key, first found of: the URI's pin-source (file:PATH, as RFC 7512),
 * opts->pin, $HWJOSE_PIN. *pin is NULL if none (then the backend tries without).
 * Free with hwj_free_secret(pin, strlen(pin)). A pin-value in the URI is refused.
 */
hwj_err hwj_pin_resolve(const char *pin_source, const hwj_key_open_opts *opts, char **pin,
                        hwj_error *err);

/* Describe a probed key for `hwjose keys` (hwj_keys_list): add "kid" (RFC 7638), "kty",
 * "bits" or "crv", "algs", "custody" and "notes" to `o`. HWJ_ERR_NOMEM on failure. */
hwj_err hwj_key_describe(const struct hwj_key *key, json_t *o);

/* Append to custody.notes, "; "-separated. */
void hwj_custody_note(hwj_custody *c, const char *fmt, ...) HWJ_PRINTF(2, 3);

#endif
