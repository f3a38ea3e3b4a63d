/* jws_internal.h: what jws_parse.c, jws_check.c, jws_verify.c and jws_sign.c share. */
#ifndef HWJ_JOSE_JWS_INTERNAL_H
#define HWJ_JOSE_JWS_INTERNAL_H

#include "core/jview.h"

#include <hwjose/jws.h>
#include <jansson.h>

/* More signatures than this in one JWS is refused (each may cost a public-key operation). */
#define HWJ_JWS_MAX_SIGNATURES 32

/* One signature of a parsed JWS. Pointers without "owned" point into the input or the
 * JSON document and live as long as the parsed JWS. */
struct hwj_jws_sig {
    const char *prot_b64; /* the protected header as serialized ("" when absent) */
    size_t prot_b64_len;
    hwj_jv_doc *prot;  /* owned: the decoded protected header; NULL when absent */
    char *prot_json;   /* owned: its text, NUL-terminated; NULL when absent */
    const json_t *hdr; /* the unprotected header, or NULL */
    const char *sig_b64;
    size_t sig_b64_len;
    const char *alg;     /* the "alg" value as written */
    int alg_unprotected; /* "alg" came from the unprotected header */
    const char *kid;     /* the "kid" (protected or unprotected), or NULL */
};

struct hwj_jws_parsed {
    json_t *doc;         /* the JSON serialization; NULL for compact */
    const char *payload; /* as serialized: base64url, or the raw bytes with "b64":false */
    size_t payload_len;
    int has_payload; /* 0: detached (compact: empty part; JSON: no "payload") */
    int b64;         /* 0 when the signatures say "b64":false (they must agree) */
    size_t nsigs;
    struct hwj_jws_sig *sigs; /* &one, or owned for the general JSON serialization */
    struct hwj_jws_sig one;
    hwj_jv_doc *prot0; /* the caller's storage for the first signature's header, or NULL */
};

/*
 * Parse any serialization and check every header (RFC 7515 §4–7, RFC 7797 §3, §6):
 * strict base64url and JSON, disjoint protected/unprotected headers, "crit" and "b64"
 * protected and understood, "alg" present. Algorithm policy (including whether an
 * unprotected "alg" will do) and keys are the verifier's business, signature by signature.
 */
hwj_err hwj_jws_parse(const char *in, size_t len, const hwj_verify_policy *policy,
                      hwj_jv_doc *prot0, struct hwj_jws_parsed **out, hwj_error *err);
void hwj_jws_parsed_free(struct hwj_jws_parsed *p);

/*
 * Check `sig` over `in` with `jwk` for `alg` (a JWS alg the key has passed hwj_jwk_check
 * for). A signature that does not verify, whatever the reason, is HWJ_ERR_SIGNATURE with
 * the message "invalid signature".
 */
hwj_err hwj_jws_check_sig(const hwj_jwk *jwk, hwj_alg alg, const uint8_t *in, size_t inlen,
                          const uint8_t *sig, size_t siglen, hwj_error *err);

/*
 * hwj_jws_verify of a compact JWS, also handing back its decoded protected header in `prot`
 * (the caller's storage, hwj_jv_doc_init'ed; hwj_jv_doc_clear it after, whatever the result;
 * empty when there is none) so that a caller checking it (jwt_verify.c) does not decode and
 * parse it a second time. Not for the JSON serializations (HWJ_ERR_INTERNAL for a
 * signature other than the first).
 */
hwj_err hwj_jws_verify_prot(const char *jws, size_t len, const hwj_jwks *keys,
                            const hwj_verify_policy *policy, hwj_jws_result **out, hwj_jv_doc *prot,
                            hwj_error *err);

/* hwj_jwks_select inside the library (jwks.c): the public entry point has reset OpenSSL's
 * queue. */
hwj_err hwj_jwks_choose(const hwj_jwks *set, const char *kid, hwj_alg alg, hwj_key_op op,
                        const hwj_jwk **out, hwj_error *err);

/* Header parameters RFC 7515 §4.1 registers for JWS; "crit" may not name them. */
int hwj_jws_is_registered_param(const char *name);

#endif
