/*
 * jwe.h: JSON Web Encryption (RFC 7516, algorithms RFC 7518) and the nested JWT
 * (RFC 7519 §11.2: sign, then encrypt).
 *
 * Serializations: compact, general JSON (several recipients) and flattened JSON;
 * the protected header, the shared unprotected header and the per-recipient headers
 * must be disjoint (RFC 7516 §7.2.1); AAD exists only in the JSON serializations.
 *
 * Key management ("alg"):
 *   RSA-OAEP, RSA-OAEP-256      decrypt: hwj_key_decrypt, so inside the token
 *   RSA1_5                      decrypt only, only with allow_rsa1_5, with the
 *                               random-CEK countermeasure of RFC 7516 §11.5
 *   ECDH-ES, ECDH-ES+A128KW/A192KW/A256KW
 *                               decrypt: Z from hwj_key_derive (inside the token);
 *                               Concat KDF (SHA-256) on the host. The "epk" must be
 *                               a valid public point on the key's own curve.
 *   A128KW/A192KW/A256KW, A128GCMKW/A192GCMKW/A256GCMKW, dir
 *                               an oct hwj_jwk (software by nature)
 *   PBES2-HS256+A128KW/HS384+A192KW/HS512+A256KW
 *                               a password; p2c bounded (max_p2c), p2s >= 8 bytes
 * Content encryption ("enc"): A128GCM, A192GCM, A256GCM, A128CBC-HS256,
 *   A192CBC-HS384, A256CBC-HS512 (the CBC-HS tag is checked in constant time before
 *   anything is decrypted). "zip":"DEF" (raw DEFLATE), inflated size capped.
 *
 * What the host sees: the CEK and the plaintext. Only the key-management private
 * operation (RSA decrypt, ECDH) runs in the token; content decryption runs on the
 * host with OpenSSL, and every CEK is wiped as soon as it is no longer needed.
 *
 * Errors: once key management has started, every failure (wrong key, bad tag,
 * bad padding, bad IV length, inflate failure) is HWJ_ERR_DECRYPT with the message
 * "decryption failed" and nothing more, so the JWE cannot serve as an oracle.
 */
#ifndef HWJOSE_JWE_H
#define HWJOSE_JWE_H

#include <hwjose/alg.h>
#include <hwjose/common.h>
#include <hwjose/jwk.h>
#include <hwjose/jws.h>
#include <hwjose/jwt.h>
#include <hwjose/key.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Default upper bound on PBES2 "p2c" when decrypting, and the count used to encrypt. */
#define HWJ_JWE_DEFAULT_MAX_P2C 310000u
/* The least PBES2 "p2c" accepted or produced (RFC 7518 §4.8.1.2 recommends 1000). */
#define HWJ_JWE_MIN_P2C 1000u
/* Default cap on the inflated size of "zip":"DEF" content (bytes). */
#define HWJ_JWE_DEFAULT_MAX_INFLATED (1024u * 1024u)
/* Default cap on inflated/compressed size, applied beyond 64 KiB of output. */
#define HWJ_JWE_DEFAULT_MAX_RATIO 200u
/* Most recipients a JSON-serialized JWE may carry. */
#define HWJ_JWE_MAX_RECIPIENTS 32u

typedef enum hwj_jwe_format {
    HWJ_JWE_COMPACT = 0,
    HWJ_JWE_JSON = 1,      /* general JSON serialization ("recipients") */
    HWJ_JWE_JSON_FLAT = 2, /* flattened JSON serialization (one recipient) */
} hwj_jwe_format;

/*
 * One recipient to encrypt to. Exactly one of `jwk` and `password`:
 *   jwk: a public RSA key (RSA-OAEP, RSA-OAEP-256), an EC P-256/384/521 or OKP X25519
 *        public key (ECDH-ES*), or an oct key (A*KW, A*GCMKW, dir). Checked with
 *        hwj_jwk_check (kty, crv, "alg", "use", "key_ops").
 *   password: PBES2-*; p2c 0 means HWJ_JWE_DEFAULT_MAX_P2C.
 * RSA1_5 is refused: hwjose never produces it.
 */
typedef struct hwj_jwe_recipient {
    size_t size; /* sizeof: set by HWJ_JWE_RECIPIENT_INIT (see common.h) */
    hwj_alg alg;
    const hwj_jwk *jwk;
    const char *password;
    size_t password_len;
    uint32_t p2c;
    const char *kid;         /* NULL: the JWK's kid (if any); "" omits kid */
    const char *header_json; /* JSON serializations: extra per-recipient header members */
} hwj_jwe_recipient;
#define HWJ_JWE_RECIPIENT_INIT                                                                     \
    {                                                                                              \
        .size = sizeof(hwj_jwe_recipient)                                                          \
    }

typedef struct hwj_jwe_encrypt_opts {
    size_t size;                  /* sizeof: set by HWJ_JWE_ENCRYPT_OPTS_INIT (see common.h) */
    hwj_alg enc;                  /* 0: A256GCM */
    hwj_jwe_format format;        /* several recipients need HWJ_JWE_JSON */
    int zip;                      /* compress with "zip":"DEF" */
    const char *cty;              /* "cty", e.g. "JWT" for a nested JWT */
    const char *typ;              /* "typ" */
    const char *header_json;      /* extra protected header members, a JSON object */
    const char *unprotected_json; /* JSON serializations: the shared unprotected header */
    const uint8_t *aad;           /* JSON serializations: additional authenticated data */
    size_t aad_len;
} hwj_jwe_encrypt_opts;
#define HWJ_JWE_ENCRYPT_OPTS_INIT                                                                  \
    {                                                                                              \
        .size = sizeof(hwj_jwe_encrypt_opts)                                                       \
    }

/*
 * Encrypt `pt` to `n` recipients; `*out` is the serialized JWE (NUL-terminated;
 * hwj_free). With one recipient every header member is protected; with several,
 * "enc", "zip", "cty", "typ" are protected and each recipient's "alg", "kid" and
 * key-management members go in its own header. dir and ECDH-ES (direct key
 * agreement) allow one recipient only.
 */
HWJ_EXPORT hwj_err hwj_jwe_encrypt(const hwj_jwe_recipient *recipients, size_t n, const uint8_t *pt,
                                   size_t len, const hwj_jwe_encrypt_opts *opts, char **out,
                                   hwj_error *err);

typedef struct hwj_jwe_decrypt_opts {
    size_t size; /* sizeof: set by HWJ_JWE_DECRYPT_OPTS_INIT (see common.h) */
    /* Allow-lists, both required: an empty list accepts nothing. */
    const hwj_alg *algs;
    size_t nalgs;
    const hwj_alg *encs;
    size_t nencs;
    /* The decryption key, one of:
     *   key:      RSA-OAEP*, RSA1_5, ECDH-ES* (private key in a token, TPM or software)
     *   jwk:      an oct key for A*KW, A*GCMKW, dir; or a PBES2 password as its bytes
     *   password: PBES2 */
    hwj_key *key;
    const hwj_jwk *jwk;
    const char *password;
    size_t password_len;
    /* Header parameters the application understands; a "crit" naming others is rejected. */
    const char *const *crit;
    size_t ncrit;
    size_t max_size;     /* 0: HWJ_DEFAULT_MAX_SIZE (the serialized JWE) */
    uint32_t max_p2c;    /* 0: HWJ_JWE_DEFAULT_MAX_P2C */
    size_t max_inflated; /* 0: HWJ_JWE_DEFAULT_MAX_INFLATED */
    unsigned max_ratio;  /* 0: HWJ_JWE_DEFAULT_MAX_RATIO */
    int allow_rsa1_5;    /* RSA1_5 must also be in algs */
    /* Accept the JSON serializations (general, flattened). Off by default: compact only. The
     * outer JWE of a nested JWT is compact whatever this says. */
    int allow_json;
} hwj_jwe_decrypt_opts;
#define HWJ_JWE_DECRYPT_OPTS_INIT                                                                  \
    {                                                                                              \
        .size = sizeof(hwj_jwe_decrypt_opts)                                                       \
    }

typedef struct hwj_jwe_result {
    uint8_t *plaintext; /* NUL-terminated for convenience; plaintext_len excludes it */
    size_t plaintext_len;
    char *protected_json; /* the protected header ("{}" when absent) */
    char *header_json;    /* the whole JOSE header of the recipient used (all three merged) */
    hwj_alg alg;
    hwj_alg enc;
    size_t recipient_index;
    uint8_t *aad; /* JSON serializations: the decoded "aad", else NULL */
    size_t aad_len;
} hwj_jwe_result;

/*
 * Decrypt a JWE: compact, or JSON (when it starts with '{') if opts->allow_json; a JSON
 * serialization without it is HWJ_ERR_POLICY.
 * Recipients whose alg is allowed and fits the key are tried in order; the first
 * whose content decrypts wins (of PBES2 recipients only the first is tried: PBKDF2 work
 * per JWE stays bounded by max_p2c). HWJ_ERR_POLICY when no recipient is usable (alg/enc
 * not allowed, key does not fit), HWJ_ERR_DECRYPT ("decryption failed") otherwise.
 */
HWJ_EXPORT hwj_err hwj_jwe_decrypt(const char *jwe, size_t len, const hwj_jwe_decrypt_opts *opts,
                                   hwj_jwe_result **out, hwj_error *err) HWJ_WARN_UNUSED;
/* Wipes the plaintext. Accepts NULL. */
HWJ_EXPORT void hwj_jwe_result_free(hwj_jwe_result *res);

/*
 * Nested JWT, issuer side: hwj_jwt_issue with `key` (signing inside the token), then
 * hwj_jwe_encrypt of the JWS to `to` with "cty":"JWT" (eopts->cty is ignored).
 */
HWJ_EXPORT hwj_err hwj_jwt_issue_nested(hwj_key *key, const hwj_jwt_issue_opts *iopts,
                                        const hwj_jwe_recipient *to,
                                        const hwj_jwe_encrypt_opts *eopts, char **jwe,
                                        hwj_error *err);

/*
 * Nested JWT, receiver side: hwj_jwe_decrypt with `dopts` (decryption inside the
 * receiver's token), which must carry "cty":"JWT" (case-insensitive, RFC 7519 §5.2),
 * then hwj_jwt_verify of the inner JWS against the issuer's `keys` with `vopts`.
 * The inner token is never another JWE (one level of nesting only).
 */
HWJ_EXPORT hwj_err hwj_jwt_verify_nested(const char *jwe, size_t len,
                                         const hwj_jwe_decrypt_opts *dopts, const hwj_jwks *keys,
                                         const hwj_jwt_verify_opts *vopts, char **claims_json,
                                         hwj_error *err) HWJ_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
