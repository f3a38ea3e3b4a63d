/* jwks_cache_verify.c: verify a JWS/JWT with the cached set. The token's kid(s) are read
 * only to decide whether the set needs a refetch; which key verifies is still decided by
 * hwj_jws_verify / hwj_jwt_verify under the caller's policy (RFC 8725: the header never
 * supplies the key, and a malformed header here is left to them to report). */
#include "core/b64url.h"
#include "core/error.h"
#include "core/opts.h"
#include "core/json.h"
#include "jose/jwks_cache_internal.h"

#include <hwjose/jwks_cache.h>

#include <stdlib.h>
#include <string.h>

#define MAX_KIDS 8
#define MAX_HEADER 16384 /* a protected header larger than this names no kid we look for */

typedef struct kid_list {
    char *kid[MAX_KIDS];
    size_t n;
} kid_list;

static void kids_clear(kid_list *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->kid[i]);
    k->n = 0;
}

static void kids_add_from(kid_list *k, const json_t *header)
{
    const json_t *kid = json_object_get(header, "kid");
    if (k->n < MAX_KIDS && json_is_string(kid) && (k->kid[k->n] = strdup(json_string_value(kid))))
        k->n++;
}

/* The kid of a base64url protected header. */
static void kids_add_protected(kid_list *k, const char *b64, size_t len)
{
    uint8_t *hdr = NULL;
    size_t hlen = 0;
    json_t *obj = NULL;

    if (len == 0 || len > MAX_HEADER ||
        hwj_b64url_decode(b64, len, &hdr, &hlen, "protected header", NULL) != HWJ_OK)
        return;
    if (hwj_json_parse_object((const char *)hdr, hlen, 0, "protected header", &obj, NULL) == HWJ_OK)
        kids_add_from(k, obj);
    json_decref(obj);
    free(hdr);
}

static void kids_add_signature(kid_list *k, const json_t *sig)
{
    const json_t *p = json_object_get(sig, "protected");
    if (json_is_string(p))
        kids_add_protected(k, json_string_value(p), json_string_length(p));
    kids_add_from(k, json_object_get(sig, "header"));
}

/* Best effort: whatever fails to parse names no kid, and verification reports it. */
static void token_kids(const char *tok, size_t len, size_t max_size, kid_list *k)
{
    json_t *obj = NULL, *sigs;

    if (len == 0 || len > (max_size ? max_size : HWJ_DEFAULT_MAX_SIZE))
        return;
    if (tok[0] != '{') {
        const char *dot = memchr(tok, '.', len);
        if (dot != NULL)
            kids_add_protected(k, tok, (size_t)(dot - tok));
        return;
    }
    if (hwj_json_parse_object(tok, len, 0, "JWS", &obj, NULL) != HWJ_OK)
        return;
    sigs = json_object_get(obj, "signatures");
    if (json_is_array(sigs)) {
        for (size_t i = 0; i < json_array_size(sigs) && k->n < MAX_KIDS; i++)
            kids_add_signature(k, json_array_get(sigs, i));
    } else {
        kids_add_signature(k, obj);
    }
    json_decref(obj);
}

typedef struct verify_call {
    const char *tok;
    size_t len;
    /* jws */
    const hwj_verify_policy *policy;
    const uint8_t *detached;
    size_t detached_len;
    hwj_jws_result *res;
    /* jwt */
    const hwj_jwt_verify_opts *jwt_opts;
    char *claims;
} verify_call;

static hwj_err run_verify(verify_call *v, const hwj_jwks *set, hwj_error *err)
{
    if (v->jwt_opts != NULL)
        return hwj_jwt_verify(v->tok, v->len, set, v->jwt_opts, &v->claims, err);
    return hwj_jws_verify(v->tok, v->len, set, v->policy, v->detached, v->detached_len, &v->res,
                          err);
}

/* Verify with the current set; only when no key fits are the token's kid(s) read, to decide
 * on a (cooldown-bound) refetch: a kid the set lacks, or, for a token without kid, the issuer
 * may have rotated its only key. Reading the kids first would decode and parse every
 * token's header twice. */
static hwj_err verify_with_cache(hwj_jwks_cache *c, verify_call *v, size_t max_size,
                                 hwj_jwks_snapshot **snap_out, hwj_error *err)
{
    kid_list kids = {0};
    hwj_jwks_snapshot *snap = NULL, *again = NULL;
    hwj_err rc;

    if ((rc = jc_acquire(c, NULL, 0, JC_NORMAL, &snap, err)) != HWJ_OK)
        goto out;
    rc = run_verify(v, hwj_jwks_snapshot_get0_set(snap), err);
    if (rc == HWJ_ERR_KEY_NOT_FOUND) {
        token_kids(v->tok, v->len, max_size, &kids);
        if (jc_acquire(c, (const char *const *)kids.kid, kids.n,
                       kids.n > 0 ? JC_NORMAL : JC_MISSING, &again, NULL) == HWJ_OK &&
            again != snap) {
            hwj_jwks_snapshot_free(snap);
            snap = again;
            again = NULL;
            hwj_error_reset(err);
            rc = run_verify(v, hwj_jwks_snapshot_get0_set(snap), err);
        }
    }
    if (rc == HWJ_ERR_KEY_NOT_FOUND)
        hwj_error_prefix(err, "JWKS from '%s' (refetched at most once per cooldown)",
                         hwj_jwks_cache_get0_url(c));
    if (rc == HWJ_OK && snap_out != NULL) {
        *snap_out = snap;
        snap = NULL;
    }
out:
    hwj_jwks_snapshot_free(again);
    hwj_jwks_snapshot_free(snap);
    kids_clear(&kids);
    return rc;
}

HWJ_EXPORT hwj_err hwj_jwks_cache_verify_jws(hwj_jwks_cache *cache, const char *jws, size_t len,
                                             const hwj_verify_policy *policy,
                                             const uint8_t *detached, size_t detached_len,
                                             hwj_jws_result **out, hwj_jwks_snapshot **keys_out,
                                             hwj_error *err)
{
    hwj_verify_policy pb;
    verify_call v = {
        .tok = jws, .len = len, .policy = &pb, .detached = detached, .detached_len = detached_len};
    hwj_jwks_snapshot *snap = NULL;
    hwj_err rc;

    hwj_error_reset(err);
    if (cache == NULL || jws == NULL || policy == NULL || out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwks_cache_verify_jws: missing argument");
    if ((rc = HWJ_OPTS_LOAD(pb, policy, hwj_verify_policy, err)) != HWJ_OK ||
        (rc = verify_with_cache(cache, &v, pb.max_size, &snap, err)) != HWJ_OK)
        return rc;
    if (keys_out != NULL)
        *keys_out = snap;
    else {
        v.res->key = NULL; /* it pointed into the set we are about to release */
        hwj_jwks_snapshot_free(snap);
    }
    *out = v.res;
    return HWJ_OK;
}

HWJ_EXPORT hwj_err hwj_jwks_cache_verify_jwt(hwj_jwks_cache *cache, const char *jwt, size_t len,
                                             const hwj_jwt_verify_opts *opts, char **claims_json,
                                             hwj_error *err)
{
    hwj_jwt_verify_opts ob;
    hwj_verify_policy pb;
    verify_call v = {.tok = jwt, .len = len, .jwt_opts = &ob};
    hwj_err rc;

    hwj_error_reset(err);
    if (cache == NULL || jwt == NULL || opts == NULL || claims_json == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwks_cache_verify_jwt: missing argument");
    if ((rc = HWJ_OPTS_LOAD(ob, opts, hwj_jwt_verify_opts, err)) != HWJ_OK ||
        (rc = HWJ_OPTS_LOAD(pb, ob.policy, hwj_verify_policy, err)) != HWJ_OK ||
        (rc = verify_with_cache(cache, &v, pb.max_size, NULL, err)) != HWJ_OK)
        return rc;
    *claims_json = v.claims;
    return HWJ_OK;
}
