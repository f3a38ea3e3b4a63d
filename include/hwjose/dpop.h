/*
 * dpop.h: OAuth 2.0 Demonstrating Proof of Possession (RFC 9449).
 *
 * A DPoP proof is a JWT typed "dpop+jwt", signed by the client's key (which here may stay in a
 * PKCS#11 token or a TPM), carrying that key's public JWK in its header and the request it is
 * for (htm, htu), a fresh jti, iat, and optionally ath (the hash of the access token it comes
 * with) and the server's nonce. The receiver checks all of that (RFC 9449 §4.3), and a replay
 * cache remembers each accepted jti until the proof would be refused as stale anyway.
 *
 * Options structs are caller-allocated: set `size` to sizeof the struct (members are only
 * appended; the library reads no member beyond `size`).
 */
#ifndef HWJOSE_DPOP_H
#define HWJOSE_DPOP_H

#include <hwjose/common.h>
#include <hwjose/jwk.h>
#include <hwjose/jwt.h>
#include <hwjose/key.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults of the receiver's iat window (seconds). */
#define HWJ_DPOP_DEFAULT_MAX_AGE 300
#define HWJ_DPOP_DEFAULT_LEEWAY 5
/* Default bound of a replay cache (entries). */
#define HWJ_DPOP_DEFAULT_REPLAY_MAX 65536

typedef struct hwj_dpop_proof_opts {
    size_t size;     /* sizeof(hwj_dpop_proof_opts) */
    const char *htm; /* required: the request's method, "POST" */
    const char *htu; /* required: the request's URL (normalised; query, fragment dropped) */
    const char *access_token; /* optional: adds "ath", its SHA-256, base64url */
    const char *nonce;        /* optional: the server's DPoP-Nonce */
    hwj_alg alg;              /* 0: the key's default; an asymmetric JWS alg */
    hwj_clock_fn clock;       /* NULL: time() */
    void *clock_arg;
} hwj_dpop_proof_opts;
#define HWJ_DPOP_PROOF_OPTS_INIT                                                                   \
    {                                                                                              \
        .size = sizeof(hwj_dpop_proof_opts)                                                        \
    }

/*
 * Make a DPoP proof signed by `key`: header {typ "dpop+jwt", alg, jwk (public members only)},
 * claims {jti (128 random bits), htm, htu, iat[, ath][, nonce]}. `*proof` is freed with hwj_free.
 */
HWJ_EXPORT hwj_err hwj_dpop_proof(hwj_key *key, const hwj_dpop_proof_opts *opts, char **proof,
                                  hwj_error *err);

/*
 * The form of `url` that htu compares (RFC 9449 §4.3, RFC 3986 §6.2.2–6.2.3): http or https
 * only; scheme and host lowercased; the default port dropped; an empty path is "/"; percent-
 * encodings uppercased and unreserved ones decoded; dot segments removed; query and fragment
 * dropped. User information in the URL is refused. `*out` is freed with hwj_free.
 */
HWJ_EXPORT hwj_err hwj_dpop_htu_normalize(const char *url, char **out, hwj_error *err);

/*
 * A replay cache of accepted proofs, keyed by (proof key thumbprint, htu, jti). Thread-safe:
 * one cache may serve every thread of a process.
 *
 * Bounds and eviction: an entry lives until the accepted proof's iat + max_age + leeway (the
 * window the cache was made for), after which its proof is refused as stale anyway, so forgetting
 * it loses nothing; expired entries are dropped whenever the cache is full. It holds at most
 * `max_entries` live entries (0: HWJ_DPOP_DEFAULT_REPLAY_MAX), 40 bytes each plus the table;
 * when it is full of live entries a new proof is refused (HWJ_ERR_LIMIT): it fails closed, never
 * by forgetting a live jti. A verifier using the cache must use the same max_age and leeway.
 */
typedef struct hwj_dpop_replay hwj_dpop_replay;
HWJ_EXPORT hwj_err hwj_dpop_replay_new(size_t max_entries, int64_t max_age, int64_t leeway,
                                       hwj_dpop_replay **out, hwj_error *err);
HWJ_EXPORT void hwj_dpop_replay_free(hwj_dpop_replay *cache);
/* Entries held now, expired ones included until a sweep drops them (metrics, tests). */
HWJ_EXPORT size_t hwj_dpop_replay_count(hwj_dpop_replay *cache);

typedef struct hwj_dpop_verify_opts {
    size_t size;         /* sizeof(hwj_dpop_verify_opts) */
    const hwj_alg *algs; /* allow-list; NULL: ES256/384/512, EdDSA, Ed25519, PS256/384/512,
                            RS256/384/512. HMAC is refused whatever the list says, and "none"
                            never parses */
    size_t nalgs;
    const char *htm;          /* required: the method the request used */
    const char *htu;          /* required: the URL the request was sent to (normalised here) */
    const char *access_token; /* the access token the request carries: ath must be its hash */
    const char *jkt;   /* the token's cnf.jkt: the proof key's RFC 7638 thumbprint must equal it */
    const char *nonce; /* the nonce the server requires: the proof's must equal it */
    int64_t max_age;   /* 0: HWJ_DPOP_DEFAULT_MAX_AGE; how old iat may be (seconds) */
    int64_t leeway;    /* 0: HWJ_DPOP_DEFAULT_LEEWAY; how far iat may be ahead; <0: none */
    hwj_dpop_replay *replay; /* NULL: no replay check (the caller's own, or none) */
    size_t max_size;         /* 0: 8192 bytes */
    hwj_clock_fn clock;
    void *clock_arg;
} hwj_dpop_verify_opts;
#define HWJ_DPOP_VERIFY_OPTS_INIT                                                                  \
    {                                                                                              \
        .size = sizeof(hwj_dpop_verify_opts)                                                       \
    }

typedef struct hwj_dpop_result {
    char *jkt;         /* the proof key's RFC 7638 thumbprint (what cnf.jkt binds to) */
    char *jwk_json;    /* the proof's public JWK */
    char *claims_json; /* the proof's claims */
    hwj_alg alg;
    int64_t iat;
} hwj_dpop_result;

/*
 * Verify a DPoP proof as RFC 9449 §4.3 says. Refusals: HWJ_ERR_PARSE (not a JWT),
 * HWJ_ERR_POLICY (typ, alg, a private or symmetric jwk), HWJ_ERR_SIGNATURE ("invalid signature"),
 * HWJ_ERR_CLAIMS (htm, htu, iat, ath, jkt, jti replayed; a missing or different nonce when one is
 * required says "use_dpop_nonce" first so that a server can answer with that error),
 * HWJ_ERR_LIMIT (too large, replay cache full). `*out` (may be NULL: check only) is written only
 * on success.
 */
HWJ_EXPORT hwj_err hwj_dpop_verify(const char *proof, const hwj_dpop_verify_opts *opts,
                                   hwj_dpop_result **out, hwj_error *err) HWJ_WARN_UNUSED;
HWJ_EXPORT void hwj_dpop_result_free(hwj_dpop_result *res);

/* ath: base64url(SHA-256(access_token)). `*out` is freed with hwj_free. */
HWJ_EXPORT hwj_err hwj_dpop_ath(const char *access_token, char **out, hwj_error *err);

#ifdef __cplusplus
}
#endif

#endif
