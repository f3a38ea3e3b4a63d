/*
 * jwt.h: JSON Web Tokens (RFC 7519) issued from an hwj_key and validated
 * following RFC 8725 (explicit iss and aud, exp required, leeway, max age, typ).
 */
#ifndef HWJOSE_JWT_H
#define HWJOSE_JWT_H

#include <hwjose/common.h>
#include <hwjose/jwk.h>
#include <hwjose/jws.h>
#include <hwjose/key.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Seconds since the epoch; injectable for tests. NULL means time(). */
typedef int64_t (*hwj_clock_fn)(void *arg);

typedef struct hwj_jwt_issue_opts {
    size_t size;     /* sizeof: set by HWJ_JWT_ISSUE_OPTS_INIT (see common.h) */
    const char *iss; /* required */
    const char *sub;
    const char *const *aud; /* required: one is written as a string, several as an array */
    size_t naud;
    int64_t ttl;             /* seconds until exp; required, > 0 */
    int64_t nbf_offset;      /* nbf = iat + nbf_offset (0: nbf = iat) */
    int no_jti;              /* by default a random 128-bit jti is added */
    const char *claims_json; /* extra claims, a JSON object; registered ones set above win
                                (or are refused: refuse_registered) */
    const char *typ;         /* NULL: "JWT" */
    hwj_alg alg;             /* 0: the key's default */
    const char *kid;         /* NULL: the key's kid */
    const char *header_json; /* extra protected header members */
    hwj_clock_fn clock;
    void *clock_arg;
    int refuse_registered; /* refuse a registered claim (iss, sub, aud, exp, nbf, iat, jti) in
                              claims_json instead of letting the members above win: for claims
                              that come from someone else (a CLI user, a service's client) */
} hwj_jwt_issue_opts;
#define HWJ_JWT_ISSUE_OPTS_INIT                                                                    \
    {                                                                                              \
        .size = sizeof(hwj_jwt_issue_opts)                                                         \
    }

/*
 * Issue a JWT: the claims (iss, sub, aud, iat, nbf, exp, jti from the options, then claims_json's
 * others) signed with `key` as a compact JWS typed "JWT". `*jwt` is freed with hwj_free.
 */
HWJ_EXPORT hwj_err hwj_jwt_issue(hwj_key *key, const hwj_jwt_issue_opts *opts, char **jwt,
                                 hwj_error *err);
/*
 * hwj_jwt_issue, and when `claims_json` is not NULL also the claims set exactly as it was signed
 * (the JWS payload, compact JSON; hwj_free): what an issuer records in its audit trail (jti, sub,
 * exp) without decoding its own token. Both outputs are written only on success.
 */
HWJ_EXPORT hwj_err hwj_jwt_issue_claims(hwj_key *key, const hwj_jwt_issue_opts *opts, char **jwt,
                                        char **claims_json, hwj_error *err);

typedef struct hwj_jwt_verify_opts {
    size_t size; /* sizeof: set by HWJ_JWT_VERIFY_OPTS_INIT (see common.h) */
    /* alg allow-list (required), crit, size limit. A pointer, not embedded: the policy grows on
     * its own (NULL: the empty policy, which accepts nothing). */
    const hwj_verify_policy *policy;
    const char *iss;  /* required: the token's iss must equal it */
    const char *aud;  /* required: the token's aud must be or contain it */
    const char *sub;  /* optional: the token's sub must equal it */
    int64_t leeway;   /* seconds of clock skew tolerated on exp, nbf, iat */
    int64_t max_age;  /* 0: none; else iat is required and may be at most this old */
    const char *typ;  /* NULL: typ may be absent or "JWT"; else it must equal this */
    int allow_no_exp; /* by default a token without exp is rejected */
    hwj_clock_fn clock;
    void *clock_arg;
    /* NULL, or "at+jwt": an RFC 9068 access token — typ at+jwt (unless typ above says
     * otherwise) and the claims iss, exp, aud, sub, client_id, iat and jti all present */
    const char *profile;
} hwj_jwt_verify_opts;
#define HWJ_JWT_VERIFY_OPTS_INIT                                                                   \
    {                                                                                              \
        .size = sizeof(hwj_jwt_verify_opts)                                                        \
    }

/*
 * Verify the JWS and validate the claims. On success `*claims_json` holds the claims
 * object (compact JSON; hwj_free). A failed claim check is HWJ_ERR_CLAIMS naming the
 * claim ("token expired", "aud does not contain 'x'").
 */
HWJ_EXPORT hwj_err hwj_jwt_verify(const char *jwt, size_t len, const hwj_jwks *keys,
                                  const hwj_jwt_verify_opts *opts, char **claims_json,
                                  hwj_error *err) HWJ_WARN_UNUSED;

/*
 * Decode a compact JWS/JWT (3 parts) or JWE (5 parts) WITHOUT verifying or decrypting anything,
 * for debugging: `*header_json` is its protected header (compact JSON), `*payload` a JWS's
 * decoded payload (NUL-terminated beyond payload_len), NULL for a JWE. Nothing here is checked
 * or trustworthy: never act on it. Outputs are freed with hwj_free.
 */
HWJ_EXPORT hwj_err hwj_token_inspect(const char *tok, size_t len, char **header_json,
                                     uint8_t **payload, size_t *payload_len, hwj_error *err);

/* Parse a duration: "90" or "90s", "15m", "12h", "7d" → seconds. */
HWJ_EXPORT hwj_err hwj_duration_parse(const char *text, int64_t *seconds, hwj_error *err);

#ifdef __cplusplus
}
#endif
#endif
