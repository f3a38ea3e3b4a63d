/*
 * key.h: the key-provider contract.
 *
 * A private key is opened from a URI and offers only: sign, decrypt, derive
 * (ECDH), its public key / JWK, and custody facts. Private key bytes of a
 * hardware key never reach the caller or the JOSE layer.
 *
 * URI schemes (each a backend; see docs/architecture.md):
 *   pkcs11:token=T;object=NAME[;id=%01][;type=private]?module-path=...&pin-source=file:...
 *                               RFC 7512; PIN from pin-source, HWJOSE_PIN or opts->pin.
 *                               pin-value is refused: a URI ends up in argv and logs.
 *   tpm2:handle=0x81000010 | tpm2:file=PATH   TPM 2.0 through tpm2-tss ESAPI.
 *   jwk:PATH                    a JWK file (software; development and verification).
 *   file:PATH                   a PEM private key (software).
 *
 * Threads: an hwj_ctx and the keys opened from it may be used from several
 * threads at once; each operation is independent. After fork(), a child must
 * open its own context (backends re-initialise where the hardware requires).
 */
#ifndef HWJOSE_KEY_H
#define HWJOSE_KEY_H

#include <hwjose/alg.h>
#include <hwjose/common.h>
#include <openssl/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest signature any supported alg produces (RSA-8192). */
#define HWJ_SIG_MAX 1024

/* A library context: loaded PKCS#11 modules, token logins and session pools, TPM connections. */
typedef struct hwj_ctx hwj_ctx;
typedef struct hwj_key hwj_key;

HWJ_EXPORT hwj_err hwj_ctx_new(hwj_ctx **out, hwj_error *err);
/* Closes every backend connection. All keys opened from ctx must be freed first. */
HWJ_EXPORT void hwj_ctx_free(hwj_ctx *ctx);
/* How many times the context's backends re-initialised a token module that kept failing (a
 * PKCS#11 module finalised and initialised again after its token came back): for monitoring. */
HWJ_EXPORT uint64_t hwj_ctx_get_token_reinits(hwj_ctx *ctx);

typedef struct hwj_key_open_opts {
    size_t size; /* sizeof: set by HWJ_KEY_OPEN_OPTS_INIT (see common.h) */
    /* A PIN or key auth the application obtained itself (never from argv). Copied and
     * wiped on free. Overrides HWJOSE_PIN; the URI's pin-source overrides both. */
    const char *pin;
    /* Permit signing, decrypting and deriving with a hardware private key marked extractable
     * (CKA_EXTRACTABLE true, or a TPM key not fixed to its TPM): refused otherwise. */
    int allow_extractable;
    /* Accept an RSA key with the ROCA fingerprint (CVE-2017-15361; see hwj_jwk_parse_opts).
     * Refused by default with HWJ_ERR_POLICY, whatever the backend. Forensic use only. */
    int allow_roca;
} hwj_key_open_opts;
#define HWJ_KEY_OPEN_OPTS_INIT                                                                     \
    {                                                                                              \
        .size = sizeof(hwj_key_open_opts)                                                          \
    }

/* Tri-state custody facts: 1 yes, 0 no, -1 unknown. */
typedef struct hwj_custody {
    const char *backend; /* "pkcs11", "tpm2", "soft" */
    int hardware;        /* the private key lives in a token or TPM */
    int sensitive;
    int always_sensitive;
    int extractable;
    int never_extractable;
    int local; /* generated on the token/TPM */
    /* Capability notes and fallbacks in use, e.g. "RSA-OAEP-256: CKM_RSA_X_509 in token +
     * OAEP unpadding on host (token refuses OAEP with SHA-256)". Empty if none. */
    char notes[512];
} hwj_custody;

/*
 * Open the key named by `uri`: parse, find, log in, probe what the token can do.
 * Errors name the part of the URI that failed and how to list what exists.
 */
HWJ_EXPORT hwj_err hwj_key_open(hwj_ctx *ctx, const char *uri, const hwj_key_open_opts *opts,
                                hwj_key **out, hwj_error *err);
HWJ_EXPORT void hwj_key_free(hwj_key *key);

/* 1 if this key, on this token, can perform `alg` (JWS sign, or JWE key management). */
HWJ_EXPORT int hwj_key_can(const hwj_key *key, hwj_alg alg);
/* The alg to use when the caller names none: the key's "alg" if it carries one, else the
 * natural one for its type (RS256, ES256/384/512 by curve, EdDSA, HS256). */
HWJ_EXPORT hwj_alg hwj_key_default_alg(const hwj_key *key);
HWJ_EXPORT hwj_kty hwj_key_get_kty(const hwj_key *key);

/*
 * Sign `in` (a JWS signing input; the backend hashes where the token wants a digest).
 * `*siglen` holds the capacity of `sig` on entry (HWJ_SIG_MAX always suffices) and the
 * signature length on success. ECDSA signatures are JOSE's fixed-size r||s.
 */
HWJ_EXPORT hwj_err hwj_key_sign(hwj_key *key, hwj_alg alg, const uint8_t *in, size_t inlen,
                                uint8_t *sig, size_t *siglen, hwj_error *err);

/*
 * Sign a digest the caller computed with `alg`'s hash (SHA-256 for RS256, PS256 and ES256, ...),
 * for protocols that hash elsewhere, such as OpenSSL's pre-hashed EVP_PKEY_sign (the hwjose
 * OpenSSL provider). The signature is as hwj_key_sign's over the message with that digest.
 * Not for EdDSA, which signs the message itself. `dlen` must be the hash's length.
 */
HWJ_EXPORT hwj_err hwj_key_sign_digest(hwj_key *key, hwj_alg alg, const uint8_t *digest,
                                       size_t dlen, uint8_t *sig, size_t *siglen, hwj_error *err);

/*
 * Decrypt a JWE encrypted key with a key-management alg (RSA-OAEP, RSA-OAEP-256; RSA1_5
 * only through jwe.h's explicit opt-in). `*outlen` holds the capacity on entry.
 * A failure is reported as HWJ_ERR_DECRYPT without detail (padding oracles).
 */
HWJ_EXPORT hwj_err hwj_key_decrypt(hwj_key *key, hwj_alg alg, const uint8_t *in, size_t inlen,
                                   uint8_t *out, size_t *outlen, hwj_error *err);

/* ECDH: the shared secret Z with `peer` (a public key on the same curve). */
HWJ_EXPORT hwj_err hwj_key_derive(hwj_key *key, EVP_PKEY *peer, uint8_t *z, size_t *zlen,
                                  hwj_error *err);

/* The public key (NULL for a symmetric key). Borrowed. */
HWJ_EXPORT EVP_PKEY *hwj_key_get0_pkey(const hwj_key *key);
/* The kid: the key's own if it carries one, else its RFC 7638 thumbprint. Borrowed. */
HWJ_EXPORT const char *hwj_key_get0_kid(const hwj_key *key);
/* The URI the key was opened with, without any secret. Borrowed. */
HWJ_EXPORT const char *hwj_key_get0_uri(const hwj_key *key);
HWJ_EXPORT const hwj_custody *hwj_key_get0_custody(const hwj_key *key);
/* The public JWK as compact JSON, with "kid" (and "alg" when the key is bound to one). */
HWJ_EXPORT hwj_err hwj_key_public_jwk(const hwj_key *key, char **json, hwj_error *err);
/* The public key's required JWK members only (RFC 7638: kty, crv, x, y / n, e), compact JSON,
 * computed once at open: what a DPoP proof's "jwk" header carries. NULL for a symmetric key.
 * Borrowed. */
HWJ_EXPORT const char *hwj_key_get0_public_members(const hwj_key *key);

typedef struct hwj_keygen_opts {
    size_t size;   /* sizeof: set by HWJ_KEYGEN_OPTS_INIT (see common.h) */
    hwj_alg alg;   /* ES256 ES384 ES512 RS256 PS256 EdDSA RSA-OAEP RSA-OAEP-256 ECDH-ES ... */
    unsigned bits; /* RSA modulus size; 0 → 3072 */
    const char *pin;
} hwj_keygen_opts;
#define HWJ_KEYGEN_OPTS_INIT                                                                       \
    {                                                                                              \
        .size = sizeof(hwj_keygen_opts)                                                            \
    }

/*
 * Generate a key pair inside the token/TPM named by `uri`: non-extractable, sensitive,
 * usable only for what `alg` needs. The kid is the RFC 7638 thumbprint. Fails if an
 * object with that name exists. A generated RSA key with the ROCA fingerprint (the token
 * has the flawed Infineon generator) is refused with HWJ_ERR_POLICY; it stays in the token,
 * named in the error, for its owner to delete.
 */
HWJ_EXPORT hwj_err hwj_key_generate(hwj_ctx *ctx, const char *uri, const hwj_keygen_opts *opts,
                                    hwj_key **out, hwj_error *err);

/*
 * Describe every private key the URI (token or TPM) holds, as a JSON array of objects:
 * {"uri","kid","kty","crv"|"bits","algs":[...],"custody":{...},"notes":"..."}; RSA keys
 * also carry "roca": true or false (listing does not refuse them: it is how they are found).
 */
HWJ_EXPORT hwj_err hwj_keys_list(hwj_ctx *ctx, const char *uri, const hwj_key_open_opts *opts,
                                 char **json, hwj_error *err);

#ifdef __cplusplus
}
#endif
#endif
