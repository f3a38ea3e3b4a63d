/*
 * provider.h: what a key backend implements. Nothing outside src/keys/
 * includes this file.
 *
 * A backend is one `static const struct hwj_key_ops` in one file, listed in
 * key.c's static array (under #ifdef for optional ones). The table is internal
 * and carries no version: every backend is compiled into the library with it,
 * this header is not installed, and no backend can be loaded from outside, so
 * a member can be added, changed or removed in one commit that updates every
 * backend. An ABI promise (sqlite3_vfs-style, append-only) would have no
 * consumer; make one only together with a way to load an outside backend.
 */
#ifndef HWJ_KEYS_PROVIDER_H
#define HWJ_KEYS_PROVIDER_H

#include <hwjose/key.h>
#include <jansson.h>
#include <pthread.h>
#include <sys/types.h>

struct hwj_key;

struct hwj_key_ops {
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
    hwj_err (*sign)(struct hwj_key *key, hwj_alg alg, const uint8_t *in, size_t inlen, uint8_t *sig,
                    size_t *siglen, hwj_error *err);
    /* Sign a digest of alg's hash (checked length; never EdDSA) (optional). */
    hwj_err (*sign_digest)(struct hwj_key *key, hwj_alg alg, const uint8_t *digest, size_t dlen,
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
    /* Token modules re-initialised after failures, over the state's life (optional). */
    uint64_t (*reinits)(void *state);
};

struct hwj_key {
    const struct hwj_key_ops *ops;
    hwj_ctx *ctx;
    void *impl;     /* the backend's own state */
    EVP_PKEY *pkey; /* public key (a software backend may hold the private key here) */
    hwj_kty kty;
    hwj_alg alg;  /* the alg the key is bound to, or HWJ_ALG_UNKNOWN */
    uint64_t can; /* HWJ_ALG_BIT(alg) for every alg the key and its token can perform */
    char *kid;
    char *uri;       /* without secrets */
    int use_refused; /* extractable hardware key opened without allow_extractable */
    hwj_custody custody;
    char *pub_json; /* the public key's RFC 7638 members, compact JSON (set by key.c at open) */
};

#define HWJ_ALG_BIT(a) ((uint64_t)1 << (unsigned)(a))
_Static_assert(HWJ_ALG_COUNT_ <= 64, "struct hwj_key's `can` has one bit per hwj_alg: widen it");

#endif
