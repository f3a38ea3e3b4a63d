/* dpop_verify.c: checking a DPoP proof as RFC 9449 §4.3 lists it. The proof's own "jwk" is
 * the one place where a JWS brings the key that verifies it; it must be public and asymmetric,
 * and the proof binds nothing until the caller compares its thumbprint (jkt) with the access
 * token's cnf.jkt. The replay cache is consulted last, so refused proofs never fill it. */
#include "core/b64url.h"
#include "core/error.h"
#include "core/json.h"
#include "core/jwk.h"
#include "jose/dpop_internal.h"

#include <hwjose/jws.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define DPOP_MAX_SIZE 8192
#define DPOP_MAX_WINDOW ((int64_t)3650 * 86400) /* bounds iat arithmetic far from overflow */

static const hwj_alg default_algs[] = {
    HWJ_ALG_ES256, HWJ_ALG_ES384, HWJ_ALG_ES512, HWJ_ALG_EDDSA, HWJ_ALG_ED25519, HWJ_ALG_PS256,
    HWJ_ALG_PS384, HWJ_ALG_PS512, HWJ_ALG_RS256, HWJ_ALG_RS384, HWJ_ALG_RS512,
};

struct proof {
    json_t *header, *claims;
    hwj_jwks *set; /* the proof's own key, a set of one: what hwj_jws_verify takes */
    const hwj_jwk *jwk;
    hwj_alg alg;
};

/* The protected header, before any cryptography: typ, alg, and a public, asymmetric jwk. */
static hwj_err check_header(const char *jws, size_t len, const hwj_dpop_verify_opts *o,
                            struct proof *p, hwj_error *err)
{
    const char *dot = memchr(jws, '.', len), *typ, *alg;
    uint8_t *raw = NULL;
    size_t rawlen, i;
    const hwj_alg *algs = o->algs != NULL ? o->algs : default_algs;
    size_t nalgs = o->algs != NULL ? o->nalgs : sizeof(default_algs) / sizeof(default_algs[0]);
    json_t *jwk;
    hwj_jwk *parsed = NULL;
    hwj_err rc;

    if (dot == NULL || memchr(dot + 1, '.', len - (size_t)(dot + 1 - jws)) == NULL)
        return hwj_error_set(err, HWJ_ERR_PARSE, "a DPoP proof is a compact JWS (three parts)");
    if ((rc = hwj_b64url_decode(jws, (size_t)(dot - jws), &raw, &rawlen, "DPoP header", err)) !=
            HWJ_OK ||
        (rc = hwj_json_parse_object((const char *)raw, rawlen, 0, "DPoP header", &p->header,
                                    err)) != HWJ_OK ||
        (rc = hwj_json_get_string(p->header, "typ", "DPoP header", &typ, err)) != HWJ_OK ||
        (rc = hwj_json_get_string(p->header, "alg", "DPoP header", &alg, err)) != HWJ_OK)
        goto out;
    rc = HWJ_ERR_POLICY;
    if (typ == NULL || strcmp(typ, "dpop+jwt") != 0) { /* RFC 9449 §4.2: exactly this */
        hwj_error_set(err, rc, "a DPoP proof must have typ \"dpop+jwt\"");
        goto out;
    }
    p->alg = alg != NULL ? hwj_alg_from_name(alg) : HWJ_ALG_UNKNOWN;
    for (i = 0; i < nalgs && algs[i] != p->alg; i++)
        ;
    if (!hwj_dpop_alg_ok(p->alg) || i == nalgs) {
        hwj_error_set(err, rc,
                      "the DPoP proof's alg is not allowed (an asymmetric JWS alg from the "
                      "verifier's list; never none or HMAC)");
        goto out;
    }
    if (json_object_get(p->header, "b64") != NULL) { /* as for any JWT (RFC 7519 §3) */
        hwj_error_set(err, rc, "a DPoP proof is never an unencoded (\"b64\") JWS");
        goto out;
    }
    if (!json_is_object(jwk = json_object_get(p->header, "jwk"))) {
        hwj_error_set(err, rc, "a DPoP proof carries its public key as a \"jwk\" header object");
        goto out;
    }
    if ((rc = hwj_jwk_from_json(jwk, &parsed, err)) != HWJ_OK ||
        (rc = hwj_jwks_new(&p->set, err)) != HWJ_OK)
        goto out;
    p->jwk = parsed;
    rc = hwj_jwks_add(p->set, parsed, err); /* owns it from here, on failure too */
    parsed = NULL;
    if (rc != HWJ_OK)
        goto out;
    rc = HWJ_ERR_POLICY;
    /* "d" alone (no other private member) would still be a private key sent in the clear */
    if (hwj_jwk_is_private(p->jwk) || json_object_get(jwk, "d") != NULL ||
        hwj_jwk_get_kty(p->jwk) == HWJ_KTY_OCT) {
        hwj_error_set(err, rc,
                      "the DPoP proof's jwk holds a private or symmetric key; a proof carries "
                      "the public key only (RFC 9449 §4.3)");
        goto out;
    }
    rc = HWJ_OK;
out:
    hwj_jwk_free(parsed);
    if (raw != NULL)
        hwj_free_secret(raw, rawlen);
    return rc;
}

/* The signature, with the proof's own key and the header's alg only. */
static hwj_err check_signature(const char *jws, size_t len, struct proof *p, hwj_error *err)
{
    hwj_jws_result *res = NULL;
    hwj_verify_policy pol = HWJ_VERIFY_POLICY_INIT;
    hwj_err rc;

    pol.algs = &p->alg;
    pol.nalgs = 1;
    pol.max_size = DPOP_MAX_SIZE;
    if ((rc = hwj_jws_verify(jws, len, p->set, &pol, NULL, 0, &res, err)) != HWJ_OK)
        return rc;
    rc = hwj_json_parse_object((const char *)res->payload, res->payload_len, 0, "DPoP claims",
                               &p->claims, err);
    hwj_jws_result_free(res);
    return rc;
}

/* htm, htu, iat, ath, nonce; *jti and *iat from the claims. */
static hwj_err check_claims(const struct proof *p, const hwj_dpop_verify_opts *o, const char *htu,
                            int64_t now, const char **jti, int64_t *iat, hwj_error *err)
{
    const char *htm, *phtu, *ath, *nonce;
    const json_t *v = json_object_get(p->claims, "iat");
    int64_t max_age = o->max_age != 0 ? o->max_age : HWJ_DPOP_DEFAULT_MAX_AGE;
    int64_t leeway = o->leeway == 0 ? HWJ_DPOP_DEFAULT_LEEWAY : (o->leeway < 0 ? 0 : o->leeway);
    char *want_htu = NULL, *want_ath = NULL;
    hwj_err rc;

    if ((rc = hwj_json_get_string(p->claims, "jti", "DPoP claims", jti, err)) != HWJ_OK ||
        (rc = hwj_json_get_string(p->claims, "htm", "DPoP claims", &htm, err)) != HWJ_OK ||
        (rc = hwj_json_get_string(p->claims, "htu", "DPoP claims", &phtu, err)) != HWJ_OK ||
        (rc = hwj_json_get_string(p->claims, "ath", "DPoP claims", &ath, err)) != HWJ_OK ||
        (rc = hwj_json_get_string(p->claims, "nonce", "DPoP claims", &nonce, err)) != HWJ_OK)
        return rc;
    rc = HWJ_ERR_CLAIMS;
    if (*jti == NULL || **jti == '\0' || strlen(*jti) > 256 || htm == NULL || phtu == NULL ||
        !json_is_integer(v))
        return hwj_error_set(err, rc, "a DPoP proof needs jti, htm, htu and an integer iat");
    *iat = (int64_t)json_integer_value(v);
    if (strcmp(htm, o->htm) != 0)
        return hwj_error_set(err, rc, "the DPoP proof is for another HTTP method (htm)");
    if (hwj_dpop_htu_normalize(phtu, &want_htu, NULL) != HWJ_OK || strcmp(want_htu, htu) != 0) {
        free(want_htu);
        return hwj_error_set(err, rc, "the DPoP proof is for another URL (htu)");
    }
    free(want_htu);
    if (*iat < now - max_age)
        return hwj_error_set(err, rc, "the DPoP proof is stale (iat older than %lld s)",
                             (long long)max_age);
    if (*iat > now + leeway)
        return hwj_error_set(err, rc, "the DPoP proof's iat is in the future");
    if (o->nonce != NULL && (nonce == NULL || strcmp(nonce, o->nonce) != 0))
        return hwj_error_set(err, rc,
                             "use_dpop_nonce: the DPoP proof must carry the server's current "
                             "nonce");
    if (o->access_token != NULL) {
        if (ath == NULL)
            return hwj_error_set(err, rc, "the DPoP proof has no ath for its access token");
        if ((rc = hwj_dpop_ath(o->access_token, &want_ath, err)) != HWJ_OK)
            return rc;
        rc = strcmp(want_ath, ath) == 0
                 ? HWJ_OK
                 : hwj_error_set(err, HWJ_ERR_CLAIMS,
                                 "the DPoP proof's ath is not the hash of its access token");
        free(want_ath);
        if (rc != HWJ_OK)
            return rc;
    }
    return HWJ_OK;
}

HWJ_EXPORT hwj_err hwj_dpop_verify(const char *proof, const hwj_dpop_verify_opts *opts,
                                   hwj_dpop_result **out, hwj_error *err)
{
    struct proof p = {0};
    hwj_dpop_result *res = NULL;
    char *htu = NULL, *jkt = NULL;
    const char *jti;
    size_t len, max;
    int64_t now, iat = 0;
    hwj_err rc;

    hwj_error_reset(err);
    if (proof == NULL || opts == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_dpop_verify: missing argument");
    if (opts->size < sizeof(hwj_dpop_verify_opts))
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "hwj_dpop_verify: set opts.size to sizeof(hwj_dpop_verify_opts)");
    if (opts->htm == NULL || opts->htu == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "verifying a DPoP proof needs the request's method and URL");
    if (opts->max_age < 0 || opts->max_age > DPOP_MAX_WINDOW || opts->leeway > DPOP_MAX_WINDOW)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "a DPoP proof's max_age and leeway are 0 to 10 years (seconds)");
    max = opts->max_size != 0 ? opts->max_size : DPOP_MAX_SIZE;
    if ((len = strlen(proof)) > max)
        return hwj_error_set(err, HWJ_ERR_LIMIT, "the DPoP proof is longer than %zu bytes", max);
    now = hwj_dpop_now(opts->clock, opts->clock_arg);
    if ((rc = hwj_dpop_htu_normalize(opts->htu, &htu, err)) != HWJ_OK ||
        (rc = check_header(proof, len, opts, &p, err)) != HWJ_OK ||
        (rc = check_signature(proof, len, &p, err)) != HWJ_OK ||
        (rc = check_claims(&p, opts, htu, now, &jti, &iat, err)) != HWJ_OK ||
        (rc = hwj_jwk_thumbprint(p.jwk, &jkt, err)) != HWJ_OK)
        goto out;
    if (opts->jkt != NULL &&
        (strlen(opts->jkt) != strlen(jkt) || CRYPTO_memcmp(opts->jkt, jkt, strlen(jkt)) != 0)) {
        rc = hwj_error_set(err, HWJ_ERR_CLAIMS,
                           "the DPoP proof's key is not the one the access token is bound to "
                           "(cnf.jkt)");
        goto out;
    }
    if (opts->replay != NULL &&
        (rc = hwj_dpop_replay_check(opts->replay, jkt, htu, jti, iat, now, err)) != HWJ_OK)
        goto out;
    if (out != NULL) {
        if ((res = calloc(1, sizeof(*res))) == NULL) {
            rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
            goto out;
        }
        res->alg = p.alg;
        res->iat = iat;
        res->jkt = jkt;
        jkt = NULL;
        if ((rc = hwj_jwk_to_json(p.jwk, 0, &res->jwk_json, err)) != HWJ_OK ||
            (rc = hwj_json_dump(p.claims, &res->claims_json, err)) != HWJ_OK)
            goto out;
        *out = res;
        res = NULL;
    }
out:
    hwj_dpop_result_free(res);
    free(jkt);
    free(htu);
    hwj_jwks_free(p.set);
    json_decref(p.claims);
    json_decref(p.header);
    return rc;
}

HWJ_EXPORT void hwj_dpop_result_free(hwj_dpop_result *res)
{
    if (res == NULL)
        return;
    free(res->jkt);
    free(res->jwk_json);
    free(res->claims_json);
    free(res);
}
