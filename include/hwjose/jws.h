/*
 * jws.h: JSON Web Signature (RFC 7515), compact and JSON serializations, RFC 7797.
 *
 * Verification follows RFC 8725: the caller's alg allow-list is required, the key
 * must fit the alg, "none" is never accepted, and the key is never taken from the
 * JWS itself ("jwk", "jku", "x5u", "x5c" are ignored for key selection).
 */
#ifndef HWJOSE_JWS_H
#define HWJOSE_JWS_H

#include <hwjose/alg.h>
#include <hwjose/common.h>
#include <hwjose/jwk.h>
#include <hwjose/key.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Default limit on a serialized JWS/JWE/JWT (bytes) and on JSON nesting depth. */
#define HWJ_DEFAULT_MAX_SIZE (1024u * 1024u)
#define HWJ_DEFAULT_MAX_DEPTH 16

typedef enum hwj_jws_format {
    HWJ_JWS_COMPACT = 0,
    HWJ_JWS_JSON = 1,      /* general JSON serialization */
    HWJ_JWS_JSON_FLAT = 2, /* flattened JSON serialization */
} hwj_jws_format;

typedef struct hwj_jws_sign_opts {
    size_t size;                  /* sizeof: set by HWJ_JWS_SIGN_OPTS_INIT (see common.h) */
    hwj_alg alg;                  /* 0: hwj_key_default_alg(key) */
    const char *kid;              /* NULL: hwj_key_get0_kid(key); "" omits kid */
    const char *header_json;      /* extra protected header members, a JSON object */
    const char *unprotected_json; /* JSON serializations only: the unprotected header */
    int detached;                 /* leave the payload out of the output */
    int b64_false;                /* RFC 7797: "b64":false with "crit":["b64"] */
    hwj_jws_format format;
} hwj_jws_sign_opts;
#define HWJ_JWS_SIGN_OPTS_INIT                                                                     \
    {                                                                                              \
        .size = sizeof(hwj_jws_sign_opts)                                                          \
    }

/* Sign `payload`; `*out` is the serialized JWS (NUL-terminated; hwj_free). */
HWJ_EXPORT hwj_err hwj_jws_sign(hwj_key *key, const uint8_t *payload, size_t len,
                                const hwj_jws_sign_opts *opts, char **out, hwj_error *err);

/* General JSON serialization with one signature per key (opts[i] for keys[i]). */
HWJ_EXPORT hwj_err hwj_jws_sign_multi(hwj_key *const *keys, const hwj_jws_sign_opts *opts, size_t n,
                                      const uint8_t *payload, size_t len, char **out,
                                      hwj_error *err);

typedef struct hwj_verify_policy {
    size_t size;         /* sizeof: set by HWJ_VERIFY_POLICY_INIT (see common.h) */
    const hwj_alg *algs; /* the allow-list; required (an empty list accepts nothing) */
    size_t nalgs;
    /* Header parameters the application itself understands and checks, beyond "b64"
     * (which hwjose handles). A "crit" naming anything else is rejected. */
    const char *const *crit;
    size_t ncrit;
    size_t max_size; /* 0: HWJ_DEFAULT_MAX_SIZE */
    /* Accept "alg" from an unprotected JWS JSON header (RFC 7515 permits it, e.g. RFC 7520
     * §4.7). Off by default: the alg must then be covered by the signature. */
    int allow_unprotected_alg;
    /* Accept the JSON serializations (general and flattened, with their unprotected headers).
     * Off by default: only the compact serialization is accepted, so a caller expecting a
     * compact token never gets JSON by accident. A JWT is compact whatever this says. */
    int allow_json;
} hwj_verify_policy;
#define HWJ_VERIFY_POLICY_INIT                                                                     \
    {                                                                                              \
        .size = sizeof(hwj_verify_policy)                                                          \
    }

typedef struct hwj_jws_result {
    uint8_t *payload; /* NUL-terminated for convenience; payload_len excludes it */
    size_t payload_len;
    char *protected_json; /* the verified signature's protected header */
    hwj_alg alg;
    size_t signature_index; /* which signature verified (JSON serialization) */
    const hwj_jwk *key;     /* the key that verified it (borrowed from the set) */
} hwj_jws_result;

/*
 * Verify a JWS: compact, or JSON (when it starts with '{') if policy->allow_json; a JSON
 * serialization without it is HWJ_ERR_POLICY.
 * `detached` supplies the payload when the JWS carries none (NULL otherwise).
 * With several signatures, the first that verifies under the policy wins.
 * A bad signature is HWJ_ERR_SIGNATURE, "invalid signature", without more detail.
 */
HWJ_EXPORT hwj_err hwj_jws_verify(const char *jws, size_t len, const hwj_jwks *keys,
                                  const hwj_verify_policy *policy, const uint8_t *detached,
                                  size_t detached_len, hwj_jws_result **out,
                                  hwj_error *err) HWJ_WARN_UNUSED;
HWJ_EXPORT void hwj_jws_result_free(hwj_jws_result *res);

#ifdef __cplusplus
}
#endif
#endif
