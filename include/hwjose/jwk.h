/*
 * jwk.h: JSON Web Keys (RFC 7517, 7518 §6, 8037) and key sets, RFC 7638 thumbprints.
 *
 * An hwj_jwk is a software key: a public key to verify or encrypt to, or (for
 * development, tests and symmetric algs) a private one. Hardware keys are hwj_key.
 */
#ifndef HWJOSE_JWK_H
#define HWJOSE_JWK_H

#include <hwjose/alg.h>
#include <hwjose/common.h>
#include <hwjose/key.h>
#include <openssl/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hwj_jwk hwj_jwk;
typedef struct hwj_jwks hwj_jwks;

/* What a key is being used for; checked against "use" and "key_ops" (RFC 7517 §4.2–4.3). */
typedef enum hwj_key_op {
    HWJ_OP_SIGN = 1,
    HWJ_OP_VERIFY,
    HWJ_OP_ENCRYPT,
    HWJ_OP_DECRYPT,
    HWJ_OP_WRAP,
    HWJ_OP_UNWRAP,
    HWJ_OP_DERIVE,
} hwj_key_op;

/* Parse one JWK (RSA, EC P-256/384/521, OKP Ed25519/X25519, oct). Duplicate members, unknown
 * kty/crv, points off the curve and inconsistent private parts are rejected. */
HWJ_EXPORT hwj_err hwj_jwk_parse(const char *json, size_t len, hwj_jwk **out, hwj_error *err);
HWJ_EXPORT hwj_err hwj_jwk_read_file(const char *path, hwj_jwk **out, hwj_error *err);

/* Zero-initialise; zero members mean the default. Members are only ever appended. */
typedef struct hwj_jwk_parse_opts {
    size_t size; /* sizeof: set by HWJ_JWK_PARSE_OPTS_INIT (see common.h) */
    /* Accept an RSA key with the ROCA fingerprint (CVE-2017-15361: made by the flawed Infineon
     * generator of many TPMs and smart cards; its private key can be computed from the public
     * key). Refused by default with HWJ_ERR_POLICY. For forensic use only, e.g. checking what
     * such a key once signed: anyone may have forged it since. */
    int allow_roca;
} hwj_jwk_parse_opts;
#define HWJ_JWK_PARSE_OPTS_INIT                                                                    \
    {                                                                                              \
        .size = sizeof(hwj_jwk_parse_opts)                                                         \
    }

/* hwj_jwk_parse / hwj_jwk_read_file with options (`opts` NULL: the defaults). */
HWJ_EXPORT hwj_err hwj_jwk_parse_ex(const char *json, size_t len, const hwj_jwk_parse_opts *opts,
                                    hwj_jwk **out, hwj_error *err);
HWJ_EXPORT hwj_err hwj_jwk_read_file_ex(const char *path, const hwj_jwk_parse_opts *opts,
                                        hwj_jwk **out, hwj_error *err);
/* A public JWK of a public (or private: only the public part is taken) EVP_PKEY. An RSA key
 * with the ROCA fingerprint is refused (HWJ_ERR_POLICY). */
HWJ_EXPORT hwj_err hwj_jwk_from_pkey(EVP_PKEY *pkey, hwj_jwk **out, hwj_error *err);
/* The public JWK of an opened key (kid and alg as the key reports them). */
HWJ_EXPORT hwj_err hwj_jwk_from_key(const hwj_key *key, hwj_jwk **out, hwj_error *err);
HWJ_EXPORT void hwj_jwk_free(hwj_jwk *jwk);

/* Compact JSON. Private members only when `with_private` and the key has them. */
HWJ_EXPORT hwj_err hwj_jwk_to_json(const hwj_jwk *jwk, int with_private, char **json,
                                   hwj_error *err);
/* RFC 7638 thumbprint with SHA-256, base64url. */
HWJ_EXPORT hwj_err hwj_jwk_thumbprint(const hwj_jwk *jwk, char **b64u, hwj_error *err);

HWJ_EXPORT hwj_kty hwj_jwk_get_kty(const hwj_jwk *jwk);
/* The "kid" member, or NULL. Borrowed. */
HWJ_EXPORT const char *hwj_jwk_get0_kid(const hwj_jwk *jwk);
/* The "alg" member, or HWJ_ALG_UNKNOWN when absent. */
HWJ_EXPORT hwj_alg hwj_jwk_get_alg(const hwj_jwk *jwk);
HWJ_EXPORT int hwj_jwk_is_private(const hwj_jwk *jwk);
/* 1 if the key is RSA with the ROCA fingerprint (only when parsed with allow_roca). */
HWJ_EXPORT int hwj_jwk_is_roca(const hwj_jwk *jwk);
/* The public key (NULL for oct). Borrowed. */
HWJ_EXPORT EVP_PKEY *hwj_jwk_get0_pkey(const hwj_jwk *jwk);

/*
 * HWJ_OK if `jwk` may be used for `op` with `alg`: kty (and crv) fit the alg, the JWK's
 * "alg" (if any) equals alg, "use"/"key_ops" (if any) permit op, HMAC keys are at least
 * as long as the hash. Otherwise HWJ_ERR_POLICY with the reason.
 */
HWJ_EXPORT hwj_err hwj_jwk_check(const hwj_jwk *jwk, hwj_alg alg, hwj_key_op op, hwj_error *err);

HWJ_EXPORT hwj_err hwj_jwks_new(hwj_jwks **out, hwj_error *err);
/* Parse {"keys":[...]}; a member that is not a valid JWK makes the whole set invalid, and so
 * does a kid used twice. */
HWJ_EXPORT hwj_err hwj_jwks_parse(const char *json, size_t len, hwj_jwks **out, hwj_error *err);
HWJ_EXPORT hwj_err hwj_jwks_read_file(const char *path, hwj_jwks **out, hwj_error *err);
/* The same with options; allow_roca as for hwj_jwk_parse_ex, for every member. */
HWJ_EXPORT hwj_err hwj_jwks_parse_ex(const char *json, size_t len, const hwj_jwk_parse_opts *opts,
                                     hwj_jwks **out, hwj_error *err);
HWJ_EXPORT hwj_err hwj_jwks_read_file_ex(const char *path, const hwj_jwk_parse_opts *opts,
                                         hwj_jwks **out, hwj_error *err);
/* Take ownership of `jwk` (freed on failure too). A kid already in the set: HWJ_ERR_POLICY. */
HWJ_EXPORT hwj_err hwj_jwks_add(hwj_jwks *set, hwj_jwk *jwk, hwj_error *err);
HWJ_EXPORT size_t hwj_jwks_count(const hwj_jwks *set);
HWJ_EXPORT const hwj_jwk *hwj_jwks_get0(const hwj_jwks *set, size_t i);
HWJ_EXPORT hwj_err hwj_jwks_to_json(const hwj_jwks *set, char **json, hwj_error *err);
HWJ_EXPORT void hwj_jwks_free(hwj_jwks *set);

/*
 * HWJ_OK if `set` may serve `op`. Never: symmetric (oct) keys beside asymmetric ones (algorithm
 * confusion). To verify (HWJ_OP_VERIFY), also never private keys beside public ones; a set to
 * decrypt with may hold private keys. HWJ_ERR_POLICY otherwise. hwj_jwks_select applies it.
 * (Duplicate kids are refused when the set is built.)
 */
HWJ_EXPORT hwj_err hwj_jwks_check(const hwj_jwks *set, hwj_key_op op, hwj_error *err);

/*
 * Choose the key for (kid, alg, op) from a set that passes hwj_jwks_check for op. With a kid: the
 * keys with that kid that pass hwj_jwk_check. Without: the keys that pass hwj_jwk_check. Exactly
 * one must remain: none → HWJ_ERR_KEY_NOT_FOUND, several → HWJ_ERR_KEY_AMBIGUOUS. The result is
 * borrowed.
 *
 * For verification, a set of exactly one key is the key the caller chose: it is tried whatever
 * the kid says (it must still pass hwj_jwk_check for the alg, which the allow-list bounds), as
 * latchset jose and jwcrypto do; with several keys the kid must match.
 */
HWJ_EXPORT hwj_err hwj_jwks_select(const hwj_jwks *set, const char *kid, hwj_alg alg, hwj_key_op op,
                                   const hwj_jwk **out, hwj_error *err);

#ifdef __cplusplus
}
#endif
#endif
