/* jws_verify.c: hwj_jws_verify (RFC 7515 §5.2) under the caller's policy (RFC 8725 §3.1,
 * §3.2): the alg must be on the allow-list and fit the key; the key comes from the
 * caller's set, chosen by kid and alg — never from "jwk", "jku", "x5u" or "x5c". */
#include "core/alg.h"
#include "core/b64url.h"
#include "core/error.h"
#include "core/opts.h"
#include "core/jwk.h"
#include "jose/jws_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The alg a signature names, if the policy accepts it. */
static hwj_err alg_allowed(const char *name, const hwj_verify_policy *policy, hwj_alg *out,
                           hwj_error *err)
{
    hwj_alg alg;

    if (strcasecmp(name, "none") == 0)
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "JWS alg \"%.8s\": unsecured JWSs are never accepted (RFC 8725 "
                             "§3.2)",
                             name);
    alg = hwj_alg_from_name(name);
    if (alg == HWJ_ALG_UNKNOWN)
        return hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                             "unknown JWS alg \"%.32s\"; this library verifies HS256/384/512, "
                             "RS256/384/512, PS256/384/512, ES256/384/512, EdDSA and Ed25519",
                             name);
    if (hwj_alg_get_kind(alg) != HWJ_ALG_KIND_JWS)
        return hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                             "\"%s\" is a JWE algorithm, not a JWS signature algorithm", name);
    for (size_t i = 0; i < policy->nalgs; i++) {
        if (policy->algs[i] == alg) {
            *out = alg;
            return HWJ_OK;
        }
    }
    return hwj_error_set(err, HWJ_ERR_POLICY,
                         "JWS alg %s is not in the verifier's allow-list; add it to the allowed "
                         "algs if it is expected",
                         name);
}

/* The payload as signed: base64url unless "b64":false. `*enc` is set when allocated. */
struct jws_payload {
    const char *part; /* the payload part of the signing input */
    size_t part_len;
    char *enc;      /* owned: BASE64URL(detached) */
    uint8_t *bytes; /* owned: the payload itself, NUL-terminated */
    size_t len;
};

static hwj_err take_payload(const struct hwj_jws_parsed *p, const uint8_t *detached,
                            size_t detached_len, struct jws_payload *pl, hwj_error *err)
{
    hwj_err rc;

    if (detached != NULL && p->has_payload)
        return hwj_error_set(err, HWJ_ERR_PARSE,
                             "the JWS carries a payload and a detached payload was given too; "
                             "give the detached payload only for a JWS without one");
    if (detached == NULL && !p->has_payload && p->doc != NULL)
        return hwj_error_set(err, HWJ_ERR_PARSE,
                             "the JWS has no \"payload\" (detached content, RFC 7515 App. F); "
                             "supply the payload it signs");
    if (detached == NULL) {
        pl->part = p->has_payload ? p->payload : "";
        pl->part_len = p->has_payload ? p->payload_len : 0;
        if (p->b64)
            return hwj_b64url_decode(pl->part, pl->part_len, &pl->bytes, &pl->len, "JWS payload",
                                     err);
    } else if (p->b64) {
        if ((rc = hwj_b64url_encode(detached, detached_len, &pl->enc, err)) != HWJ_OK)
            return rc;
        pl->part = pl->enc;
        pl->part_len = strlen(pl->enc);
    } else {
        pl->part = (const char *)detached;
        pl->part_len = detached_len;
    }
    /* "b64":false or detached: the payload is the bytes themselves. */
    const void *src = detached != NULL ? (const void *)detached : (const void *)pl->part;
    pl->len = detached != NULL ? detached_len : pl->part_len;
    if ((pl->bytes = malloc(pl->len + 1)) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if (pl->len > 0)
        memcpy(pl->bytes, src, pl->len);
    pl->bytes[pl->len] = '\0';
    return HWJ_OK;
}

/* Check signature `i`: alg policy, key choice, signature. `buf` has room for any
 * signing input of this JWS. */
static hwj_err verify_one(const struct hwj_jws_parsed *p, size_t i, const struct jws_payload *pl,
                          const hwj_jwks *keys, const hwj_verify_policy *policy, char *buf,
                          const hwj_jwk **jwk, hwj_alg *alg, hwj_error *err)
{
    const struct hwj_jws_sig *s = &p->sigs[i];
    uint8_t sig[HWJ_SIG_MAX];
    size_t siglen = 0, inlen;
    const char *in;
    hwj_err rc;

    if (s->alg_unprotected && !policy->allow_unprotected_alg)
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "JWS \"alg\" is in the unprotected header; it belongs in the "
                             "protected header, where the signature covers it "
                             "(allow_unprotected_alg permits it)");
    /* hwj_jwks_choose returns only a key that passed hwj_jwk_fits for this alg and op — an RSA
     * key never verifies an HS256 MAC (RFC 8725 §3.1) — and hwj_jws_check_sig checks the key's
     * type against the alg again before any EVP call. */
    if ((rc = alg_allowed(s->alg, policy, alg, err)) != HWJ_OK ||
        (rc = hwj_jwks_choose(keys, s->kid, *alg, HWJ_OP_VERIFY, jwk, err)) != HWJ_OK)
        return rc;
    if (s->sig_b64_len > hwj_b64url_encoded_len(HWJ_SIG_MAX))
        return hwj_error_set(err, HWJ_ERR_SIGNATURE, "invalid signature");
    if ((rc = hwj_b64url_decode_to(s->sig_b64, s->sig_b64_len, sig, &siglen, "JWS signature",
                                   err)) != HWJ_OK)
        return rc;
    if (p->doc == NULL && pl->part == p->payload) {
        in = s->prot_b64; /* compact: the signing input is the input's first two parts */
        inlen = s->prot_b64_len + 1 + pl->part_len;
    } else {
        memcpy(buf, s->prot_b64, s->prot_b64_len);
        buf[s->prot_b64_len] = '.';
        if (pl->part_len > 0)
            memcpy(buf + s->prot_b64_len + 1, pl->part, pl->part_len);
        in = buf;
        inlen = s->prot_b64_len + 1 + pl->part_len;
    }
    return hwj_jws_check_sig(*jwk, *alg, (const uint8_t *)in, inlen, sig, siglen, err);
}

static int fatal(hwj_err rc)
{
    return rc == HWJ_ERR_NOMEM || rc == HWJ_ERR_CRYPTO || rc == HWJ_ERR_INTERNAL ||
           rc == HWJ_ERR_ARG;
}

/* Try each signature; the first that verifies wins. If none does, a signature that failed
 * to verify makes the answer "invalid signature"; otherwise the first signature's reason. */
static hwj_err verify_any(struct hwj_jws_parsed *p, const struct jws_payload *pl,
                          const hwj_jwks *keys, const hwj_verify_policy *policy, size_t *index,
                          const hwj_jwk **jwk, hwj_alg *alg, hwj_error *err)
{
    size_t room = 0;
    char *buf = NULL;
    hwj_err rc = HWJ_OK, first_rc = HWJ_OK;
    int bad_signature = 0;

    for (size_t i = 0; i < p->nsigs; i++)
        if (p->sigs[i].prot_b64_len > room)
            room = p->sigs[i].prot_b64_len;
    /* A compact JWS with its payload inline is its own signing input: no copy. */
    if ((p->doc != NULL || pl->part != p->payload) &&
        (buf = malloc(room + 1 + pl->part_len)) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < p->nsigs; i++) {
        hwj_error e;
        hwj_error_clear(&e);
        rc = verify_one(p, i, pl, keys, policy, buf, jwk, alg, &e);
        if (rc == HWJ_OK) {
            *index = i;
            break;
        }
        if (fatal(rc)) {
            if (err != NULL)
                *err = e;
            break;
        }
        if (rc == HWJ_ERR_SIGNATURE) {
            bad_signature = 1;
        } else if (first_rc == HWJ_OK) {
            first_rc = rc;
            if (err != NULL)
                *err = e;
            if (p->nsigs > 1)
                hwj_error_prefix(err, "JWS signature #%zu", i);
        }
    }
    free(buf);
    if (rc == HWJ_OK || fatal(rc))
        return rc;
    if (bad_signature)
        return hwj_error_set(err, HWJ_ERR_SIGNATURE, "invalid signature");
    return first_rc;
}

static hwj_err verify(const char *jws, size_t len, const hwj_jwks *keys,
                      const hwj_verify_policy *policy_in, const uint8_t *detached,
                      size_t detached_len, hwj_jws_result **out, hwj_jv_doc *prot, hwj_error *err)
{
    hwj_verify_policy pb;
    const hwj_verify_policy *policy = &pb;
    struct hwj_jws_parsed *p = NULL;
    struct jws_payload pl = {0};
    hwj_jws_result *res = NULL;
    const hwj_jwk *jwk = NULL;
    hwj_alg alg = HWJ_ALG_UNKNOWN;
    size_t index = 0, max;
    hwj_err rc;

    if (jws == NULL || keys == NULL || policy_in == NULL || out == NULL ||
        (detached == NULL && detached_len > 0))
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "hwj_jws_verify needs a JWS, a key set, a policy and an output");
    if ((rc = HWJ_OPTS_LOAD(pb, policy_in, hwj_verify_policy, err)) != HWJ_OK)
        return rc;
    max = policy->max_size ? policy->max_size : HWJ_DEFAULT_MAX_SIZE;
    if (len > max)
        return hwj_error_set(err, HWJ_ERR_LIMIT,
                             "the JWS is %zu bytes; the limit is %zu (raise max_size if this is "
                             "expected)",
                             len, max);
    if (len == 0)
        return hwj_error_set(err, HWJ_ERR_PARSE, "the JWS is empty");
    if (policy->nalgs == 0 || policy->algs == NULL)
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "the verification policy allows no algorithm; list the algs you "
                             "accept (RFC 8725 §3.1)");
    if ((policy->ncrit > 0 && policy->crit == NULL))
        return hwj_error_set(err, HWJ_ERR_ARG, "the policy's crit list is NULL");
    if ((rc = hwj_jws_parse(jws, len, policy, prot, &p, err)) != HWJ_OK ||
        (rc = take_payload(p, detached, detached_len, &pl, err)) != HWJ_OK ||
        (rc = verify_any(p, &pl, keys, policy, &index, &jwk, &alg, err)) != HWJ_OK)
        goto out;
    if (prot != NULL && index != 0) {
        rc = hwj_error_set(err, HWJ_ERR_INTERNAL, "a header handed back for a JSON serialization");
        goto out;
    }
    if ((res = calloc(1, sizeof(*res))) == NULL) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    res->protected_json = p->sigs[index].prot_json ? p->sigs[index].prot_json : strdup("{}");
    if (res->protected_json == NULL) {
        free(res);
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    p->sigs[index].prot_json = NULL; /* now the result's */
    res->payload = pl.bytes;
    res->payload_len = pl.len;
    pl.bytes = NULL;
    res->alg = alg;
    res->signature_index = index;
    res->key = jwk;
    if (prot != NULL)
        p->sigs[0].prot = NULL; /* it is in the caller's storage, now the caller's to clear */
    *out = res;
out:
    free(pl.bytes);
    free(pl.enc);
    hwj_jws_parsed_free(p);
    return rc;
}

HWJ_EXPORT hwj_err hwj_jws_verify(const char *jws, size_t len, const hwj_jwks *keys,
                                  const hwj_verify_policy *policy, const uint8_t *detached,
                                  size_t detached_len, hwj_jws_result **out, hwj_error *err)
{
    hwj_error_reset(err);
    return verify(jws, len, keys, policy, detached, detached_len, out, NULL, err);
}

hwj_err hwj_jws_verify_prot(const char *jws, size_t len, const hwj_jwks *keys,
                            const hwj_verify_policy *policy, hwj_jws_result **out, hwj_jv_doc *prot,
                            hwj_error *err)
{
    hwj_error_clear(err); /* the caller (hwj_jwt_verify) has reset */
    return verify(jws, len, keys, policy, NULL, 0, out, prot, err);
}

HWJ_EXPORT void hwj_jws_result_free(hwj_jws_result *res)
{
    if (res == NULL)
        return;
    free(res->payload);
    free(res->protected_json);
    free(res);
}
